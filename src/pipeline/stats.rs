//! What flowed through a pipeline: the counters its partitions bump, and the plain snapshot
//! of them a user reads.

use std::sync::atomic::{AtomicU64, Ordering};

/// The live counters, shared by the pipeline's partition tasks.
#[derive(Debug, Default)]
pub(crate) struct PipelineCounters {
    pub(crate) acked: AtomicU64,
    pub(crate) redelivered: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) peak_in_flight_bytes: AtomicU64,
}

impl PipelineCounters {
    /// Their values now.
    pub(crate) fn snapshot(&self) -> PipelineStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PipelineStats {
            acked: read(&self.acked),
            redelivered: read(&self.redelivered),
            retried: read(&self.retried),
            dead_lettered: read(&self.dead_lettered),
            skipped: read(&self.skipped),
            restarts: read(&self.restarts),
            commits: read(&self.commits),
            peak_in_flight_bytes: read(&self.peak_in_flight_bytes),
        }
    }
}

/// Counts of what flowed, as of [`PipelineHandle::stats`](super::PipelineHandle::stats) or
/// the pipeline's end ([`PipelineHandle::wait`](super::PipelineHandle::wait) and the drains).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Records acknowledged by workers.
    pub acked: u64,
    /// Records delivered again (after a failure, or a worker restart).
    pub redelivered: u64,
    /// Retries of records that failed (by the failure policy).
    pub retried: u64,
    /// Records written to the dead-letter topic.
    pub dead_lettered: u64,
    /// Records skipped after their failures.
    pub skipped: u64,
    /// Worker restarts.
    pub restarts: u64,
    /// Offset commits.
    pub commits: u64,
    /// The most key and value bytes one partition held between its stream and their
    /// acknowledgement (see
    /// [`PipelineConfig::max_in_flight_bytes`](super::PipelineConfig::max_in_flight_bytes)).
    pub peak_in_flight_bytes: u64,
}
