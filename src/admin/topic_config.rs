//! `TopicConfig`: the options of a new topic, as the CLI and the official admin offer them.

use std::time::Duration;

use crate::protocol::sc::{
    CleanupPolicy, CompressionAlgorithm, PartitionMap, ReplicaSpec, SegmentBasedPolicy,
    TopicReplicaParam, TopicSpec, TopicStorageConfig,
};

/// A new topic's settings.
///
/// ```
/// use std::time::Duration;
/// use actix_fluvio::admin::TopicConfig;
/// use actix_fluvio::protocol::sc::CompressionAlgorithm;
///
/// let spec = TopicConfig::new(3)
///     .replication(2)
///     .retention(Duration::from_secs(7 * 24 * 3600))
///     .segment_size(64 * 1024 * 1024)
///     .max_partition_size(10 * 1024 * 1024 * 1024)
///     .compression(CompressionAlgorithm::Lz4)
///     .into_spec();
/// assert_eq!(spec.partition_count(), Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicConfig {
    spec: TopicSpec,
}

impl TopicConfig {
    /// `partitions` partitions, one replica each, placed by the SC.
    pub fn new(partitions: u32) -> Self {
        Self {
            spec: TopicSpec::computed(partitions, 1),
        }
    }

    /// Partitions placed exactly as given: partition id → replica SPU ids (leader first).
    pub fn assigned(maps: impl IntoIterator<Item = (u32, Vec<i32>)>) -> Self {
        Self {
            spec: TopicSpec::assigned(
                maps.into_iter()
                    .map(|(id, replicas)| PartitionMap {
                        id,
                        replicas,
                        mirror: None,
                    })
                    .collect(),
            ),
        }
    }

    /// Replicas per partition (SC-placed topics).
    pub fn replication(mut self, factor: u32) -> Self {
        if let ReplicaSpec::Computed(param) = &mut self.spec.replicas {
            param.replication_factor = factor;
        }
        self
    }

    /// Place replicas ignoring SPU racks (SC-placed topics).
    pub fn ignore_rack_assignment(mut self, ignore: bool) -> Self {
        if let ReplicaSpec::Computed(TopicReplicaParam {
            ignore_rack_assignment,
            ..
        }) = &mut self.spec.replicas
        {
            *ignore_rack_assignment = ignore;
        }
        self
    }

    /// Delete segments older than `time` (whole seconds).
    pub fn retention(mut self, time: Duration) -> Self {
        self.spec.cleanup_policy = Some(CleanupPolicy::Segment(SegmentBasedPolicy {
            time_in_seconds: u32::try_from(time.as_secs()).unwrap_or(u32::MAX),
        }));
        self
    }

    /// Segment size in bytes.
    pub fn segment_size(mut self, bytes: u32) -> Self {
        self.storage().segment_size = Some(bytes);
        self
    }

    /// Largest size of a partition in bytes.
    pub fn max_partition_size(mut self, bytes: u64) -> Self {
        self.storage().max_partition_size = Some(bytes);
        self
    }

    /// The compression the topic accepts (`Any` by default).
    pub fn compression(mut self, compression: CompressionAlgorithm) -> Self {
        self.spec.compression_type = compression;
        self
    }

    /// The wire spec.
    pub fn into_spec(self) -> TopicSpec {
        self.spec
    }

    fn storage(&mut self) -> &mut TopicStorageConfig {
        self.spec
            .storage
            .get_or_insert_with(TopicStorageConfig::default)
    }
}

impl From<TopicConfig> for TopicSpec {
    fn from(config: TopicConfig) -> Self {
        config.spec
    }
}
