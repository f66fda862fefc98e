//! `SmartModuleKind` and `SmartModuleContextData`: what a SmartModule invocation does, as a
//! `u8` tag followed by the variant's fields (the two enums number their variants apart).

use bytes::{Buf, BufMut, Bytes};

use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Version};

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
    /// The kind the `fluvio` CLI and config files name `filter`, `map`, `filter-map`,
    /// `array-map` or `aggregate` (which starts from `accumulator`); `None` for other names.
    ///
    /// ```
    /// use actix_fluvio::protocol::spu::SmartModuleKind;
    ///
    /// assert_eq!(SmartModuleKind::from_name("filter-map", ""), Some(SmartModuleKind::FilterMap));
    /// assert_eq!(SmartModuleKind::from_name("join", ""), None);
    /// ```
    pub fn from_name(name: &str, accumulator: impl Into<Bytes>) -> Option<Self> {
        Some(match name {
            "filter" => Self::Filter,
            "map" => Self::Map,
            "filter-map" => Self::FilterMap,
            "array-map" => Self::ArrayMap,
            "aggregate" => Self::Aggregate {
                accumulator: accumulator.into(),
            },
            _ => return None,
        })
    }

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
