//! Cluster administration: topics (create with every option, dry-run, delete, list, get,
//! watch, add partitions), partitions, SPUs, SmartModules, consumer offsets and topic
//! mirroring (remote and home clusters, mirror topics: see [`mirror`]), as an async
//! handle ([`Admin`]) and as an actor ([`AdminActor`]). Errors are typed and keep the
//! server's code and message.

mod actor;
mod error;
mod handle;
mod info;
pub mod mirror;
mod name;
mod topic_config;

pub use actor::{AdminActor, CreateTopic, DeleteTopic, ListPartitions, ListSpus, ListTopics};
pub use error::AdminError;
pub use handle::Admin;
pub use info::{PartitionInfo, SpuInfo, TopicChange, TopicWatch};
pub use mirror::{HomeInfo, MirrorDirection, Pairing, RemoteExport, RemoteInfo, TopicMirror};
pub(crate) use name::has_valid_chars;
pub use name::{is_valid_name, MAX_NAME_LEN};
pub use topic_config::TopicConfig;
