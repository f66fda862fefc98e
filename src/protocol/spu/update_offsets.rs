//! UpdateOffsets (key 1005, v0 only): acknowledges stream-fetch frames so the SPU sends more.
//! It must travel on the connection that carries the stream (stream ids are per connection).

use crate::protocol::{ErrorCode, Request};

use super::UPDATE_OFFSETS_KEY;

wire_struct! {
    /// The next offset a stream should deliver.
    pub struct OffsetUpdate {
        /// The offset after the last record processed.
        pub offset: i64,
        /// The stream id from the StreamFetch response frames.
        pub session_id: u32,
    }
}

impl Eq for OffsetUpdate {}

wire_struct! {
    /// Acknowledges streams up to the given offsets.
    pub struct UpdateOffsetsRequest {
        /// One entry per stream.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub offsets: Vec<OffsetUpdate>,
    }
}

impl Eq for UpdateOffsetsRequest {}

impl UpdateOffsetsRequest {
    /// Acknowledge stream `session_id` up to (not including) `offset`.
    pub fn single(session_id: u32, offset: i64) -> Self {
        Self {
            offsets: vec![OffsetUpdate { offset, session_id }],
        }
    }
}

impl Request for UpdateOffsetsRequest {
    const API_KEY: u16 = UPDATE_OFFSETS_KEY;
    const API_NAME: &'static str = "update_offsets";
    const MIN_API_VERSION: i16 = 0;
    const MAX_API_VERSION: i16 = 0;
    type Response = UpdateOffsetsResponse;
}

wire_struct! {
    /// The outcome for one stream.
    pub struct OffsetUpdateStatus {
        /// The stream id.
        pub session_id: u32,
        /// `FetchSessionNotFoud` (3002) for an unknown stream.
        pub error: ErrorCode,
    }
}

wire_struct! {
    /// The outcome per stream.
    pub struct UpdateOffsetsResponse {
        /// One entry per acknowledged stream.
        #[cfg_attr(test, proptest(strategy = "super::small_vec()"))]
        pub status: Vec<OffsetUpdateStatus>,
    }
}
