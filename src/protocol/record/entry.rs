//! One record: key, value, timestamp and offset deltas.
//!
//! Not Kafka's layout: the key is a one-byte presence flag then a varint length, and headers
//! are a bare varint count (always 0 from real clients; no header entries exist on the wire).

use bytes::{Buf, BufMut, Bytes};

use crate::protocol::{decode_varint, encode_varint, varint_len, DecodeError, Version};
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

/// A record borrowed from a decoded payload: no copy, no reference counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Milliseconds after the batch's first timestamp.
    pub timestamp_delta: i64,
    /// Offset relative to the batch's base offset.
    pub offset_delta: i64,
    /// The key, if any.
    pub key: Option<&'a [u8]>,
    /// The value.
    pub value: &'a [u8],
    /// Record attributes.
    pub attributes: i8,
    /// The header count.
    pub headers: i64,
}

/// Iterates over the records of an uncompressed payload (`u32 count ‖ records`), checking
/// every length against the payload.
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    remaining: usize,
}

impl<'a> RecordIter<'a> {
    /// An iterator over `payload`, an uncompressed batch payload.
    ///
    /// # Errors
    /// A payload shorter than its count, or a count larger than the payload can hold.
    pub fn new(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let mut it = Self {
            bytes: payload,
            pos: 0,
            remaining: 0,
        };
        let count = it.bytes_n(4, "record count")?;
        let count = i32::from_be_bytes([count[0], count[1], count[2], count[3]]);
        // Each record takes at least 7 bytes: never trust a count the payload cannot hold.
        if count > 0 && count as usize > (payload.len() - 4) / 7 + 1 {
            return Err(DecodeError::InvalidLength {
                what: "record count",
                length: i64::from(count),
            });
        }
        it.remaining = count.max(0) as usize;
        Ok(it)
    }

    /// Records not yet read, as the payload's count says (checked against its length in
    /// [`RecordIter::new`]): a capacity to reserve, at most one per 7 bytes.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Bytes not yet read (non-zero after the last record means trailing garbage).
    pub fn trailing(&self) -> usize {
        self.bytes.len() - self.pos
    }

    #[inline]
    fn bytes_n(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let remaining = self.bytes.len() - self.pos;
        if n > remaining {
            return Err(DecodeError::NotEnoughBytes {
                what,
                needed: n,
                remaining,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    #[inline]
    fn varint(&mut self) -> Result<i64, DecodeError> {
        let mut raw: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.bytes.get(self.pos + i) else {
                return Err(DecodeError::NotEnoughBytes {
                    what: "varint",
                    needed: 1,
                    remaining: 0,
                });
            };
            raw |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.pos += i + 1;
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(DecodeError::VarintTooLong)
    }

    /// A varint-length byte string (a length below one is empty).
    #[inline]
    fn var_bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        if len < 1 {
            return Ok(&[]);
        }
        let len =
            usize::try_from(len).map_err(|_| DecodeError::InvalidLength { what, length: len })?;
        self.bytes_n(len, what)
    }

    /// One record, length prefix included.
    #[inline]
    fn record(&mut self) -> Result<RecordRef<'a>, DecodeError> {
        let len = self.varint()?;
        let start = self.pos;
        if len < 0 || len as u64 > (self.bytes.len() - start) as u64 {
            return Err(DecodeError::InvalidLength {
                what: "record",
                length: len,
            });
        }
        let attributes = self.bytes_n(1, "record attributes")?[0] as i8;
        let timestamp_delta = self.varint()?;
        let offset_delta = self.varint()?;
        let key = match self.bytes_n(1, "record key flag")?[0] {
            0 => None,
            1 => Some(self.var_bytes("record key")?),
            other => return Err(DecodeError::InvalidBool(other)),
        };
        let value = self.var_bytes("record value")?;
        let headers = self.varint()?;
        let used = self.pos - start;
        if used != len as usize {
            return Err(DecodeError::Invalid {
                what: "record",
                message: format!("length prefix says {len} bytes, fields took {used}"),
            });
        }
        Ok(RecordRef {
            timestamp_delta,
            offset_delta,
            key,
            value,
            attributes,
            headers,
        })
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordRef<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let record = self.record();
        if record.is_err() {
            self.remaining = 0;
        }
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl Record {
    /// An owned record whose key and value share `buf`'s memory (`r` must borrow from it).
    pub fn from_ref(r: &RecordRef<'_>, buf: &Bytes) -> Self {
        Record {
            attributes: r.attributes,
            timestamp_delta: r.timestamp_delta,
            offset_delta: r.offset_delta,
            key: r.key.map(|k| buf.slice_ref(k)),
            value: buf.slice_ref(r.value),
            headers: r.headers,
        }
    }
}

impl Decode for Record {
    /// Decodes one record. From a `Bytes` input, key and value share its memory.
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        let mut rest = buf.chunk();
        let before = rest.len();
        let len = decode_varint(&mut rest)?;
        let prefix = before - rest.len();
        if len < 0 || len as u64 > (buf.remaining() - prefix) as u64 {
            return Err(DecodeError::InvalidLength {
                what: "record",
                length: len,
            });
        }
        let raw = buf.copy_to_bytes(prefix + len as usize);
        let mut it = RecordIter {
            bytes: &raw,
            pos: 0,
            remaining: 1,
        };
        let r = it.record()?;
        Ok(Record::from_ref(&r, &raw))
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
