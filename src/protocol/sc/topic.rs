//! Topics: [`TopicSpec`] with its replica assignment, retention, storage, compression and
//! deduplication settings; [`TopicStatus`]; and the [`UpdateTopicAction`]s.

use std::collections::BTreeMap;
use std::time::Duration;

use super::mirror::{MirrorConfig, PartitionMirrorConfig};
use super::spec::{CreatableSpec, DeletableSpec, ObjectSpec, UpdatableSpec};

wire_struct! {
    /// A topic: how its partitions are placed and how its data is kept.
    pub struct TopicSpec {
        /// Partition placement.
        pub replicas: ReplicaSpec,
        /// Retention policy (v3+).
        pub cleanup_policy: Option<CleanupPolicy> => 3..,
        /// Segment and partition size limits (v4+).
        pub storage: Option<TopicStorageConfig> => 4..,
        /// Compression the topic accepts (v6+).
        pub compression_type: CompressionAlgorithm => 6..,
        /// Deduplication filter (v12+).
        pub deduplication: Option<Deduplication> => 12..,
        /// Whether this is a system topic (v13+).
        pub system: bool => 13..,
    }
}

impl TopicSpec {
    /// The mirror configuration of a mirror topic (`None` for other topics).
    pub fn mirror(&self) -> Option<&MirrorConfig> {
        match &self.replicas {
            ReplicaSpec::Mirror(config) => Some(config),
            _ => None,
        }
    }

    /// A topic whose `partitions` partitions and `replication_factor` replicas the SC places.
    pub fn computed(partitions: u32, replication_factor: u32) -> Self {
        Self {
            replicas: ReplicaSpec::Computed(TopicReplicaParam {
                partitions,
                replication_factor,
                ignore_rack_assignment: false,
            }),
            ..Self::default()
        }
    }

    /// The number of partitions the spec asks for (`None` for mirrored topics, whose count
    /// comes from their mirror configuration).
    pub fn partition_count(&self) -> Option<u32> {
        match &self.replicas {
            ReplicaSpec::Computed(param) => Some(param.partitions),
            ReplicaSpec::Assigned(maps) => u32::try_from(maps.len()).ok(),
            ReplicaSpec::Mirror(_) => None,
        }
    }

    /// A topic with explicitly assigned replicas.
    pub fn assigned(maps: Vec<PartitionMap>) -> Self {
        Self {
            replicas: ReplicaSpec::Assigned(maps),
            ..Self::default()
        }
    }
}

impl ObjectSpec for TopicSpec {
    const LABEL: &'static str = "Topic";
    type Status = TopicStatus;
}

impl CreatableSpec for TopicSpec {}

impl DeletableSpec for TopicSpec {
    type DeleteKey = String;
}

impl UpdatableSpec for TopicSpec {
    type UpdateKey = String;
    type UpdateAction = UpdateTopicAction;
}

wire_union! {
    /// How a topic's partitions are placed on SPUs.
    pub enum ReplicaSpec (default Computed) {
        /// Explicit replica lists, one per partition.
        Assigned(Vec<PartitionMap>) = 0,
        /// Counts for the SC to place.
        Computed(TopicReplicaParam) = 1,
        /// A mirrored topic.
        Mirror(MirrorConfig) = 2,
    }
}

wire_struct! {
    /// Partition and replica counts for SC-placed topics.
    pub struct TopicReplicaParam {
        /// Number of partitions.
        pub partitions: u32,
        /// Replicas per partition.
        pub replication_factor: u32,
        /// Place replicas without regard to racks.
        pub ignore_rack_assignment: bool,
    }
}

wire_struct! {
    /// One partition's explicit replica assignment.
    pub struct PartitionMap {
        /// The partition index.
        pub id: u32,
        /// SPU ids, leader first.
        pub replicas: Vec<i32>,
        /// Mirror configuration (v14+).
        pub mirror: Option<PartitionMirrorConfig> => 14..,
    }
}

wire_union! {
    /// When records are removed.
    pub enum CleanupPolicy (default Segment) {
        /// Remove whole segments older than a time.
        Segment(SegmentBasedPolicy) = 0,
    }
}

wire_struct! {
    /// Time-based retention of segments.
    pub struct SegmentBasedPolicy {
        /// Retention in seconds.
        pub time_in_seconds: u32,
    }
}

wire_struct! {
    /// Size limits of a topic's storage.
    pub struct TopicStorageConfig {
        /// Segment size in bytes.
        pub segment_size: Option<u32>,
        /// Maximum partition size in bytes.
        pub max_partition_size: Option<u64>,
    }
}

wire_enum! {
    /// Compression a topic accepts (numbering differs from the batch codec ids).
    pub enum CompressionAlgorithm: u8 {
        /// Uncompressed only.
        None = 0,
        /// Gzip only.
        Gzip = 1,
        /// Snappy only.
        Snappy = 2,
        /// LZ4 only.
        Lz4 = 3,
        /// Any codec (the default).
        #[default]
        Any = 4,
        /// Zstd only.
        Zstd = 5,
    }
}

wire_struct! {
    /// A deduplication filter on a topic.
    pub struct Deduplication {
        /// How many / how old records are remembered.
        pub bounds: Bounds,
        /// The SmartModule that filters.
        pub filter: Filter,
    }
}

wire_struct! {
    /// Deduplication window.
    pub struct Bounds {
        /// Records remembered.
        pub count: u64,
        /// Maximum age remembered.
        pub age: Option<Duration>,
    }
}

wire_struct! {
    /// Deduplication filter.
    pub struct Filter {
        /// The transform that filters.
        pub transform: Transform,
    }
}

wire_struct! {
    /// A SmartModule transform with parameters.
    pub struct Transform {
        /// The SmartModule name.
        pub uses: String,
        /// Its parameters.
        pub with: BTreeMap<String, String>,
    }
}

wire_struct! {
    /// A topic's provisioning state and replica placement.
    pub struct TopicStatus {
        /// Provisioning state.
        pub resolution: TopicResolution,
        /// Partition index → SPU ids.
        pub replica_map: BTreeMap<u32, Vec<i32>>,
        /// Partition index → mirror (v14+).
        pub mirror_map: BTreeMap<u32, PartitionMirrorConfig> => 14..,
        /// Why the topic is in this state.
        pub reason: String,
    }
}

wire_enum! {
    /// Provisioning state of a topic.
    pub enum TopicResolution: u8 {
        /// Just created.
        #[default]
        Init = 0,
        /// Valid, waiting for replica assignment.
        Pending = 1,
        /// Not enough SPUs.
        InsufficientResources = 2,
        /// Invalid configuration.
        InvalidConfig = 3,
        /// All partitions provisioned.
        Provisioned = 4,
        /// Being deleted.
        Deleting = 5,
    }
}

wire_struct! {
    /// Add partitions to a topic.
    pub struct AddPartition {
        /// How many partitions to add.
        pub count: u32,
    }
}

wire_struct! {
    /// Add a mirror to a topic.
    pub struct AddMirror {
        /// The remote cluster.
        pub remote_cluster: String,
        /// Mirror from home to remote.
        pub home_to_mirror: bool,
    }
}

wire_union! {
    /// A change to an existing topic.
    pub enum UpdateTopicAction (default AddPartition) {
        /// Add partitions.
        AddPartition(AddPartition) = 0,
        /// Add a mirror.
        AddMirror(AddMirror) = 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Decode, Encode};

    #[test]
    fn replica_spec_is_tagged_and_gated_fields_follow() {
        let computed = TopicSpec::computed(2, 1).to_bytes(19).expect("encode");
        // tag 1, partitions, replication factor, ignore rack; no cleanup, no storage,
        // compression Any (4), no dedup, not system.
        assert_eq!(hex::encode(&computed), "010000000200000001000000040000");

        let assigned = TopicSpec::assigned(vec![PartitionMap {
            id: 0,
            replicas: vec![5001],
            mirror: None,
        }]);
        let bytes = assigned.to_bytes(13).expect("encode");
        // At v13 the partition map has no mirror field.
        assert_eq!(
            &bytes[..13],
            &hex::decode("00000000010000000000000001").unwrap()[..]
        );
        assert_eq!(
            TopicSpec::decode(&mut &bytes[..], 13).expect("decode"),
            assigned
        );
    }
}
