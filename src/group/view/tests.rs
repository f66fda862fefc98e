//! Unit tests of `view.rs`.

use super::*;
use proptest::prelude::*;

/// Views of arbitrary logs.
pub(crate) fn any_view() -> impl Strategy<Value = GroupView> {
    proptest::collection::vec(any_record(), 0..20).prop_map(|records| {
        GroupView::from_records(records.iter().enumerate().map(|(i, r)| (i as i64, r)))
    })
}

fn key(id: &str) -> MemberKey {
    MemberKey {
        id: id.into(),
        incarnation: 1,
    }
}

fn log(records: &[GroupRecord]) -> GroupView {
    GroupView::from_records(records.iter().enumerate().map(|(i, r)| (i as i64, r)))
}

fn join(id: &str) -> GroupRecord {
    GroupRecord::Join { member: key(id) }
}

fn partitions(count: u32) -> GroupRecord {
    GroupRecord::Partitions {
        topic: "t".into(),
        count,
    }
}

#[test]
fn a_joiner_waits_for_the_previous_owner_to_release_before_starting() {
    let mut records = vec![partitions(2), join("a")];
    let view = log(&records);
    assert_eq!(view.startable(&key("a")), BTreeSet::from([0, 1]));
    records.push(join("b"));
    let view = log(&records);
    assert_eq!(view.generation(), 3);
    let moved = *view.owned(&key("b")).first().unwrap();
    assert!(
        view.startable(&key("b")).is_empty(),
        "a still holds {moved}"
    );
    assert_eq!(view.startable(&key("a")).len(), 1);
    assert!(!view.settled());
    // A release by someone else, or of another partition, changes nothing.
    for (member, partition) in [(key("b"), moved), (key("a"), 1 - moved)] {
        records.push(GroupRecord::Released {
            member,
            partition,
            generation: 3,
        });
    }
    assert!(log(&records).startable(&key("b")).is_empty());
    records.push(GroupRecord::Released {
        member: key("a"),
        partition: moved,
        generation: 3,
    });
    let view = log(&records);
    assert_eq!(view.startable(&key("b")), BTreeSet::from([moved]));
    assert!(view.settled());
}

#[test]
fn an_expiry_counts_only_if_the_member_wrote_nothing_since_and_frees_its_partitions() {
    let mut records = vec![partitions(4), join("a"), join("b")];
    records.push(GroupRecord::Heartbeat {
        member: key("b"),
        seq: 1,
    });
    // Stale: b wrote at offset 3 after the offset 2 this observer saw.
    records.push(GroupRecord::Expire {
        member: key("b"),
        last_seen: 2,
    });
    let view = log(&records);
    assert!(view.is_member(&key("b")));
    assert_eq!(view.generation(), 3);
    records.push(GroupRecord::Expire {
        member: key("b"),
        last_seen: 3,
    });
    let view = log(&records);
    assert!(!view.is_member(&key("b")));
    assert_eq!(view.generation(), 4);
    // No release needed from an expired member.
    assert_eq!(view.startable(&key("a")), BTreeSet::from([0, 1, 2, 3]));
    // Its later records are not a member's: no rejoin by heartbeat.
    records.push(GroupRecord::Heartbeat {
        member: key("b"),
        seq: 2,
    });
    let again = log(&records);
    assert_eq!(again, view);
}

#[test]
fn partitions_only_grow_and_another_topic_is_ignored() {
    let mut records = vec![partitions(2), join("a")];
    records.push(partitions(1));
    records.push(GroupRecord::Partitions {
        topic: "other".into(),
        count: 9,
    });
    let view = log(&records);
    assert_eq!(
        (view.topic(), view.partitions(), view.generation()),
        (Some("t"), 2, 2)
    );
    records.push(partitions(3));
    let view = log(&records);
    assert_eq!((view.partitions(), view.generation()), (3, 3));
    assert_eq!(view.startable(&key("a")).len(), 3);
}

pub(crate) fn any_record() -> impl Strategy<Value = GroupRecord> {
    let member = (0u8..4, 0u64..2).prop_map(|(id, incarnation)| MemberKey {
        id: format!("m{id}"),
        incarnation,
    });
    prop_oneof![
        member
            .clone()
            .prop_map(|member| GroupRecord::Join { member }),
        member
            .clone()
            .prop_map(|member| GroupRecord::Heartbeat { member, seq: 1 }),
        member
            .clone()
            .prop_map(|member| GroupRecord::Leave { member }),
        (member.clone(), 0i64..30)
            .prop_map(|(member, last_seen)| GroupRecord::Expire { member, last_seen }),
        (member, 0u32..8, 0u64..5).prop_map(|(member, partition, generation)| {
            GroupRecord::Released {
                member,
                partition,
                generation,
            }
        }),
        (0u32..8).prop_map(|count| GroupRecord::Partitions {
            topic: "t".into(),
            count
        }),
    ]
}

proptest! {
    /// Any log: every partition is owned by one live member (when there are members),
    /// held by at most one, and startable for at most one member; the same log always
    /// gives the same view; the generation grows exactly with the member set or the
    /// partition count.
    #[test]
    fn views_of_any_log_agree_and_never_let_two_members_start_a_partition(
        records in proptest::collection::vec(any_record(), 0..30),
    ) {
        let mut view = GroupView::default();
        for (offset, record) in records.iter().enumerate() {
            let before = (view.members.keys().cloned().collect::<Vec<_>>(), view.partitions, view.generation);
            let applied = view.apply(offset as i64, record);
            let after = (view.members.keys().cloned().collect::<Vec<_>>(), view.partitions);
            prop_assert_eq!(applied.rebalanced, (before.0, before.1) != after);
            prop_assert_eq!(view.generation, before.2 + u64::from(applied.rebalanced));
            if view.members.is_empty() {
                prop_assert!(view.owners.is_empty() && view.holders.is_empty());
            } else {
                prop_assert_eq!(view.owners.len() as u32, view.partitions);
            }
            prop_assert!(view.owners.values().chain(view.holders.values()).all(|m| view.members.contains_key(m)));
            let mut started = BTreeSet::new();
            for m in view.members.keys() {
                for p in view.startable(m) {
                    prop_assert!(started.insert(p), "partition {} startable twice", p);
                }
            }
        }
        let indexed = records.iter().enumerate().map(|(i, r)| (i as i64, r));
        prop_assert_eq!(GroupView::from_records(indexed), view);
    }
}

#[test]
fn a_release_older_than_the_revocation_does_not_hand_the_partition_over() {
    // a owns both partitions; b joins and a is asked for one (generation 3).
    let mut records = vec![partitions(2), join("a"), join("b")];
    let v = log(&records);
    let moved = *v.owned(&key("b")).first().unwrap();
    let released_then = GroupRecord::Released {
        member: key("a"),
        partition: moved,
        generation: v.generation(),
    };
    records.push(released_then.clone());
    assert_eq!(log(&records).startable(&key("b")), BTreeSet::from([moved]));
    // b leaves: the partition comes back to a; then c joins and takes it (generation 5).
    records.push(GroupRecord::Leave { member: key("b") });
    records.push(join("c"));
    let v = log(&records);
    assert_eq!(v.owned(&key("c")), BTreeSet::from([moved]), "{v:?}");
    assert!(v.startable(&key("c")).is_empty(), "a still holds it");
    // A producer retry lands a's first release again: it must not free the partition,
    // which a is still finishing.
    records.push(released_then);
    assert!(log(&records).startable(&key("c")).is_empty());
    // a's release of this revocation frees it.
    records.push(GroupRecord::Released {
        member: key("a"),
        partition: moved,
        generation: v.generation(),
    });
    assert_eq!(log(&records).startable(&key("c")), BTreeSet::from([moved]));
}

#[test]
fn a_partition_given_back_and_revoked_again_while_being_released_is_handed_over() {
    use crate::group::handover::{Change, Local};
    // a runs both partitions; b joins and a is asked for one.
    let mut records = vec![partitions(2), join("a")];
    let mut a = Local::default();
    a.reconcile(&log(&records), &key("a"), true, true);
    records.push(join("b"));
    a.reconcile(&log(&records), &key("a"), true, true);
    let moved = *log(&records).owned(&key("b")).first().unwrap();
    assert!(a.revoking.contains(&moved));
    // While a's application finishes it, b leaves (the partition comes back to a, which
    // does not start it again before it is released) and c joins (it is taken away again,
    // a later generation). This is what a burst of rejoins after a log outage does.
    records.push(GroupRecord::Leave { member: key("b") });
    assert!(a
        .reconcile(&log(&records), &key("a"), true, true)
        .is_empty());
    records.push(join("c"));
    let v = log(&records);
    assert!(a.reconcile(&v, &key("a"), true, true).is_empty());
    assert_eq!(v.owned(&key("c")), BTreeSet::from([moved]), "{v:?}");
    assert!(v.startable(&key("c")).is_empty(), "a still holds it");
    // a's release frees it for c.
    records.extend(a.released(&BTreeSet::from([moved]), &v, &key("a")));
    assert_eq!(log(&records).startable(&key("c")), BTreeSet::from([moved]));
    // The same with the partition given back for good: a starts it again once released.
    let mut records = vec![partitions(2), join("a")];
    let mut a = Local::default();
    a.reconcile(&log(&records), &key("a"), true, true);
    records.push(join("b"));
    a.reconcile(&log(&records), &key("a"), true, true);
    records.push(GroupRecord::Leave { member: key("b") });
    let v = log(&records);
    a.reconcile(&v, &key("a"), true, true);
    records.extend(a.released(&BTreeSet::from([moved]), &v, &key("a")));
    assert_eq!(
        a.reconcile(&log(&records), &key("a"), true, true),
        [Change::Assign(BTreeSet::from([moved]))]
    );
}

/// One step of honest members, or of a log that repeats a record (a producer retry).
#[derive(Debug, Clone)]
enum Step {
    Join,
    Leave(usize),
    Expire(usize),
    Heartbeat(usize),
    /// The member releases every partition it was asked to hand over.
    Release(usize),
    Partitions(u32),
    /// The record at this index (modulo the log's length) lands again.
    Duplicate(usize),
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Join),
        1 => (0usize..8).prop_map(Step::Leave),
        1 => (0usize..8).prop_map(Step::Expire),
        2 => (0usize..8).prop_map(Step::Heartbeat),
        4 => (0usize..8).prop_map(Step::Release),
        1 => (1u32..10).prop_map(Step::Partitions),
        3 => (0usize..500).prop_map(Step::Duplicate),
    ]
}

/// A simulated member process: its key and what its application runs.
struct Process {
    key: MemberKey,
    local: crate::group::handover::Local,
    alive: bool,
}

proptest! {
    /// Members that behave as `GroupMember` does (start what the view lets them start,
    /// release a revoked partition only after finishing it, as `Local::released` writes
    /// it; stop everything once expired), on a log where any record may land a second time
    /// later (a producer retry): at every prefix of the log, no partition is being processed
    /// (running or still releasing) by two members; after every step, no partition waits
    /// for good (one that came back while being released and was revoked again included).
    #[test]
    fn duplicated_records_never_let_two_members_process_a_partition(
        steps in proptest::collection::vec(any_step(), 1..200),
    ) {
        use crate::group::handover::Change;
        let mut log: Vec<GroupRecord> = vec![GroupRecord::Partitions { topic: "t".into(), count: 4 }];
        let mut view = GroupView::default();
        view.apply(0, &log[0]);
        let mut processes: Vec<Process> = Vec::new();
        for step in steps {
            let alive: Vec<usize> = (0..processes.len()).filter(|&i| processes[i].alive).collect();
            let pick = |i: usize| (!alive.is_empty()).then(|| alive[i % alive.len()]);
            let mut appended = Vec::new();
            match step {
                Step::Join => {
                    let key = MemberKey { id: format!("m{}", processes.len()), incarnation: 1 };
                    appended.push(GroupRecord::Join { member: key.clone() });
                    processes.push(Process { key, local: Default::default(), alive: true });
                }
                Step::Leave(i) => if let Some(i) = pick(i) {
                    let p = &mut processes[i];
                    for partition in p.local.running.iter().chain(&p.local.revoking) {
                        appended.push(GroupRecord::Released { member: p.key.clone(), partition: *partition, generation: view.generation() });
                    }
                    appended.push(GroupRecord::Leave { member: p.key.clone() });
                    p.local = Default::default();
                    p.alive = false;
                },
                Step::Expire(i) => if let Some(i) = pick(i) {
                    let member = processes[i].key.clone();
                    if let Some(&last_seen) = view.members().get(&member) {
                        appended.push(GroupRecord::Expire { member, last_seen });
                    }
                },
                Step::Heartbeat(i) => if let Some(i) = pick(i) {
                    appended.push(GroupRecord::Heartbeat { member: processes[i].key.clone(), seq: 1 });
                },
                Step::Release(i) => if let Some(i) = pick(i) {
                    let p = &mut processes[i];
                    let revoking = p.local.revoking.clone();
                    appended.extend(p.local.released(&revoking, &view, &p.key));
                },
                Step::Partitions(count) => appended.push(GroupRecord::Partitions { topic: "t".into(), count }),
                Step::Duplicate(k) => appended.push(log[k % log.len()].clone()),
            }
            let mut appended = std::collections::VecDeque::from(appended);
            while let Some(record) = appended.pop_front() {
                view.apply(log.len() as i64, &record);
                log.push(record);
                for p in processes.iter_mut().filter(|p| p.alive) {
                    let live = view.is_member(&p.key);
                    for change in p.local.reconcile(&view, &p.key, live, true) {
                        if let Change::Free(partitions) = change {
                            appended.extend(p.local.released(&partitions, &view, &p.key));
                        }
                    }
                    if !live {
                        p.alive = false;
                    }
                }
                let mut processing: BTreeMap<u32, &MemberKey> = BTreeMap::new();
                for p in processes.iter().filter(|p| p.alive) {
                    for partition in p.local.running.iter().chain(&p.local.revoking) {
                        if let Some(other) = processing.insert(*partition, &p.key) {
                            prop_assert!(false, "partition {} processed by {} and {} after {:?}", partition, other, p.key, log);
                        }
                    }
                }
            }
            // Once a step's records have landed, nothing waits for good: a partition the
            // view has a live process hold is one it runs or is releasing (it will write
            // the release).
            for p in processes.iter().filter(|p| p.alive) {
                for (partition, holder) in view.holders() {
                    if *holder == p.key {
                        prop_assert!(
                            p.local.running.contains(partition) || p.local.revoking.contains(partition),
                            "partition {} held by {} in the view, which neither runs nor releases it, after {:?}", partition, p.key, log
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_snapshot_of_fifty_members_on_twenty_thousand_partitions_fits_a_request() {
    let mut records = vec![partitions(20_000)];
    for i in 0..50 {
        records.push(GroupRecord::Join {
            member: MemberKey {
                id: format!("worker-{i:02}.example.internal-12345-0badcafe"),
                incarnation: u64::MAX - i,
            },
        });
    }
    let view = log(&records);
    assert!(
        !view.settled(),
        "handovers pending: lingering holders are encoded too"
    );
    let record = GroupRecord::Snapshot {
        as_of: 50,
        view: Box::new(view),
    };
    let bytes = record.encode();
    assert!(bytes.len() < 512 * 1024, "{} bytes", bytes.len());
    assert_eq!(GroupRecord::decode(&bytes), Some(record));
}
