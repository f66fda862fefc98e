//! `ClusterActor`: owns the metadata cache (fed by the SC's watch streams) and the pool of
//! SPU connections, and answers leader lookups.
//!
//! ```text
//!   SC ──watch SPU/Partition/Topic──▶ ClusterActor ── MetadataCache
//!                                        │  FindLeader ─▶ SpuTarget (waits until known)
//!                                        └─ SpuConnect ─▶ Connection (one per SPU, shared)
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::error::ClientError;
use super::metadata::{Lookup, MetadataCache, SpuTarget, Store};
use crate::connection::transport::Target;
use crate::connection::{Connection, ConnectionConfig, ConnectionError};
use crate::protocol::sc::{
    ListRequest, ObjectSpec, PartitionSpec, SpuSpec, TopicSpec, WatchRequest, WatchResponse,
};

/// Delay before re-issuing a watch that ended (the SC connection reconnects meanwhile).
const REWATCH_DELAY: Duration = Duration::from_millis(500);

/// Object kinds the cache keeps.
pub(crate) trait CachedSpec: ObjectSpec + Unpin + 'static {
    fn store(cache: &mut MetadataCache) -> &mut Store<Self>;
}

impl CachedSpec for SpuSpec {
    fn store(cache: &mut MetadataCache) -> &mut Store<Self> {
        &mut cache.spus
    }
}

impl CachedSpec for PartitionSpec {
    fn store(cache: &mut MetadataCache) -> &mut Store<Self> {
        &mut cache.partitions
    }
}

impl CachedSpec for TopicSpec {
    fn store(cache: &mut MetadataCache) -> &mut Store<Self> {
        &mut cache.topics
    }
}

/// Find the leader of a partition, waiting up to the metadata timeout.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct FindLeader {
    pub(crate) topic: String,
    pub(crate) partition: u32,
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

/// A copy of the cache.
#[derive(Message)]
#[rtype(result = "MetadataCache")]
pub(crate) struct Snapshot;

enum Waiter {
    Leader {
        topic: String,
        partition: u32,
        tx: oneshot::Sender<Result<SpuTarget, ClientError>>,
    },
    Count {
        topic: String,
        tx: oneshot::Sender<Result<u32, ClientError>>,
    },
}

enum SpuSlot {
    Ready(Connection),
    Connecting(Vec<oneshot::Sender<Result<Connection, ClientError>>>),
}

pub(crate) struct ClusterActor {
    sc: Connection,
    connection: Arc<ConnectionConfig>,
    local_spus: bool,
    metadata_timeout: Duration,
    cache: MetadataCache,
    spus: HashMap<i32, SpuSlot>,
    /// Waiters with their deadline and whether a fresh listing confirmed what the cache says.
    waiters: Vec<(Instant, bool, Waiter)>,
    refreshing: bool,
}

impl ClusterActor {
    pub(crate) fn new(
        sc: Connection,
        connection: Arc<ConnectionConfig>,
        local_spus: bool,
        metadata_timeout: Duration,
    ) -> Self {
        Self {
            sc,
            connection,
            local_spus,
            metadata_timeout,
            cache: MetadataCache::default(),
            spus: HashMap::new(),
            waiters: Vec::new(),
            refreshing: false,
        }
    }

    fn watch<S: CachedSpec>(&mut self, ctx: &mut Context<Self>)
    where
        Self: StreamHandler<Result<WatchResponse<S>, ConnectionError>>,
    {
        let sc = self.sc.clone();
        let fut = async move { sc.stream(&WatchRequest::<S>::new()).await };
        ctx.spawn(fut.into_actor(self).map(|result, _, ctx| match result {
            Ok(stream) => {
                ctx.add_stream(stream);
            }
            Err(error) => {
                tracing::warn!(label = S::LABEL, %error, "cannot watch metadata; retrying");
                ctx.run_later(REWATCH_DELAY, |act, ctx| act.watch::<S>(ctx));
            }
        }));
    }

    /// Answer every waiter that can be answered; expire the ones past their deadline. The
    /// watched cache can lag behind a topic just created, so "does not exist" is only
    /// answered after a fresh listing from the SC confirms it.
    fn wake(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut need_refresh = false;
        let waiters = std::mem::take(&mut self.waiters);
        for (deadline, confirmed, waiter) in waiters {
            let keep = match waiter {
                Waiter::Leader {
                    topic,
                    partition,
                    tx,
                } => match self.cache.leader(&topic, partition, self.local_spus) {
                    Lookup::Found(target) => {
                        let _ = tx.send(Ok(target));
                        None
                    }
                    Lookup::Missing if confirmed => {
                        let _ = tx.send(Err(self.missing(&topic, partition)));
                        None
                    }
                    _ if now >= deadline => {
                        let what = format!("the leader of {topic}-{partition}");
                        let _ = tx.send(Err(self.timeout(what)));
                        None
                    }
                    lookup => {
                        need_refresh |= lookup == Lookup::Missing;
                        Some(Waiter::Leader {
                            topic,
                            partition,
                            tx,
                        })
                    }
                },
                Waiter::Count { topic, tx } => {
                    let missing =
                        self.cache.topics.is_synced() && self.cache.topics.get(&topic).is_none();
                    match self.cache.partition_count(&topic) {
                        Some(n) => {
                            let _ = tx.send(Ok(n));
                            None
                        }
                        None if missing && confirmed => {
                            let _ = tx.send(Err(ClientError::TopicNotFound(topic)));
                            None
                        }
                        None if now >= deadline => {
                            let _ = tx.send(Err(self.timeout(format!("topic '{topic}'"))));
                            None
                        }
                        None => {
                            need_refresh |= missing;
                            Some(Waiter::Count { topic, tx })
                        }
                    }
                }
            };
            if let Some(waiter) = keep {
                self.waiters.push((deadline, confirmed, waiter));
            }
        }
        if need_refresh {
            self.refresh(ctx);
        }
    }

    /// List SPUs, partitions and topics from the SC and replace the cache; then every
    /// waiter counts as confirmed.
    fn refresh(&mut self, ctx: &mut Context<Self>) {
        if self.refreshing {
            return;
        }
        self.refreshing = true;
        let sc = self.sc.clone();
        let fut = async move {
            let spus = sc.request(&ListRequest::<SpuSpec>::new(vec![])).await?;
            let partitions = sc
                .request(&ListRequest::<PartitionSpec>::new(vec![]))
                .await?;
            let topics = sc.request(&ListRequest::<TopicSpec>::new(vec![])).await?;
            Ok::<_, ConnectionError>((spus.objects, partitions.objects, topics.objects))
        };
        ctx.spawn(fut.into_actor(self).map(|result, act, ctx| {
            act.refreshing = false;
            match result {
                Ok((spus, partitions, topics)) => {
                    act.cache.spus.replace(spus);
                    act.cache.partitions.replace(partitions);
                    act.cache.topics.replace(topics);
                    for waiter in &mut act.waiters {
                        waiter.1 = true;
                    }
                }
                Err(error) => tracing::warn!(%error, "metadata refresh failed"),
            }
            act.wake(ctx);
        }));
    }

    fn missing(&self, topic: &str, partition: u32) -> ClientError {
        if self.cache.topics.get(topic).is_none() && self.cache.topics.is_synced() {
            ClientError::TopicNotFound(topic.to_owned())
        } else {
            ClientError::PartitionNotFound {
                topic: topic.to_owned(),
                partition,
            }
        }
    }

    fn timeout(&self, what: String) -> ClientError {
        ClientError::MetadataTimeout {
            what,
            timeout: self.metadata_timeout,
        }
    }

    fn spu_connected(&mut self, id: i32, result: Result<Connection, ClientError>) {
        let waiters = match self.spus.remove(&id) {
            Some(SpuSlot::Connecting(waiters)) => waiters,
            Some(SpuSlot::Ready(conn)) => {
                self.spus.insert(id, SpuSlot::Ready(conn));
                return;
            }
            None => Vec::new(),
        };
        if let Ok(conn) = &result {
            self.spus.insert(id, SpuSlot::Ready(conn.clone()));
        }
        for tx in waiters {
            let _ = tx.send(result.clone());
        }
    }
}

impl Actor for ClusterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.watch::<SpuSpec>(ctx);
        self.watch::<PartitionSpec>(ctx);
        self.watch::<TopicSpec>(ctx);
        ctx.run_interval(Duration::from_millis(200), |act, ctx| act.wake(ctx));
    }
}

impl<S: CachedSpec> StreamHandler<Result<WatchResponse<S>, ConnectionError>> for ClusterActor {
    fn handle(&mut self, item: Result<WatchResponse<S>, ConnectionError>, ctx: &mut Context<Self>) {
        match item {
            Ok(response) => {
                S::store(&mut self.cache).apply(response.update);
                self.wake(ctx);
            }
            Err(error) => tracing::warn!(label = S::LABEL, %error, "metadata watch ended"),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(REWATCH_DELAY, |act, ctx| act.watch::<S>(ctx));
    }
}

impl Handler<FindLeader> for ClusterActor {
    type Result = ();

    fn handle(&mut self, msg: FindLeader, ctx: &mut Context<Self>) {
        let deadline = Instant::now() + self.metadata_timeout;
        self.waiters.push((
            deadline,
            false,
            Waiter::Leader {
                topic: msg.topic,
                partition: msg.partition,
                tx: msg.tx,
            },
        ));
        self.wake(ctx);
    }
}

impl Handler<PartitionCount> for ClusterActor {
    type Result = ();

    fn handle(&mut self, msg: PartitionCount, ctx: &mut Context<Self>) {
        let deadline = Instant::now() + self.metadata_timeout;
        self.waiters.push((
            deadline,
            false,
            Waiter::Count {
                topic: msg.topic,
                tx: msg.tx,
            },
        ));
        self.wake(ctx);
    }
}

impl Handler<SpuConnect> for ClusterActor {
    type Result = ();

    fn handle(&mut self, msg: SpuConnect, ctx: &mut Context<Self>) {
        let id = msg.target.id;
        match self.spus.get_mut(&id) {
            Some(SpuSlot::Ready(conn)) if !conn.is_closed() && conn.addr() == msg.target.addr => {
                let _ = msg.tx.send(Ok(conn.clone()));
                return;
            }
            Some(SpuSlot::Connecting(waiters)) => {
                waiters.push(msg.tx);
                return;
            }
            _ => {}
        }
        self.spus.insert(id, SpuSlot::Connecting(vec![msg.tx]));
        let target = Target {
            addr: msg.target.addr.into(),
            tls_prefix: Some(msg.target.name),
        };
        let config = self.connection.clone();
        let fut = async move { Connection::open(target, config).await };
        ctx.spawn(fut.into_actor(self).map(move |result, act, _| {
            act.spu_connected(id, result.map_err(ClientError::from));
        }));
    }
}

impl Handler<Refresh> for ClusterActor {
    type Result = ();

    fn handle(&mut self, _: Refresh, ctx: &mut Context<Self>) {
        self.refresh(ctx);
    }
}

impl Handler<Shutdown> for ClusterActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.waiters.clear();
        self.spus.clear();
        ctx.stop();
    }
}

impl Handler<Snapshot> for ClusterActor {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _: Snapshot, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.cache.clone())
    }
}
