//! Below the client's stable API: the SC connection, the pool's SPU connections and the
//! metadata cache's levers, for tools and tests that speak the protocol themselves (raw
//! requests, a connection's state and reconnect count, a leader as the cache has it now).
//!
//! Reached through [`FluvioClient::low_level`]; nothing here is needed to produce, consume,
//! administer or run pipelines, and these may change with the client's internals.
//!
//! ```no_run
//! # async fn demo(client: actix_fluvio::cluster::FluvioClient)
//! # -> Result<(), actix_fluvio::cluster::ClientError> {
//! use actix_fluvio::protocol::sc::{ListRequest, TopicSpec};
//!
//! let low = client.low_level();
//! let topics = low.sc().request(&ListRequest::<TopicSpec>::new(vec![])).await?;
//! println!("{} topics; SC reconnected {} times", topics.objects.len(), low.sc().reconnects());
//! # Ok(()) }
//! ```

use super::client::FluvioClient;
use super::error::ClientError;
use super::metadata::SpuTarget;
use crate::connection::Connection;

/// The low-level levers of a [`FluvioClient`] (see the [module](self) docs).
#[derive(Debug, Clone, Copy)]
pub struct LowLevel<'a>(pub(super) &'a FluvioClient);

impl<'a> LowLevel<'a> {
    /// The SC connection (admin requests go here).
    pub fn sc(&self) -> &'a Connection {
        self.0.sc()
    }

    /// The pool's connection to the SPU `target` (one shared connection per SPU).
    ///
    /// # Errors
    /// The SPU connection failing.
    pub async fn spu_connection(&self, target: SpuTarget) -> Result<Connection, ClientError> {
        self.0.spu_connection(target).await
    }

    /// The connection to the leader of `topic`/`partition` (the pool's, shared), waiting
    /// for metadata up to the metadata timeout.
    ///
    /// # Errors
    /// As [`FluvioClient::partition_leader`], or the SPU connection failing.
    pub async fn leader_connection(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<Connection, ClientError> {
        self.0.leader_connection(topic, partition).await
    }

    /// The connection to the leader of the system topic that stores consumer offsets
    /// (`consumer-offset`, partition 0), where consumer-offset requests go.
    ///
    /// # Errors
    /// The topic missing, its leader offline, or a connection failure.
    pub async fn consumer_offset_connection(&self) -> Result<Connection, ClientError> {
        self.0.consumer_offset_connection().await
    }

    /// The leader of `topic`/`partition` as the cache has it now (no waiting, no SC call).
    ///
    /// # Errors
    /// [`ClientError::Shutdown`].
    pub async fn cached_leader(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<Option<SpuTarget>, ClientError> {
        self.0.cached_leader(topic, partition).await
    }

    /// Re-read SPU and partition metadata now (the client does after a `NotLeader` error).
    pub fn refresh_metadata(&self) {
        self.0.refresh_metadata();
    }
}
