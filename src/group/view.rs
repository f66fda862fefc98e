//! The group's state, computed from its coordination log alone: every reader that applies
//! the same records in the same order holds the same view.

use std::collections::{BTreeMap, BTreeSet};

use super::assign::assign;
use super::record::{GroupRecord, MemberKey};

/// Members, generation, assignment and handovers, as of some offset of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupView {
    topic: Option<String>,
    partitions: u32,
    generation: u64,
    /// Live members and the offset of each one's last record.
    members: BTreeMap<MemberKey, i64>,
    /// Who owns each partition in this generation.
    owners: BTreeMap<u32, MemberKey>,
    /// Who may be processing each partition: the owner, or a previous owner that has not
    /// released it yet.
    holders: BTreeMap<u32, MemberKey>,
}

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// The record came from a live member (it renews that member's presence).
    pub from_member: bool,
    /// The generation changed.
    pub rebalanced: bool,
}

impl GroupView {
    /// The view after `records` (offset, record) from the start of the log.
    pub fn from_records<'a>(records: impl IntoIterator<Item = (i64, &'a GroupRecord)>) -> Self {
        let mut view = Self::default();
        for (offset, record) in records {
            view.apply(offset, record);
        }
        view
    }

    /// Apply the record at `offset`.
    pub fn apply(&mut self, offset: i64, record: &GroupRecord) -> Applied {
        let mut applied = Applied::default();
        if let Some(author) = record.author() {
            if let Some(last) = self.members.get_mut(author) {
                *last = offset;
                applied.from_member = true;
            }
        }
        let changed = match record {
            GroupRecord::Join { member } => {
                !applied.from_member && self.members.insert(member.clone(), offset).is_none()
            }
            GroupRecord::Heartbeat { .. } | GroupRecord::Snapshot { .. } => false,
            GroupRecord::Leave { member } => self.remove(member),
            GroupRecord::Expire { member, last_seen } => {
                self.members.get(member) == Some(last_seen) && self.remove(member)
            }
            GroupRecord::Released {
                member, partition, ..
            } => {
                if applied.from_member && self.holders.get(partition) == Some(member) {
                    match self.owners.get(partition) {
                        Some(owner) => self.holders.insert(*partition, owner.clone()),
                        None => self.holders.remove(partition),
                    };
                }
                false
            }
            GroupRecord::Partitions { topic, count } => {
                let same = self.topic.as_ref().is_none_or(|t| t == topic);
                if same && self.topic.is_none() {
                    self.topic = Some(topic.clone());
                }
                let more = same && *count > self.partitions;
                if more {
                    self.partitions = *count;
                }
                more
            }
        };
        if changed {
            self.rebalance();
            applied.rebalanced = true;
        }
        applied
    }

    fn remove(&mut self, member: &MemberKey) -> bool {
        if self.members.remove(member).is_none() {
            return false;
        }
        self.holders.retain(|_, h| h != member);
        true
    }

    /// A new generation: a new assignment, each partition held on by a previous owner that
    /// is still a member until it releases it.
    fn rebalance(&mut self) {
        self.generation += 1;
        let members: BTreeSet<MemberKey> = self.members.keys().cloned().collect();
        self.owners = assign(&self.owners, &members, self.partitions);
        for (p, owner) in &self.owners {
            let keep = self
                .holders
                .get(p)
                .is_some_and(|h| self.members.contains_key(h));
            if !keep {
                self.holders.insert(*p, owner.clone());
            }
        }
        let owners = &self.owners;
        self.holders.retain(|p, _| owners.contains_key(p));
    }

    /// The view as the fields of a snapshot record: topic (`-` for none), partitions,
    /// generation, then members (id, incarnation, last offset), owners and holders
    /// (partition, id, incarnation), each list after its length.
    pub(crate) fn encode(&self) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{} {} {} {}",
            self.topic.as_deref().unwrap_or("-"),
            self.partitions,
            self.generation,
            self.members.len()
        );
        for (m, last) in &self.members {
            let _ = write!(out, " {} {} {last}", m.id, m.incarnation);
        }
        for map in [&self.owners, &self.holders] {
            let _ = write!(out, " {}", map.len());
            for (p, m) in map {
                let _ = write!(out, " {p} {} {}", m.id, m.incarnation);
            }
        }
        out
    }

    /// The view in the fields [`GroupView::encode`] wrote, or `None` when they are not one.
    pub(crate) fn decode<'a>(fields: &mut impl Iterator<Item = &'a str>) -> Option<Self> {
        let mut field = || fields.next().filter(|f| !f.is_empty());
        let topic = Some(field()?).filter(|t| *t != "-").map(str::to_owned);
        let partitions = field()?.parse().ok()?;
        let generation = field()?.parse().ok()?;
        let key = |id: &str, incarnation: &str| {
            Some(MemberKey {
                id: id.to_owned(),
                incarnation: incarnation.parse().ok()?,
            })
        };
        let mut members = BTreeMap::new();
        for _ in 0..field()?.parse::<u32>().ok()? {
            let member = key(field()?, field()?)?;
            members.insert(member, field()?.parse().ok()?);
        }
        let mut maps = [BTreeMap::new(), BTreeMap::new()];
        for map in &mut maps {
            for _ in 0..field()?.parse::<u32>().ok()? {
                let p = field()?.parse().ok()?;
                map.insert(p, key(field()?, field()?)?);
            }
        }
        let [owners, holders] = maps;
        Some(Self {
            topic,
            partitions,
            generation,
            members,
            owners,
            holders,
        })
    }

    /// The topic the group consumes, once a member has said.
    pub fn topic(&self) -> Option<&str> {
        self.topic.as_deref()
    }

    /// The topic's partition count as the log has it.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// The generation: it grows by one whenever the members or the partition count change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The live members (not left, not expired), with the offset of each one's last record.
    pub fn members(&self) -> &BTreeMap<MemberKey, i64> {
        &self.members
    }

    /// Whether `member` is live.
    pub fn is_member(&self, member: &MemberKey) -> bool {
        self.members.contains_key(member)
    }

    /// The owner of each partition in this generation.
    pub fn owners(&self) -> &BTreeMap<u32, MemberKey> {
        &self.owners
    }

    /// Who may be processing each partition (see [`GroupView::startable`]).
    pub fn holders(&self) -> &BTreeMap<u32, MemberKey> {
        &self.holders
    }

    /// The partitions `member` owns and may process now: no one else holds them.
    pub fn startable(&self, member: &MemberKey) -> BTreeSet<u32> {
        self.owners
            .iter()
            .filter(|(p, o)| *o == member && self.holders.get(p) == Some(member))
            .map(|(p, _)| *p)
            .collect()
    }

    /// The partitions `member` owns in this generation (started or waiting for a release).
    pub fn owned(&self, member: &MemberKey) -> BTreeSet<u32> {
        self.owners
            .iter()
            .filter(|(_, o)| *o == member)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Whether every partition is held by its owner (no handover is pending).
    pub fn settled(&self) -> bool {
        self.owners
            .iter()
            .all(|(p, o)| self.holders.get(p) == Some(o))
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
}
