//! The frame codec: `i32` size prefix + payload, for tokio-util's `Framed`.
//!
//! This is the only place bytes meet tokio-util. Decoding checks the announced size before
//! reserving anything: with [`FrameCodec`] (the servers' side), a negative size, or one over
//! the configured maximum, is an error that ends the stream. The client reads responses with
//! [`ResponseCodec`], which reports a frame over the maximum with its correlation id and
//! skips its body, so that one response fails only its own request.
//!
//! ```
//! use actix_fluvio::codec::{FrameCodec, RawFrame};
//! use bytes::{Bytes, BytesMut};
//! use tokio_util::codec::{Decoder, Encoder};
//!
//! let mut codec = FrameCodec::new(1024);
//! let mut wire = BytesMut::new();
//! codec.encode(RawFrame(Bytes::from_static(b"hello")), &mut wire).unwrap();
//! assert_eq!(&wire[..], b"\0\0\0\x05hello");
//! let frame = codec.decode(&mut wire).unwrap().unwrap();
//! assert_eq!(&frame[..], b"hello");
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;
use tokio_util::codec::{Decoder, Encoder};

use crate::protocol::{Encode, EncodeError, Version};

mod response;

pub use response::{Inbound, ResponseCodec};

/// Default largest frame accepted or sent: 64 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// Why a frame could not be read or written. Any of these ends the connection, except a
/// response over the limit ([`ResponseCodec`]), which fails only its own request.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer announced (or we tried to send) a frame larger than the limit.
    #[error("frame of {actual} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// The configured maximum.
        limit: usize,
        /// The announced or encoded size.
        actual: usize,
    },
    /// The peer announced a negative frame size.
    #[error("negative frame size {0}")]
    NegativeSize(i32),
    /// A message could not be encoded.
    #[error("cannot encode frame: {0}")]
    Encode(#[from] EncodeError),
}

/// Size-prefixed frames with a maximum size.
///
/// Decodes to the frame's payload (header + body, without the size prefix). Encodes anything
/// that implements [`Encode`], writing it straight into the output buffer; wrap a response in
/// [`Versioned`] to encode it at its request's version.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    max_frame_len: usize,
}

impl FrameCodec {
    /// A codec that refuses frames larger than `max_frame_len` bytes (prefix excluded).
    pub fn new(max_frame_len: usize) -> Self {
        Self { max_frame_len }
    }

    /// The configured maximum frame size.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl Decoder for FrameCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if src.len() < 4 {
            src.reserve(4 - src.len());
            return Ok(None);
        }
        let size = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if size < 0 {
            return Err(FrameError::NegativeSize(size));
        }
        let size = size as usize;
        if size > self.max_frame_len {
            return Err(FrameError::TooLarge {
                limit: self.max_frame_len,
                actual: size,
            });
        }
        if src.len() < 4 + size {
            // Checked above: this reserves at most max_frame_len.
            src.reserve(4 + size - src.len());
            return Ok(None);
        }
        src.advance(4);
        Ok(Some(src.split_to(size).freeze()))
    }
}

impl<T: Encode> Encoder<T> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), FrameError> {
        let len = item.encoded_len(0);
        if len > self.max_frame_len || len > i32::MAX as usize {
            return Err(FrameError::TooLarge {
                limit: self.max_frame_len,
                actual: len,
            });
        }
        dst.reserve(4 + len);
        dst.put_i32(len as i32);
        let start = dst.len();
        item.encode(dst, 0)?;
        debug_assert_eq!(dst.len() - start, len, "encoded_len disagrees with encode");
        Ok(())
    }
}

/// A value encoded at a fixed version whatever version it is asked for (e.g. a response,
/// which is encoded at its request's version).
#[derive(Debug, Clone)]
pub struct Versioned<T>(pub T, pub Version);

impl<T: Encode> Encode for Versioned<T> {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        self.0.encode(buf, self.1)
    }
    fn encoded_len(&self, _: Version) -> usize {
        self.0.encoded_len(self.1)
    }
}

/// An already encoded frame payload (header + body), written as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame(pub Bytes);

impl Encode for RawFrame {
    fn encode<B: BufMut>(&self, buf: &mut B, _: Version) -> Result<(), EncodeError> {
        buf.put_slice(&self.0);
        Ok(())
    }
    fn encoded_len(&self, _: Version) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_the_whole_frame() {
        let mut codec = FrameCodec::new(100);
        let mut buf = BytesMut::from(&b"\0\0\0\x03ab"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.put_u8(b'c');
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"abc");
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let mut codec = FrameCodec::new(100);
        let mut buf = BytesMut::from(&b"\x7f\xff\xff\xff"[..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, FrameError::TooLarge { limit: 100, actual } if actual == i32::MAX as usize)
        );
        assert!(buf.capacity() < 1024);
    }

    #[test]
    fn negative_length_is_an_error() {
        let mut codec = FrameCodec::new(100);
        let mut buf = BytesMut::from(&b"\xff\xff\xff\xfe"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::NegativeSize(-2))
        ));
    }

    #[test]
    fn oversized_outgoing_frame_is_refused() {
        let mut codec = FrameCodec::new(3);
        let mut buf = BytesMut::new();
        let err = codec
            .encode(RawFrame(Bytes::from_static(b"four")), &mut buf)
            .unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLarge {
                limit: 3,
                actual: 4
            }
        ));
        assert!(buf.is_empty());
    }
}
