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
