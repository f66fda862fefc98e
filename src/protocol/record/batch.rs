//! A record batch: the header the SPU stores verbatim, and the (possibly compressed) payload.
//!
//! ```text
//! base_offset i64 | batch_len i32 | partition_leader_epoch i32 | magic i8 | crc u32 |
//! attributes i16 | last_offset_delta i32 | first_timestamp i64 | max_time_stamp i64 |
//! producer_id i64 | producer_epoch i16 | first_sequence i32 | [schema_id u32] | payload
//! ```
//! `batch_len` counts the bytes after itself; the CRC-32C covers `attributes` to the end.
//! The payload is `u32 count ‖ records`, compressed as a whole when the codec says so.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::compression::{Compression, MAX_DECOMPRESSED_LEN};
use super::entry::{Record, RecordIter};
use crate::protocol::{need, Decode, DecodeError, Encode, EncodeError, Version};

/// Attribute bits holding the compression codec.
const CODEC_MASK: i16 = 0x07;
/// Attribute bit: a schema id follows the header.
const SCHEMA_PRESENT: i16 = 0x10;
/// Bytes from `partition_leader_epoch` to `first_sequence` inclusive.
const HEADER_LEN: usize = 45;
/// Bytes covered by the CRC before the schema id and payload.
const CRC_HEADER_LEN: usize = 36;
/// `base_offset` and `batch_len`.
const PREAMBLE_LEN: usize = 12;
/// Bytes a batch adds around its payload (preamble and header, no schema id).
pub const BATCH_OVERHEAD: usize = PREAMBLE_LEN + HEADER_LEN;

/// A record batch as it travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Offset of the first record (assigned by the SPU).
    pub base_offset: i64,
    /// Always -1 from Fluvio clients.
    pub partition_leader_epoch: i32,
    /// Batch format version, 2.
    pub magic: i8,
    /// Codec bits and the schema flag.
    pub attributes: i16,
    /// Number of records minus one (-1 when empty).
    pub last_offset_delta: i32,
    /// Timestamp of the first record in ms since the epoch (-1 = none).
    pub first_timestamp: i64,
    /// Largest record timestamp in the batch (-1 = none).
    pub max_time_stamp: i64,
    /// -1 from Fluvio clients.
    pub producer_id: i64,
    /// -1 from Fluvio clients.
    pub producer_epoch: i16,
    /// -1 from Fluvio clients.
    pub first_sequence: i32,
    /// Schema id, on the wire only when the attributes carry the schema flag.
    pub schema_id: u32,
    /// The raw payload: `u32 count ‖ records`, compressed with the codec in `attributes`.
    pub payload: Bytes,
}

impl Default for Batch {
    fn default() -> Self {
        Self {
            base_offset: 0,
            partition_leader_epoch: -1,
            magic: 2,
            attributes: 0,
            last_offset_delta: -1,
            first_timestamp: -1,
            max_time_stamp: -1,
            producer_id: -1,
            producer_epoch: -1,
            first_sequence: -1,
            schema_id: 0,
            payload: Bytes::from_static(&[0, 0, 0, 0]),
        }
    }
}

impl Batch {
    /// A batch of `records` (their offset and timestamp deltas as given), compressed with
    /// `compression`, whose first record has timestamp `first_timestamp`.
    ///
    /// # Errors
    /// A compression failure, too many records for the header, or a timestamp delta that
    /// takes `first_timestamp` out of range.
    pub fn from_records(
        records: &[Record],
        first_timestamp: i64,
        compression: Compression,
    ) -> Result<Self, EncodeError> {
        let count = records.len();
        let mut raw =
            BytesMut::with_capacity(4 + records.iter().map(|r| r.encoded_len(0)).sum::<usize>());
        raw.put_u32(count as u32);
        for record in records {
            record.encode(&mut raw, 0)?;
        }
        let max_delta = records.iter().map(|r| r.timestamp_delta).max().unwrap_or(0);
        let last_offset_delta = i32::try_from(count).map_err(|_| EncodeError::TooLong {
            what: "batch records",
            len: count,
            max: i32::MAX as usize,
        })? - 1;
        Self::from_raw_payload(
            raw,
            last_offset_delta,
            first_timestamp,
            max_delta,
            compression,
        )
    }

    /// A batch over an uncompressed payload (`u32 count ‖ records`), compressed here.
    ///
    /// # Errors
    /// A compression failure, or a first timestamp plus `max_timestamp_delta` past `i64`.
    pub(crate) fn from_raw_payload(
        raw: BytesMut,
        last_offset_delta: i32,
        first_timestamp: i64,
        max_timestamp_delta: i64,
        compression: Compression,
    ) -> Result<Self, EncodeError> {
        let payload = match compression {
            Compression::None => raw.freeze(),
            codec => Bytes::from(codec.compress(&raw)?),
        };
        let max_time_stamp = if first_timestamp < 0 {
            first_timestamp
        } else {
            first_timestamp
                .checked_add(max_timestamp_delta)
                .ok_or(EncodeError::Overflow {
                    what: "batch max timestamp",
                    base: first_timestamp,
                    delta: max_timestamp_delta,
                })?
        };
        Ok(Self {
            attributes: compression.id(),
            last_offset_delta,
            first_timestamp,
            max_time_stamp,
            payload,
            ..Self::default()
        })
    }

    /// The codec named by the attributes.
    ///
    /// # Errors
    /// An unknown codec id.
    pub fn compression(&self) -> Result<Compression, DecodeError> {
        Compression::from_id(self.attributes & CODEC_MASK)
    }

    /// Whether a schema id is on the wire.
    pub fn has_schema(&self) -> bool {
        self.attributes & SCHEMA_PRESENT != 0
    }

    /// How many records the header says the batch holds.
    pub fn records_len(&self) -> usize {
        usize::try_from(i64::from(self.last_offset_delta) + 1).unwrap_or(0)
    }

    /// The timestamp of a record with `timestamp_delta` (-1 when the batch has none).
    ///
    /// # Errors
    /// [`DecodeError::Overflow`] when the delta takes the first timestamp out of range.
    pub fn record_timestamp(&self, timestamp_delta: i64) -> Result<i64, DecodeError> {
        if self.first_timestamp <= 0 {
            return Ok(-1);
        }
        DecodeError::checked_sum("record timestamp", self.first_timestamp, timestamp_delta)
    }

    /// Offset of the last record.
    ///
    /// # Errors
    /// [`DecodeError::Overflow`] when `last_offset_delta` takes the base offset out of range.
    pub fn last_offset(&self) -> Result<i64, DecodeError> {
        DecodeError::checked_sum(
            "batch last offset",
            self.base_offset,
            i64::from(self.last_offset_delta),
        )
    }

    /// The uncompressed payload (`u32 count ‖ records`): the payload itself when the batch is
    /// not compressed (no copy), else its decompression.
    ///
    /// # Errors
    /// An unknown codec, a corrupt payload, or one that decompresses past
    /// [`MAX_DECOMPRESSED_LEN`].
    pub fn raw_records(&self) -> Result<Bytes, DecodeError> {
        match self.compression()? {
            Compression::None => Ok(self.payload.clone()),
            codec => Ok(codec
                .decompress(&self.payload, MAX_DECOMPRESSED_LEN)?
                .into()),
        }
    }

    /// The records as owned values; uncompressed keys and values share the batch's memory.
    /// For the fastest path, iterate [`RecordIter`] over [`Batch::raw_records`] instead.
    ///
    /// # Errors
    /// As [`Batch::raw_records`], or a malformed record.
    pub fn records(&self) -> Result<Vec<Record>, DecodeError> {
        let raw = self.raw_records()?;
        let mut iter = RecordIter::new(&raw)?;
        let mut records = Vec::with_capacity(iter.size_hint().1.unwrap_or(0));
        for r in iter.by_ref() {
            records.push(Record::from_ref(&r?, &raw));
        }
        if iter.trailing() > 0 {
            return Err(DecodeError::TrailingBytes {
                what: "batch records",
                count: iter.trailing(),
            });
        }
        Ok(records)
    }

    /// The bytes of `batch_len`'s span: everything after the length field.
    fn batch_len(&self) -> usize {
        HEADER_LEN + if self.has_schema() { 4 } else { 0 } + self.payload.len()
    }

    /// The CRC-covered header fields (`attributes` .. `first_sequence`).
    fn crc_header(&self) -> [u8; CRC_HEADER_LEN] {
        let mut out = [0u8; CRC_HEADER_LEN];
        let mut w = &mut out[..];
        w.put_i16(self.attributes);
        w.put_i32(self.last_offset_delta);
        w.put_i64(self.first_timestamp);
        w.put_i64(self.max_time_stamp);
        w.put_i64(self.producer_id);
        w.put_i16(self.producer_epoch);
        w.put_i32(self.first_sequence);
        out
    }

    fn crc(&self) -> u32 {
        let mut crc = crc32c::crc32c(&self.crc_header());
        if self.has_schema() {
            crc = crc32c::crc32c_append(crc, &self.schema_id.to_be_bytes());
        }
        crc32c::crc32c_append(crc, &self.payload)
    }
}

impl Encode for Batch {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        let batch_len = self.batch_len();
        if batch_len > i32::MAX as usize {
            return Err(EncodeError::TooLong {
                what: "batch",
                len: batch_len,
                max: i32::MAX as usize,
            });
        }
        buf.put_i64(self.base_offset);
        buf.put_i32(batch_len as i32);
        buf.put_i32(self.partition_leader_epoch);
        buf.put_i8(self.magic);
        buf.put_u32(self.crc());
        buf.put_slice(&self.crc_header());
        if self.has_schema() {
            buf.put_u32(self.schema_id);
        }
        buf.put_slice(&self.payload);
        Ok(())
    }

    fn encoded_len(&self, _: Version) -> usize {
        PREAMBLE_LEN + self.batch_len()
    }
}

impl Decode for Batch {
    /// Decodes one batch and checks its CRC-32C. From a `Bytes` input the payload shares its
    /// memory.
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        need(buf, PREAMBLE_LEN, "batch preamble")?;
        let base_offset = buf.get_i64();
        let batch_len = buf.get_i32();
        if batch_len < HEADER_LEN as i32 {
            return Err(DecodeError::InvalidLength {
                what: "batch",
                length: i64::from(batch_len),
            });
        }
        let batch_len = batch_len as usize;
        need(buf, batch_len, "batch")?;
        let partition_leader_epoch = buf.get_i32();
        let magic = buf.get_i8();
        let crc = buf.get_u32();
        let mut rest = buf.copy_to_bytes(batch_len - 9);
        let actual = crc32c::crc32c(&rest);
        if actual != crc {
            return Err(DecodeError::CrcMismatch {
                expected: crc,
                actual,
            });
        }
        let attributes = rest.get_i16();
        let last_offset_delta = rest.get_i32();
        let first_timestamp = rest.get_i64();
        let max_time_stamp = rest.get_i64();
        let producer_id = rest.get_i64();
        let producer_epoch = rest.get_i16();
        let first_sequence = rest.get_i32();
        let schema_id = if attributes & SCHEMA_PRESENT != 0 {
            need(&rest, 4, "batch schema id")?;
            rest.get_u32()
        } else {
            0
        };
        Ok(Self {
            base_offset,
            partition_leader_epoch,
            magic,
            attributes,
            last_offset_delta,
            first_timestamp,
            max_time_stamp,
            producer_id,
            producer_epoch,
            first_sequence,
            schema_id,
            payload: rest,
        })
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for Batch {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        (
            (
                any::<i64>(),
                any::<i32>(),
                any::<i8>(),
                any::<i16>(),
                any::<i32>(),
            ),
            (
                any::<i64>(),
                any::<i64>(),
                any::<i64>(),
                any::<i16>(),
                any::<i32>(),
            ),
            any::<u32>(),
            crate::conformance::bytes(),
        )
            .prop_map(|(a, b, schema_id, payload)| Batch {
                base_offset: a.0,
                partition_leader_epoch: a.1,
                magic: a.2,
                attributes: a.3,
                last_offset_delta: a.4,
                first_timestamp: b.0,
                max_time_stamp: b.1,
                producer_id: b.2,
                producer_epoch: b.3,
                first_sequence: b.4,
                schema_id: if a.3 & SCHEMA_PRESENT != 0 {
                    schema_id
                } else {
                    0
                },
                payload,
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests;
