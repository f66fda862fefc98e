//! Cluster administration: topics (create with every option, dry-run, delete, list, get,
//! watch, add partitions), partitions, SPUs, SmartModules and consumer offsets, as an async
//! handle ([`Admin`]) and as an actor ([`AdminActor`]). Errors are typed and keep the
//! server's code and message.

mod actor;
mod error;
mod handle;
mod info;
mod name;
mod topic_config;

pub use actor::{AdminActor, CreateTopic, DeleteTopic, ListPartitions, ListSpus, ListTopics};
pub use error::AdminError;
pub use handle::Admin;
pub use info::{PartitionInfo, SpuInfo, TopicChange, TopicWatch};
pub(crate) use name::has_valid_chars;
pub use name::{is_valid_name, MAX_NAME_LEN};
pub use topic_config::TopicConfig;
