//! What a member does about a new view: which partitions to start, revoke or drop. Pure.

use std::collections::{BTreeMap, BTreeSet};

use super::record::{GroupRecord, MemberKey};
use super::view::GroupView;

/// The partitions a member has handed to its application.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Local {
    /// Being processed.
    pub running: BTreeSet<u32>,
    /// Revoked, waiting for the application's release.
    pub revoking: BTreeSet<u32>,
    /// Releases written, by the generation they carry, for partitions the view still has
    /// this member hold (one is written again only if the partition is revoked anew).
    freed: BTreeMap<u32, u64>,
}

/// A change to tell the application about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Assign(BTreeSet<u32>),
    Revoke(BTreeSet<u32>),
    Lose(BTreeSet<u32>),
    /// Held by this member in the view, run by nothing here and owned by another: nothing
    /// to stop, the release is to be written at once (as if the application answered).
    Free(BTreeSet<u32>),
}

impl Local {
    /// Bring the local partitions in line with `view` for member `me`, whose lease is
    /// `live` (valid, and `me` a member): without a lease everything is lost at once;
    /// otherwise partitions no longer owned are revoked, partitions the view has `me` hold
    /// for another owner while nothing runs them here are freed (`Change::Free`: given back
    /// and taken again while their release was on its way, or moved before they were
    /// started), and, when `may_start` (the lease has time left to be renewed), owned ones
    /// that nobody else holds are started (a revoked one only once its release is written).
    pub(crate) fn reconcile(
        &mut self,
        view: &GroupView,
        me: &MemberKey,
        live: bool,
        may_start: bool,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        if !live || !view.is_member(me) {
            let lost: BTreeSet<u32> = self.running.union(&self.revoking).copied().collect();
            if !lost.is_empty() {
                changes.push(Change::Lose(lost));
            }
            *self = Self::default();
            return changes;
        }
        let owned = view.owned(me);
        let revoke: BTreeSet<u32> = self.running.difference(&owned).copied().collect();
        if !revoke.is_empty() {
            self.running.retain(|p| !revoke.contains(p));
            self.revoking.extend(&revoke);
            changes.push(Change::Revoke(revoke));
        }
        // Freed again only when revoked anew since the release written (that release, landing
        // after the newer revocation, frees nothing); not in every new generation, which in a
        // join storm would write a release per partition held per generation.
        self.freed.retain(|p, _| view.holders().get(p) == Some(me));
        let free: BTreeSet<u32> = view
            .holders()
            .iter()
            .filter(|(p, holder)| *holder == me && !owned.contains(p))
            .map(|(p, _)| *p)
            .filter(|p| !self.running.contains(p) && !self.revoking.contains(p))
            .filter(|&p| {
                self.freed
                    .get(&p)
                    .is_none_or(|&g| view.revoked_in(p).is_some_and(|r| r > g))
            })
            .collect();
        if !free.is_empty() {
            self.revoking.extend(&free);
            changes.push(Change::Free(free));
        }
        if !may_start {
            return changes;
        }
        let start: BTreeSet<u32> = view
            .startable(me)
            .into_iter()
            .filter(|p| !self.running.contains(p) && !self.revoking.contains(p))
            .collect();
        if !start.is_empty() {
            self.running.extend(&start);
            changes.push(Change::Assign(start));
        }
        changes
    }

    /// The application released `partitions`: the records to write for those still being
    /// revoked. Each carries the generation of `view` now, not the one that revoked the
    /// partition: a partition given back to `me` and taken away again while it was being
    /// released is revoked anew, in a later generation, and only a release as recent frees
    /// it (an older one is taken for a retry landing late). A retried copy of this record
    /// still frees nothing later: `me` starts the partition again only in this generation or
    /// a later one, and revoking that takes a later one still.
    pub(crate) fn released(
        &mut self,
        partitions: &BTreeSet<u32>,
        view: &GroupView,
        me: &MemberKey,
    ) -> Vec<GroupRecord> {
        let done: BTreeSet<u32> = self.revoking.intersection(partitions).copied().collect();
        self.revoking.retain(|p| !done.contains(p));
        for &p in &done {
            self.freed.insert(p, view.generation());
        }
        done.into_iter()
            .map(|partition| GroupRecord::Released {
                member: me.clone(),
                partition,
                generation: view.generation(),
            })
            .collect()
    }
}

#[cfg(test)]
mod settles;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> MemberKey {
        MemberKey {
            id: id.into(),
            incarnation: 7,
        }
    }

    /// A log of four partitions and `member`'s join.
    fn four_partitions_joined_by(member: &MemberKey) -> Vec<GroupRecord> {
        vec![
            GroupRecord::Partitions {
                topic: "t".into(),
                count: 4,
            },
            GroupRecord::Join {
                member: member.clone(),
            },
        ]
    }

    fn view(records: &[GroupRecord]) -> GroupView {
        GroupView::from_records(records.iter().enumerate().map(|(i, r)| (i as i64, r)))
    }

    #[test]
    fn a_member_revokes_what_it_lost_restarts_nothing_unreleased_and_loses_all_without_lease() {
        let (a, b) = (key("a"), key("b"));
        let mut records = four_partitions_joined_by(&a);
        let mut local = Local::default();
        let all = BTreeSet::from([0, 1, 2, 3]);
        assert_eq!(
            local.reconcile(&view(&records), &a, true, true),
            [Change::Assign(all.clone())]
        );
        assert!(local.reconcile(&view(&records), &a, true, true).is_empty());
        records.push(GroupRecord::Join { member: b.clone() });
        let v = view(&records);
        let moved = v.owned(&b);
        assert_eq!(
            local.reconcile(&v, &a, true, true),
            [Change::Revoke(moved.clone())]
        );
        // With too little lease left to renew it, nothing new starts (revocations go on).
        let mut short = Local::default();
        assert!(short.reconcile(&v, &b, true, false).is_empty());
        // b may not start before a released.
        let mut other = Local::default();
        assert!(other.reconcile(&v, &b, true, true).is_empty());
        let releases = local.released(&all, &v, &a);
        assert_eq!(
            releases,
            moved
                .iter()
                .map(|&partition| GroupRecord::Released {
                    member: a.clone(),
                    partition,
                    generation: v.generation(),
                })
                .collect::<Vec<_>>()
        );
        records.extend(releases);
        let v = view(&records);
        assert_eq!(
            other.reconcile(&v, &b, true, true),
            [Change::Assign(moved.clone())]
        );
        assert!(local.reconcile(&v, &a, true, true).is_empty());
        // Revoke one more and lose the lease before the application releases it.
        local.revoking.insert(9);
        let kept: BTreeSet<u32> = all.difference(&moved).copied().chain([9]).collect();
        assert_eq!(local.reconcile(&v, &a, false, true), [Change::Lose(kept)]);
        assert_eq!(local, Local::default());
    }

    #[test]
    fn partitions_moved_before_they_were_started_are_freed_at_once() {
        let (a, b) = (key("a"), key("b"));
        let mut records = four_partitions_joined_by(&a);
        // a's join was read back too late to start anything; then b joins.
        let mut local = Local::default();
        assert!(local.reconcile(&view(&records), &a, true, false).is_empty());
        records.push(GroupRecord::Join { member: b.clone() });
        let v = view(&records);
        let moved = v.owned(&b);
        assert!(v.startable(&b).is_empty(), "a holds them in the view");
        // Nothing runs them at a: they are released at once, and not again until revoked anew.
        assert_eq!(
            local.reconcile(&v, &a, true, false),
            [Change::Free(moved.clone())]
        );
        let releases = local.released(&moved, &v, &a);
        // Not freed again; a starts its own once it may.
        assert_eq!(
            local.reconcile(&v, &a, true, true),
            [Change::Assign(v.owned(&a))]
        );
        assert!(local.reconcile(&v, &a, true, true).is_empty());
        records.extend(releases);
        assert_eq!(view(&records).startable(&b), moved);
    }
}
