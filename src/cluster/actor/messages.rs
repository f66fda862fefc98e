//! What the cluster actor is asked.

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::cluster::error::ClientError;
use crate::cluster::metadata::{MetadataCache, SpuTarget};
use crate::connection::Connection;

/// Find the leader of a partition, waiting up to the metadata timeout. A `fresh` lookup
/// (after the cached leader failed) is answered from a listing the SC sent after it.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct FindLeader {
    pub(crate) topic: String,
    pub(crate) partition: u32,
    pub(crate) fresh: bool,
    pub(crate) tx: oneshot::Sender<Result<SpuTarget, ClientError>>,
}

/// Count a topic's partitions, waiting up to the metadata timeout.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct PartitionCount {
    pub(crate) topic: String,
    pub(crate) tx: oneshot::Sender<Result<u32, ClientError>>,
}

/// The (shared) connection to an SPU.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct SpuConnect {
    pub(crate) target: SpuTarget,
    pub(crate) tx: oneshot::Sender<Result<Connection, ClientError>>,
}

/// Re-list SPUs and partitions now (after a `NotLeader` error).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Refresh;

/// Stop: the last client handle is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

/// Answered at once: the actor is serving its mailbox (a liveness probe).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Ping;

/// A copy of the cache.
#[derive(Message)]
#[rtype(result = "MetadataCache")]
pub(crate) struct Snapshot;

/// The cached leader of a partition, without waiting.
#[derive(Message)]
#[rtype(result = "Option<SpuTarget>")]
pub(crate) struct CachedLeader {
    pub(crate) topic: String,
    pub(crate) partition: u32,
}
