//! One record: key, value, timestamp and offset deltas.
//!
//! Not Kafka's layout: the key is a one-byte presence flag then a varint length, and headers
//! are a bare varint count (always 0 from real clients; no header entries exist on the wire).

use bytes::{Buf, BufMut, Bytes};

use crate::protocol::{decode_varint, encode_varint, need, varint_len, DecodeError, Version};
use crate::protocol::{Decode, Encode, EncodeError};

/// A record inside a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Record attributes (unused, 0).
    pub attributes: i8,
    /// Milliseconds after the batch's first timestamp.
    pub timestamp_delta: i64,
    /// Offset relative to the batch's base offset.
    pub offset_delta: i64,
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
    /// The header count (a bare varint; Fluvio carries no header entries).
    pub headers: i64,
}

impl Record {
    /// A record with `value` and no key at offset delta `offset_delta`.
    pub fn new(offset_delta: i64, value: impl Into<Bytes>) -> Self {
        Self {
            offset_delta,
            value: value.into(),
            ..Self::default()
        }
    }

    /// Set the key.
    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Size of the record after its length prefix.
    fn inner_len(&self) -> usize {
        inner_len(
            self.timestamp_delta,
            self.offset_delta,
            self.key.as_deref(),
            &self.value,
            self.headers,
        )
    }
}

/// Size of a record's fields after the length prefix.
#[inline]
pub(crate) fn inner_len(
    ts: i64,
    off: i64,
    key: Option<&[u8]>,
    value: &[u8],
    headers: i64,
) -> usize {
    1 + varint_len(ts)
        + varint_len(off)
        + 1
        + key.map_or(0, |k| varint_len(k.len() as i64) + k.len())
        + varint_len(value.len() as i64)
        + value.len()
        + varint_len(headers)
}

/// Write one record (length prefix included) without building a [`Record`].
#[inline]
pub(crate) fn write_record<B: BufMut>(
    buf: &mut B,
    ts: i64,
    off: i64,
    key: Option<&[u8]>,
    value: &[u8],
    headers: i64,
) {
    encode_varint(buf, inner_len(ts, off, key, value, headers) as i64);
    buf.put_i8(0);
    encode_varint(buf, ts);
    encode_varint(buf, off);
    match key {
        None => buf.put_u8(0),
        Some(k) => {
            buf.put_u8(1);
            encode_varint(buf, k.len() as i64);
            buf.put_slice(k);
        }
    }
    encode_varint(buf, value.len() as i64);
    buf.put_slice(value);
    encode_varint(buf, headers);
}

impl Encode for Record {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        let inner = self.inner_len();
        encode_varint(buf, inner as i64);
        buf.put_i8(self.attributes);
        encode_varint(buf, self.timestamp_delta);
        encode_varint(buf, self.offset_delta);
        match &self.key {
            None => buf.put_u8(0),
            Some(k) => {
                buf.put_u8(1);
                encode_varint(buf, k.len() as i64);
                buf.put_slice(k);
            }
        }
        encode_varint(buf, self.value.len() as i64);
        buf.put_slice(&self.value);
        encode_varint(buf, self.headers);
        Ok(())
    }

    fn encoded_len(&self, _: Version) -> usize {
        let inner = self.inner_len();
        varint_len(inner as i64) + inner
    }
}

/// Read varint-length bytes; a length below one is empty.
#[inline]
fn var_bytes<B: Buf>(buf: &mut B, what: &'static str) -> Result<Bytes, DecodeError> {
    let len = decode_varint(buf)?;
    if len < 1 {
        return Ok(Bytes::new());
    }
    if len as u64 > buf.remaining() as u64 {
        return Err(DecodeError::InvalidLength { what, length: len });
    }
    Ok(buf.copy_to_bytes(len as usize))
}

impl Decode for Record {
    /// Decodes one record. From a `Bytes` input, key and value share its memory.
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let len = decode_varint(buf)?;
        if len < 0 || len as u64 > buf.remaining() as u64 {
            return Err(DecodeError::InvalidLength {
                what: "record",
                length: len,
            });
        }
        let start = buf.remaining();
        need(buf, 1, "record attributes")?;
        let attributes = buf.get_i8();
        let timestamp_delta = decode_varint(buf)?;
        let offset_delta = decode_varint(buf)?;
        let key = if bool::decode(buf, version)? {
            Some(var_bytes(buf, "record key")?)
        } else {
            None
        };
        let value = var_bytes(buf, "record value")?;
        let headers = decode_varint(buf)?;
        let used = start - buf.remaining();
        if used != len as usize {
            return Err(DecodeError::Invalid {
                what: "record",
                message: format!("length prefix says {len} bytes, fields took {used}"),
            });
        }
        Ok(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for Record {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        let small = || -(1i64 << 31)..(1i64 << 31);
        (
            small(),
            small(),
            proptest::option::of(crate::conformance::bytes()),
            crate::conformance::bytes(),
        )
            .prop_map(|(timestamp_delta, offset_delta, key, value)| Record {
                attributes: 0,
                timestamp_delta,
                offset_delta,
                key,
                value,
                headers: 0,
            })
            .boxed()
    }
}
