//! SC public API messages: the object envelope and create / delete / list / watch / update of
//! topics, partitions, SPUs, custom SPUs and SmartModules.
//!
//! ## Layout
//! - The envelope ([`TypeBuffer`], [`ObjectBody`]): every object message (v11+) travels as
//!   `type_label String, len u32, body`, the body encoded at the request's version.
//! - Object types: [`TopicSpec`], [`PartitionSpec`], [`SpuSpec`], [`CustomSpuSpec`],
//!   [`SmartModuleSpec`], each with its status, tied together by [`ObjectSpec`].
//! - Typed messages, generic over the object type: [`CreateRequest`], [`DeleteRequest`],
//!   [`UpdateRequest`], [`ListRequest`] / [`ListResponse`], [`WatchRequest`] /
//!   [`WatchResponse`]; create, delete and update answer with a bare [`Status`].
//! - Untyped messages for servers and captures, decoded by reading the label first:
//!   [`ScRequest`] and [`ScResponse`] over [`AnyListRequest`] and friends.
//!
//! ```
//! use actix_fluvio::protocol::sc::{CreateRequest, ListRequest, ListResponse, TopicSpec};
//! use actix_fluvio::protocol::{Decode, Encode, Request, RequestMessage};
//!
//! // Create a topic with 3 partitions, replication 1, at the newest version.
//! let create = CreateRequest::new("orders", TopicSpec::computed(3, 1));
//! let version = CreateRequest::<TopicSpec>::MAX_API_VERSION;
//! let frame = RequestMessage::new(create, version, 1, "actix-fluvio").to_bytes(0)?;
//! # let _ = frame;
//!
//! // List it; the response body is decoded at the request's version.
//! let list = ListRequest::<TopicSpec>::new(vec!["orders".into()]);
//! # let body = ListResponse::<TopicSpec>::default().to_bytes(version)?;
//! let response = ListResponse::<TopicSpec>::decode(&mut &body[..], version)?;
//! for topic in response.objects {
//!     println!("{}: {:?}", topic.name, topic.status.resolution);
//! }
//! # let _ = list;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// An enum whose variants each carry one value, on the wire as a `u8` tag and the value.
macro_rules! wire_union {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (default $default:ident) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident($ty:ty) = $tag:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        $vis enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default(Default::default())
            }
        }

        impl $crate::protocol::Encode for $name {
            fn encode<B: ::bytes::BufMut>(
                &self,
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<(), $crate::protocol::EncodeError> {
                match self {
                    $( Self::$variant(value) => {
                        buf.put_u8($tag);
                        $crate::protocol::Encode::encode(value, buf, version)
                    } )*
                }
            }

            fn encoded_len(&self, version: $crate::protocol::Version) -> usize {
                1 + match self {
                    $( Self::$variant(value) =>
                        $crate::protocol::Encode::encoded_len(value, version), )*
                }
            }
        }

        impl $crate::protocol::Decode for $name {
            fn decode<B: ::bytes::Buf>(
                buf: &mut B,
                version: $crate::protocol::Version,
            ) -> ::std::result::Result<Self, $crate::protocol::DecodeError> {
                let tag = <u8 as $crate::protocol::Decode>::decode(buf, version)?;
                match tag {
                    $( $tag => Ok(Self::$variant($crate::protocol::Decode::decode(buf, version)?)), )*
                    _ => Err($crate::protocol::DecodeError::UnknownTag {
                        what: stringify!($name),
                        tag: i64::from(tag),
                    }),
                }
            }
        }
    };
}

#[macro_use]
mod envelope;
mod any;
mod create;
mod delete;
mod list;
mod metadata;
mod mirror;
mod partition;
mod remote_cluster;
mod smartmodule;
mod spec;
mod spu;
mod topic;
mod update;
mod watch;

pub use any::{
    AnyCreateRequest, AnyDeleteRequest, AnyListRequest, AnyListResponse, AnyUpdateRequest,
    AnyWatchRequest, AnyWatchResponse, ScRequest, ScResponse,
};
pub use create::{CommonCreateRequest, CreateRequest};
pub use delete::DeleteRequest;
pub use envelope::{ObjectBody, TypeBuffer};
pub use list::{ListRequest, ListResponse};
pub use metadata::{Message, Metadata, MetadataUpdate, MsgType, Status};
pub use mirror::{
    HomeMirrorConfig, HomePartitionConfig, MirrorConfig, MirrorPartition, PartitionMirrorConfig,
    RemoteMirrorConfig, RemotePartitionConfig, SpuMirrorConfig,
};
pub use partition::{
    partition_name, split_partition_name, PartitionResolution, PartitionSpec, PartitionStatus,
    ReplicaStatus,
};
pub use remote_cluster::{
    HomeCluster, MirrorClientTls, MirrorConnection, MirrorConnectionStat, MirrorPairStatus,
    MirrorSpec, MirrorStatus, MirrorType, RemoteCluster,
};
pub use smartmodule::{
    SmartModuleMetadata, SmartModulePackage, SmartModuleParam, SmartModuleSpec, SmartModuleStatus,
    SmartModuleVisibility, SmartModuleWasm, SmartModuleWasmFormat, SmartModuleWasmSummary,
};
pub use spec::{CreatableSpec, DeletableSpec, ObjectSpec, UpdatableSpec};
pub use spu::{
    CustomSpuKey, CustomSpuSpec, EncryptionType, Endpoint, IngressAddr, IngressPort, SpuSpec,
    SpuStatus, SpuStatusResolution, SpuType, DEFAULT_ENDPOINT_HOST,
};
pub use topic::{
    AddMirror, AddPartition, Bounds, CleanupPolicy, CompressionAlgorithm, Deduplication, Filter,
    PartitionMap, ReplicaSpec, SegmentBasedPolicy, TopicReplicaParam, TopicResolution, TopicSpec,
    TopicStatus, TopicStorageConfig, Transform, UpdateTopicAction,
};
pub use update::UpdateRequest;
pub use watch::{WatchRequest, WatchResponse};

use super::Version;

/// API key of Create.
pub const CREATE_KEY: u16 = 1001;
/// API key of Delete.
pub const DELETE_KEY: u16 = 1002;
/// API key of List.
pub const LIST_KEY: u16 = 1003;
/// API key of Watch.
pub const WATCH_KEY: u16 = 1004;
/// API key of Mirroring (cluster-to-cluster; not implemented here).
pub const MIRRORING_KEY: u16 = 1005;
/// API key of Update.
pub const UPDATE_KEY: u16 = 1006;

/// The lowest version spoken for the object APIs: the first with the typed envelope.
pub const MIN_OBJECT_VERSION: Version = 11;
/// The version the official client sends for every object API.
pub const MAX_OBJECT_VERSION: Version = 19;
