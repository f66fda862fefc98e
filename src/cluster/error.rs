//! Errors of the cluster client.

use thiserror::Error;

use crate::connection::ConnectionError;
use crate::protocol::ErrorCode;

/// Why a cluster operation failed.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection to the SC or an SPU failed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The server answered with an error code.
    #[error("server error {code}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Server {
        /// The server's code (numeric identity kept: [`ErrorCode::code`]).
        code: ErrorCode,
        /// The server's message, if it sent one.
        message: Option<String>,
    },
    /// The topic does not exist.
    #[error("topic '{0}' not found")]
    TopicNotFound(String),
    /// The topic exists but not this partition.
    #[error("partition {partition} of topic '{topic}' not found")]
    PartitionNotFound {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },
    /// Metadata did not arrive in time (e.g. the partition has no online leader).
    #[error("no metadata for {what} within {timeout:?}")]
    MetadataTimeout {
        /// What was awaited.
        what: String,
        /// The configured metadata timeout.
        timeout: std::time::Duration,
    },
    /// The topic is not a mirror topic (asked for a mirror's partition).
    #[error("topic '{0}' is not a mirror topic")]
    NotAMirrorTopic(String),
    /// No partition of the mirror topic belongs to this name.
    #[error("no partition of mirror topic '{topic}' belongs to '{mirror}' (its partners: {})", .partners.join(", "))]
    MirrorNotFound {
        /// The topic.
        topic: String,
        /// The name asked for.
        mirror: String,
        /// The names it has: its remotes on a home cluster, its home on a remote.
        partners: Vec<String>,
    },
    /// The client configuration is invalid (profile file, TLS files, ...).
    #[error("configuration: {0}")]
    Config(String),
    /// The client's actors stopped.
    #[error("the client is shut down")]
    Shutdown,
}

impl ClientError {
    /// `true` when retrying may succeed; for the server's codes, [`ErrorCode::is_retriable`]
    /// decides.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Connection(e) => e.is_retriable(),
            ClientError::MetadataTimeout { .. } => true,
            ClientError::Server { code, .. } => code.is_retriable(),
            _ => false,
        }
    }
}
