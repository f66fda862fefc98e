//! How many bytes a partition stream asks for per frame: it opens at 256 KiB (or `max_bytes`
//! when smaller) and doubles toward `max_bytes` only while full frames hold few records.
//!
//! A frame's records wait whole in the read-ahead (a frame with more records than
//! `buffer_records` is let in alone), and each decoded record costs about 100 B beside its
//! key and value; with the SPU preparing the next frame while the reader works, about three
//! frames per partition are alive at once. A fetch sized to the configured maximum (4 MiB,
//! 36,000 records of 100 B) therefore held ~30 MiB per partition whatever `buffer_records`
//! said. Frames grow only when the records are large enough that a frame twice the size still
//! holds at most a quarter of `buffer_records`, so memory follows the records, and large
//! records still get large frames (fewer round trips).
//!
//! Small frames cost no rate since the connection acknowledges what it reads at once (see
//! `connection/quickack.rs`): each frame used to wait up to 40 ms for a delayed TCP ACK,
//! which made 256 KiB frames copy at a quarter of the rate of 1 MiB ones. A 256 KiB frame
//! holds ~2,300 records of 100 B: about the default `buffer_records` (2,500), so the
//! read-ahead holds one frame while the fetcher holds the next.

/// The size a stream opens with when `max_bytes` is larger.
pub(crate) const START_FETCH_BYTES: i32 = 256 * 1024;

/// The fetch size of a partition's streams, fitted to the records seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FetchSize {
    fitted: i32,
    configured: i32,
    buffer_records: usize,
}

impl FetchSize {
    /// Streams open at `min(max_bytes, START_FETCH_BYTES)`, grow to at most `max_bytes`.
    pub(crate) fn new(max_bytes: i32, buffer_records: usize) -> Self {
        Self {
            fitted: max_bytes.min(START_FETCH_BYTES),
            configured: max_bytes,
            buffer_records,
        }
    }

    /// What a stream asks for.
    pub(crate) fn fitted(&self) -> i32 {
        self.fitted
    }

    /// A frame of `frame_bytes` holding `records` arrived on a stream opened at the fitted
    /// size: `true` when the fitted size grew (a new stream asks for it), because the frame
    /// was full (at least half the fetch) and one twice as large would hold at most a
    /// quarter of `buffer_records`.
    pub(crate) fn after_frame(&mut self, frame_bytes: usize, records: usize) -> bool {
        let fitted = self.fitted as usize;
        let full = frame_bytes.saturating_mul(2) >= fitted;
        let few = records.saturating_mul(8) <= self.buffer_records;
        if self.fitted >= self.configured || !full || !few || records == 0 {
            return false;
        }
        self.fitted = self.fitted.saturating_mul(2).min(self.configured);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_open_at_256_kib_or_the_configured_size_when_smaller() {
        assert_eq!(FetchSize::new(4 << 20, 10_000).fitted(), START_FETCH_BYTES);
        assert_eq!(FetchSize::new(4096, 10_000).fitted(), 4096);
    }

    #[test]
    fn small_records_keep_the_start_size() {
        let mut size = FetchSize::new(4 << 20, 10_000);
        // A full 256 KiB frame of ~115 B records: 2,300 records.
        assert!(!size.after_frame(256 << 10, 2_300));
        assert_eq!(size.fitted(), START_FETCH_BYTES);
    }

    #[test]
    fn large_records_grow_the_fetch_up_to_the_configured_size() {
        let mut size = FetchSize::new(4 << 20, 10_000);
        // 5 KiB records: 50 per full 256 KiB frame.
        assert!(size.after_frame(256 << 10, 50));
        assert_eq!(size.fitted(), 2 * START_FETCH_BYTES);
        assert!(size.after_frame(512 << 10, 100));
        assert!(size.after_frame(1 << 20, 200));
        assert!(size.after_frame(2 << 20, 400));
        assert_eq!(size.fitted(), 4 << 20);
        assert!(!size.after_frame(4 << 20, 800), "at the configured size");
    }

    #[test]
    fn frames_that_are_not_full_do_not_grow_the_fetch() {
        let mut size = FetchSize::new(4 << 20, 10_000);
        assert!(!size.after_frame(100_000, 20));
        assert!(!size.after_frame(0, 0));
        assert_eq!(size.fitted(), START_FETCH_BYTES);
    }
}
