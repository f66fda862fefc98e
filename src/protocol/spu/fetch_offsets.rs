//! FetchOffsets (key 1002): a partition's start offset and high watermark. The consumer asks
//! before every stream to resolve `FromBeginning`/`FromEnd` offsets.

use crate::protocol::{ErrorCode, Request};

use super::{ReplicaKey, FETCH_OFFSETS_KEY};

wire_struct! {
    /// A partition to look up.
    pub struct FetchOffsetPartition {
        /// The partition index.
        pub partition_index: u32,
    }
}

impl Eq for FetchOffsetPartition {}

wire_struct! {
    /// The partitions of one topic to look up.
    pub struct FetchOffsetTopic {
        /// The topic name.
        pub name: String,
        /// Its partitions.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub partitions: Vec<FetchOffsetPartition>,
    }
}

impl Eq for FetchOffsetTopic {}

wire_struct! {
    /// Asks the leader for the offsets of some partitions.
    pub struct FetchOffsetsRequest {
        /// The topics and partitions.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub topics: Vec<FetchOffsetTopic>,
        /// Deprecated consumer id, on the wire at v23 only (use FetchConsumerOffsets).
        pub consumer_id: Option<String> => 23..=23,
    }
}

impl Eq for FetchOffsetsRequest {}

impl FetchOffsetsRequest {
    /// A request for one partition of `topic`.
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        Self {
            topics: vec![FetchOffsetTopic {
                name: topic.into(),
                partitions: vec![FetchOffsetPartition {
                    partition_index: partition,
                }],
            }],
            consumer_id: None,
        }
    }
}

impl Request for FetchOffsetsRequest {
    const API_KEY: u16 = FETCH_OFFSETS_KEY;
    const API_NAME: &'static str = "fetch_offsets";
    const MIN_API_VERSION: i16 = 0;
    const MAX_API_VERSION: i16 = 25;
    type Response = FetchOffsetsResponse;
}

wire_struct! {
    /// The offsets of one partition. Note that the error code comes **first**.
    pub struct FetchOffsetPartitionResponse {
        /// `PartitionNotLeader` (3001) if this SPU does not lead the partition.
        pub error_code: ErrorCode,
        /// The partition index.
        pub partition_index: u32,
        /// The first offset still stored.
        pub start_offset: i64,
        /// The high watermark: the offset after the last committed record.
        pub last_stable_offset: i64,
    }
}

wire_struct! {
    /// The offsets of one topic's partitions.
    pub struct FetchOffsetTopicResponse {
        /// The topic name.
        pub name: String,
        /// Its partitions.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub partitions: Vec<FetchOffsetPartitionResponse>,
    }
}

wire_struct! {
    /// The offsets asked for.
    pub struct FetchOffsetsResponse {
        /// One entry per requested topic.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub topics: Vec<FetchOffsetTopicResponse>,
    }
}

impl FetchOffsetsResponse {
    /// The answer for `replica`, if present.
    pub fn find_partition(&self, replica: &ReplicaKey) -> Option<&FetchOffsetPartitionResponse> {
        self.topics
            .iter()
            .filter(|t| t.name == replica.topic)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == replica.partition)
    }
}
