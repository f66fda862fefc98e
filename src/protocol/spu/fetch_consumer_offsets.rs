//! FetchConsumerOffsets (key 1008): lists stored consumer offsets. Sent to the leader of the
//! system topic `consumer-offset`, partition 0 (else `PartitionNotLeader`).

use crate::protocol::{ErrorCode, Request};

use super::{ReplicaKey, FETCH_CONSUMER_OFFSETS_KEY};

wire_struct! {
    /// Narrows the listing; absent fields match everything.
    pub struct FilterOpts {
        /// Only this partition.
        pub replica_id: Option<ReplicaKey>,
        /// Only this consumer.
        pub consumer_id: Option<String>,
    }
}

impl Eq for FilterOpts {}

wire_struct! {
    /// Lists consumer offsets.
    pub struct FetchConsumerOffsetsRequest {
        /// Filter (v24+; earlier versions list everything).
        pub filter_opts: Option<FilterOpts> => 24..,
    }
}

impl Eq for FetchConsumerOffsetsRequest {}

impl FetchConsumerOffsetsRequest {
    /// List the offsets matching `replica_id` and `consumer_id` (needs v24+).
    pub fn with_opts(replica_id: Option<ReplicaKey>, consumer_id: Option<String>) -> Self {
        Self {
            filter_opts: Some(FilterOpts {
                replica_id,
                consumer_id,
            }),
        }
    }
}

impl Request for FetchConsumerOffsetsRequest {
    const API_KEY: u16 = FETCH_CONSUMER_OFFSETS_KEY;
    const API_NAME: &'static str = "fetch_consumer_offsets";
    /// Consumer offsets arrived with offset management at v23.
    const MIN_API_VERSION: i16 = 23;
    const MAX_API_VERSION: i16 = 25;
    type Response = FetchConsumerOffsetsResponse;

    fn response_error_code(response: &FetchConsumerOffsetsResponse) -> Option<&ErrorCode> {
        Some(&response.error_code)
    }
}

wire_struct! {
    /// One stored consumer offset.
    pub struct ConsumerOffset {
        /// The consumer.
        pub consumer_id: String,
        /// The partition.
        pub replica_id: ReplicaKey,
        /// The offset of the last record the consumer processed.
        pub offset: i64,
        /// When it was stored, in milliseconds since the epoch.
        pub modified_time: u64,
    }
}

impl Eq for ConsumerOffset {}

wire_struct! {
    /// The stored offsets.
    pub struct FetchConsumerOffsetsResponse {
        /// Non-`None` on failure.
        pub error_code: ErrorCode,
        /// The matching offsets.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub consumers: Vec<ConsumerOffset>,
    }
}
