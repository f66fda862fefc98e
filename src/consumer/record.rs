//! What a consumer delivers.

use std::sync::Arc;

use bytes::Bytes;

/// One consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: u32,
    /// The record's offset.
    pub offset: i64,
    /// Its timestamp in ms since the epoch (-1 when the producer set none).
    pub timestamp: i64,
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
}

impl ConsumerRecord {
    /// Bytes of its key and value: what the consumer's read-ahead
    /// ([`super::ConsumerOptions::buffer_bytes`]) counts it for.
    pub fn payload_len(&self) -> usize {
        self.value.len() + self.key.as_ref().map_or(0, Bytes::len)
    }
}
