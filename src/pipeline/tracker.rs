//! Which offset may be committed: the highest offset below which every delivered record was
//! acknowledged, whatever order the acknowledgements come in (as Alpakka's committer does).

use std::collections::BTreeSet;

/// Delivered offsets of one partition, acknowledged or not, above the last commit.
#[derive(Debug, Clone, Default)]
pub struct OffsetTracker {
    pending: BTreeSet<i64>,
    acked: BTreeSet<i64>,
    committed: Option<i64>,
}

impl OffsetTracker {
    /// A tracker that resumes after `committed` (the last committed offset), if any.
    pub fn new(committed: Option<i64>) -> Self {
        Self {
            committed,
            ..Self::default()
        }
    }

    /// A record was handed to a worker.
    pub fn delivered(&mut self, offset: i64) {
        self.pending.insert(offset);
    }

    /// A worker finished the record at `offset`.
    pub fn acked(&mut self, offset: i64) {
        if self.pending.remove(&offset) {
            self.acked.insert(offset);
        }
    }

    /// The offset to commit now, if it moved: every delivered record at or below it is acked.
    pub fn committable(&self) -> Option<i64> {
        let below = match self.pending.first() {
            Some(&first_unacked) => self.acked.range(..first_unacked).next_back(),
            None => self.acked.last(),
        };
        below
            .copied()
            .filter(|&o| self.committed.is_none_or(|c| o > c))
    }

    /// `offset` was committed.
    pub fn committed(&mut self, offset: i64) {
        self.committed = Some(self.committed.map_or(offset, |c| c.max(offset)));
        self.acked = self.acked.split_off(&(offset + 1));
    }

    /// The last committed offset.
    pub fn last_committed(&self) -> Option<i64> {
        self.committed
    }

    /// Records handed out and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_unacked_record_holds_the_commit_back() {
        let mut t = OffsetTracker::new(None);
        for o in 0..5 {
            t.delivered(o);
        }
        t.acked(0);
        t.acked(2);
        t.acked(3);
        assert_eq!(t.committable(), Some(0));
        t.committed(0);
        assert_eq!(t.committable(), None);
        t.acked(1);
        assert_eq!(t.committable(), Some(3));
        t.acked(4);
        assert_eq!(t.committable(), Some(4));
    }

    proptest! {
        #[test]
        fn the_commit_never_passes_an_unacked_record(
            acks in proptest::collection::vec(any::<bool>(), 1..50),
            order in proptest::collection::vec(any::<u16>(), 1..50),
        ) {
            let mut t = OffsetTracker::new(None);
            let n = acks.len() as i64;
            for o in 0..n { t.delivered(o); }
            let mut acked: Vec<i64> = (0..n).filter(|&o| acks[o as usize]).collect();
            acked.sort_by_key(|o| order.get(*o as usize).copied().unwrap_or(0));
            for o in &acked { t.acked(*o); }
            if let Some(c) = t.committable() {
                for o in 0..=c {
                    prop_assert!(acks[o as usize], "committed {c} past unacked {o}");
                }
            }
            let first_unacked = (0..n).find(|&o| !acks[o as usize]);
            let expected = match first_unacked { Some(0) => None, Some(f) => Some(f - 1), None => Some(n - 1) };
            prop_assert_eq!(t.committable(), expected);
        }
    }
}
