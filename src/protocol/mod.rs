//! Fluvio's wire protocol: pure, synchronous types with their encoders and decoders.
//!
//! Nothing here touches sockets, tokio or actix: every type turns into bytes through
//! [`Encode`] and back through [`Decode`], at an explicit API [`Version`].
//!
//! Wire rules (see `PROTOCOL.md` in the project's shared notes): integers are big-endian;
//! strings carry a `u16` length, vectors a `u32` count, maps a `u16` count; options a one-byte
//! flag; enums a `u8` tag unless noted.

#[macro_use]
mod macros;

mod error;
mod primitives;

pub use error::{DecodeError, EncodeError};
pub use primitives::{decode_varint, encode_varint, varint_len, Varint};

use bytes::{Buf, BufMut, BytesMut};

/// An API version as carried in the request header.
pub type Version = i16;

/// A value that can be written to the wire.
pub trait Encode {
    /// Write `self` at `version` into `buf`.
    ///
    /// # Errors
    /// A string, vector or map too long for its length prefix, or a payload that fails to
    /// compress.
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError>;

    /// The exact number of bytes [`Encode::encode`] writes at `version`.
    fn encoded_len(&self, version: Version) -> usize;

    /// Encode into a fresh buffer of exactly the right capacity.
    ///
    /// # Errors
    /// As [`Encode::encode`].
    fn to_bytes(&self, version: Version) -> Result<BytesMut, EncodeError> {
        let mut buf = BytesMut::with_capacity(self.encoded_len(version));
        self.encode(&mut buf, version)?;
        Ok(buf)
    }
}

/// A value that can be read from the wire.
pub trait Decode: Sized {
    /// Read a value encoded at `version` from `buf`, advancing it.
    ///
    /// # Errors
    /// Malformed or truncated input; never panics, whatever the bytes.
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError>;
}

/// Fail with [`DecodeError::NotEnoughBytes`] unless `buf` holds at least `needed` bytes.
#[inline]
pub(crate) fn need<B: Buf>(buf: &B, needed: usize, what: &'static str) -> Result<(), DecodeError> {
    let remaining = buf.remaining();
    if remaining < needed {
        return Err(DecodeError::NotEnoughBytes {
            what,
            needed,
            remaining,
        });
    }
    Ok(())
}

pub mod record;
pub mod sc;
pub mod spu;

mod any;
mod api_versions;
mod error_code;
mod header;

pub use any::{AnyRequest, AnyResponse, Server};
pub use api_versions::{ApiVersionKey, ApiVersionsRequest, ApiVersionsResponse, API_VERSIONS_KEY};
#[cfg(test)]
pub(crate) use error_code::UNIT_CODES;
pub use error_code::{ErrorCode, RequestKind, SmartModuleErrorKind, SmartModuleRuntimeError};
pub use header::{Request, RequestHeader, RequestMessage, ResponseHeader, ResponseMessage};
pub use primitives::VarBytes;
