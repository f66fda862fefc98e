//! Untyped SC messages, decoded by reading the envelope's label first: what a server (or a
//! capture reader) uses when it does not know the object type in advance. Labels this crate
//! does not model (`"SpuGroup"`, `"TableFormat"`, ...) are kept as raw
//! [`TypeBuffer`]s, so every frame re-encodes to the same bytes.

use bytes::{Buf, BufMut};

use super::envelope::{encode_enveloped, enveloped_len, TypeBuffer};
use super::{
    CreateRequest, CustomSpuSpec, DeleteRequest, ListRequest, ListResponse, MirrorSpec,
    PartitionSpec, SmartModuleSpec, SpuSpec, Status, TopicSpec, UpdateRequest, WatchRequest,
    WatchResponse,
};
use super::{CREATE_KEY, DELETE_KEY, LIST_KEY, UPDATE_KEY, WATCH_KEY};
use crate::protocol::{
    Decode, DecodeError, Encode, EncodeError, RequestHeader, RequestMessage, Version,
};

/// One enum per message over the object types it applies to, plus `Other`.
macro_rules! any_object {
    (
        $(#[$meta:meta])*
        $name:ident for $msg:ident { $( $variant:ident($spec:ty) ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $(
                #[doc = concat!("For `", stringify!($spec), "`.")]
                $variant($msg<$spec>),
            )*
            /// An object type this crate does not model, kept as bytes.
            Other(TypeBuffer),
        }

        impl $name {
            /// The envelope's object type label.
            pub fn label(&self) -> &str {
                match self {
                    $( Self::$variant(_) => <$spec as super::ObjectSpec>::LABEL, )*
                    Self::Other(raw) => &raw.label,
                }
            }
        }

        $(
            impl From<$msg<$spec>> for $name {
                fn from(message: $msg<$spec>) -> Self {
                    Self::$variant(message)
                }
            }
        )*

        impl Encode for $name {
            fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
                match self {
                    $( Self::$variant(message) => encode_enveloped(message, buf, version), )*
                    Self::Other(raw) => raw.encode(buf, version),
                }
            }

            fn encoded_len(&self, version: Version) -> usize {
                match self {
                    $( Self::$variant(message) => enveloped_len(message, version), )*
                    Self::Other(raw) => raw.encoded_len(version),
                }
            }
        }

        impl Decode for $name {
            fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
                let raw = TypeBuffer::decode(buf, version)?;
                $(
                    if let Some(message) = raw.downcast::<$msg<$spec>>(version)? {
                        return Ok(Self::$variant(message));
                    }
                )*
                Ok(Self::Other(raw))
            }
        }
    };
}

any_object! {
    /// A create request of any object type.
    AnyCreateRequest for CreateRequest {
        Topic(TopicSpec), CustomSpu(CustomSpuSpec), SmartModule(SmartModuleSpec),
        Mirror(MirrorSpec),
    }
}

any_object! {
    /// A delete request of any object type.
    AnyDeleteRequest for DeleteRequest {
        Topic(TopicSpec), CustomSpu(CustomSpuSpec), SmartModule(SmartModuleSpec),
        Mirror(MirrorSpec),
    }
}

any_object! {
    /// An update request of any object type.
    AnyUpdateRequest for UpdateRequest {
        Topic(TopicSpec), CustomSpu(CustomSpuSpec), SmartModule(SmartModuleSpec),
    }
}

any_object! {
    /// A list request of any object type.
    AnyListRequest for ListRequest {
        Topic(TopicSpec), Partition(PartitionSpec), Spu(SpuSpec), CustomSpu(CustomSpuSpec),
        SmartModule(SmartModuleSpec), Mirror(MirrorSpec),
    }
}

any_object! {
    /// A list response of any object type.
    AnyListResponse for ListResponse {
        Topic(TopicSpec), Partition(PartitionSpec), Spu(SpuSpec), CustomSpu(CustomSpuSpec),
        SmartModule(SmartModuleSpec), Mirror(MirrorSpec),
    }
}

any_object! {
    /// A watch request of any object type.
    AnyWatchRequest for WatchRequest {
        Topic(TopicSpec), Partition(PartitionSpec), Spu(SpuSpec), CustomSpu(CustomSpuSpec),
        SmartModule(SmartModuleSpec),
    }
}

any_object! {
    /// A watch frame of any object type.
    AnyWatchResponse for WatchResponse {
        Topic(TopicSpec), Partition(PartitionSpec), Spu(SpuSpec), CustomSpu(CustomSpuSpec),
        SmartModule(SmartModuleSpec),
    }
}

fn unknown_key(api_key: u16) -> DecodeError {
    DecodeError::UnknownTag {
        what: "SC object API key",
        tag: i64::from(api_key),
    }
}

/// Any SC object API request body.
#[derive(Debug, Clone, PartialEq)]
pub enum ScRequest {
    /// Create (1001), boxed: create requests carry a whole spec.
    Create(Box<AnyCreateRequest>),
    /// Delete (1002).
    Delete(AnyDeleteRequest),
    /// List (1003).
    List(AnyListRequest),
    /// Watch (1004).
    Watch(AnyWatchRequest),
    /// Update (1006).
    Update(AnyUpdateRequest),
}

impl ScRequest {
    /// The API key this request is sent under.
    pub fn api_key(&self) -> u16 {
        match self {
            Self::Create(_) => CREATE_KEY,
            Self::Delete(_) => DELETE_KEY,
            Self::List(_) => LIST_KEY,
            Self::Watch(_) => WATCH_KEY,
            Self::Update(_) => UPDATE_KEY,
        }
    }

    /// Decode the body of a request sent under `api_key` at `version`.
    ///
    /// # Errors
    /// An API key that is not an object API (ApiVersions and Mirroring are not), or a
    /// malformed body.
    pub fn decode_body<B: Buf>(
        api_key: u16,
        buf: &mut B,
        version: Version,
    ) -> Result<Self, DecodeError> {
        Ok(match api_key {
            CREATE_KEY => Self::Create(Decode::decode(buf, version)?),
            DELETE_KEY => Self::Delete(Decode::decode(buf, version)?),
            LIST_KEY => Self::List(Decode::decode(buf, version)?),
            WATCH_KEY => Self::Watch(Decode::decode(buf, version)?),
            UPDATE_KEY => Self::Update(Decode::decode(buf, version)?),
            other => return Err(unknown_key(other)),
        })
    }

    /// Decode a whole request frame (header and body, without the size prefix).
    ///
    /// # Errors
    /// As [`ScRequest::decode_body`].
    pub fn decode_message<B: Buf>(buf: &mut B) -> Result<RequestMessage<Self>, DecodeError> {
        let header = RequestHeader::decode(buf, 0)?;
        let request = Self::decode_body(header.api_key, buf, header.api_version)?;
        Ok(RequestMessage { header, request })
    }
}

impl Encode for ScRequest {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        match self {
            Self::Create(r) => r.encode(buf, version),
            Self::Delete(r) => r.encode(buf, version),
            Self::List(r) => r.encode(buf, version),
            Self::Watch(r) => r.encode(buf, version),
            Self::Update(r) => r.encode(buf, version),
        }
    }

    fn encoded_len(&self, version: Version) -> usize {
        match self {
            Self::Create(r) => r.encoded_len(version),
            Self::Delete(r) => r.encoded_len(version),
            Self::List(r) => r.encoded_len(version),
            Self::Watch(r) => r.encoded_len(version),
            Self::Update(r) => r.encoded_len(version),
        }
    }
}

/// Any SC object API response body.
#[derive(Debug, Clone, PartialEq)]
pub enum ScResponse {
    /// The answer to a create, delete or update (no envelope).
    Status(Status),
    /// The answer to a list.
    List(AnyListResponse),
    /// One frame of a watch stream.
    Watch(AnyWatchResponse),
}

impl ScResponse {
    /// Decode the body of a response to a request sent under `api_key` at `version`.
    ///
    /// # Errors
    /// An API key that is not an object API, or a malformed body.
    pub fn decode_body<B: Buf>(
        api_key: u16,
        buf: &mut B,
        version: Version,
    ) -> Result<Self, DecodeError> {
        Ok(match api_key {
            CREATE_KEY | DELETE_KEY | UPDATE_KEY => Self::Status(Status::decode(buf, version)?),
            LIST_KEY => Self::List(AnyListResponse::decode(buf, version)?),
            WATCH_KEY => Self::Watch(AnyWatchResponse::decode(buf, version)?),
            other => return Err(unknown_key(other)),
        })
    }
}

impl Encode for ScResponse {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        match self {
            Self::Status(r) => r.encode(buf, version),
            Self::List(r) => r.encode(buf, version),
            Self::Watch(r) => r.encode(buf, version),
        }
    }

    fn encoded_len(&self, version: Version) -> usize {
        match self {
            Self::Status(r) => r.encoded_len(version),
            Self::List(r) => r.encoded_len(version),
            Self::Watch(r) => r.encoded_len(version),
        }
    }
}
