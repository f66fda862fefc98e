//! `ClusterActor`: owns the metadata cache (fed by the SC's watch streams) and the pool of
//! SPU connections, and answers leader lookups.
//!
//! ```text
//!   SC ──watch SPU/Partition/Topic──▶ ClusterActor ── MetadataCache
//!                                        │  FindLeader ─▶ SpuTarget (waits until known)
//!                                        └─ SpuConnect ─▶ Connection (one per SPU, shared)
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::error::ClientError;
use super::metadata::{Lookup, MetadataCache};
use crate::connection::transport::Target;
use crate::connection::{Connection, ConnectionConfig, ConnectionError};
use crate::protocol::sc::{ListRequest, PartitionSpec, SpuSpec, TopicSpec};

mod messages;
mod pool;
mod waiters;
mod watch;

pub(crate) use messages::{
    CachedLeader, FindLeader, PartitionCount, Ping, Refresh, Shutdown, Snapshot, SpuConnect,
};
use pool::SpuSlot;
use waiters::{Pending, Waiter};

/// Delay before re-issuing a watch that ended (the SC connection reconnects meanwhile);
/// doubled per failure up to [`MAX_RETRY_DELAY`].
const REWATCH_DELAY: Duration = Duration::from_millis(500);

/// Shortest time between two metadata listings after a failed one; doubled per failure up to
/// [`MAX_RETRY_DELAY`].
const REFRESH_RETRY_DELAY: Duration = Duration::from_millis(100);

/// How often pending lookups are checked against their deadlines (answers come sooner:
/// each metadata frame and listing wakes them).
const WAITER_TICK: Duration = Duration::from_millis(200);

/// Longest wait between retries of a watch or a listing while the SC is away.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// `base` doubled `failures` times, at most [`MAX_RETRY_DELAY`].
fn backoff(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1 << failures.min(16))
        .min(MAX_RETRY_DELAY)
}

pub(crate) struct ClusterActor {
    sc: Connection,
    connection: Arc<ConnectionConfig>,
    local_spus: bool,
    metadata_timeout: Duration,
    cache: MetadataCache,
    spus: HashMap<i32, SpuSlot>,
    waiters: Vec<Pending>,
    /// A [`WAITER_TICK`] is scheduled: waiters are checked against their deadlines while
    /// there are any, and nothing wakes the actor while there are none.
    ticking: bool,
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
    /// Bumped whenever topics or partitions come or go (a partition count may have changed).
    topology: tokio::sync::watch::Sender<u64>,
    /// Object kinds whose watch was (re)opened: their next frame is a full snapshot, even
    /// an empty one.
    awaiting_snapshot: HashSet<&'static str>,
}

impl ClusterActor {
    pub(crate) fn new(
        sc: Connection,
        connection: Arc<ConnectionConfig>,
        local_spus: bool,
        metadata_timeout: Duration,
        changes: tokio::sync::watch::Sender<u64>,
        topology: tokio::sync::watch::Sender<u64>,
    ) -> Self {
        Self {
            sc,
            connection,
            local_spus,
            metadata_timeout,
            cache: MetadataCache::default(),
            spus: HashMap::new(),
            waiters: Vec::new(),
            ticking: false,
            listings: 0,
            listed: 0,
            refreshing: false,
            refresh_again: false,
            refresh_failures: 0,
            watch_failures: HashMap::new(),
            changes,
            topology,
            awaiting_snapshot: HashSet::new(),
        }
    }

    /// Answer every waiter that can be answered; expire the ones past their deadline. The
    /// watched cache can lag behind a topic just created, so "does not exist" is only
    /// answered after a listing from the SC confirms it; a fresh lookup only from a listing
    /// newer than itself.
    fn wake(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut need_refresh = false;
        // While the SC does not answer, a lookup that distrusts the cache (its leader just
        // failed the caller) gets the cached leader anyway: a hiccup of a healthy SPU must
        // not block its partitions until the SC is back. An SPU that no longer leads says so
        // (`NotLeader`), and the caller asks again.
        let sc_away = self.refresh_failures > 0;
        for pending in std::mem::take(&mut self.waiters) {
            let listed = self.listed >= pending.since;
            let answered = pending.waiter.answer(
                &self.cache,
                self.local_spus,
                listed,
                listed || !pending.fresh || sc_away,
            );
            match answered {
                None => {}
                Some(waiter) if now >= pending.deadline => {
                    let what = waiter.what();
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
        if !self.waiters.is_empty() && !self.ticking {
            self.ticking = true;
            ctx.run_later(WAITER_TICK, |act, ctx| {
                act.ticking = false;
                act.wake(ctx);
            });
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
                    let partitions = act.cache.partitions.replace(partitions);
                    let topics = act.cache.topics.replace(topics);
                    act.listed = listing;
                    act.changes.send_modify(|n| *n += 1);
                    if partitions || topics {
                        act.topology.send_modify(|n| *n += 1);
                    }
                    act.close_departed_spus();
                }
                Err(error) => {
                    if act.refresh_failures == 0 {
                        tracing::warn!(%error, "metadata listing failed; lookups that need the SC fail until it answers");
                    }
                    act.refresh_failures += 1;
                    act.wake(ctx);
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
    /// fail now (retriable) rather than hang until their deadline. (`wake` has answered
    /// those the cache can: the SC is away.)
    fn fail_unlisted(&mut self, listing: u64, error: &ConnectionError) {
        let (failed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|p| p.since <= listing && p.since > self.listed);
        self.waiters = kept;
        for pending in failed {
            pending.waiter.fail(ClientError::Connection(error.clone()));
        }
    }

    fn timeout(&self, what: String) -> ClientError {
        ClientError::MetadataTimeout {
            what,
            timeout: self.metadata_timeout,
        }
    }
}

impl Actor for ClusterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.watch::<SpuSpec>(ctx);
        self.watch::<PartitionSpec>(ctx);
        self.watch::<TopicSpec>(ctx);
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
