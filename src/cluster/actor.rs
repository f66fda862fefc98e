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

/// Delay before re-issuing a watch that ended (the SC connection reconnects meanwhile);
/// doubled per failure up to [`MAX_RETRY_DELAY`].
const REWATCH_DELAY: Duration = Duration::from_millis(500);

/// Shortest time between two metadata listings after a failed one; doubled per failure up to
/// [`MAX_RETRY_DELAY`].
const REFRESH_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Longest wait between retries of a watch or a listing while the SC is away.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// `base` doubled `failures` times, at most [`MAX_RETRY_DELAY`].
fn backoff(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1 << failures.min(16))
        .min(MAX_RETRY_DELAY)
}

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

impl Waiter {
    fn fail(self, error: ClientError) {
        match self {
            Waiter::Leader { tx, .. } => {
                let _ = tx.send(Err(error));
            }
            Waiter::Count { tx, .. } => {
                let _ = tx.send(Err(error));
            }
        }
    }
}

/// A lookup waiting for metadata.
struct Pending {
    deadline: Instant,
    /// The first listing started after it came: "missing" is only answered from it on.
    since: u64,
    /// Answer "found" only from that listing on too (the cached leader failed the caller).
    fresh: bool,
    waiter: Waiter,
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
    waiters: Vec<Pending>,
    /// Listings started, and the number of the last one that succeeded.
    listings: u64,
    listed: u64,
    refreshing: bool,
    /// Another listing is wanted once the current one (or the retry delay) is over.
    refresh_again: bool,
    /// Listings failed in a row (the SC is away): they are retried with backoff.
    refresh_failures: u32,
    /// Failures in a row of each kind's watch (it is resumed with backoff).
    watch_failures: HashMap<&'static str, u32>,
    /// Bumped whenever SPU or partition metadata changes (leaders may have moved).
    changes: tokio::sync::watch::Sender<u64>,
}

impl ClusterActor {
    pub(crate) fn new(
        sc: Connection,
        connection: Arc<ConnectionConfig>,
        local_spus: bool,
        metadata_timeout: Duration,
        changes: tokio::sync::watch::Sender<u64>,
    ) -> Self {
        Self {
            sc,
            connection,
            local_spus,
            metadata_timeout,
            cache: MetadataCache::default(),
            spus: HashMap::new(),
            waiters: Vec::new(),
            listings: 0,
            listed: 0,
            refreshing: false,
            refresh_again: false,
            refresh_failures: 0,
            watch_failures: HashMap::new(),
            changes,
        }
    }

    fn watch<S: CachedSpec>(&mut self, ctx: &mut Context<Self>)
    where
        Self: StreamHandler<Result<WatchResponse<S>, ConnectionError>>,
    {
        let sc = self.sc.clone();
        let fut = async move { sc.stream(&WatchRequest::<S>::new()).await };
        ctx.spawn(fut.into_actor(self).map(|result, act, ctx| match result {
            Ok(stream) => {
                ctx.add_stream(stream);
            }
            Err(error) => {
                act.watch_failed::<S>(&error);
                act.rewatch::<S>(ctx);
            }
        }));
    }

    /// A watch of `S` failed: a warning when the outage starts, debug after.
    fn watch_failed<S: CachedSpec>(&mut self, error: &ConnectionError) {
        let failures = self.watch_failures.entry(S::LABEL).or_default();
        if *failures == 0 {
            tracing::warn!(label = S::LABEL, %error, "metadata watch lost; resuming with backoff");
        } else {
            tracing::debug!(label = S::LABEL, %error, failures = *failures, "metadata watch not resumed yet");
        }
        *failures += 1;
    }

    /// Watch `S` again after the backoff its failures call for.
    fn rewatch<S: CachedSpec>(&mut self, ctx: &mut Context<Self>)
    where
        Self: StreamHandler<Result<WatchResponse<S>, ConnectionError>>,
    {
        let failures = self.watch_failures.get(S::LABEL).copied().unwrap_or(0);
        let delay = backoff(REWATCH_DELAY, failures.saturating_sub(1));
        ctx.run_later(delay, |act, ctx| act.watch::<S>(ctx));
    }

    /// Answer every waiter that can be answered; expire the ones past their deadline. The
    /// watched cache can lag behind a topic just created, so "does not exist" is only
    /// answered after a listing from the SC confirms it; a fresh lookup only from a listing
    /// newer than itself.
    fn wake(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut need_refresh = false;
        for pending in std::mem::take(&mut self.waiters) {
            let listed = self.listed >= pending.since;
            match self.answer(pending.waiter, listed, listed || !pending.fresh) {
                None => {}
                Some(waiter) if now >= pending.deadline => {
                    let what = match &waiter {
                        Waiter::Leader {
                            topic, partition, ..
                        } => format!("the leader of {topic}-{partition}"),
                        Waiter::Count { topic, .. } => format!("topic '{topic}'"),
                    };
                    waiter.fail(self.timeout(what));
                }
                Some(waiter) => {
                    need_refresh |= !listed;
                    self.waiters.push(Pending { waiter, ..pending });
                }
            }
        }
        if need_refresh {
            self.refresh(ctx);
        }
    }

    /// Answer `waiter` if the cache can (`listed`: a listing since the waiter came confirmed
    /// the cache; `current`: a leader found may be answered); else give it back.
    fn answer(&self, waiter: Waiter, listed: bool, current: bool) -> Option<Waiter> {
        match waiter {
            Waiter::Leader {
                topic,
                partition,
                tx,
            } => match self.cache.leader(&topic, partition, self.local_spus) {
                Lookup::Found(target) if current => {
                    let _ = tx.send(Ok(target));
                    None
                }
                Lookup::Missing if listed => {
                    let _ = tx.send(Err(self.missing(&topic, partition)));
                    None
                }
                _ => Some(Waiter::Leader {
                    topic,
                    partition,
                    tx,
                }),
            },
            Waiter::Count { topic, tx } => {
                let missing =
                    self.cache.topics.is_synced() && self.cache.topics.get(&topic).is_none();
                match self.cache.partition_count(&topic) {
                    Some(n) => {
                        let _ = tx.send(Ok(n));
                        None
                    }
                    None if missing && listed => {
                        let _ = tx.send(Err(ClientError::TopicNotFound(topic)));
                        None
                    }
                    None => Some(Waiter::Count { topic, tx }),
                }
            }
        }
    }

    /// List SPUs, partitions and topics from the SC and replace the cache. One listing at a
    /// time; while the SC is away, listings are retried with backoff, and the lookups that
    /// need one fail at once with the connection error instead of waiting out their timeout.
    fn refresh(&mut self, ctx: &mut Context<Self>) {
        if self.refreshing {
            self.refresh_again = true;
            return;
        }
        self.refreshing = true;
        self.refresh_again = false;
        self.listings += 1;
        let listing = self.listings;
        let delay = match self.refresh_failures {
            0 => Duration::ZERO,
            n => backoff(REFRESH_RETRY_DELAY, n - 1),
        };
        let sc = self.sc.clone();
        let fut = async move {
            tokio::time::sleep(delay).await;
            let spus = sc.request(&ListRequest::<SpuSpec>::new(vec![])).await?;
            let partitions = sc
                .request(&ListRequest::<PartitionSpec>::new(vec![]))
                .await?;
            let topics = sc.request(&ListRequest::<TopicSpec>::new(vec![])).await?;
            Ok::<_, ConnectionError>((spus.objects, partitions.objects, topics.objects))
        };
        ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| {
            act.refreshing = false;
            match result {
                Ok((spus, partitions, topics)) => {
                    if act.refresh_failures > 0 {
                        tracing::info!(failures = act.refresh_failures, "metadata listing works again");
                    }
                    act.refresh_failures = 0;
                    act.cache.spus.replace(spus);
                    act.cache.partitions.replace(partitions);
                    act.cache.topics.replace(topics);
                    act.listed = listing;
                    act.changes.send_modify(|n| *n += 1);
                }
                Err(error) => {
                    if act.refresh_failures == 0 {
                        tracing::warn!(%error, "metadata listing failed; lookups that need the SC fail until it answers");
                    }
                    act.refresh_failures += 1;
                    act.fail_unlisted(listing, &error);
                }
            }
            act.wake(ctx);
            if act.refresh_again {
                act.refresh(ctx);
            }
        }));
    }

    /// The SC did not answer listing `listing`: the waiters that need a listing up to it
    /// fail now (retriable) rather than hang until their deadline.
    fn fail_unlisted(&mut self, listing: u64, error: &ConnectionError) {
        let (failed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|p| p.since <= listing && p.since > self.listed);
        self.waiters = kept;
        for pending in failed {
            pending.waiter.fail(ClientError::Connection(error.clone()));
        }
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
                if let Some(failures) = self.watch_failures.remove(S::LABEL) {
                    tracing::info!(label = S::LABEL, failures, "metadata watch resumed");
                }
                S::store(&mut self.cache).apply(response.update);
                if S::LABEL != TopicSpec::LABEL {
                    self.changes.send_modify(|n| *n += 1);
                }
                self.wake(ctx);
            }
            Err(error) => self.watch_failed::<S>(&error),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The resumed watch's first answer is a full snapshot: the cache resyncs.
        self.rewatch::<S>(ctx);
    }
}

impl Handler<FindLeader> for ClusterActor {
    type Result = ();

    fn handle(&mut self, msg: FindLeader, ctx: &mut Context<Self>) {
        self.waiters.push(Pending {
            deadline: Instant::now() + self.metadata_timeout,
            since: self.listings + 1,
            fresh: msg.fresh,
            waiter: Waiter::Leader {
                topic: msg.topic,
                partition: msg.partition,
                tx: msg.tx,
            },
        });
        self.wake(ctx);
    }
}

impl Handler<PartitionCount> for ClusterActor {
    type Result = ();

    fn handle(&mut self, msg: PartitionCount, ctx: &mut Context<Self>) {
        self.waiters.push(Pending {
            deadline: Instant::now() + self.metadata_timeout,
            since: self.listings + 1,
            fresh: false,
            waiter: Waiter::Count {
                topic: msg.topic,
                tx: msg.tx,
            },
        });
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

impl Handler<CachedLeader> for ClusterActor {
    type Result = MessageResult<CachedLeader>;

    fn handle(&mut self, msg: CachedLeader, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            match self
                .cache
                .leader(&msg.topic, msg.partition, self.local_spus)
            {
                Lookup::Found(target) => Some(target),
                _ => None,
            },
        )
    }
}

impl Handler<Ping> for ClusterActor {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

impl Handler<Snapshot> for ClusterActor {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _: Snapshot, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.cache.clone())
    }
}
