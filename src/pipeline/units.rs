//! The commit position of one partition of a pipeline, kept per unit (a record, or a batch
//! handed to a worker in one message) rather than per record: units are delivered in offset
//! order and acknowledged in any order; the commit may go up to the last offset below which
//! every delivered unit is acknowledged. O(1) per unit, whatever its size.

use std::collections::VecDeque;

/// A unit's place, from [`Units::delivered`], to acknowledge it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnitId(u64);

impl UnitId {
    /// The unit delivered `n` units after this one.
    pub(crate) fn nth(self, n: u64) -> UnitId {
        UnitId(self.0 + n)
    }
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    first: i64,
    last: i64,
    acked: bool,
}

/// Units delivered and not yet passed by the commit, in delivery order.
#[derive(Debug, Default)]
pub(crate) struct Units {
    units: VecDeque<Unit>,
    /// The id of `units[0]`.
    front: u64,
    /// The highest offset every unit before the front covered (the commit candidate).
    done: Option<i64>,
    committed: Option<i64>,
}

impl Units {
    /// A unit of records from `first` to `last` (offsets in order; a unit may start at the
    /// offset the previous one ended at, when records share an offset).
    pub(crate) fn delivered(&mut self, first: i64, last: i64) -> UnitId {
        self.units.push_back(Unit {
            first,
            last,
            acked: false,
        });
        UnitId(self.front + self.units.len() as u64 - 1)
    }

    /// The unit `id` was acknowledged (again: ignored).
    pub(crate) fn acked(&mut self, id: UnitId) {
        let Some(index) = id.0.checked_sub(self.front) else {
            return;
        };
        if let Some(unit) = self.units.get_mut(index as usize) {
            unit.acked = true;
        }
        while self.units.front().is_some_and(|u| u.acked) {
            let unit = self.units.pop_front().expect("checked");
            self.front += 1;
            self.done = Some(self.done.map_or(unit.last, |d| d.max(unit.last)));
        }
    }

    /// The highest offset below which every delivered record is acknowledged.
    pub(crate) fn done(&self) -> Option<i64> {
        self.done
    }

    /// The offset to commit now, if it moved: every delivered record at or below it is
    /// acknowledged (an unacknowledged unit starting at the same offset holds it back).
    pub(crate) fn committable(&self) -> Option<i64> {
        let done = self.done?;
        let candidate = match self.units.front() {
            Some(next) if next.first <= done => next.first - 1,
            _ => done,
        };
        Some(candidate).filter(|&c| c >= 0 && self.committed.is_none_or(|prev| c > prev))
    }

    /// `offset` was committed.
    pub(crate) fn committed(&mut self, offset: i64) {
        self.committed = Some(self.committed.map_or(offset, |c| c.max(offset)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::OffsetTracker;
    use proptest::prelude::*;

    #[test]
    fn an_unacked_unit_holds_the_commit_back() {
        let mut u = Units::default();
        let a = u.delivered(0, 9);
        let b = u.delivered(10, 19);
        let c = u.delivered(20, 29);
        u.acked(b);
        u.acked(c);
        assert_eq!(u.committable(), None);
        u.acked(a);
        assert_eq!(u.committable(), Some(29));
        u.committed(29);
        assert_eq!(u.committable(), None);
    }

    #[test]
    fn records_sharing_an_offset_across_units_hold_it() {
        let mut u = Units::default();
        let a = u.delivered(0, 5);
        let b = u.delivered(5, 7);
        u.acked(a);
        assert_eq!(u.committable(), Some(4), "offset 5 has a record in flight");
        u.acked(b);
        assert_eq!(u.committable(), Some(7));
    }

    proptest! {
        /// The same commit as the per-record tracker (the same delivered records at or below
        /// it), for units of consecutive records in offset order (records may share
        /// offsets) acknowledged in any order.
        #[test]
        fn agrees_with_the_per_record_tracker(
            steps in proptest::collection::vec(0i64..3, 1..100),
            cuts in proptest::collection::vec(any::<bool>(), 100),
            acks in proptest::collection::vec(any::<(bool, u16)>(), 100),
        ) {
            let (mut units, mut tracker) = (Units::default(), OffsetTracker::new(None));
            let mut offsets = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                offsets.push(if i == 0 { 0 } else { offsets[i - 1] + step });
            }
            let mut groups: Vec<Vec<i64>> = Vec::new();
            for (i, &o) in offsets.iter().enumerate() {
                match groups.last_mut() {
                    Some(group) if !cuts[i] => group.push(o),
                    _ => groups.push(vec![o]),
                }
            }
            let mut delivered = Vec::new();
            for group in groups {
                for &o in &group {
                    tracker.delivered(o);
                }
                let id = units.delivered(group[0], *group.last().unwrap());
                delivered.push((id, group));
            }
            let covered = |c: Option<i64>| offsets.iter().filter(|&&o| c.is_some_and(|c| o <= c)).count();
            let mut order: Vec<usize> = (0..delivered.len()).filter(|&i| acks[i].0).collect();
            order.sort_by_key(|&i| acks[i].1);
            for i in order {
                let (id, group) = &delivered[i];
                units.acked(*id);
                for &o in group {
                    tracker.acked(o);
                }
                prop_assert_eq!(covered(units.committable()), covered(tracker.committable()));
            }
        }
    }
}
