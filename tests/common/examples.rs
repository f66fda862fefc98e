//! The examples' binaries, built once per test process with every feature (as `cargo test
//! --all-features` built the test), for tests that run examples as a user does.

use std::path::PathBuf;
use std::process::Command;

/// `name`'s binary, one of `all` (every example the test file runs: one cargo run builds
/// them all, for every test of the file at once). The build leaves out the variables cargo
/// gives a test about its package (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, ...): `ring`'s
/// build script reruns when they change, so with them each run rebuilt `ring` and
/// everything above it (~20 s here), and the next `cargo test` did again.
pub fn example(all: &[&str], name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    assert!(all.contains(&name), "{name} is not among {all:?}");
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let examples = all.iter().flat_map(|e| ["--example", e]);
        let mut build = Command::new(cargo);
        build.args(["build", "--all-features"]).args(examples);
        for (var, _) in std::env::vars_os() {
            let var = var.to_string_lossy();
            let of_the_test = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_EXE_"]
                .iter()
                .any(|p| var.starts_with(p))
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                ]
                .contains(&var.as_ref());
            if of_the_test {
                build.env_remove(var.as_ref());
            }
        }
        build.status().expect("cannot run cargo").success()
    });
    assert!(built, "cannot build the examples");
    let example = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(example.exists(), "{} was not built", example.display());
    example
}

/// Where cargo puts the examples' binaries: `target/<profile>/examples`.
pub fn examples_dir() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    deps.parent().unwrap().parent().unwrap().join("examples")
}
