//! SPU public API messages: produce, fetch, offsets, stream fetch, SmartModule invocations,
//! consumer offsets.
//!
//! One file per API message. Every request implements [`Request`](crate::protocol::Request)
//! with the versions the 0.18 SPU serves; the client sends [`COMMON_VERSION`] (25) for all of
//! them except UpdateOffsets (0).

mod delete_consumer_offset;
mod fetch;
mod fetch_consumer_offsets;
mod fetch_offsets;
mod isolation;
mod produce;
mod replica;
mod smartmodule;
mod stream_fetch;
mod update_consumer_offset;
mod update_offsets;

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
pub use smartmodule::{
    Lookback, SmartModuleContextData, SmartModuleInvocation, SmartModuleKind, SmartModuleParams,
    SmartModuleWasm,
};
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
