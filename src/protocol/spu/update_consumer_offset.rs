//! UpdateConsumerOffset (key 1006): commits a consumer's offset for the stream it reads. Sent on
//! the stream's connection; the stream must have been opened with a consumer id.

use crate::protocol::{ErrorCode, Request};

use super::UPDATE_CONSUMER_OFFSET_KEY;

wire_struct! {
    /// Stores `offset` as the consumer offset of stream `session_id`.
    pub struct UpdateConsumerOffsetRequest {
        /// The offset of the last record processed.
        pub offset: i64,
        /// The stream id from the StreamFetch response frames.
        pub session_id: u32,
    }
}

impl Eq for UpdateConsumerOffsetRequest {}

impl UpdateConsumerOffsetRequest {
    /// Commit `offset` for stream `session_id`.
    pub fn new(offset: i64, session_id: u32) -> Self {
        Self { offset, session_id }
    }
}

impl Request for UpdateConsumerOffsetRequest {
    const API_KEY: u16 = UPDATE_CONSUMER_OFFSET_KEY;
    const API_NAME: &'static str = "update_consumer_offset";
    /// Consumer offsets arrived with offset management at v23.
    const MIN_API_VERSION: i16 = 23;
    const MAX_API_VERSION: i16 = 25;
    type Response = UpdateConsumerOffsetResponse;

    fn response_error_code(response: &UpdateConsumerOffsetResponse) -> Option<&ErrorCode> {
        Some(&response.error_code)
    }
}

wire_struct! {
    /// The stored offset.
    pub struct UpdateConsumerOffsetResponse {
        /// The offset stored.
        pub offset: i64,
        /// Non-`None` on failure (e.g. `Other("stream without consumer id")`).
        pub error_code: ErrorCode,
    }
}
