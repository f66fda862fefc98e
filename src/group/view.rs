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
    /// For each partition held by a previous owner, the generation that revoked it from
    /// that holder: only a release written in that generation or later frees it (an older
    /// one, duplicated by a producer retry, must not hand a partition over twice).
    revoked_at: BTreeMap<u32, u64>,
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
                member,
                partition,
                generation,
            } => {
                let current = self
                    .revoked_at
                    .get(partition)
                    .is_none_or(|revoked| generation >= revoked);
                if applied.from_member && current && self.holders.get(partition) == Some(member) {
                    match self.owners.get(partition) {
                        Some(owner) => self.holders.insert(*partition, owner.clone()),
                        None => self.holders.remove(partition),
                    };
                    self.revoked_at.remove(partition);
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
        let holders = &mut self.holders;
        holders.retain(|_, h| h != member);
        self.revoked_at.retain(|p, _| holders.contains_key(p));
        true
    }

    /// A new generation: a new assignment, each partition held on by a previous owner that
    /// is still a member until it releases it.
    fn rebalance(&mut self) {
        self.generation += 1;
        let members: BTreeSet<MemberKey> = self.members.keys().cloned().collect();
        self.owners = assign(&self.owners, &members, self.partitions);
        for (p, owner) in &self.owners {
            match self
                .holders
                .get(p)
                .filter(|h| self.members.contains_key(*h))
            {
                Some(holder) if holder == owner => {
                    self.revoked_at.remove(p);
                }
                Some(_) => {
                    // Revoked from its holder now, unless it was already being released.
                    self.revoked_at.entry(*p).or_insert(self.generation);
                }
                None => {
                    self.holders.insert(*p, owner.clone());
                    self.revoked_at.remove(p);
                }
            }
        }
        let owners = &self.owners;
        self.holders.retain(|p, _| owners.contains_key(p));
        let holders = &self.holders;
        self.revoked_at.retain(|p, _| holders.contains_key(p));
    }

    /// The view as the fields of a snapshot record: topic (`-` for none), partitions,
    /// generation, members (id, incarnation, last offset), owners (partition, member's index
    /// in that list), the holders that are not the owner (likewise), and revocations
    /// (partition, generation), each list after its length. Members are written once and
    /// referred to by index, so a snapshot stays small with many partitions (about 10 bytes
    /// per partition).
    pub(crate) fn encode(&self) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{} {} {} {}",
            self.topic.as_deref().unwrap_or("-"),
            self.partitions,
            self.generation,
            self.members.len()
        );
        let mut index = BTreeMap::new();
        for (i, (m, last)) in self.members.iter().enumerate() {
            let _ = write!(out, " {} {} {last}", m.id, m.incarnation);
            index.insert(m, i);
        }
        let lingering: Vec<(&u32, &MemberKey)> = self
            .holders
            .iter()
            .filter(|(p, h)| self.owners.get(p) != Some(*h))
            .collect();
        let owners: Vec<(&u32, &MemberKey)> = self.owners.iter().collect();
        for list in [owners, lingering] {
            let _ = write!(out, " {}", list.len());
            for (p, m) in list {
                // Owners and holders are members (see `rebalance` and `remove`).
                let _ = write!(out, " {p} {}", index.get(m).copied().unwrap_or(usize::MAX));
            }
        }
        let _ = write!(out, " {}", self.revoked_at.len());
        for (p, g) in &self.revoked_at {
            let _ = write!(out, " {p} {g}");
        }
        out
    }

    /// The view in the fields [`GroupView::encode`] wrote, or `None` when they are not one.
    pub(crate) fn decode<'a>(fields: &mut impl Iterator<Item = &'a str>) -> Option<Self> {
        let mut field = || fields.next().filter(|f| !f.is_empty());
        let topic = Some(field()?).filter(|t| *t != "-").map(str::to_owned);
        let partitions = field()?.parse().ok()?;
        let generation = field()?.parse().ok()?;
        let mut members = BTreeMap::new();
        let mut keys = Vec::new();
        for _ in 0..field()?.parse::<u32>().ok()? {
            let member = MemberKey {
                id: field()?.to_owned(),
                incarnation: field()?.parse().ok()?,
            };
            members.insert(member.clone(), field()?.parse().ok()?);
            keys.push(member);
        }
        let mut maps = [BTreeMap::new(), BTreeMap::new()];
        for map in &mut maps {
            for _ in 0..field()?.parse::<u32>().ok()? {
                let p = field()?.parse().ok()?;
                let member = keys.get(field()?.parse::<usize>().ok()?)?;
                map.insert(p, member.clone());
            }
        }
        let mut revoked_at = BTreeMap::new();
        for _ in 0..field()?.parse::<u32>().ok()? {
            let p = field()?.parse().ok()?;
            revoked_at.insert(p, field()?.parse().ok()?);
        }
        let [owners, lingering] = maps;
        let mut holders = owners.clone();
        holders.extend(lingering);
        Some(Self {
            topic,
            partitions,
            generation,
            members,
            owners,
            holders,
            revoked_at,
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

    /// The generation that revoked `partition` from a holder that has not released it yet.
    pub(crate) fn revoked_in(&self, partition: u32) -> Option<u64> {
        self.revoked_at.get(&partition).copied()
    }

    /// Whether every partition is held by its owner (no handover is pending).
    pub fn settled(&self) -> bool {
        self.owners
            .iter()
            .all(|(p, o)| self.holders.get(p) == Some(o))
    }
}

#[cfg(test)]
pub(crate) mod tests;
