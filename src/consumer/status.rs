//! Whether a partition stream is streaming: set by its fetcher, read through
//! [`super::PartitionStream::status`] (pipelines and readiness checks use it).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// Where a partition stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamState {
    /// Looking up the leader and the start offset; no stream open yet.
    Starting,
    /// A stream is open on the partition's leader.
    Streaming,
    /// The stream was lost (or the leader moved): reopening it with backoff.
    Resuming,
    /// The stream ended: at the end for a stop-at-end consumer, stopped, or failed for good.
    Ended,
}

impl StreamState {
    /// The state's name: `starting`, `streaming`, `resuming`, `ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Starting => "starting",
            StreamState::Streaming => "streaming",
            StreamState::Resuming => "resuming",
            StreamState::Ended => "ended",
        }
    }
}

/// A shared view of a partition stream's [`StreamState`]; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StreamStatus(Arc<AtomicU8>);

impl StreamStatus {
    /// The current state.
    pub fn state(&self) -> StreamState {
        match self.0.load(Ordering::Acquire) {
            0 => StreamState::Starting,
            1 => StreamState::Streaming,
            2 => StreamState::Resuming,
            _ => StreamState::Ended,
        }
    }

    pub(crate) fn set(&self, state: StreamState) {
        self.0.store(state as u8, Ordering::Release);
    }
}
