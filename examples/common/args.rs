//! Tiny flag parsing shared by the examples (no dependency, exact error messages).

#![allow(dead_code)]

/// The process arguments after the program name.
pub struct Args(pub Vec<String>);

impl Args {
    pub fn from_env() -> Self {
        Args(std::env::args().skip(1).collect())
    }

    /// Whether `--name` is present.
    pub fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    /// The value after `--name`, if present.
    pub fn value(&self, name: &str) -> Option<&str> {
        let i = self.0.iter().position(|a| a == name)?;
        self.0.get(i + 1).map(String::as_str)
    }

    /// Every value after each `--name`.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.0
            .windows(2)
            .filter(|w| w[0] == name)
            .map(|w| w[1].as_str())
            .collect()
    }

    /// `--name` parsed, or an error naming the flag.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.value(name)
            .map(|v| v.parse().map_err(|_| format!("bad value '{v}' for {name}")))
            .transpose()
    }

    /// The `n`th argument that is neither a flag nor a flag's value.
    pub fn positional(&self, n: usize, takes_value: &[&str]) -> Option<&str> {
        let mut skip = false;
        let mut seen = 0;
        for a in &self.0 {
            if skip {
                skip = false;
                continue;
            }
            if a.starts_with("--") {
                skip = takes_value.contains(&a.as_str());
                continue;
            }
            if seen == n {
                return Some(a);
            }
            seen += 1;
        }
        None
    }
}
