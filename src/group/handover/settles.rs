//! The handover settles: members that each read the log at their own pace (their views
//! lag it, each by its own amount) release what they are asked for, and once they have read
//! it all and released everything, every partition is run by its owner.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::{Change, Local};
use crate::group::record::{GroupRecord, MemberKey};
use crate::group::view::GroupView;

/// A member process: its key, what its application runs, its own view and how much of the
/// log it has read.
struct Process {
    key: MemberKey,
    local: Local,
    view: GroupView,
    read: usize,
    /// It has read its own join back.
    joined: bool,
    alive: bool,
}

impl Process {
    /// Read up to `max` more records of `log`, acting on each as `MemberTask` does.
    /// The releases it writes by itself (`Change::Free`) go to `written`.
    fn read(&mut self, log: &[GroupRecord], max: usize, written: &mut Vec<GroupRecord>) {
        let end = log.len().min(self.read.saturating_add(max));
        while self.alive && self.read < end {
            self.view.apply(self.read as i64, &log[self.read]);
            self.read += 1;
            let live = self.view.is_member(&self.key);
            for change in self.local.reconcile(&self.view, &self.key, live, true) {
                if let Change::Free(partitions) = change {
                    let records = self.local.released(&partitions, &self.view, &self.key);
                    written.extend(records);
                }
            }
            // Removed (an expiry, a duplicated leave): it stops (and would rejoin as
            // another member).
            self.joined |= live;
            self.alive = live || !self.joined;
        }
    }

    /// Release everything being revoked, as the application answers `Revoked`.
    fn release(&mut self) -> Vec<GroupRecord> {
        let revoking = self.local.revoking.clone();
        self.local.released(&revoking, &self.view, &self.key)
    }
}

/// The view of the whole log, as a member that has read it all holds it.
fn whole(log: &[GroupRecord]) -> GroupView {
    GroupView::from_records(log.iter().enumerate().map(|(o, r)| (o as i64, r)))
}

#[derive(Debug, Clone)]
enum Step {
    Join,
    /// A member reads one more record.
    Read(usize),
    /// A member reads everything written so far.
    CatchUp(usize),
    /// A member's application answers the revocations it has.
    Release(usize),
    Leave(usize),
    Expire(usize),
    Partitions(u32),
    /// A record lands a second time (a producer retry).
    Duplicate(usize),
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Join),
        6 => (0usize..8).prop_map(Step::Read),
        2 => (0usize..8).prop_map(Step::CatchUp),
        3 => (0usize..8).prop_map(Step::Release),
        1 => (0usize..8).prop_map(Step::Leave),
        1 => (0usize..8).prop_map(Step::Expire),
        1 => (1u32..10).prop_map(Step::Partitions),
        1 => (0usize..500).prop_map(Step::Duplicate),
    ]
}

proptest! {
    #[test]
    fn members_reading_at_their_own_pace_settle_once_they_have_read_and_released_everything(
        steps in proptest::collection::vec(any_step(), 1..150),
    ) {
        let mut log = vec![GroupRecord::Partitions { topic: "t".into(), count: 4 }];
        let mut processes: Vec<Process> = Vec::new();
        for step in steps {
            let mut written = Vec::new();
            let alive: Vec<usize> = (0..processes.len()).filter(|&i| processes[i].alive).collect();
            let Some(i) = (match step {
                Step::Join | Step::Partitions(_) | Step::Duplicate(_) => Some(0),
                Step::Read(i) | Step::CatchUp(i) | Step::Release(i) | Step::Leave(i) | Step::Expire(i) => {
                    (!alive.is_empty()).then(|| alive[i % alive.len()])
                }
            }) else {
                continue;
            };
            match step {
                Step::Join => {
                    // A member reads the log to its end before it joins.
                    let key = MemberKey { id: format!("m{}", processes.len()), incarnation: 1 };
                    let mut process = Process { key: key.clone(), local: Local::default(), view: GroupView::default(), read: 0, joined: false, alive: true };
                    process.read(&log, usize::MAX, &mut written);
                    processes.push(process);
                    log.push(GroupRecord::Join { member: key });
                }
                Step::Read(_) => processes[i].read(&log, 1, &mut written),
                Step::CatchUp(_) => processes[i].read(&log, usize::MAX, &mut written),
                Step::Release(_) => {
                    let records = processes[i].release();
                    log.extend(records);
                }
                Step::Leave(_) => {
                    let p = &mut processes[i];
                    let everything: BTreeSet<u32> = p.local.running.union(&p.local.revoking).copied().collect();
                    p.local.revoking = everything.clone();
                    p.local.running.clear();
                    let records = p.local.released(&everything, &p.view, &p.key);
                    log.extend(records);
                    log.push(GroupRecord::Leave { member: p.key.clone() });
                    p.alive = false;
                }
                Step::Expire(_) => {
                    // An observer that has read the whole log expires the member.
                    let member = processes[i].key.clone();
                    let view = whole(&log);
                    if let Some(&last_seen) = view.members().get(&member) {
                        log.push(GroupRecord::Expire { member, last_seen });
                    }
                }
                Step::Partitions(count) => log.push(GroupRecord::Partitions { topic: "t".into(), count }),
                Step::Duplicate(k) => log.push(log[k % log.len()].clone()),
            }
            log.extend(written);
        }
        // Everyone reads to the end and answers every revocation, until nothing more is
        // written; members no process runs (a duplicated join brought one back) are expired,
        // as live members do after the session timeout.
        for _ in 0..100 {
            let before = log.len();
            for p in processes.iter_mut() {
                let mut written = Vec::new();
                p.read(&log, usize::MAX, &mut written);
                log.extend(written);
                if p.alive {
                    let records = p.release();
                    log.extend(records);
                }
            }
            let view = whole(&log);
            for (member, &last_seen) in view.members() {
                if !processes.iter().any(|p| p.alive && p.key == *member) {
                    log.push(GroupRecord::Expire { member: member.clone(), last_seen });
                }
            }
            if log.len() == before {
                break;
            }
        }
        let view = whole(&log);
        prop_assert!(view.settled(), "not settled: {:?} after {:?}", view, log);
        for p in processes.iter().filter(|p| p.alive) {
            prop_assert_eq!(&p.local.running, &view.owned(&p.key), "{} after {:?}", p.key, log);
            prop_assert!(p.local.revoking.is_empty());
        }
    }
}
