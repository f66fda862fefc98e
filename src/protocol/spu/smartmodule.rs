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

use super::{SmartModuleContextData, SmartModuleKind};

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
