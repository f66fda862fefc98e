//! The client's side of the frame codec: responses, where a frame over the limit fails only
//! the request it answers.
//!
//! A response frame starts with its size and its correlation id. A frame over the limit is
//! not read into memory: [`ResponseCodec`] reports its correlation id as
//! [`Inbound::TooLarge`], then discards its body as the bytes arrive, holding none of them,
//! and goes on with the next frame. The connection fails that one request (or ends that one
//! stream) and keeps serving the others on the socket. Negative sizes still end the stream:
//! after one, nothing on the socket can be trusted to be a frame boundary.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::{FrameCodec, FrameError};

/// What a response frame brought.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inbound {
    /// A frame's payload: correlation id and body (without the size prefix).
    Frame(Bytes),
    /// A frame larger than the limit: the request it answers; its body is skipped.
    TooLarge {
        /// The correlation id the frame carries.
        correlation_id: i32,
        /// The announced size (prefix excluded).
        size: usize,
        /// The configured maximum.
        limit: usize,
    },
}

impl Inbound {
    /// The error a [`Inbound::TooLarge`] frame stands for (`None` for a frame).
    pub fn error(&self) -> Option<FrameError> {
        match *self {
            Inbound::Frame(_) => None,
            Inbound::TooLarge { size, limit, .. } => Some(FrameError::TooLarge {
                limit,
                actual: size,
            }),
        }
    }
}

/// Decodes response frames of at most `max_frame_len` bytes; larger ones become
/// [`Inbound::TooLarge`] and are skipped without being buffered.
///
/// ```
/// use actix_fluvio::codec::{Inbound, ResponseCodec};
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
///
/// let mut codec = ResponseCodec::new(8);
/// // A 12-byte frame for correlation id 7, then a 5-byte one for id 8.
/// let mut wire = BytesMut::from(&b"\0\0\0\x0c\0\0\0\x07overlong\0\0\0\x05\0\0\0\x08!"[..]);
/// assert!(matches!(
///     codec.decode(&mut wire).unwrap(),
///     Some(Inbound::TooLarge { correlation_id: 7, size: 12, limit: 8 })
/// ));
/// let next = codec.decode(&mut wire).unwrap();
/// assert_eq!(next, Some(Inbound::Frame(bytes::Bytes::from_static(b"\0\0\0\x08!"))));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ResponseCodec {
    frames: FrameCodec,
    /// Bytes of an oversized frame's body still to discard.
    skipping: usize,
}

impl ResponseCodec {
    /// A codec for responses of at most `max_frame_len` bytes (prefix excluded).
    pub fn new(max_frame_len: usize) -> Self {
        Self {
            frames: FrameCodec::new(max_frame_len),
            skipping: 0,
        }
    }

    /// Bytes of an oversized frame still to be discarded.
    pub fn skipping(&self) -> usize {
        self.skipping
    }
}

impl Decoder for ResponseCodec {
    type Item = Inbound;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Inbound>, FrameError> {
        if self.skipping > 0 {
            let n = self.skipping.min(src.len());
            src.advance(n);
            self.skipping -= n;
            if self.skipping > 0 {
                return Ok(None);
            }
        }
        let limit = self.frames.max_frame_len();
        if src.len() >= 4 {
            let size = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
            // A size under 4 cannot hold a correlation id: left to the frame codec, which
            // refuses it (only a limit under 4 lets one through here).
            if size >= 4 && size as usize > limit {
                if src.len() < 8 {
                    src.reserve(8 - src.len());
                    return Ok(None);
                }
                let correlation_id = i32::from_be_bytes([src[4], src[5], src[6], src[7]]);
                src.advance(8);
                self.skipping = size as usize - 4;
                return Ok(Some(Inbound::TooLarge {
                    correlation_id,
                    size: size as usize,
                    limit,
                }));
            }
        }
        Ok(self.frames.decode(src)?.map(Inbound::Frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use proptest::prelude::*;

    fn frame(buf: &mut BytesMut, id: i32, body: &[u8]) {
        buf.put_i32(4 + body.len() as i32);
        buf.put_i32(id);
        buf.put_slice(body);
    }

    #[test]
    fn an_oversized_frame_is_reported_then_skipped_without_being_buffered() {
        let mut codec = ResponseCodec::new(100);
        let mut wire = BytesMut::new();
        wire.put_i32(i32::MAX);
        wire.put_i32(42);
        let item = codec.decode(&mut wire).unwrap();
        assert_eq!(
            item,
            Some(Inbound::TooLarge {
                correlation_id: 42,
                size: i32::MAX as usize,
                limit: 100
            })
        );
        assert!(wire.capacity() < 1024, "nothing reserved for the body");
        // The body arrives in chunks: each is dropped at once.
        let mut left = i32::MAX as usize - 4;
        let chunk = [0u8; 8192];
        for _ in 0..100 {
            wire.put_slice(&chunk);
            assert_eq!(codec.decode(&mut wire).unwrap(), None);
            assert!(wire.is_empty());
            left -= chunk.len();
            assert_eq!(codec.skipping(), left);
        }
        assert!(wire.capacity() <= 2 * chunk.len());
    }

    #[test]
    fn the_frame_after_an_oversized_one_is_decoded() {
        let mut codec = ResponseCodec::new(10);
        let mut wire = BytesMut::new();
        frame(&mut wire, 1, &[9; 20]);
        frame(&mut wire, 2, b"ok");
        let first = codec.decode(&mut wire).unwrap().unwrap();
        assert_eq!(
            first.error().map(|e| e.to_string()),
            Some("frame of 24 bytes exceeds the 10-byte limit".into())
        );
        let second = codec.decode(&mut wire).unwrap();
        assert_eq!(
            second,
            Some(Inbound::Frame(Bytes::from_static(b"\0\0\0\x02ok")))
        );
        assert!(wire.is_empty() && codec.skipping() == 0);
    }

    #[test]
    fn sizes_without_room_for_an_id_and_negative_sizes_end_the_stream() {
        let mut codec = ResponseCodec::new(2);
        let mut wire = BytesMut::from(&b"\0\0\0\x03abc"[..]);
        assert!(matches!(
            codec.decode(&mut wire),
            Err(FrameError::TooLarge {
                limit: 2,
                actual: 3
            })
        ));
        let mut codec = ResponseCodec::new(100);
        let mut wire = BytesMut::from(&b"\xff\xff\xff\xfe\0\0\0\0"[..]);
        assert!(matches!(
            codec.decode(&mut wire),
            Err(FrameError::NegativeSize(-2))
        ));
    }

    proptest! {
        /// Frames under and over the limit, fed in arbitrary chunks: every frame comes out
        /// once, in order, as its payload or its correlation id, and the buffer never holds
        /// more than one chunk beyond the largest frame allowed.
        #[test]
        fn any_mix_of_frames_in_any_chunks_decodes_in_order(
            frames in proptest::collection::vec((any::<i32>(), 0usize..200), 0..20),
            chunks in proptest::collection::vec(1usize..64, 1..20),
        ) {
            let limit = 100;
            let mut wire = BytesMut::new();
            for (id, len) in &frames {
                frame(&mut wire, *id, &vec![7; *len]);
            }
            let mut codec = ResponseCodec::new(limit);
            let (mut buf, mut out, mut sizes) = (BytesMut::new(), Vec::new(), chunks.iter().cycle());
            while !wire.is_empty() {
                let n = (*sizes.next().unwrap()).min(wire.len());
                buf.extend_from_slice(&wire.split_to(n));
                while let Some(item) = codec.decode(&mut buf).unwrap() {
                    out.push(item);
                }
                prop_assert!(buf.len() <= limit + 4 + 64);
            }
            prop_assert_eq!(out.len(), frames.len());
            for (item, (id, len)) in out.iter().zip(&frames) {
                match item {
                    Inbound::Frame(payload) => {
                        prop_assert!(4 + len <= limit);
                        prop_assert_eq!(payload.len(), 4 + len);
                        prop_assert_eq!(&payload[..4], &id.to_be_bytes()[..]);
                    }
                    Inbound::TooLarge { correlation_id, size, .. } => {
                        prop_assert!(4 + len > limit);
                        prop_assert_eq!((*correlation_id, *size), (*id, 4 + len));
                    }
                }
            }
            prop_assert!(buf.is_empty() && codec.skipping() == 0);
        }
    }
}
