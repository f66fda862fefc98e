//! Reading the coordination log into a [`GroupView`], from its start or from wherever
//! retention left it: then from the first snapshot that the records still there complete.

use super::record::GroupRecord;
use super::view::{Applied, GroupView};

/// The view of the log read so far.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    view: GroupView,
    /// Whether `view` is the log's state (not still waiting for a usable snapshot).
    anchored: bool,
    /// The first offset read.
    first: Option<i64>,
    /// Records read before the snapshot that anchors the view.
    pending: Vec<(i64, GroupRecord)>,
}

impl Replay {
    /// The view (empty until anchored).
    pub(crate) fn view(&self) -> &GroupView {
        &self.view
    }

    /// Whether any record was read.
    pub(crate) fn started(&self) -> bool {
        self.first.is_some()
    }

    /// Whether the view is the log's state.
    pub(crate) fn anchored(&self) -> bool {
        self.anchored
    }

    /// Apply the record at `offset` (`None`: not a group record). A log read from offset 0
    /// is applied as it comes; one whose first records are gone waits for a snapshot taken
    /// at or after the record before the first one read, then applies the records after the
    /// snapshot's point. Returns what it did once the view is anchored.
    pub(crate) fn apply(&mut self, offset: i64, record: Option<GroupRecord>) -> Option<Applied> {
        let first = *self.first.get_or_insert(offset);
        self.anchored |= first == 0;
        let record = record?;
        if self.anchored {
            return Some(self.view.apply(offset, &record));
        }
        if let GroupRecord::Snapshot { as_of, view } = &record {
            if *as_of + 1 >= first && *as_of < offset {
                self.view = (**view).clone();
                for (o, r) in std::mem::take(&mut self.pending) {
                    if o > *as_of {
                        self.view.apply(o, &r);
                    }
                }
                self.anchored = true;
                return Some(Applied {
                    from_member: false,
                    rebalanced: true,
                });
            }
        }
        self.pending.push((offset, record));
        None
    }

    /// No usable snapshot: take the records read as the whole log (members whose join was
    /// removed are unknown until they join again).
    pub(crate) fn anchor_anyway(&mut self) {
        if !self.anchored {
            for (o, r) in std::mem::take(&mut self.pending) {
                self.view.apply(o, &r);
            }
            self.anchored = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::view::tests::any_record;
    use proptest::prelude::*;

    proptest! {
        /// Any log with snapshots taken along it (each of the view some records before it),
        /// read from any point: once anchored, the view is the one read from the start,
        /// record after record, and it is anchored by the first snapshot it can use.
        #[test]
        fn a_log_read_after_retention_agrees_with_one_read_from_the_start(
            records in proptest::collection::vec(any_record(), 1..40),
            snapshots in proptest::collection::vec((0usize..40, 0usize..4), 0..5),
            start in 0usize..40,
        ) {
            // Interleave snapshots: one after record i, of the view `lag` records earlier.
            let mut log: Vec<GroupRecord> = Vec::new();
            let mut views = vec![GroupView::default()];
            let mut truth = GroupView::default();
            for (i, record) in records.into_iter().enumerate() {
                truth.apply(log.len() as i64, &record);
                log.push(record);
                views.push(truth.clone());
                for &(_, lag) in snapshots.iter().filter(|(at, _)| *at == i) {
                    let as_of = (log.len() as i64 - 1 - lag as i64).max(-1);
                    let view = Box::new(views[(as_of + 1) as usize].clone());
                    log.push(GroupRecord::Snapshot { as_of, view });
                    views.push(truth.clone());
                }
            }
            let start = start.min(log.len() - 1);
            let mut replay = Replay::default();
            for (offset, record) in log.iter().enumerate().skip(start) {
                replay.apply(offset as i64, Some(record.clone()));
                if replay.anchored() {
                    prop_assert_eq!(replay.view(), &views[offset + 1]);
                } else {
                    let usable = log[start..=offset].iter().any(|r| matches!(r,
                        GroupRecord::Snapshot { as_of, .. } if *as_of + 1 >= start as i64));
                    prop_assert!(!usable, "a usable snapshot was passed over at {}", offset);
                }
            }
        }
    }
}
