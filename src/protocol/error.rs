//! Errors raised while encoding or decoding wire values.

use thiserror::Error;

/// Why bytes could not be decoded into a wire value.
///
/// Every variant names what was being read, so a malformed frame from the network yields an
/// error that says where it broke instead of a panic.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a value was complete.
    #[error("not enough bytes for {what}: needed {needed}, {remaining} remaining")]
    NotEnoughBytes {
        /// What was being decoded.
        what: &'static str,
        /// Bytes the value needs.
        needed: usize,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// A length or count field is negative where that is not allowed, or larger than the input.
    #[error("invalid length {length} for {what}")]
    InvalidLength {
        /// What was being decoded.
        what: &'static str,
        /// The length read from the wire.
        length: i64,
    },
    /// An enum tag that this version of the protocol does not define.
    #[error("unknown tag {tag} for {what}")]
    UnknownTag {
        /// The enum being decoded.
        what: &'static str,
        /// The tag read from the wire.
        tag: i64,
    },
    /// A boolean byte other than 0 or 1.
    #[error("invalid bool byte {0}")]
    InvalidBool(u8),
    /// A string that is not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A varint longer than ten bytes.
    #[error("varint is longer than 10 bytes")]
    VarintTooLong,
    /// A record batch whose CRC-32C does not match its contents.
    #[error("record batch crc mismatch: header {expected:#010x}, computed {actual:#010x}")]
    CrcMismatch {
        /// The CRC in the batch header.
        expected: u32,
        /// The CRC computed over the batch.
        actual: u32,
    },
    /// A compressed record payload could not be decompressed.
    #[error("cannot decompress {codec} payload: {message}")]
    Decompression {
        /// The codec named by the batch attributes.
        codec: &'static str,
        /// What the decompressor said.
        message: String,
    },
    /// A decompressed payload is larger than the configured limit.
    #[error("decompressed payload exceeds {limit} bytes")]
    DecompressedTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Bytes were left over after a value that must fill its container.
    #[error("{count} unexpected trailing bytes after {what}")]
    TrailingBytes {
        /// What was decoded.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
    /// A value that is well formed but not valid (e.g. an unsupported batch magic).
    #[error("invalid {what}: {message}")]
    Invalid {
        /// What was being decoded.
        what: &'static str,
        /// Why it is invalid.
        message: String,
    },
    /// Numbers read from the wire that add up past the range of `i64` (an offset or
    /// timestamp delta that takes its base out of range).
    #[error("{what} out of range: {base} + {delta} overflows i64")]
    Overflow {
        /// What the sum is.
        what: &'static str,
        /// The base (e.g. a batch's base offset).
        base: i64,
        /// What was added to it.
        delta: i64,
    },
}

impl DecodeError {
    /// `base + delta`, or [`DecodeError::Overflow`] naming `what` when it leaves `i64`.
    pub(crate) fn checked_sum(what: &'static str, base: i64, delta: i64) -> Result<i64, Self> {
        base.checked_add(delta)
            .ok_or(DecodeError::Overflow { what, base, delta })
    }
}

/// Why a value could not be encoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string, vector or map is longer than its length prefix can express.
    #[error("{what} is too long for the wire: {len} > {max}")]
    TooLong {
        /// What was being encoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The largest length the wire format allows.
        max: usize,
    },
    /// The payload could not be compressed.
    #[error("cannot compress with {codec}: {message}")]
    Compression {
        /// The codec.
        codec: &'static str,
        /// What the compressor said.
        message: String,
    },
    /// Header numbers that add up past the range of `i64` (e.g. a first timestamp plus the
    /// largest timestamp delta).
    #[error("{what} out of range: {base} + {delta} overflows i64")]
    Overflow {
        /// What the sum is.
        what: &'static str,
        /// The base.
        base: i64,
        /// What was added to it.
        delta: i64,
    },
}
