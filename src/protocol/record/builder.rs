//! `BatchBuilder`: records encoded straight into the batch payload, once, as they arrive.
//!
//! The producer's hot path: no per-record allocation, no second pass over the records when
//! the batch is sealed (only the compressor's, when one is configured).

use bytes::{BufMut, BytesMut};

use super::batch::Batch;
use super::compression::Compression;
use super::entry::{inner_len, write_record};
use crate::protocol::{varint_len, EncodeError};

/// Accumulates records into one batch payload.
///
/// ```
/// use actix_fluvio::protocol::record::{BatchBuilder, Compression};
///
/// let mut builder = BatchBuilder::new(1_700_000_000_000);
/// builder.push(Some(b"key"), b"value", 1_700_000_000_005);
/// builder.push(None, b"other", 1_700_000_000_007);
/// let batch = builder.build(Compression::Lz4).unwrap();
/// assert_eq!(batch.records_len(), 2);
/// assert_eq!(&batch.records().unwrap()[1].value[..], b"other");
/// ```
#[derive(Debug)]
pub struct BatchBuilder {
    payload: BytesMut,
    count: u32,
    first_timestamp: i64,
    max_timestamp_delta: i64,
}

impl BatchBuilder {
    /// An empty batch whose records' timestamps are relative to `first_timestamp` (ms).
    pub fn new(first_timestamp: i64) -> Self {
        Self::with_capacity(first_timestamp, 0)
    }

    /// As [`BatchBuilder::new`], with room for `bytes` of records.
    pub fn with_capacity(first_timestamp: i64, bytes: usize) -> Self {
        let mut payload = BytesMut::with_capacity(4 + bytes);
        payload.put_u32(0);
        Self {
            payload,
            count: 0,
            first_timestamp,
            max_timestamp_delta: 0,
        }
    }

    /// The encoded size of a record with this key and value (length prefix included), as
    /// [`BatchBuilder::push`] would add it at offset delta `offset_delta`.
    pub fn record_size(key: Option<&[u8]>, value: &[u8], offset_delta: i64) -> usize {
        // Timestamp deltas are small; 5 bytes is a safe upper bound for up to ~34 years.
        let inner = inner_len(0, offset_delta, key, value, 0) + 4;
        varint_len(inner as i64) + inner
    }

    /// Append a record with timestamp `timestamp` (ms; -1 for none).
    pub fn push(&mut self, key: Option<&[u8]>, value: &[u8], timestamp: i64) {
        let delta = if timestamp < 0 || self.first_timestamp < 0 {
            0
        } else {
            timestamp - self.first_timestamp
        };
        self.max_timestamp_delta = self.max_timestamp_delta.max(delta);
        write_record(
            &mut self.payload,
            delta,
            i64::from(self.count),
            key,
            value,
            0,
        );
        self.count += 1;
    }

    /// Records pushed so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// `true` before the first push.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Uncompressed payload bytes so far (count prefix included).
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }

    /// Seal the batch, compressing its payload with `compression`.
    ///
    /// # Errors
    /// A compression failure.
    pub fn build(mut self, compression: Compression) -> Result<Batch, EncodeError> {
        self.payload[..4].copy_from_slice(&self.count.to_be_bytes());
        Batch::from_raw_payload(
            self.payload,
            self.count as i32 - 1,
            self.first_timestamp,
            self.max_timestamp_delta,
            compression,
        )
    }
}
