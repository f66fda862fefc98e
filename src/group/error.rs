//! Group errors.

use thiserror::Error;

use crate::admin::AdminError;
use crate::cluster::ClientError;
use crate::consumer::ConsumerError;
use crate::producer::ProducerError;

/// Why a group operation failed.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The configuration cannot work.
    #[error("invalid group configuration: {0}")]
    InvalidConfig(String),
    /// The group's coordination log names another topic than this member's.
    #[error("group '{group}' consumes topic '{found}', not '{expected}'")]
    TopicMismatch {
        /// The group.
        group: String,
        /// This member's topic.
        expected: String,
        /// The group's topic.
        found: String,
    },
    /// The group's coordination topic has more than one partition (created by hand, or by
    /// something else): members read only partition 0, so the group cannot work on it.
    /// Delete the topic (the group's members and assignment start afresh; committed
    /// offsets are kept) or use another group name.
    #[error("coordination topic '{topic}' has {partitions} partitions: a group needs exactly 1 (delete it, or use another group name)")]
    CoordinationTopic {
        /// The topic.
        topic: String,
        /// Its partition count.
        partitions: u32,
    },
    /// No group has this name (no coordination topic).
    #[error("group '{0}' not found")]
    NotFound(String),
    /// The member has stopped.
    #[error("the group member has stopped")]
    Stopped,
    /// An admin request failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// A cluster request failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Reading the coordination log failed.
    #[error(transparent)]
    Consumer(#[from] ConsumerError),
    /// Appending to the coordination log failed.
    #[error(transparent)]
    Producer(#[from] ProducerError),
}
