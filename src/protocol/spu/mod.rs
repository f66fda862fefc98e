//! SPU public API messages: produce, fetch, offsets, stream fetch, SmartModule invocations,
//! consumer offsets.
//!
//! One file per API message. Every request implements [`Request`](crate::protocol::Request)
//! with the versions the 0.18 SPU serves; the client sends [`COMMON_VERSION`] (25) for all of
//! them except UpdateOffsets (0).
//!
//! ```
//! use actix_fluvio::protocol::record::RecordSet;
//! use actix_fluvio::protocol::spu::*;
//! use actix_fluvio::protocol::{Encode, Request};
//!
//! // Stream partition 0 from offset 0 through a stored aggregate starting at "0",
//! // replaying the last 10 records first, as consumer "sums".
//! let sum = SmartModuleInvocation::aggregate(SmartModuleWasm::predefined("sum"), "0")
//!     .with_param("field", "amount")
//!     .with_lookback(Lookback::last(10));
//! let stream = StreamFetchRequest::new("orders", 0, 0)
//!     .with_smartmodule(sum)
//!     .with_consumer_id("sums");
//! let body = stream.to_bytes(StreamFetchRequest::MAX_API_VERSION).unwrap();
//! assert!(!body.is_empty());
//!
//! // Produce one (empty here) record set to orders/1 and wait for replication.
//! let mut produce = ProduceRequest::new(Isolation::ReadCommitted, DEFAULT_PRODUCE_TIMEOUT);
//! produce.push("orders", 1, RecordSet::default());
//! assert_eq!(produce.topics[0].partitions[0].partition_index, 1);
//! ```

mod any;
mod delete_consumer_offset;
mod fetch;
mod fetch_consumer_offsets;
mod fetch_offsets;
mod isolation;
mod produce;
mod replica;
mod smartmodule;
mod smartmodule_kind;
mod stream_fetch;
mod update_consumer_offset;
mod update_offsets;

pub use any::{SpuRequest, SpuResponse};
pub use delete_consumer_offset::{DeleteConsumerOffsetRequest, DeleteConsumerOffsetResponse};
pub use fetch::{
    AbortedTransaction, FetchPartition, FetchRequest, FetchResponse, FetchablePartitionResponse,
    FetchableTopic, FetchableTopicResponse, ForgottenTopic,
};
pub use fetch_consumer_offsets::{
    ConsumerOffset, FetchConsumerOffsetsRequest, FetchConsumerOffsetsResponse, FilterOpts,
};
pub use fetch_offsets::{
    FetchOffsetPartition, FetchOffsetPartitionResponse, FetchOffsetTopic, FetchOffsetTopicResponse,
    FetchOffsetsRequest, FetchOffsetsResponse,
};
pub use isolation::{Acks, Isolation};
pub use produce::{
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceData, TopicProduceResponse, DEFAULT_PRODUCE_TIMEOUT,
};
pub use replica::ReplicaKey;
pub use smartmodule::{Lookback, SmartModuleInvocation, SmartModuleParams, SmartModuleWasm};
pub use smartmodule_kind::{SmartModuleContextData, SmartModuleKind};
pub use stream_fetch::{
    DerivedStreamInvocation, StreamFetchRequest, StreamFetchResponse, DEFAULT_MAX_FETCH_BYTES,
};
pub use update_consumer_offset::{UpdateConsumerOffsetRequest, UpdateConsumerOffsetResponse};
pub use update_offsets::{
    OffsetUpdate, OffsetUpdateStatus, UpdateOffsetsRequest, UpdateOffsetsResponse,
};

/// The version the official client sends for SPU APIs (`COMMON_VERSION`).
pub const COMMON_VERSION: i16 = 25;

/// API key of Produce.
pub const PRODUCE_KEY: u16 = 0;
/// API key of Fetch (one-shot).
pub const FETCH_KEY: u16 = 1;
/// API key of FetchOffsets.
pub const FETCH_OFFSETS_KEY: u16 = 1002;
/// API key of StreamFetch.
pub const STREAM_FETCH_KEY: u16 = 1003;
/// API key of UpdateOffsets.
pub const UPDATE_OFFSETS_KEY: u16 = 1005;
/// API key of UpdateConsumerOffset.
pub const UPDATE_CONSUMER_OFFSET_KEY: u16 = 1006;
/// API key of DeleteConsumerOffset.
pub const DELETE_CONSUMER_OFFSET_KEY: u16 = 1007;
/// API key of FetchConsumerOffsets.
pub const FETCH_CONSUMER_OFFSETS_KEY: u16 = 1008;

/// Collections of at most three elements: nested messages with proptest's default sizes
/// (up to 100 per level) make conformance runs take minutes.
#[cfg(test)]
fn small_vec<T: proptest::arbitrary::Arbitrary>(
) -> impl proptest::strategy::Strategy<Value = Vec<T>> {
    proptest::collection::vec(proptest::arbitrary::any::<T>(), 0..4)
}

/// An optional small collection (see [`small_vec`]).
#[cfg(test)]
fn small_opt_vec<T: proptest::arbitrary::Arbitrary>(
) -> impl proptest::strategy::Strategy<Value = Option<Vec<T>>> {
    proptest::option::of(small_vec())
}

/// A small string map (see [`small_vec`]).
#[cfg(test)]
fn small_map(
) -> impl proptest::strategy::Strategy<Value = std::collections::BTreeMap<String, String>> {
    proptest::collection::btree_map("[a-z]{0,8}", "[a-z0-9 ]{0,8}", 0..4)
}
