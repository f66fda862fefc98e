//! Fetch (key 1): a one-shot read of several partitions (the official client streams instead),
//! and [`FetchablePartitionResponse`], the partition data shared with StreamFetch.

use crate::protocol::record::RecordSet;
use crate::protocol::{DecodeError, ErrorCode, Request};

use super::{Isolation, FETCH_KEY};

wire_struct! {
    /// Where to read one partition.
    pub struct FetchPartition {
        /// The partition index.
        pub partition_index: u32,
        /// The leader epoch the client knows (v9+, ignored by the SPU).
        pub current_leader_epoch: i32 => 9..,
        /// The first offset wanted.
        pub fetch_offset: i64,
        /// The earliest offset the client knows (v5+, ignored by the SPU).
        pub log_start_offset: i64 => 5..,
        /// The most bytes for this partition (ignored by the SPU).
        pub max_bytes: i32,
    }
}

impl Eq for FetchPartition {}

wire_struct! {
    /// The partitions to read of one topic.
    pub struct FetchableTopic {
        /// The topic name.
        pub name: String,
        /// Its partitions.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub fetch_partitions: Vec<FetchPartition>,
    }
}

impl Eq for FetchableTopic {}

wire_struct! {
    /// Partitions a Kafka fetch session should forget (v7+; unused by Fluvio).
    pub struct ForgottenTopic {
        /// The topic name.
        pub name: String,
        /// The partitions to forget.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub forgotten_partition_indexes: Vec<i32>,
    }
}

impl Eq for ForgottenTopic {}

wire_struct! {
    /// Reads records from some partitions once.
    pub struct FetchRequest {
        /// Ignored by the SPU.
        pub max_wait: i32,
        /// Ignored by the SPU.
        pub min_bytes: i32,
        /// The most bytes to return (v3+).
        pub max_bytes: i32 => 3..,
        /// Whether to stop at the high watermark (v4+).
        pub isolation_level: Isolation => 4..,
        /// The topics and partitions to read.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub topics: Vec<FetchableTopic>,
        /// Kafka fetch-session bookkeeping (v7+).
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub forgotten: Vec<ForgottenTopic> => 7..,
    }
}

impl Eq for FetchRequest {}

impl FetchRequest {
    /// Read `partition` of `topic` from `fetch_offset`, at most `max_bytes`.
    pub fn single(
        topic: impl Into<String>,
        partition: u32,
        fetch_offset: i64,
        max_bytes: i32,
        isolation: Isolation,
    ) -> Self {
        Self {
            max_bytes,
            isolation_level: isolation,
            topics: vec![FetchableTopic {
                name: topic.into(),
                fetch_partitions: vec![FetchPartition {
                    partition_index: partition,
                    fetch_offset,
                    max_bytes,
                    ..FetchPartition::default()
                }],
            }],
            ..Self::default()
        }
    }
}

impl Request for FetchRequest {
    const API_KEY: u16 = FETCH_KEY;
    const API_NAME: &'static str = "fetch";
    const MIN_API_VERSION: i16 = 0;
    const MAX_API_VERSION: i16 = 25;
    type Response = FetchResponse;
}

wire_struct! {
    /// A Kafka aborted transaction (never sent by Fluvio).
    pub struct AbortedTransaction {
        /// The producer.
        pub producer_id: i64,
        /// The first offset of the transaction.
        pub first_offset: i64,
    }
}

impl Eq for AbortedTransaction {}

wire_struct! {
    /// The records and offsets of one partition (a Fetch entry or a StreamFetch frame).
    pub struct FetchablePartitionResponse {
        /// The partition index.
        pub partition_index: u32,
        /// Non-`None` on failure (`NotLeaderForPartition`, `OffsetEvicted`, SmartModule errors…).
        pub error_code: ErrorCode,
        /// The offset after the last committed record.
        pub high_watermark: i64,
        /// With SmartModules: the offset after the last record consumed (0 = not set) (v11+).
        pub next_filter_offset: i64 => 11..,
        /// The first offset still stored.
        pub log_start_offset: i64,
        /// Kafka aborted transactions (always `None` from Fluvio).
        #[cfg_attr(test, proptest(strategy = "super::small_opt_vec()"))]
        pub aborted: Option<Vec<AbortedTransaction>>,
        /// The batches. Raw file data may start before the wanted offset and end mid-batch.
        pub records: RecordSet,
    }
}

impl Eq for FetchablePartitionResponse {}

impl FetchablePartitionResponse {
    /// The offset to acknowledge after this frame: `next_filter_offset` when set, else the
    /// offset after the last whole batch; `None` if there is neither.
    ///
    /// # Errors
    /// [`DecodeError::Overflow`] when the last batch ends past `i64::MAX`.
    pub fn next_offset_for_fetch(&self) -> Result<Option<i64>, DecodeError> {
        if self.next_filter_offset > 0 {
            return Ok(Some(self.next_filter_offset));
        }
        self.records
            .batches
            .last()
            .map(|b| {
                // At most 2^31 records: the count always fits an i64.
                let records = b.records_len() as i64;
                DecodeError::checked_sum("offset after the last batch", b.base_offset, records)
            })
            .transpose()
    }
}

wire_struct! {
    /// The partitions read of one topic.
    pub struct FetchableTopicResponse {
        /// The topic name.
        pub name: String,
        /// Its partitions.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub partitions: Vec<FetchablePartitionResponse>,
    }
}

impl Eq for FetchableTopicResponse {}

wire_struct! {
    /// The records read.
    pub struct FetchResponse {
        /// Always 0.
        pub throttle_time_ms: i32,
        /// Non-`None` on a request-level failure.
        pub error_code: ErrorCode,
        /// Always 0.
        pub session_id: i32,
        /// One entry per requested topic.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub topics: Vec<FetchableTopicResponse>,
    }
}

impl Eq for FetchResponse {}

impl FetchResponse {
    /// The data of `partition` of `topic`, if present.
    pub fn find_partition(
        &self,
        topic: &str,
        partition: u32,
    ) -> Option<&FetchablePartitionResponse> {
        self.topics
            .iter()
            .filter(|t| t.name == topic)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
    }
}
