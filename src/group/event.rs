//! What a member tells its application.

use std::collections::BTreeSet;

use tokio::sync::mpsc;

/// A change to the partitions this member may process.
#[derive(Debug)]
pub enum Assignment {
    /// Start processing `partitions` (resume from the group's committed offsets: consume
    /// with `consumer_id` = the group's name).
    Assigned {
        /// The partitions to start.
        partitions: BTreeSet<u32>,
        /// The generation that gave them.
        generation: u64,
    },
    /// Stop reading `partitions`, finish and commit the records in flight, then call
    /// [`Release::released`] (or drop it): only then may their new owner start.
    Revoked {
        /// The partitions to stop.
        partitions: BTreeSet<u32>,
        /// The generation that took them away.
        generation: u64,
        /// Answer once they are stopped and committed.
        release: Release,
    },
    /// The member's lease is gone (it could not heartbeat, or read its log, for the session
    /// timeout): stop processing `partitions` at once and do **not** commit. Others may take
    /// them over after the takeover margin. The member rejoins by itself. (When its own
    /// heartbeat is read back late, within a tick of the lapse, the lease is renewed
    /// instead: the partitions are then [`Assignment::Assigned`] again, to resume from the
    /// committed offsets.)
    Lost {
        /// Every partition the member was processing or releasing.
        partitions: BTreeSet<u32>,
        /// The last generation the member knew.
        generation: u64,
    },
}

/// Where a [`Release`] sends the released partitions.
pub(crate) type ReleaseAcks = mpsc::UnboundedSender<BTreeSet<u32>>;

/// The answer to a [`Assignment::Revoked`]: the application has stopped the partitions
/// and committed what it processed. Dropping it answers too.
#[derive(Debug)]
pub struct Release {
    partitions: BTreeSet<u32>,
    acks: ReleaseAcks,
}

impl Release {
    pub(crate) fn new(partitions: BTreeSet<u32>, acks: ReleaseAcks) -> Self {
        Self { partitions, acks }
    }

    /// The revoked partitions are stopped and committed: let their new owners start.
    pub fn released(self) {}
}

impl Drop for Release {
    fn drop(&mut self) {
        let partitions = std::mem::take(&mut self.partitions);
        let _ = self.acks.send(partitions);
    }
}
