//! The end of a stop-at-end SmartModule stream whose last input gives no output.
//!
//! The SPU sends a frame only when the chain produced records (or an error). A frame's
//! `next_filter_offset` covers every batch the SPU read, output or not, so a stream normally
//! reaches its end with its last frame. It does not when nothing is left that gives output:
//! no record matches at all, or a read stopped at the end of a log segment and the rest gives
//! none. Then nothing ever comes and the position stays below the end (the official CLI waits
//! there forever). Such a stream ends after a silence long enough for the SPU to run the
//! chain over everything left ([`silence_without_output`]).

use std::time::Duration;

/// How long a stop-at-end SmartModule stream waits in silence before it takes the `left`
/// input records up to its end as giving no output: 2 s, plus 2 µs for each record left (the
/// SPU's chain runs through more than a million records a second), at most a minute.
pub(crate) fn silence_without_output(left: i64) -> Duration {
    let per_record =
        Duration::from_micros(2).saturating_mul(u32::try_from(left.max(0)).unwrap_or(u32::MAX));
    (Duration::from_secs(2) + per_record).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_silence_grows_with_the_input_left_up_to_a_minute() {
        assert_eq!(silence_without_output(0), Duration::from_secs(2));
        assert_eq!(silence_without_output(-5), Duration::from_secs(2));
        assert_eq!(silence_without_output(1_000_000), Duration::from_secs(4));
        assert_eq!(silence_without_output(i64::MAX), Duration::from_secs(60));
    }
}
