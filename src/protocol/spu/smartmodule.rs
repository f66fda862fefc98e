//! `SmartModuleInvocation`: a SmartModule (a WebAssembly transform) applied by the SPU to the
//! records of a stream fetch or a produce request.
//!
//! Wire layout: `wasm` (u8 tag: 0 predefined name, 1 ad-hoc gzip-compressed module), `kind`
//! (u8 tag, see [`SmartModuleKind`]), `params` (a `u16`-counted string map, then `[v20+]` an
//! optional [`Lookback`]), `[v25+]` an optional name. Variant version ranges declared upstream
//! are not applied on the wire: every kind encodes at every version.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use flate2::{bufread::GzEncoder, Compression};

use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Version};

/// The module to run: one the SPU already stores, or one sent with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum SmartModuleWasm {
    /// A SmartModule stored in the cluster, by name (tag 0).
    Predefined(String),
    /// A module sent inline: the **gzip-compressed** WebAssembly binary (tag 1).
    AdHoc(#[cfg_attr(test, proptest(strategy = "crate::conformance::bytes()"))] Bytes),
}

impl Default for SmartModuleWasm {
    /// An empty ad-hoc module, as upstream.
    fn default() -> Self {
        Self::AdHoc(Bytes::new())
    }
}

impl SmartModuleWasm {
    /// The SmartModule stored in the cluster under `name`.
    pub fn predefined(name: impl Into<String>) -> Self {
        Self::Predefined(name.into())
    }

    /// An ad-hoc module from a raw (uncompressed) WebAssembly binary, gzip-compressed here.
    ///
    /// # Errors
    /// [`EncodeError::Compression`] if the compressor fails.
    pub fn adhoc(raw_wasm: &[u8]) -> Result<Self, EncodeError> {
        let mut encoder = GzEncoder::new(raw_wasm, Compression::default());
        let mut gzipped = Vec::with_capacity(raw_wasm.len() / 2 + 32);
        encoder
            .read_to_end(&mut gzipped)
            .map_err(|e| EncodeError::Compression {
                codec: "gzip",
                message: e.to_string(),
            })?;
        Ok(Self::AdHoc(gzipped.into()))
    }
}

impl Encode for SmartModuleWasm {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        match self {
            Self::Predefined(name) => {
                buf.put_u8(0);
                name.encode(buf, version)
            }
            Self::AdHoc(wasm) => {
                buf.put_u8(1);
                wasm.encode(buf, version)
            }
        }
    }
    fn encoded_len(&self, version: Version) -> usize {
        1 + match self {
            Self::Predefined(name) => name.encoded_len(version),
            Self::AdHoc(wasm) => wasm.encoded_len(version),
        }
    }
}

impl Decode for SmartModuleWasm {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        match u8::decode(buf, version)? {
            0 => Ok(Self::Predefined(String::decode(buf, version)?)),
            1 => Ok(Self::AdHoc(Bytes::decode(buf, version)?)),
            tag => Err(DecodeError::UnknownTag {
                what: "SmartModuleWasm",
                tag: tag.into(),
            }),
        }
    }
}

/// What the SmartModule does. The 0.18 engine picks the transform from the module's exports,
/// so the kind mostly matters to carry an aggregate's initial accumulator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum SmartModuleKind {
    /// Keep records the module accepts (tag 0).
    #[default]
    Filter,
    /// Transform each record (tag 1).
    Map,
    /// Turn each record into zero or more records (tag 2).
    ArrayMap,
    /// Fold records into an accumulator (tag 3).
    Aggregate {
        /// The initial accumulator.
        #[cfg_attr(test, proptest(strategy = "crate::conformance::bytes()"))]
        accumulator: Bytes,
    },
    /// Filter and transform in one step (tag 4).
    FilterMap,
    /// Legacy join with a topic (tag 5).
    Join(String),
    /// Legacy join with a derived stream (tag 6).
    JoinStream {
        /// The joined topic.
        topic: String,
        /// The derived stream.
        derivedstream: String,
    },
    /// Let the engine detect the kind; carries optional context (tag 7). The CLI sends this.
    Generic(SmartModuleContextData),
}

/// Context carried by [`SmartModuleKind::Generic`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum SmartModuleContextData {
    /// No context (tag 0).
    #[default]
    None,
    /// An aggregate's initial accumulator (tag 1).
    Aggregate {
        /// The initial accumulator.
        #[cfg_attr(test, proptest(strategy = "crate::conformance::bytes()"))]
        accumulator: Bytes,
    },
    /// Legacy join with a topic (tag 2).
    Join(String),
    /// Legacy join with a derived stream (tag 3).
    JoinStream {
        /// The joined topic.
        topic: String,
        /// The derived stream.
        derivedstream: String,
    },
}

/// The fields that follow a kind or context tag: shared by both enums.
enum Payload<'a> {
    Unit,
    Bytes(&'a Bytes),
    Str(&'a String),
    Pair(&'a String, &'a String),
}

impl Payload<'_> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        match self {
            Self::Unit => Ok(()),
            Self::Bytes(b) => b.encode(buf, version),
            Self::Str(s) => s.encode(buf, version),
            Self::Pair(a, b) => {
                a.encode(buf, version)?;
                b.encode(buf, version)
            }
        }
    }
    fn encoded_len(&self, version: Version) -> usize {
        match self {
            Self::Unit => 0,
            Self::Bytes(b) => b.encoded_len(version),
            Self::Str(s) => s.encoded_len(version),
            Self::Pair(a, b) => a.encoded_len(version) + b.encoded_len(version),
        }
    }
}

impl SmartModuleKind {
    fn parts(&self) -> (u8, Payload<'_>) {
        match self {
            Self::Filter => (0, Payload::Unit),
            Self::Map => (1, Payload::Unit),
            Self::ArrayMap => (2, Payload::Unit),
            Self::Aggregate { accumulator } => (3, Payload::Bytes(accumulator)),
            Self::FilterMap => (4, Payload::Unit),
            Self::Join(topic) => (5, Payload::Str(topic)),
            Self::JoinStream {
                topic,
                derivedstream,
            } => (6, Payload::Pair(topic, derivedstream)),
            Self::Generic(_) => (7, Payload::Unit),
        }
    }
}

impl Encode for SmartModuleKind {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        let (tag, payload) = self.parts();
        buf.put_u8(tag);
        payload.encode(buf, version)?;
        match self {
            Self::Generic(context) => context.encode(buf, version),
            _ => Ok(()),
        }
    }
    fn encoded_len(&self, version: Version) -> usize {
        let context = match self {
            Self::Generic(context) => context.encoded_len(version),
            _ => 0,
        };
        1 + self.parts().1.encoded_len(version) + context
    }
}

impl Decode for SmartModuleKind {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(match u8::decode(buf, version)? {
            0 => Self::Filter,
            1 => Self::Map,
            2 => Self::ArrayMap,
            3 => Self::Aggregate {
                accumulator: Bytes::decode(buf, version)?,
            },
            4 => Self::FilterMap,
            5 => Self::Join(String::decode(buf, version)?),
            6 => Self::JoinStream {
                topic: String::decode(buf, version)?,
                derivedstream: String::decode(buf, version)?,
            },
            7 => Self::Generic(SmartModuleContextData::decode(buf, version)?),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "SmartModuleKind",
                    tag: tag.into(),
                })
            }
        })
    }
}

impl SmartModuleContextData {
    fn parts(&self) -> (u8, Payload<'_>) {
        match self {
            Self::None => (0, Payload::Unit),
            Self::Aggregate { accumulator } => (1, Payload::Bytes(accumulator)),
            Self::Join(topic) => (2, Payload::Str(topic)),
            Self::JoinStream {
                topic,
                derivedstream,
            } => (3, Payload::Pair(topic, derivedstream)),
        }
    }
}

impl Encode for SmartModuleContextData {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        let (tag, payload) = self.parts();
        buf.put_u8(tag);
        payload.encode(buf, version)
    }
    fn encoded_len(&self, version: Version) -> usize {
        1 + self.parts().1.encoded_len(version)
    }
}

impl Decode for SmartModuleContextData {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(match u8::decode(buf, version)? {
            0 => Self::None,
            1 => Self::Aggregate {
                accumulator: Bytes::decode(buf, version)?,
            },
            2 => Self::Join(String::decode(buf, version)?),
            3 => Self::JoinStream {
                topic: String::decode(buf, version)?,
                derivedstream: String::decode(buf, version)?,
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "SmartModuleContextData",
                    tag: tag.into(),
                })
            }
        })
    }
}

wire_struct! {
    /// Records before the fetch position the SmartModule is shown first (to warm up state).
    pub struct Lookback {
        /// How many of the latest records (0 = no count limit).
        pub last: u64,
        /// Only records younger than this (v21+).
        pub age: Option<Duration> => 21..,
    }
}

impl Eq for Lookback {}

impl Lookback {
    /// The last `last` records.
    pub fn last(last: u64) -> Self {
        Self { last, age: None }
    }

    /// Records younger than `age`, at most `last` of them if given (needs v21+).
    pub fn age(age: Duration, last: Option<u64>) -> Self {
        Self {
            last: last.unwrap_or_default(),
            age: Some(age),
        }
    }
}

wire_struct! {
    /// Parameters for the SmartModule and its lookback.
    pub struct SmartModuleParams {
        /// Named string parameters the module reads at init.
        #[cfg_attr(test, proptest(strategy = "super::small_map()"))]
        pub params: BTreeMap<String, String>,
        /// Records to replay before the stream starts (v20+).
        pub lookback: Option<Lookback> => 20..,
    }
}

impl Eq for SmartModuleParams {}

wire_struct! {
    /// One SmartModule in a chain: the module, its kind and its parameters.
    pub struct SmartModuleInvocation {
        /// The module, stored or ad hoc.
        pub wasm: SmartModuleWasm,
        /// What it does (and an aggregate's accumulator).
        pub kind: SmartModuleKind,
        /// Its parameters and lookback.
        pub params: SmartModuleParams,
        /// A name for errors and metrics (v25+).
        pub name: Option<String> => 25..,
    }
}

impl Eq for SmartModuleInvocation {}

impl SmartModuleInvocation {
    /// Run `wasm` as `kind`, without parameters.
    pub fn new(wasm: SmartModuleWasm, kind: SmartModuleKind) -> Self {
        Self {
            wasm,
            kind,
            params: SmartModuleParams::default(),
            name: None,
        }
    }

    /// A filter.
    pub fn filter(wasm: SmartModuleWasm) -> Self {
        Self::new(wasm, SmartModuleKind::Filter)
    }

    /// A map.
    pub fn map(wasm: SmartModuleWasm) -> Self {
        Self::new(wasm, SmartModuleKind::Map)
    }

    /// A filter-map.
    pub fn filter_map(wasm: SmartModuleWasm) -> Self {
        Self::new(wasm, SmartModuleKind::FilterMap)
    }

    /// An array-map.
    pub fn array_map(wasm: SmartModuleWasm) -> Self {
        Self::new(wasm, SmartModuleKind::ArrayMap)
    }

    /// An aggregate starting from `accumulator`.
    pub fn aggregate(wasm: SmartModuleWasm, accumulator: impl Into<Bytes>) -> Self {
        Self::new(
            wasm,
            SmartModuleKind::Aggregate {
                accumulator: accumulator.into(),
            },
        )
    }

    /// A module whose kind the engine detects from its exports (what the CLI sends).
    pub fn generic(wasm: SmartModuleWasm) -> Self {
        Self::new(wasm, SmartModuleKind::Generic(SmartModuleContextData::None))
    }

    /// A detected-kind aggregate starting from `accumulator` (what the CLI sends for
    /// `--aggregate-initial`).
    pub fn generic_aggregate(wasm: SmartModuleWasm, accumulator: impl Into<Bytes>) -> Self {
        Self::new(
            wasm,
            SmartModuleKind::Generic(SmartModuleContextData::Aggregate {
                accumulator: accumulator.into(),
            }),
        )
    }

    /// Add the parameter `key = value`.
    pub fn with_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.params.insert(key.into(), value.into());
        self
    }

    /// Replay `lookback` records first (v20+; the age needs v21+).
    pub fn with_lookback(mut self, lookback: Lookback) -> Self {
        self.params.lookback = Some(lookback);
        self
    }

    /// Name the invocation (v25+).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}
