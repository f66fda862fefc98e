//! Where a consumer starts.

/// A starting offset.
///
/// In a file: `offset = "beginning"`, `"end"`, `{ absolute = 42 }`,
/// `{ from-beginning = 10 }` or `{ from-end = 10 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Offset {
    /// This exact offset.
    Absolute(i64),
    /// The first available record.
    #[default]
    Beginning,
    /// After the last record (only new records).
    End,
    /// `n` records after the beginning.
    FromBeginning(u64),
    /// `n` records before the end.
    FromEnd(u64),
}

impl Offset {
    /// The absolute offset, given the partition's first available offset and its end (high
    /// watermark). Relative offsets are clamped to `[start, end]`, as the official client does;
    /// an absolute offset only to `>= 0`.
    pub fn resolve(self, start: i64, end: i64) -> i64 {
        let clamp = |o: i64| o.clamp(start, end.max(start));
        match self {
            Offset::Absolute(o) => o.max(0),
            Offset::Beginning => start,
            Offset::End => end.max(start),
            Offset::FromBeginning(n) => clamp(start.saturating_add(n.min(i64::MAX as u64) as i64)),
            Offset::FromEnd(n) => clamp(end.saturating_sub(n.min(i64::MAX as u64) as i64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_offsets_are_clamped_to_the_available_range() {
        assert_eq!(Offset::Beginning.resolve(5, 20), 5);
        assert_eq!(Offset::End.resolve(5, 20), 20);
        assert_eq!(Offset::FromBeginning(3).resolve(5, 20), 8);
        assert_eq!(Offset::FromBeginning(100).resolve(5, 20), 20);
        assert_eq!(Offset::FromEnd(3).resolve(5, 20), 17);
        assert_eq!(Offset::FromEnd(100).resolve(5, 20), 5);
        assert_eq!(Offset::Absolute(2).resolve(5, 20), 2);
        assert_eq!(Offset::Absolute(-4).resolve(5, 20), 0);
    }
}
