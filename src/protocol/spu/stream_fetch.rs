//! StreamFetch (key 1003): opens a stream of record frames from one partition, optionally
//! transformed by a SmartModule chain.
//!
//! Every response frame shares the request's correlation id. The SPU sends nothing while there
//! is no data and, after each frame with records, waits for an
//! [`UpdateOffsetsRequest`](super::UpdateOffsetsRequest) on the same connection.

use bytes::Bytes;

use crate::protocol::Request;

use super::{
    FetchablePartitionResponse, Isolation, SmartModuleInvocation, SmartModuleParams,
    STREAM_FETCH_KEY,
};

/// The official client's default `max_bytes` (`FLUVIO_CLIENT_MAX_FETCH_BYTES`).
pub const DEFAULT_MAX_FETCH_BYTES: i32 = 1_048_588;

wire_struct! {
    /// The pre-v19 derived-stream invocation (kept only to read and write v16..=18 frames).
    pub struct DerivedStreamInvocation {
        /// The derived stream's name.
        pub stream: String,
        /// Its parameters.
        pub params: SmartModuleParams,
    }
}

impl Eq for DerivedStreamInvocation {}

wire_struct! {
    /// Streams records of `topic`/`partition` from `fetch_offset` on.
    pub struct StreamFetchRequest {
        /// The topic.
        pub topic: String,
        /// The partition.
        pub partition: u32,
        /// The first offset wanted (the SPU starts at the batch containing it).
        pub fetch_offset: i64,
        /// The most bytes per frame; a batch larger than this is never delivered.
        pub max_bytes: i32,
        /// Whether to stop at the high watermark.
        pub isolation: Isolation,
        /// Legacy raw module (v11..=18 only).
        #[cfg_attr(test, proptest(strategy = "crate::conformance::bytes()"))]
        pub legacy_wasm_module: Bytes => 11..=18,
        /// Legacy single SmartModule (v16..=18 only).
        pub legacy_smartmodule: Option<SmartModuleInvocation> => 16..=18,
        /// Legacy derived stream (v16..=18 only).
        pub legacy_derivedstream: Option<DerivedStreamInvocation> => 16..=18,
        /// The SmartModule chain, applied in order (v18+).
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub smartmodules: Vec<SmartModuleInvocation> => 18..,
        /// The consumer id, needed to commit consumer offsets on this stream (v23+).
        pub consumer_id: Option<String> => 23..,
    }
}

impl Eq for StreamFetchRequest {}

impl StreamFetchRequest {
    /// Stream `partition` of `topic` from `fetch_offset`, uncommitted reads, default
    /// `max_bytes`, no SmartModules.
    pub fn new(topic: impl Into<String>, partition: u32, fetch_offset: i64) -> Self {
        Self {
            topic: topic.into(),
            partition,
            fetch_offset,
            max_bytes: DEFAULT_MAX_FETCH_BYTES,
            ..Self::default()
        }
    }

    /// Set the most bytes per frame.
    pub fn with_max_bytes(mut self, max_bytes: i32) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Set the isolation.
    pub fn with_isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Append `invocation` to the SmartModule chain.
    pub fn with_smartmodule(mut self, invocation: SmartModuleInvocation) -> Self {
        self.smartmodules.push(invocation);
        self
    }

    /// Open the stream as consumer `consumer_id` (v23+).
    pub fn with_consumer_id(mut self, consumer_id: impl Into<String>) -> Self {
        self.consumer_id = Some(consumer_id.into());
        self
    }
}

impl Request for StreamFetchRequest {
    const API_KEY: u16 = STREAM_FETCH_KEY;
    const API_NAME: &'static str = "stream_fetch";
    const MIN_API_VERSION: i16 = 0;
    const MAX_API_VERSION: i16 = 25;
    type Response = StreamFetchResponse;
}

wire_struct! {
    /// One frame of a stream: the partition's data since the last acknowledged offset.
    pub struct StreamFetchResponse {
        /// The topic.
        pub topic: String,
        /// The stream id to acknowledge with UpdateOffsets (0 on an immediate error).
        pub stream_id: u32,
        /// The records, offsets and error code.
        pub partition: FetchablePartitionResponse,
    }
}

impl Eq for StreamFetchResponse {}
