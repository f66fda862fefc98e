//! `ErrorCode`: the server's error, an `i16` tag followed by the variant's fields.
//!
//! (Above 400 lines on purpose: the enum mirrors upstream's `ErrorCode` variant for variant,
//! with its tag table and codec beside it; the classification is in `error_code/class.rs`.)

use bytes::{Buf, BufMut};
use thiserror::Error;

use super::{Decode, DecodeError, Encode, EncodeError, VarBytes, Version};

mod class;

wire_enum! {
    /// The kind of request that timed out on the server.
    pub enum RequestKind: u8 {
        /// A produce request.
        #[default]
        Produce = 0,
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

wire_enum! {
    /// The SmartModule kind named in a runtime error (a numbering of its own, distinct from
    /// the invocation's kind).
    pub enum SmartModuleErrorKind: u8 {
        /// filter
        #[default]
        Filter = 0,
        /// map
        Map = 1,
        /// array-map
        ArrayMap = 2,
        /// aggregate
        Aggregate = 3,
        /// filter-map
        FilterMap = 4,
        /// join
        Join = 5,
        /// generic (kind picked from the module's exports)
        Generic = 6,
    }
}

wire_struct! {
    /// A record a SmartModule failed on, with the error it raised.
    pub struct SmartModuleRuntimeError {
        /// The error, for people.
        pub hint: String,
        /// The offset of the record.
        pub offset: i64,
        /// The SmartModule kind.
        pub kind: SmartModuleErrorKind,
        /// The record's key.
        pub record_key: Option<VarBytes>,
        /// The record's value.
        pub record_value: VarBytes,
    }
}

impl Eq for SmartModuleRuntimeError {}

impl std::fmt::Display for SmartModuleRuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at offset {} ({:?})",
            self.hint, self.offset, self.kind
        )
    }
}

/// An error code returned by a Fluvio server, with its payload where it has one.
///
/// The numeric identity is kept ([`ErrorCode::code`]) so callers can match on it; what a
/// client makes of a code is decided here too: [`ErrorCode::is_retriable`],
/// [`ErrorCode::is_smartmodule`], [`ErrorCode::name`].
#[derive(Debug, Error, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant's message is its documentation
pub enum ErrorCode {
    #[error("an unknown server error occurred")]
    UnknownServerError,
    #[default]
    #[error("no error")]
    None,
    #[error("offset out of range")]
    OffsetOutOfRange,
    #[error("other error: {0}")]
    Other(String),
    #[error("the SPU is not the leader for the partition")]
    NotLeaderForPartition,
    #[error("the {kind:?} request exceeded the server timeout of {timeout_ms} ms")]
    RequestTimedOut { timeout_ms: u64, kind: RequestKind },
    #[error("the message is too large")]
    MessageTooLarge,
    #[error("permission denied")]
    PermissionDenied,
    #[error("a storage error occurred")]
    StorageError,
    #[error("invalid create request")]
    InvalidCreateRequest,
    #[error("invalid delete request")]
    InvalidDeleteRequest,
    #[error("offset {offset} is evicted; the next available is {next_available}")]
    OffsetEvicted { offset: i64, next_available: i64 },
    #[error("partition {topic}-{partition} storage is full")]
    PartitionFull { topic: String, partition: u32 },
    #[error("the partition is short-circuited")]
    PartitionShortCircuited,
    #[error("an error occurred on the SPU")]
    SpuError,
    #[error("failed to register an SPU")]
    SpuRegisterationFailed,
    #[error("the SPU is offline")]
    SpuOffline,
    #[error("the SPU was not found")]
    SpuNotFound,
    #[error("the SPU already exists")]
    SpuAlreadyExists,
    #[error("a topic error occurred")]
    TopicError,
    #[error("the topic was not found")]
    TopicNotFound,
    #[error("the topic already exists")]
    TopicAlreadyExists,
    #[error("the topic has not been initialized")]
    TopicPendingInitialization,
    #[error("the topic configuration is invalid")]
    TopicInvalidConfiguration,
    #[error("the topic is not provisioned")]
    TopicNotProvisioned,
    #[error("the topic name is invalid")]
    TopicInvalidName,
    #[error("the topic was deleted")]
    TopicDeleted,
    #[error("the topic has an invalid replica type")]
    TopicInvalidReplicaType,
    #[error("the partition is not initialized")]
    PartitionPendingInitialization,
    #[error("the SPU is not the partition's leader")]
    PartitionNotLeader,
    #[error("the fetch session was not found")]
    FetchSessionNotFoud,
    #[error("offset flush error: {0}")]
    OffsetFlushRequestError(String),
    #[error("offset management is disabled for the stream")]
    OffsetManagementDisabled,
    #[error("max retry attempts reached")]
    MaxRetryReached,
    #[error("an error occurred while managing a connector")]
    ManagedConnectorError,
    #[error("the managed connector was not found")]
    ManagedConnectorNotFound,
    #[error("the managed connector already exists")]
    ManagedConnectorAlreadyExists,
    #[error("an error occurred while managing a SmartModule")]
    SmartModuleError,
    #[error("SmartModule {name} was not found")]
    SmartModuleNotFound { name: String },
    #[error("SmartModule is invalid: {error}")]
    SmartModuleInvalid { error: String, name: Option<String> },
    #[error("SmartModule is not a valid '{kind}' SmartModule: {error}")]
    SmartModuleInvalidExports { error: String, kind: String },
    #[error("SmartModule transform error: {0}")]
    SmartModuleRuntimeError(Box<SmartModuleRuntimeError>),
    #[error("error initializing SmartModule chain: {0}")]
    SmartModuleChainInitError(String),
    #[error("SmartModule init error: {hint}")]
    SmartModuleInitError { hint: String },
    #[error("SmartModule look_back error: {0}")]
    SmartModuleLookBackError(String),
    #[error("SmartModule memory limit exceeded: requested {requested} bytes, max {max} bytes")]
    SmartModuleMemoryLimitExceeded { requested: u64, max: u64 },
    #[error("a table format error occurred")]
    TableFormatError,
    #[error("the table format was not found")]
    TableFormatNotFound,
    #[error("the table format already exists")]
    TableFormatAlreadyExists,
    #[error("derived stream object error")]
    DerivedStreamObjectError,
    #[error("the derived stream {0} was not found")]
    DerivedStreamNotFound(String),
    #[error("the derived stream join data cannot be fetched")]
    DerivedStreamJoinFetchError,
    #[error("the derived stream {0} is invalid")]
    DerivedStreamInvalid(String),
    #[error("a compression error occurred in the SPU")]
    CompressionError,
    #[error("the deduplication SmartModule is not loaded into the cluster")]
    DeduplicationSmartModuleNotLoaded,
    #[error("deduplication SmartModule name is invalid: {0}")]
    DeduplicationSmartModuleNameInvalid(String),
    #[error("the mirror was not found")]
    MirrorNotFound,
    #[error("the mirror already exists")]
    MirrorAlreadyExists,
    #[error("produce from home is not allowed")]
    MirrorProduceFromHome,
    #[error("delete from remote is not allowed")]
    MirrorDeleteFromRemote,
    #[error("the mirror is invalid")]
    MirrorInvalidType,
    #[error("produce from remote target is not allowed")]
    MirrorProduceFromRemoteNotAllowed,
    #[error("system {kind} '{name}' can only be deleted forcibly")]
    SystemSpecDeletionAttempt { kind: String, name: String },
    #[error("system {kind} '{name}' can only be updated forcibly")]
    SystemSpecUpdatingAttempt { kind: String, name: String },
}

/// The payload-free codes: `(code, value)`.
pub(crate) const UNIT_CODES: &[(i16, ErrorCode)] = &[
    (-1, ErrorCode::UnknownServerError),
    (0, ErrorCode::None),
    (1, ErrorCode::OffsetOutOfRange),
    (6, ErrorCode::NotLeaderForPartition),
    (10, ErrorCode::MessageTooLarge),
    (13, ErrorCode::PermissionDenied),
    (56, ErrorCode::StorageError),
    (60, ErrorCode::InvalidCreateRequest),
    (61, ErrorCode::InvalidDeleteRequest),
    (73, ErrorCode::PartitionShortCircuited),
    (1000, ErrorCode::SpuError),
    (1001, ErrorCode::SpuRegisterationFailed),
    (1002, ErrorCode::SpuOffline),
    (1003, ErrorCode::SpuNotFound),
    (1004, ErrorCode::SpuAlreadyExists),
    (2000, ErrorCode::TopicError),
    (2001, ErrorCode::TopicNotFound),
    (2002, ErrorCode::TopicAlreadyExists),
    (2003, ErrorCode::TopicPendingInitialization),
    (2004, ErrorCode::TopicInvalidConfiguration),
    (2005, ErrorCode::TopicNotProvisioned),
    (2006, ErrorCode::TopicInvalidName),
    (2007, ErrorCode::TopicDeleted),
    (2008, ErrorCode::TopicInvalidReplicaType),
    (3000, ErrorCode::PartitionPendingInitialization),
    (3001, ErrorCode::PartitionNotLeader),
    (3002, ErrorCode::FetchSessionNotFoud),
    (3004, ErrorCode::OffsetManagementDisabled),
    (3005, ErrorCode::MaxRetryReached),
    (5000, ErrorCode::ManagedConnectorError),
    (5001, ErrorCode::ManagedConnectorNotFound),
    (5002, ErrorCode::ManagedConnectorAlreadyExists),
    (6000, ErrorCode::SmartModuleError),
    (7000, ErrorCode::TableFormatError),
    (7001, ErrorCode::TableFormatNotFound),
    (7002, ErrorCode::TableFormatAlreadyExists),
    (8000, ErrorCode::DerivedStreamObjectError),
    (8002, ErrorCode::DerivedStreamJoinFetchError),
    (9000, ErrorCode::CompressionError),
    (10000, ErrorCode::DeduplicationSmartModuleNotLoaded),
    (11001, ErrorCode::MirrorNotFound),
    (11002, ErrorCode::MirrorAlreadyExists),
    (11003, ErrorCode::MirrorProduceFromHome),
    (11004, ErrorCode::MirrorDeleteFromRemote),
    (11005, ErrorCode::MirrorInvalidType),
    (11006, ErrorCode::MirrorProduceFromRemoteNotAllowed),
];

impl ErrorCode {
    /// The numeric code on the wire.
    pub fn code(&self) -> i16 {
        use ErrorCode::*;
        match self {
            Other(_) => 2,
            RequestTimedOut { .. } => 7,
            OffsetEvicted { .. } => 71,
            PartitionFull { .. } => 72,
            OffsetFlushRequestError(_) => 3003,
            SmartModuleNotFound { .. } => 6001,
            SmartModuleInvalid { .. } => 6002,
            SmartModuleInvalidExports { .. } => 6003,
            SmartModuleRuntimeError(_) => 6004,
            SmartModuleChainInitError(_) => 6005,
            SmartModuleInitError { .. } => 6006,
            SmartModuleLookBackError(_) => 6007,
            SmartModuleMemoryLimitExceeded { .. } => 6008,
            DerivedStreamNotFound(_) => 8001,
            DerivedStreamInvalid(_) => 8003,
            DeduplicationSmartModuleNameInvalid(_) => 10001,
            SystemSpecDeletionAttempt { .. } => 12001,
            SystemSpecUpdatingAttempt { .. } => 12002,
            unit => UNIT_CODES
                .iter()
                .find(|(_, value)| value == unit)
                .map_or(-1, |(code, _)| *code),
        }
    }

    /// `true` for [`ErrorCode::None`], the success code.
    pub fn is_ok(&self) -> bool {
        matches!(self, ErrorCode::None)
    }

    /// `true` for [`ErrorCode::None`] (alias kept for readers of the official client).
    pub fn is_error(&self) -> bool {
        !self.is_ok()
    }
}

impl Encode for ErrorCode {
    fn encode<B: BufMut>(&self, buf: &mut B, v: Version) -> Result<(), EncodeError> {
        use ErrorCode::*;
        buf.put_i16(self.code());
        match self {
            Other(s)
            | OffsetFlushRequestError(s)
            | SmartModuleChainInitError(s)
            | SmartModuleLookBackError(s)
            | DerivedStreamNotFound(s)
            | DerivedStreamInvalid(s)
            | DeduplicationSmartModuleNameInvalid(s)
            | SmartModuleNotFound { name: s }
            | SmartModuleInitError { hint: s } => s.encode(buf, v),
            RequestTimedOut { timeout_ms, kind } => {
                timeout_ms.encode(buf, v)?;
                kind.encode(buf, v)
            }
            OffsetEvicted {
                offset,
                next_available,
            } => {
                offset.encode(buf, v)?;
                next_available.encode(buf, v)
            }
            PartitionFull { topic, partition } => {
                topic.encode(buf, v)?;
                partition.encode(buf, v)
            }
            SmartModuleInvalid { error, name } => {
                error.encode(buf, v)?;
                name.encode(buf, v)
            }
            SmartModuleInvalidExports { error: a, kind: b }
            | SystemSpecDeletionAttempt { kind: a, name: b }
            | SystemSpecUpdatingAttempt { kind: a, name: b } => {
                a.encode(buf, v)?;
                b.encode(buf, v)
            }
            SmartModuleRuntimeError(e) => e.encode(buf, v),
            SmartModuleMemoryLimitExceeded { requested, max } => {
                requested.encode(buf, v)?;
                max.encode(buf, v)
            }
            _ => Ok(()),
        }
    }

    fn encoded_len(&self, v: Version) -> usize {
        use ErrorCode::*;
        2 + match self {
            Other(s)
            | OffsetFlushRequestError(s)
            | SmartModuleChainInitError(s)
            | SmartModuleLookBackError(s)
            | DerivedStreamNotFound(s)
            | DerivedStreamInvalid(s)
            | DeduplicationSmartModuleNameInvalid(s)
            | SmartModuleNotFound { name: s }
            | SmartModuleInitError { hint: s } => s.encoded_len(v),
            RequestTimedOut { .. } => 9,
            OffsetEvicted { .. } => 16,
            PartitionFull { topic, .. } => topic.encoded_len(v) + 4,
            SmartModuleInvalid { error, name } => error.encoded_len(v) + name.encoded_len(v),
            SmartModuleInvalidExports { error: a, kind: b }
            | SystemSpecDeletionAttempt { kind: a, name: b }
            | SystemSpecUpdatingAttempt { kind: a, name: b } => a.encoded_len(v) + b.encoded_len(v),
            SmartModuleRuntimeError(e) => e.encoded_len(v),
            SmartModuleMemoryLimitExceeded { .. } => 16,
            _ => 0,
        }
    }
}

impl Decode for ErrorCode {
    fn decode<B: Buf>(buf: &mut B, v: Version) -> Result<Self, DecodeError> {
        use ErrorCode::*;
        let code = i16::decode(buf, v)?;
        if let Some((_, unit)) = UNIT_CODES.iter().find(|(c, _)| *c == code) {
            return Ok(unit.clone());
        }
        let s = |buf: &mut B| String::decode(buf, v);
        Ok(match code {
            2 => Other(s(buf)?),
            7 => RequestTimedOut {
                timeout_ms: u64::decode(buf, v)?,
                kind: RequestKind::decode(buf, v)?,
            },
            71 => OffsetEvicted {
                offset: i64::decode(buf, v)?,
                next_available: i64::decode(buf, v)?,
            },
            72 => PartitionFull {
                topic: s(buf)?,
                partition: u32::decode(buf, v)?,
            },
            3003 => OffsetFlushRequestError(s(buf)?),
            6001 => SmartModuleNotFound { name: s(buf)? },
            6002 => SmartModuleInvalid {
                error: s(buf)?,
                name: Option::decode(buf, v)?,
            },
            6003 => SmartModuleInvalidExports {
                error: s(buf)?,
                kind: s(buf)?,
            },
            6004 => SmartModuleRuntimeError(Box::decode(buf, v)?),
            6005 => SmartModuleChainInitError(s(buf)?),
            6006 => SmartModuleInitError { hint: s(buf)? },
            6007 => SmartModuleLookBackError(s(buf)?),
            6008 => SmartModuleMemoryLimitExceeded {
                requested: u64::decode(buf, v)?,
                max: u64::decode(buf, v)?,
            },
            8001 => DerivedStreamNotFound(s(buf)?),
            8003 => DerivedStreamInvalid(s(buf)?),
            10001 => DeduplicationSmartModuleNameInvalid(s(buf)?),
            12001 => SystemSpecDeletionAttempt {
                kind: s(buf)?,
                name: s(buf)?,
            },
            12002 => SystemSpecUpdatingAttempt {
                kind: s(buf)?,
                name: s(buf)?,
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "ErrorCode",
                    tag: i64::from(tag),
                })
            }
        })
    }
}
