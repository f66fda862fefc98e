//! Produce (key 0): writes record batches to partitions, optionally through SmartModules.
//!
//! The request is hand-written upstream and has **the same layout at every version**
//! (`transactional_id` is always present despite its declared v3 minimum); its isolation is
//! Kafka's `i16 acks` and its timeout an `i32` of milliseconds. Only the SmartModule
//! invocations inside change with the version.

use std::time::Duration;

use bytes::{Buf, BufMut};

use crate::protocol::record::RecordSet;
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, ErrorCode, Request, Version};

use super::{Acks, Isolation, SmartModuleInvocation, PRODUCE_KEY};

wire_struct! {
    /// The batches for one partition.
    pub struct PartitionProduceData {
        /// The partition index.
        pub partition_index: u32,
        /// The batches to append.
        pub records: RecordSet,
    }
}

impl Eq for PartitionProduceData {}

wire_struct! {
    /// The partitions to write of one topic.
    pub struct TopicProduceData {
        /// The topic name.
        pub name: String,
        /// Its partitions.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub partitions: Vec<PartitionProduceData>,
    }
}

impl Eq for TopicProduceData {}

/// Writes batches to partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ProduceRequest {
    /// Kafka's transactional id; Fluvio sends `None`.
    pub transactional_id: Option<String>,
    /// `ReadUncommitted` answers once the leader wrote; `ReadCommitted` once replicated.
    pub isolation: Isolation,
    /// How long the SPU may wait for replication (whole milliseconds, at most `i32::MAX`).
    #[cfg_attr(
        test,
        proptest(
            strategy = "proptest::strategy::Strategy::prop_map(0..=i32::MAX as u64, Duration::from_millis)"
        )
    )]
    pub timeout: Duration,
    /// The data, per topic.
    #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
    pub topics: Vec<TopicProduceData>,
    /// SmartModules the SPU applies before storing.
    #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
    pub smartmodules: Vec<SmartModuleInvocation>,
}

/// The official producer's default timeout.
pub const DEFAULT_PRODUCE_TIMEOUT: Duration = Duration::from_millis(1500);

impl ProduceRequest {
    /// An empty request with `isolation` and `timeout`.
    pub fn new(isolation: Isolation, timeout: Duration) -> Self {
        Self {
            isolation,
            timeout,
            ..Self::default()
        }
    }

    /// Add `records` for `partition` of `topic`, grouped under an existing topic entry.
    pub fn push(&mut self, topic: &str, partition: u32, records: RecordSet) {
        let data = PartitionProduceData {
            partition_index: partition,
            records,
        };
        match self.topics.iter_mut().find(|t| t.name == topic) {
            Some(entry) => entry.partitions.push(data),
            None => self.topics.push(TopicProduceData {
                name: topic.to_owned(),
                partitions: vec![data],
            }),
        }
    }

    /// The timeout as written on the wire.
    fn timeout_ms(&self) -> Result<i32, EncodeError> {
        i32::try_from(self.timeout.as_millis()).map_err(|_| EncodeError::TooLong {
            what: "produce timeout (ms)",
            len: usize::try_from(self.timeout.as_millis()).unwrap_or(usize::MAX),
            max: i32::MAX as usize,
        })
    }
}

impl Encode for ProduceRequest {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        let timeout_ms = self.timeout_ms()?;
        self.transactional_id.encode(buf, version)?;
        Acks(self.isolation).encode(buf, version)?;
        timeout_ms.encode(buf, version)?;
        self.topics.encode(buf, version)?;
        self.smartmodules.encode(buf, version)
    }

    fn encoded_len(&self, version: Version) -> usize {
        self.transactional_id.encoded_len(version)
            + 2
            + 4
            + self.topics.encoded_len(version)
            + self.smartmodules.encoded_len(version)
    }
}

impl Decode for ProduceRequest {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let transactional_id = Option::<String>::decode(buf, version)?;
        let Acks(isolation) = Acks::decode(buf, version)?;
        let timeout_ms = i32::decode(buf, version)?;
        let timeout = u64::try_from(timeout_ms)
            .map(Duration::from_millis)
            .map_err(|_| DecodeError::Invalid {
                what: "produce timeout",
                message: format!("{timeout_ms} ms is negative"),
            })?;
        Ok(Self {
            transactional_id,
            isolation,
            timeout,
            topics: Vec::decode(buf, version)?,
            smartmodules: Vec::decode(buf, version)?,
        })
    }
}

impl Request for ProduceRequest {
    const API_KEY: u16 = PRODUCE_KEY;
    const API_NAME: &'static str = "produce";
    const MIN_API_VERSION: i16 = 0;
    const MAX_API_VERSION: i16 = 25;
    type Response = ProduceResponse;

    /// The first failed partition's code, else `None` (no error).
    fn response_error_code(response: &ProduceResponse) -> Option<&ErrorCode> {
        static NO_ERROR: ErrorCode = ErrorCode::None;
        let codes = response.responses.iter().flat_map(|t| &t.partitions);
        Some(
            codes
                .map(|p| &p.error_code)
                .find(|c| **c != ErrorCode::None)
                .unwrap_or(&NO_ERROR),
        )
    }
}

wire_struct! {
    /// The outcome for one partition.
    pub struct PartitionProduceResponse {
        /// The partition index.
        pub partition_index: u32,
        /// Non-`None` on failure (`NotLeaderForPartition`, `RequestTimedOut`, …).
        pub error_code: ErrorCode,
        /// The offset assigned to the first record written.
        pub base_offset: i64,
        /// Always 0 (v2+).
        pub log_append_time_ms: i64 => 2..,
        /// Always 0 (v5+).
        pub log_start_offset: i64 => 5..,
    }
}

wire_struct! {
    /// The outcome for one topic's partitions.
    pub struct TopicProduceResponse {
        /// The topic name.
        pub name: String,
        /// Its partitions.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub partitions: Vec<PartitionProduceResponse>,
    }
}

wire_struct! {
    /// The outcome per partition.
    pub struct ProduceResponse {
        /// One entry per topic written.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub responses: Vec<TopicProduceResponse>,
        /// Always 0 (v1+).
        pub throttle_time_ms: i32 => 1..,
    }
}

impl ProduceResponse {
    /// The outcome for `partition` of `topic`, if present.
    pub fn find_partition(&self, topic: &str, partition: u32) -> Option<&PartitionProduceResponse> {
        self.responses
            .iter()
            .filter(|t| t.name == topic)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
    }
}
