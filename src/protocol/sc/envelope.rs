//! The object envelope (v11+): `type_label String, len u32, body`, where the body is the
//! message for that object type encoded at the request's version.

use bytes::{Buf, BufMut, Bytes};

use crate::protocol::{need, Decode, DecodeError, Encode, EncodeError, Version};

/// A message body that travels inside the object envelope under its object type's label.
pub trait ObjectBody: Sized {
    /// The object type label the body is filed under.
    const LABEL: &'static str;

    /// Write the body (without the envelope).
    ///
    /// # Errors
    /// As [`Encode::encode`].
    fn encode_body<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError>;

    /// The length of the body (without the envelope).
    fn body_len(&self, version: Version) -> usize;

    /// Read a body (without the envelope).
    ///
    /// # Errors
    /// As [`Decode::decode`].
    fn decode_body<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError>;
}

/// An envelope whose body is kept as bytes: the form to read a frame in before knowing the
/// object type, and to carry object types this crate does not model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct TypeBuffer {
    /// The object type label.
    pub label: String,
    /// The body, encoded at the message's version.
    #[cfg_attr(test, proptest(strategy = "crate::conformance::bytes()"))]
    pub body: Bytes,
}

impl TypeBuffer {
    /// Wrap `value`'s body, encoded at `version`.
    ///
    /// # Errors
    /// As [`Encode::encode`].
    pub fn from_body<T: ObjectBody>(value: &T, version: Version) -> Result<Self, EncodeError> {
        let mut body = Vec::with_capacity(value.body_len(version));
        value.encode_body(&mut body, version)?;
        Ok(Self {
            label: T::LABEL.to_owned(),
            body: body.into(),
        })
    }

    /// Decode the body as `T` if the label is `T`'s, else `None`.
    ///
    /// # Errors
    /// A body that does not decode as `T` or has bytes left over.
    pub fn downcast<T: ObjectBody>(&self, version: Version) -> Result<Option<T>, DecodeError> {
        if self.label != T::LABEL {
            return Ok(None);
        }
        let mut body = self.body.clone();
        let value = T::decode_body(&mut body, version)?;
        if body.has_remaining() {
            return Err(DecodeError::TrailingBytes {
                what: "object body",
                count: body.remaining(),
            });
        }
        Ok(Some(value))
    }
}

impl Encode for TypeBuffer {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.label.encode(buf, version)?;
        self.body.encode(buf, version)
    }

    fn encoded_len(&self, version: Version) -> usize {
        self.label.encoded_len(version) + self.body.encoded_len(version)
    }
}

impl Decode for TypeBuffer {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let label = String::decode(buf, version)?;
        need(buf, 4, "object body length")?;
        // Unlike a byte buffer, the length is read unsigned.
        let len = buf.get_u32() as usize;
        need(buf, len, "object body")?;
        Ok(Self {
            label,
            body: buf.copy_to_bytes(len),
        })
    }
}

/// Write `value` in its envelope.
pub(crate) fn encode_enveloped<T: ObjectBody, B: BufMut>(
    value: &T,
    buf: &mut B,
    version: Version,
) -> Result<(), EncodeError> {
    let len = value.body_len(version);
    if len > u32::MAX as usize {
        return Err(EncodeError::TooLong {
            what: "object body",
            len,
            max: u32::MAX as usize,
        });
    }
    T::LABEL.encode(buf, version)?;
    buf.put_u32(len as u32);
    value.encode_body(buf, version)
}

/// The length of `value` in its envelope.
pub(crate) fn enveloped_len<T: ObjectBody>(value: &T, version: Version) -> usize {
    T::LABEL.encoded_len(version) + 4 + value.body_len(version)
}

/// Read an envelope that must hold a `T`.
pub(crate) fn decode_enveloped<T: ObjectBody, B: Buf>(
    buf: &mut B,
    version: Version,
) -> Result<T, DecodeError> {
    let raw = TypeBuffer::decode(buf, version)?;
    let label = raw.label.clone();
    raw.downcast(version)?.ok_or_else(|| DecodeError::Invalid {
        what: "object type label",
        message: format!("expected {:?}, got {label:?}", T::LABEL),
    })
}

/// Implement [`Encode`] and [`Decode`] for an enveloped generic message through its
/// [`ObjectBody`] impl.
macro_rules! enveloped {
    ($name:ident < S: $bound:path >) => {
        impl<S: $bound> $crate::protocol::Encode for $name<S> {
            fn encode<B: ::bytes::BufMut>(
                &self,
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<(), $crate::protocol::EncodeError> {
                $crate::protocol::sc::envelope::encode_enveloped(self, buf, version)
            }

            fn encoded_len(&self, version: $crate::protocol::Version) -> usize {
                $crate::protocol::sc::envelope::enveloped_len(self, version)
            }
        }

        impl<S: $bound> $crate::protocol::Decode for $name<S> {
            fn decode<B: ::bytes::Buf>(
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<Self, $crate::protocol::DecodeError> {
                $crate::protocol::sc::envelope::decode_enveloped(buf, version)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_envelope_is_an_error() {
        let mut bytes: &[u8] = b"\x00\x03SPU\x00\x00\x00\x09\x00";
        assert!(matches!(
            TypeBuffer::decode(&mut bytes, 19),
            Err(DecodeError::NotEnoughBytes { .. })
        ));
    }
}
