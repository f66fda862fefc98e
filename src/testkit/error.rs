//! What can go wrong starting or steering a test cluster.

use std::net::SocketAddr;

use thiserror::Error;

/// A test cluster failure.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The CA or a server certificate could not be made.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The configuration cannot be served.
    #[error("invalid test cluster configuration: {0}")]
    InvalidConfig(String),
    /// No SPU has this id.
    #[error("no SPU with id {0}")]
    UnknownSpu(i32),
    /// No such partition.
    #[error("no partition {partition} of topic {topic:?}")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },
}
