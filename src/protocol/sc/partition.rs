//! Partitions: [`PartitionSpec`], [`PartitionStatus`] and the `"<topic>-<n>"` naming of
//! partition objects.

use super::mirror::PartitionMirrorConfig;
use super::spec::ObjectSpec;
use super::topic::{CleanupPolicy, CompressionAlgorithm, Deduplication, TopicStorageConfig};

wire_struct! {
    /// A partition as the SC assigns it (metadata name `"<topic>-<n>"`).
    pub struct PartitionSpec {
        /// The leader's SPU id.
        pub leader: i32,
        /// All replicas' SPU ids.
        pub replicas: Vec<i32>,
        /// Retention policy (v4+).
        pub cleanup_policy: Option<CleanupPolicy> => 4..,
        /// Storage limits (v4+).
        pub storage: Option<TopicStorageConfig> => 4..,
        /// Accepted compression (v6+).
        pub compression_type: CompressionAlgorithm => 6..,
        /// Deduplication filter (v12+).
        pub deduplication: Option<Deduplication> => 12..,
        /// Whether the topic is a system topic (v13+).
        pub system: bool => 13..,
        /// Mirror configuration (v14+).
        pub mirror: Option<PartitionMirrorConfig> => 14..,
    }
}

impl ObjectSpec for PartitionSpec {
    const LABEL: &'static str = "Partition";
    type Status = PartitionStatus;
}

wire_struct! {
    /// A partition's replication state.
    pub struct PartitionStatus {
        /// Availability.
        pub resolution: PartitionResolution,
        /// The leader's offsets.
        pub leader: ReplicaStatus,
        /// Number of live replicas (in-sync set size).
        pub lsr: u32,
        /// The followers' offsets.
        pub replicas: Vec<ReplicaStatus>,
        /// Size in bytes, −1 when unknown (v5+).
        pub size: i64 => 5..,
        /// Whether the partition is being deleted.
        pub is_being_deleted: bool,
        /// First offset still stored (v16+).
        pub base_offset: i64 => 16..,
    }
}

wire_enum! {
    /// Availability of a partition.
    pub enum PartitionResolution: u8 {
        /// No leader.
        #[default]
        Offline = 0,
        /// Serving.
        Online = 1,
        /// Leader lost, election failed.
        LeaderOffline = 2,
        /// A new leader was elected.
        ElectionLeaderFound = 3,
        /// The leader ran out of storage.
        OutOfStorage = 4,
    }
}

wire_struct! {
    /// One replica's offsets.
    pub struct ReplicaStatus {
        /// The SPU id.
        pub spu: i32,
        /// High watermark.
        pub hw: i64,
        /// Log end offset.
        pub leo: i64,
    }
}

/// The metadata name of partition `partition` of `topic`: `"<topic>-<partition>"`.
pub fn partition_name(topic: &str, partition: u32) -> String {
    format!("{topic}-{partition}")
}

/// Split a partition's metadata name at its last `-` into topic and partition index.
pub fn split_partition_name(name: &str) -> Option<(&str, u32)> {
    let (topic, index) = name.rsplit_once('-')?;
    Some((topic, index.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_split_at_the_last_dash() {
        assert_eq!(partition_name("golden-topic", 1), "golden-topic-1");
        assert_eq!(
            split_partition_name("golden-topic-1"),
            Some(("golden-topic", 1))
        );
        assert_eq!(split_partition_name("topic"), None);
        assert_eq!(split_partition_name("topic-x"), None);
    }
}
