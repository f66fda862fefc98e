//! Batch compression: the codec named by a batch's attributes, applied to the whole record
//! payload (the `u32` record count included).
//!
//! The formats are the ones the SPU uses: gzip streams, the snappy *framing* format, the lz4
//! *frame* format and zstd (level 1).

use std::io::{Read, Write};

use crate::protocol::{DecodeError, EncodeError};

/// Most bytes a compressed payload may expand to before decoding stops with an error.
pub const MAX_DECOMPRESSED_LEN: usize = 256 * 1024 * 1024;

/// A record-batch compression codec (the low three bits of the batch attributes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (flate2, default level).
    Gzip,
    /// snappy framing format.
    Snappy,
    /// lz4 frame format.
    Lz4,
    /// zstd, level 1.
    Zstd,
}

impl Compression {
    /// The codec id stored in the batch attributes.
    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec with attribute id `id`.
    ///
    /// # Errors
    /// [`DecodeError::UnknownTag`] for an id no codec has.
    pub fn from_id(id: i16) -> Result<Self, DecodeError> {
        Ok(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "compression codec",
                    tag: i64::from(tag),
                })
            }
        })
    }

    /// The codec's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Compress `src` with this codec (`None` copies it).
    ///
    /// # Errors
    /// [`EncodeError::Compression`] when the compressor fails.
    pub fn compress(self, src: &[u8]) -> Result<Vec<u8>, EncodeError> {
        let err = |e: std::io::Error| EncodeError::Compression {
            codec: self.name(),
            message: e.to_string(),
        };
        let out = Vec::with_capacity(src.len() / 2 + 64);
        match self {
            Compression::None => Ok(src.to_vec()),
            Compression::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
                enc.write_all(src).map_err(err)?;
                enc.finish().map_err(err)
            }
            Compression::Snappy => {
                let mut enc = snap::write::FrameEncoder::new(out);
                enc.write_all(src).map_err(err)?;
                enc.into_inner().map_err(|e| err(e.into_error()))
            }
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(out);
                enc.write_all(src).map_err(err)?;
                enc.finish().map_err(|e| err(e.into()))
            }
            Compression::Zstd => zstd::stream::encode_all(src, 1).map_err(err),
        }
    }

    /// Decompress `src`, refusing to produce more than `limit` bytes.
    ///
    /// # Errors
    /// [`DecodeError::Decompression`] for corrupt input,
    /// [`DecodeError::DecompressedTooLarge`] past `limit`.
    pub fn decompress(self, src: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        let err = |e: std::io::Error| DecodeError::Decompression {
            codec: self.name(),
            message: e.to_string(),
        };
        let reader: Box<dyn Read + '_> = match self {
            Compression::None => return Ok(src.to_vec()),
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(src)),
            Compression::Snappy => Box::new(snap::read::FrameDecoder::new(src)),
            Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(src)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::with_buffer(src).map_err(err)?)
            }
        };
        let mut out = Vec::with_capacity(src.len().saturating_mul(4).min(limit));
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(err)?;
        if out.len() > limit {
            return Err(DecodeError::DecompressedTooLarge { limit });
        }
        Ok(out)
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            other => return Err(format!("unknown compression '{other}'")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips() {
        let data = b"fluvio fluvio fluvio fluvio fluvio fluvio".repeat(20);
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let packed = c.compress(&data).unwrap();
            assert_eq!(c.decompress(&packed, 1 << 20).unwrap(), data, "{c}");
            assert_eq!(Compression::from_id(c.id()).unwrap(), c);
        }
    }

    #[test]
    fn decompression_stops_at_the_limit() {
        let data = vec![0u8; 100_000];
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let packed = c.compress(&data).unwrap();
            assert_eq!(
                c.decompress(&packed, 1000),
                Err(DecodeError::DecompressedTooLarge { limit: 1000 }),
                "{c}"
            );
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert!(c.decompress(b"\x00\x01garbage", 1000).is_err(), "{c}");
        }
    }
}
