//! DeleteConsumerOffset (key 1007): forgets a consumer's stored offset. Sent to the leader of
//! the system topic `consumer-offset`, partition 0.

use crate::protocol::{ErrorCode, Request};

use super::{ReplicaKey, DELETE_CONSUMER_OFFSET_KEY};

wire_struct! {
    /// Deletes the offset of `consumer_id` on `replica_id`.
    pub struct DeleteConsumerOffsetRequest {
        /// The partition the offset belongs to.
        pub replica_id: ReplicaKey,
        /// The consumer.
        pub consumer_id: String,
    }
}

impl Eq for DeleteConsumerOffsetRequest {}

impl DeleteConsumerOffsetRequest {
    /// Delete the offset of `consumer_id` on `partition` of `topic`.
    pub fn new(topic: impl Into<String>, partition: u32, consumer_id: impl Into<String>) -> Self {
        Self {
            replica_id: ReplicaKey::new(topic, partition),
            consumer_id: consumer_id.into(),
        }
    }
}

impl Request for DeleteConsumerOffsetRequest {
    const API_KEY: u16 = DELETE_CONSUMER_OFFSET_KEY;
    const API_NAME: &'static str = "delete_consumer_offset";
    /// Consumer offsets arrived with offset management at v23.
    const MIN_API_VERSION: i16 = 23;
    const MAX_API_VERSION: i16 = 25;
    type Response = DeleteConsumerOffsetResponse;

    fn response_error_code(response: &DeleteConsumerOffsetResponse) -> Option<&ErrorCode> {
        Some(&response.error_code)
    }
}

wire_struct! {
    /// The outcome.
    pub struct DeleteConsumerOffsetResponse {
        /// Non-`None` on failure.
        pub error_code: ErrorCode,
    }
}
