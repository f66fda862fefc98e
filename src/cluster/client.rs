//! `FluvioClient`: the public handle over the cluster supervisor.

use std::sync::Arc;

use actix::Addr;
use tokio::sync::oneshot;

use super::actor::{
    CachedLeader, ClusterActor, FindLeader, PartitionCount, Ping, Refresh, Shutdown, Snapshot,
    SpuConnect,
};
use super::config::{ClientConfig, EndpointSource};
use super::error::ClientError;
use super::low_level::LowLevel;
use super::metadata::{MetadataCache, SpuTarget};
use crate::connection::transport::Target;
use crate::connection::Connection;
use crate::protocol::sc::{ListRequest, PartitionSpec, WATCH_KEY};
use crate::runtime;

/// A client of one Fluvio cluster: the SC connection, the metadata cache and the SPU
/// connections, shared by every clone.
///
/// The entry points to everything else are methods of this type, each defined next to
/// what it starts (the layers above `cluster` extend it; `cluster` knows none of them):
/// [`admin`](FluvioClient::admin) in `admin/handle.rs`, [`producer`](FluvioClient::producer)
/// in `producer/handle.rs`, [`partition_consumer`](FluvioClient::partition_consumer) in
/// `consumer/stream.rs` and [`topic_consumer`](FluvioClient::topic_consumer) in
/// `consumer/topic.rs`. Pipelines and groups take a `&FluvioClient`.
///
/// ```no_run
/// # async fn demo() -> Result<(), actix_fluvio::cluster::ClientError> {
/// use actix_fluvio::cluster::{ClientConfig, FluvioClient};
///
/// // FLUVIO_SC_ADDR, else the current profile of ~/.fluvio/config, else 127.0.0.1:9003.
/// let client = FluvioClient::connect(ClientConfig::default()).await?;
/// let leader = client.partition_leader("orders", 0).await?;
/// println!("orders-0 is led by SPU {} at {}", leader.id, leader.addr);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FluvioClient {
    inner: Arc<Inner>,
}

struct Inner {
    sc: Connection,
    actor: Addr<ClusterActor>,
    changes: tokio::sync::watch::Receiver<u64>,
    topology: tokio::sync::watch::Receiver<u64>,
    endpoint: String,
    source: EndpointSource,
    config: ClientConfig,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The cluster actor keeps timers and watch streams: it would outlive the client.
        self.actor.do_send(Shutdown);
    }
}

impl std::fmt::Debug for FluvioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluvioClient")
            .field("endpoint", &self.inner.endpoint)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl FluvioClient {
    /// Connect to the SC named by `config` (see [`ClientConfig`] for the order of sources)
    /// and start watching SPU, partition and topic metadata.
    ///
    /// # Errors
    /// An unreadable profile, the SC connection failing, or an SC without the Watch API.
    pub async fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        let resolved = config.resolve()?;
        let connection = Arc::new(resolved.config.connection.clone());
        let target = Target {
            addr: resolved.endpoint.clone().into(),
            tls_prefix: None,
        };
        let sc = Connection::open(target, connection.clone()).await?;
        if sc.versions().range(WATCH_KEY).is_none() {
            return Err(ClientError::Config(format!(
                "{} does not advertise the Watch API: not a Fluvio SC (platform {})",
                resolved.endpoint,
                sc.versions().platform
            )));
        }
        tracing::info!(endpoint = %resolved.endpoint, source = ?resolved.source, platform = %sc.versions().platform, "connected to the SC");
        let (changes_tx, changes) = tokio::sync::watch::channel(0);
        let (topology_tx, topology) = tokio::sync::watch::channel(0);
        let actor = {
            let (sc, local, timeout) = (
                sc.clone(),
                resolved.config.use_spu_local_address,
                resolved.config.metadata_timeout,
            );
            runtime::start(move |_| {
                ClusterActor::new(sc, connection, local, timeout, changes_tx, topology_tx)
            })
        };
        Ok(Self {
            inner: Arc::new(Inner {
                sc,
                actor,
                changes,
                topology,
                endpoint: resolved.endpoint,
                source: resolved.source,
                config: resolved.config,
            }),
        })
    }

    /// The SC connection (admin requests go here).
    pub(crate) fn sc(&self) -> &Connection {
        &self.inner.sc
    }

    /// The SC connection, the pool's SPU connections and the metadata cache's levers, below
    /// the stable API (see [`low_level`](super::low_level)).
    pub fn low_level(&self) -> LowLevel<'_> {
        LowLevel(self)
    }

    /// The SC endpoint and where it came from.
    pub fn endpoint(&self) -> (&str, &EndpointSource) {
        (&self.inner.endpoint, &self.inner.source)
    }

    /// The resolved configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The leader SPU of `topic`/`partition`, waiting for metadata up to the metadata timeout.
    ///
    /// # Errors
    /// [`ClientError::TopicNotFound`], [`ClientError::PartitionNotFound`] or
    /// [`ClientError::MetadataTimeout`].
    pub async fn partition_leader(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<SpuTarget, ClientError> {
        self.find_leader(topic, partition, false).await
    }

    /// The leader of `topic`/`partition` as the SC reports it now: from a listing made after
    /// this call, never from the cache (call it after the cached leader failed: it moved, or
    /// restarted).
    ///
    /// # Errors
    /// As [`FluvioClient::partition_leader`]; a connection error at once while the SC is
    /// unreachable.
    pub async fn fresh_partition_leader(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<SpuTarget, ClientError> {
        self.find_leader(topic, partition, true).await
    }

    async fn find_leader(
        &self,
        topic: &str,
        partition: u32,
        fresh: bool,
    ) -> Result<SpuTarget, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .actor
            .send(FindLeader {
                topic: topic.to_owned(),
                partition,
                fresh,
                tx,
            })
            .await
            .map_err(|_| ClientError::Shutdown)?;
        rx.await.map_err(|_| ClientError::Shutdown)?
    }

    /// The connection to the leader of `topic`/`partition` (one shared connection per SPU).
    ///
    /// # Errors
    /// As [`FluvioClient::partition_leader`], or the SPU connection failing.
    pub(crate) async fn leader_connection(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<Connection, ClientError> {
        let target = self.partition_leader(topic, partition).await?;
        self.spu_connection(target).await
    }

    /// A connection of its own (outside the pool, no reconnect) to the SPU `target`. The
    /// SPU ends a stream only when its connection closes, so a stream that must not outlive
    /// its use (a SmartModule stream restarted to reset the chain's state) goes on one of
    /// these, closed with its last handle.
    ///
    /// # Errors
    /// The connection failing.
    pub(crate) async fn private_spu_connection(
        &self,
        target: SpuTarget,
    ) -> Result<Connection, ClientError> {
        let target = Target {
            addr: target.addr.into(),
            tls_prefix: Some(target.name),
        };
        let mut config = self.inner.config.connection.clone();
        config.reconnect.enabled = false;
        Ok(Connection::open(target, Arc::new(config)).await?)
    }

    /// Notified whenever SPU or partition metadata changes (a leader may have moved); the
    /// value is a change counter.
    pub fn metadata_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.clone()
    }

    /// Notified whenever topics or partitions come or go: a topic was created, deleted or
    /// recreated with another partition count, partitions were added, or the SC came back
    /// with other metadata. The value is a change counter; a producer re-reads a topic's
    /// partition count when it moved.
    pub fn topology_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.topology.clone()
    }

    /// The leader of `topic`/`partition` as the cache has it now (no waiting, no SC call).
    ///
    /// # Errors
    /// [`ClientError::Shutdown`].
    pub(crate) async fn cached_leader(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<Option<SpuTarget>, ClientError> {
        self.inner
            .actor
            .send(CachedLeader {
                topic: topic.to_owned(),
                partition,
            })
            .await
            .map_err(|_| ClientError::Shutdown)
    }

    /// The connection to the SPU `target`.
    ///
    /// # Errors
    /// The SPU connection failing.
    pub(crate) async fn spu_connection(
        &self,
        target: SpuTarget,
    ) -> Result<Connection, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .actor
            .send(SpuConnect { target, tx })
            .await
            .map_err(|_| ClientError::Shutdown)?;
        rx.await.map_err(|_| ClientError::Shutdown)?
    }

    /// How many partitions `topic` has.
    ///
    /// # Errors
    /// [`ClientError::TopicNotFound`] or [`ClientError::MetadataTimeout`].
    pub async fn partition_count(&self, topic: &str) -> Result<u32, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .actor
            .send(PartitionCount {
                topic: topic.to_owned(),
                tx,
            })
            .await
            .map_err(|_| ClientError::Shutdown)?;
        rx.await.map_err(|_| ClientError::Shutdown)?
    }

    /// The connection to the leader of the system topic that stores consumer offsets
    /// (`consumer-offset`, partition 0), where consumer-offset requests go.
    ///
    /// # Errors
    /// The topic missing, its leader offline, or a connection failure.
    pub(crate) async fn consumer_offset_connection(&self) -> Result<Connection, ClientError> {
        const TOPIC: &str = "consumer-offset";
        let name = format!("{TOPIC}-0");
        let request = ListRequest::<PartitionSpec>::new(vec![name.clone()]).with_system(true);
        let partitions = self.sc().request(&request).await?.objects;
        let leader = partitions
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.spec.leader)
            .ok_or_else(|| ClientError::TopicNotFound(TOPIC.into()))?;
        let local = self.inner.config.use_spu_local_address;
        let target = self.metadata().await?.spu(leader, local).ok_or_else(|| {
            ClientError::MetadataTimeout {
                what: format!("online SPU {leader} (leader of {name})"),
                timeout: self.inner.config.metadata_timeout,
            }
        })?;
        self.spu_connection(target).await
    }

    /// Whether the client's actors (the cluster supervisor and the SC connection) answer a
    /// message within `timeout`: they serve their mailboxes also while the SC is away.
    pub async fn actors_answer(&self, timeout: std::time::Duration) -> bool {
        let cluster = tokio::time::timeout(timeout, self.inner.actor.send(Ping));
        matches!(cluster.await, Ok(Ok(()))) && self.inner.sc.actor_answers(timeout).await
    }

    /// Re-read SPU and partition metadata now (call after a `NotLeader` error).
    pub(crate) fn refresh_metadata(&self) {
        self.inner.actor.do_send(Refresh);
    }

    /// A copy of the metadata cache.
    ///
    /// # Errors
    /// [`ClientError::Shutdown`].
    pub async fn metadata(&self) -> Result<MetadataCache, ClientError> {
        self.inner
            .actor
            .send(Snapshot)
            .await
            .map_err(|_| ClientError::Shutdown)
    }
}
