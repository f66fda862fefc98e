//! Which offset may be committed: the highest offset below which every delivered record was
//! acknowledged, whatever order the acknowledgements come in (as Alpakka's committer does).

use std::collections::{BTreeMap, BTreeSet};

/// Delivered offsets of one partition, acknowledged or not, above the last commit. Several
/// records may share an offset (the outputs of one input through an array-map SmartModule):
/// the offset counts as acknowledged once all of them are.
#[derive(Debug, Clone, Default)]
pub struct OffsetTracker {
    /// Offsets with records not acknowledged yet, and how many.
    pending: BTreeMap<i64, usize>,
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
        *self.pending.entry(offset).or_default() += 1;
    }

    /// A worker finished a record at `offset`.
    pub fn acked(&mut self, offset: i64) {
        let Some(left) = self.pending.get_mut(&offset) else {
            return;
        };
        *left -= 1;
        if *left == 0 {
            self.pending.remove(&offset);
            self.acked.insert(offset);
        }
    }

    /// The offset to commit now, if it moved: every delivered record at or below it is acked.
    pub fn committable(&self) -> Option<i64> {
        let below = match self.pending.first_key_value() {
            Some((&first_unacked, _)) => self.acked.range(..first_unacked).next_back(),
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
        self.pending.values().sum()
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

    #[test]
    fn records_sharing_an_offset_hold_it_until_all_are_acked() {
        let mut t = OffsetTracker::new(None);
        for o in [0, 1, 1, 1, 2] {
            t.delivered(o);
        }
        t.acked(0);
        t.acked(1);
        t.acked(2);
        assert_eq!(t.committable(), Some(0));
        assert_eq!(t.in_flight(), 2);
        t.acked(1);
        t.acked(1);
        assert_eq!(t.committable(), Some(2));
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
