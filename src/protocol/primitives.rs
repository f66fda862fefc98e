//! Wire encodings of the primitive types: integers, bool, varint, string, option, vector, map,
//! byte buffers and durations.
//!
//! (Above 400 lines on purpose: one `Encode`/`Decode` pair per primitive, a table read
//! top to bottom, with the bounds checks each type needs; splitting it would scatter them.)

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};

use super::{need, Decode, DecodeError, Encode, EncodeError, Version};

macro_rules! int_impl {
    ($($t:ty => $get:ident, $put:ident;)*) => {$(
        impl Encode for $t {
            #[inline]
            fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
                buf.$put(*self);
                Ok(())
            }
            #[inline]
            fn encoded_len(&self, _: Version) -> usize {
                std::mem::size_of::<$t>()
            }
        }
        impl Decode for $t {
            #[inline]
            fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
                need(buf, std::mem::size_of::<$t>(), stringify!($t))?;
                Ok(buf.$get())
            }
        }
    )*};
}

int_impl! {
    i8 => get_i8, put_i8;
    u8 => get_u8, put_u8;
    i16 => get_i16, put_i16;
    u16 => get_u16, put_u16;
    i32 => get_i32, put_i32;
    u32 => get_u32, put_u32;
    i64 => get_i64, put_i64;
    u64 => get_u64, put_u64;
}

impl Encode for bool {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        buf.put_u8(u8::from(*self));
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        1
    }
}

impl Decode for bool {
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        need(buf, 1, "bool")?;
        match buf.get_u8() {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::InvalidBool(other)),
        }
    }
}

impl Encode for () {
    fn encode<B: BufMut>(&self, _: &mut B, _: Version) -> Result<(), EncodeError> {
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        0
    }
}

impl Decode for () {
    fn decode<B: Buf>(_: &mut B, _: Version) -> Result<Self, DecodeError> {
        Ok(())
    }
}

/// Largest string the `u16` length prefix carries and the reference decoder (which reads the
/// length as `i16`) accepts.
pub const MAX_STRING_LEN: usize = i16::MAX as usize;

impl Encode for String {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.as_str().encode(buf, version)
    }
    fn encoded_len(&self, _: Version) -> usize {
        2 + self.len()
    }
}

impl Encode for str {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        if self.len() > MAX_STRING_LEN {
            return Err(EncodeError::TooLong {
                what: "string",
                len: self.len(),
                max: MAX_STRING_LEN,
            });
        }
        buf.put_u16(self.len() as u16);
        buf.put_slice(self.as_bytes());
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        2 + self.len()
    }
}

impl Decode for String {
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        need(buf, 2, "string length")?;
        // The reference decoder reads the length as i16 and treats <= 0 as empty.
        let len = buf.get_i16();
        if len <= 0 {
            return Ok(String::new());
        }
        let len = len as usize;
        need(buf, len, "string")?;
        let mut bytes = vec![0; len];
        buf.copy_to_slice(&mut bytes);
        String::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        match self {
            None => {
                buf.put_u8(0);
                Ok(())
            }
            Some(value) => {
                buf.put_u8(1);
                value.encode(buf, version)
            }
        }
    }
    fn encoded_len(&self, version: Version) -> usize {
        1 + self.as_ref().map_or(0, |v| v.encoded_len(version))
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        if bool::decode(buf, version)? {
            Ok(Some(T::decode(buf, version)?))
        } else {
            Ok(None)
        }
    }
}

impl<T: Encode> Encode for Box<T> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        (**self).encode(buf, version)
    }
    fn encoded_len(&self, version: Version) -> usize {
        (**self).encoded_len(version)
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        T::decode(buf, version).map(Box::new)
    }
}

fn check_count(len: usize, max: usize, what: &'static str) -> Result<(), EncodeError> {
    if len > max {
        return Err(EncodeError::TooLong { what, len, max });
    }
    Ok(())
}

impl<T: Encode> Encode for Vec<T> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        check_count(self.len(), i32::MAX as usize, "vector")?;
        buf.put_u32(self.len() as u32);
        for item in self {
            item.encode(buf, version)?;
        }
        Ok(())
    }
    fn encoded_len(&self, version: Version) -> usize {
        4 + self.iter().map(|v| v.encoded_len(version)).sum::<usize>()
    }
}

/// Read a count prefix and check it against the input: every element takes at least one byte,
/// so a count larger than what remains is malformed (this bounds allocation and looping).
fn read_count<B: Buf>(buf: &B, count: i64, what: &'static str) -> Result<usize, DecodeError> {
    if count < 1 {
        return Ok(0);
    }
    if count as u64 > buf.remaining() as u64 {
        return Err(DecodeError::InvalidLength {
            what,
            length: count,
        });
    }
    Ok(count as usize)
}

impl<T: Decode> Decode for Vec<T> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        need(buf, 4, "vector count")?;
        // The reference decoder reads the count as i32 and treats < 1 as empty.
        let count = buf.get_i32();
        let count = read_count(buf, i64::from(count), "vector")?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(T::decode(buf, version)?);
        }
        Ok(items)
    }
}

impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        check_count(self.len(), u16::MAX as usize, "map")?;
        buf.put_u16(self.len() as u16);
        for (key, value) in self {
            key.encode(buf, version)?;
            value.encode(buf, version)?;
        }
        Ok(())
    }
    fn encoded_len(&self, version: Version) -> usize {
        2 + self
            .iter()
            .map(|(k, v)| k.encoded_len(version) + v.encoded_len(version))
            .sum::<usize>()
    }
}

impl<K: Decode + Ord, V: Decode> Decode for BTreeMap<K, V> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        need(buf, 2, "map count")?;
        let count = buf.get_u16();
        let count = read_count(buf, i64::from(count), "map")?;
        let mut map = BTreeMap::new();
        for _ in 0..count {
            let key = K::decode(buf, version)?;
            let value = V::decode(buf, version)?;
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// `Bytes` is the wire's byte buffer: a `u32` length and the bytes (the same layout as a
/// `Vec<u8>`). Decoding from a `Bytes` input shares its memory instead of copying.
impl Encode for Bytes {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        check_count(self.len(), i32::MAX as usize, "bytes")?;
        buf.put_u32(self.len() as u32);
        buf.put_slice(self);
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        4 + self.len()
    }
}

impl Decode for Bytes {
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        need(buf, 4, "bytes length")?;
        let len = buf.get_i32();
        if len < 1 {
            return Ok(Bytes::new());
        }
        need(buf, len as usize, "bytes")?;
        Ok(buf.copy_to_bytes(len as usize))
    }
}

/// A duration as `u64` seconds and `u32` nanoseconds.
impl Encode for Duration {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        buf.put_u64(self.as_secs());
        buf.put_u32(self.subsec_nanos());
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        12
    }
}

impl Decode for Duration {
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        need(buf, 12, "duration")?;
        let secs = buf.get_u64();
        let nanos = buf.get_u32();
        if nanos >= 1_000_000_000 {
            return Err(DecodeError::Invalid {
                what: "duration",
                message: format!("{nanos} nanoseconds"),
            });
        }
        Ok(Duration::new(secs, nanos))
    }
}

/// Write `value` as a zigzag LEB128 varint (at most 10 bytes).
#[inline]
pub fn encode_varint<B: BufMut>(buf: &mut B, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// The number of bytes [`encode_varint`] writes for `value`.
#[inline]
pub fn varint_len(value: i64) -> usize {
    let v = ((value << 1) ^ (value >> 63)) as u64;
    // 1 byte per started 7 bits, at least one.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Read a zigzag LEB128 varint.
///
/// # Errors
/// Input that ends mid-varint, or a varint longer than ten bytes.
#[inline]
pub fn decode_varint<B: Buf>(buf: &mut B) -> Result<i64, DecodeError> {
    let mut raw: u64 = 0;
    for i in 0..10 {
        need(buf, 1, "varint")?;
        let byte = buf.get_u8();
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err(DecodeError::VarintTooLong)
}

/// An `i64` carried as a zigzag varint instead of fixed width.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Varint(pub i64);

impl Encode for Varint {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        encode_varint(buf, self.0);
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        varint_len(self.0)
    }
}

impl Decode for Varint {
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        decode_varint(buf).map(Varint)
    }
}

/// Bytes with a varint length (a record key or value; the payload of a SmartModule runtime
/// error). A length below one decodes as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VarBytes(pub Bytes);

impl Encode for VarBytes {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        encode_varint(buf, self.0.len() as i64);
        buf.put_slice(&self.0);
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        varint_len(self.0.len() as i64) + self.0.len()
    }
}

impl Decode for VarBytes {
    fn decode<B: Buf>(buf: &mut B, _: Version) -> Result<Self, DecodeError> {
        let len = decode_varint(buf)?;
        if len < 1 {
            return Ok(VarBytes(Bytes::new()));
        }
        if len as u64 > buf.remaining() as u64 {
            return Err(DecodeError::NotEnoughBytes {
                what: "varint-length bytes",
                needed: usize::try_from(len).unwrap_or(usize::MAX),
                remaining: buf.remaining(),
            });
        }
        Ok(VarBytes(buf.copy_to_bytes(len as usize)))
    }
}

impl From<Bytes> for VarBytes {
    fn from(bytes: Bytes) -> Self {
        VarBytes(bytes)
    }
}

impl From<&'static str> for VarBytes {
    fn from(s: &'static str) -> Self {
        VarBytes(Bytes::from_static(s.as_bytes()))
    }
}
