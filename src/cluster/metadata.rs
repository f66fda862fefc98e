//! The metadata cache: SPUs, partitions and topics as the SC's watch streams report them,
//! and leader lookup. Pure state, tested without a server.

use std::collections::HashMap;

use crate::protocol::sc::{
    split_partition_name, Metadata, MetadataUpdate, MsgType, ObjectSpec, PartitionResolution,
    PartitionSpec, SpuSpec, SpuStatusResolution, TopicSpec,
};

/// Where to send a partition's traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpuTarget {
    /// The leader SPU's id.
    pub id: i32,
    /// Its name (used as the TLS server-name prefix).
    pub name: String,
    /// Its public `host:port`.
    pub addr: String,
}

/// One object kind's objects by name, and whether the first snapshot arrived.
#[derive(Debug, Clone)]
pub struct Store<S: ObjectSpec> {
    objects: HashMap<String, Metadata<S>>,
    synced: bool,
}

impl<S: ObjectSpec> Default for Store<S> {
    fn default() -> Self {
        Self {
            objects: HashMap::new(),
            synced: false,
        }
    }
}

impl<S: ObjectSpec> Store<S> {
    /// Apply one watch frame: a non-empty `all` replaces everything (as does an empty one
    /// before the first snapshot), else `changes` apply. A stream's first frame is its
    /// snapshot even when empty: give that one to [`Store::sync`]. Returns whether objects
    /// came or went (an update of a known object does not count).
    pub fn apply(&mut self, update: MetadataUpdate<S>) -> bool {
        if !update.all.is_empty() || !self.synced && update.changes.is_empty() {
            return self.sync(update.all);
        }
        let mut membership = false;
        for change in update.changes {
            match change.header {
                MsgType::Update => {
                    let name = change.content.name.clone();
                    membership |= self.objects.insert(name, change.content).is_none();
                }
                MsgType::Delete => {
                    membership |= self.objects.remove(&change.content.name).is_some();
                }
            }
        }
        self.synced = true;
        membership
    }

    /// Replace everything with a full snapshot or listing, even an empty one (an SC that
    /// restarted with no state has nothing to report). Returns whether objects came or went.
    pub fn sync(&mut self, objects: Vec<Metadata<S>>) -> bool {
        let objects: HashMap<_, _> = objects.into_iter().map(|m| (m.name.clone(), m)).collect();
        let membership = !self.synced
            || objects.len() != self.objects.len()
            || objects.keys().any(|name| !self.objects.contains_key(name));
        self.objects = objects;
        self.synced = true;
        membership
    }

    /// Replace everything (a listing); as [`Store::sync`].
    pub fn replace(&mut self, objects: Vec<Metadata<S>>) -> bool {
        self.sync(objects)
    }

    /// Whether the first snapshot arrived.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The object named `name`.
    pub fn get(&self, name: &str) -> Option<&Metadata<S>> {
        self.objects.get(name)
    }

    /// Every object.
    pub fn values(&self) -> impl Iterator<Item = &Metadata<S>> {
        self.objects.values()
    }
}

/// Everything the client knows about the cluster.
#[derive(Debug, Clone, Default)]
pub struct MetadataCache {
    /// SPUs by name.
    pub spus: Store<SpuSpec>,
    /// Partitions by `"<topic>-<n>"`.
    pub partitions: Store<PartitionSpec>,
    /// Topics by name.
    pub topics: Store<TopicSpec>,
}

/// The answer to a leader lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The leader, online.
    Found(SpuTarget),
    /// Metadata says the topic or partition does not exist.
    Missing,
    /// Not known yet (not synced, leader offline or unknown SPU): wait for updates.
    Pending,
}

impl MetadataCache {
    /// Look up the leader of `topic`/`partition`; `local` picks SPUs' local endpoints.
    pub fn leader(&self, topic: &str, partition: u32, local: bool) -> Lookup {
        if !self.partitions.is_synced() || !self.spus.is_synced() {
            return Lookup::Pending;
        }
        let Some(p) = self.partitions.get(&format!("{topic}-{partition}")) else {
            let no_topic = self.topics.is_synced() && self.topics.get(topic).is_none();
            let out_of_range = self.partition_count(topic).is_some_and(|n| partition >= n);
            return if no_topic || out_of_range {
                Lookup::Missing
            } else {
                Lookup::Pending
            };
        };
        if !matches!(
            p.status.resolution,
            PartitionResolution::Online | PartitionResolution::ElectionLeaderFound
        ) {
            return Lookup::Pending;
        }
        match self.spu(p.spec.leader, local) {
            Some(target) => Lookup::Found(target),
            None => Lookup::Pending,
        }
    }

    /// Where to reach SPU `id`, if it is known and online.
    pub fn spu(&self, id: i32, local: bool) -> Option<SpuTarget> {
        let spu = self.spus.values().find(|s| s.spec.id == id)?;
        if spu.status.resolution != SpuStatusResolution::Online {
            return None;
        }
        let addr = if local {
            spu.spec
                .public_endpoint_local
                .as_ref()
                .map(|e| format!("{}:{}", e.host, e.port))
                .or_else(|| spu.spec.public_address())
        } else {
            spu.spec.public_address()
        }?;
        Some(SpuTarget {
            id,
            name: spu.name.clone(),
            addr,
        })
    }

    /// How many partitions `topic` has, from its partitions (or its spec), if known.
    pub fn partition_count(&self, topic: &str) -> Option<u32> {
        let from_partitions = self
            .partitions
            .values()
            .filter(|p| split_partition_name(&p.name).is_some_and(|(t, _)| t == topic))
            .count() as u32;
        if from_partitions > 0 {
            return Some(from_partitions);
        }
        let topic = self.topics.get(topic)?;
        match topic.status.replica_map.len() {
            0 => topic.spec.partition_count(),
            n => u32::try_from(n).ok(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::sc::{
        IngressAddr, IngressPort, Message, PartitionStatus, SpuStatus, TopicStatus,
    };

    fn spu(id: i32, port: u16, online: bool) -> Metadata<SpuSpec> {
        let mut spec = SpuSpec {
            id,
            ..SpuSpec::default()
        };
        spec.public_endpoint = IngressPort {
            port,
            ingress: vec![IngressAddr {
                hostname: Some("localhost".into()),
                ip: None,
            }],
            ..IngressPort::default()
        };
        let status = SpuStatus {
            resolution: if online {
                SpuStatusResolution::Online
            } else {
                SpuStatusResolution::Offline
            },
        };
        Metadata {
            name: format!("custom-spu-{id}"),
            spec,
            status,
        }
    }

    fn partition(topic: &str, n: u32, leader: i32) -> Metadata<PartitionSpec> {
        let status = PartitionStatus {
            resolution: PartitionResolution::Online,
            ..PartitionStatus::default()
        };
        Metadata {
            name: format!("{topic}-{n}"),
            spec: PartitionSpec {
                leader,
                replicas: vec![leader],
                ..PartitionSpec::default()
            },
            status,
        }
    }

    fn snapshot<S: ObjectSpec>(all: Vec<Metadata<S>>) -> MetadataUpdate<S> {
        MetadataUpdate {
            epoch: 1,
            changes: vec![],
            all,
        }
    }

    /// SPU 5001 online, 5002 offline; topic "t" with partition 0 led by 5001 and 1 by 5002.
    pub(crate) fn cache() -> MetadataCache {
        let mut cache = MetadataCache::default();
        cache.spus.apply(snapshot(vec![
            spu(5001, 9010, true),
            spu(5002, 9020, false),
        ]));
        cache.partitions.apply(snapshot(vec![
            partition("t", 0, 5001),
            partition("t", 1, 5002),
        ]));
        cache.topics.apply(snapshot(vec![Metadata {
            name: "t".into(),
            spec: TopicSpec::computed(2, 1),
            status: TopicStatus::default(),
        }]));
        cache
    }

    #[test]
    fn nothing_is_known_before_the_first_snapshot() {
        assert_eq!(
            MetadataCache::default().leader("t", 0, false),
            Lookup::Pending
        );
    }

    #[test]
    fn the_leader_is_the_online_spu_with_the_partitions_leader_id() {
        let cache = cache();
        assert_eq!(
            cache.leader("t", 0, false),
            Lookup::Found(SpuTarget {
                id: 5001,
                name: "custom-spu-5001".into(),
                addr: "localhost:9010".into()
            })
        );
        // Leader SPU offline: wait for it.
        assert_eq!(cache.leader("t", 1, false), Lookup::Pending);
        assert_eq!(cache.leader("t", 2, false), Lookup::Missing);
        assert_eq!(cache.leader("nope", 0, false), Lookup::Missing);
        assert_eq!(cache.partition_count("t"), Some(2));
    }

    #[test]
    fn changes_update_and_delete_objects() {
        let mut cache = cache();
        cache.spus.apply(MetadataUpdate {
            epoch: 2,
            changes: vec![Message {
                header: MsgType::Update,
                content: spu(5002, 9020, true),
            }],
            all: vec![],
        });
        assert!(
            matches!(cache.leader("t", 1, false), Lookup::Found(t) if t.addr == "localhost:9020")
        );
        cache.partitions.apply(MetadataUpdate {
            epoch: 3,
            changes: vec![Message {
                header: MsgType::Delete,
                content: partition("t", 1, 5002),
            }],
            all: vec![],
        });
        assert_eq!(cache.partitions.values().count(), 1);
    }

    #[test]
    fn an_empty_snapshot_or_listing_empties_a_synced_store() {
        let mut cache = cache();
        // A later empty frame without changes is no snapshot: nothing changes.
        assert!(!cache.partitions.apply(snapshot(vec![])));
        assert_eq!(cache.partitions.values().count(), 2);
        // A stream's first frame (or a listing) is, even empty.
        assert!(cache.partitions.sync(vec![]));
        assert!(cache.spus.replace(vec![]));
        assert_eq!(cache.partitions.values().count(), 0);
        // The topic is still listed: its partitions are awaited.
        assert_eq!(cache.leader("t", 0, false), Lookup::Pending);
        assert!(cache.topics.sync(vec![]));
        assert_eq!(cache.leader("t", 0, false), Lookup::Missing);
        assert!(cache.spu(5001, false).is_none());
    }

    #[test]
    fn membership_changes_are_reported_and_updates_are_not() {
        let mut cache = cache();
        let same = vec![partition("t", 0, 5002), partition("t", 1, 5001)];
        assert!(!cache.partitions.sync(same), "same names, other leaders");
        let update = |header, content| MetadataUpdate {
            epoch: 2,
            changes: vec![Message { header, content }],
            all: vec![],
        };
        assert!(!cache
            .partitions
            .apply(update(MsgType::Update, partition("t", 0, 5001))));
        assert!(cache
            .partitions
            .apply(update(MsgType::Update, partition("t", 2, 5001))));
        assert!(cache
            .partitions
            .apply(update(MsgType::Delete, partition("t", 2, 5001))));
        assert!(!cache
            .partitions
            .apply(update(MsgType::Delete, partition("t", 2, 5001))));
    }
}
