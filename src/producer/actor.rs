//! `ProducerActor`: drains the accumulator, groups ready batches by leader SPU into produce
//! requests, settles records on acknowledgement, retries, lingers and drains on stop.
//!
//! ```text
//!  send/enqueue ──push──▶ Accumulator ◀──drain── ProducerActor ──ProduceRequest per SPU──▶ SPU
//!       ▲   (Wake once per batch)                   │
//!       └──────────── BatchSlot (base offset) ◀─────┘◀── ProduceResponse / retry / fail
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::accumulator::{PartitionKey, Sealed};
use super::config::DeliveryGuarantee;
use super::core::Core;
use super::dropped::Burst;
use super::error::ProducerError;
use super::slot::BatchSlot;
use crate::cluster::SpuTarget;
use crate::connection::ConnectionError;
use crate::protocol::record::RecordSet;
use crate::protocol::spu::ProduceRequest;

mod close;
mod moved;
mod replication;
mod settle;
mod spans;

pub(crate) use close::Close;
use spans::{produce_span, record_produce_outcome};

/// Records were buffered: look for work.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Wake;

/// Seal everything now; answer with every unsettled batch.
#[derive(Message)]
#[rtype(result = "Vec<Arc<BatchSlot>>")]
pub(crate) struct FlushNow;

/// The actor behind a [`super::Producer`].
pub struct ProducerActor {
    core: Arc<Core>,
    leaders: HashMap<PartitionKey, SpuTarget>,
    /// Every batch taken out of the accumulator and not settled yet: in flight, waiting for
    /// its leader, or waiting to be retried. Flush, close and drain wait for all of them.
    unsettled: Vec<Arc<BatchSlot>>,
    /// Partitions whose cached leader failed: their next lookup asks the SC.
    stale: HashSet<PartitionKey>,
    timer: Option<SpawnHandle>,
    closing_since: Option<Instant>,
    /// Stopped for good (idle once closing, or at the drain deadline, or dropped): nothing is
    /// sent any more, whatever was scheduled before.
    done: bool,
    /// A flush is waiting: seal open batches as soon as their partition is free.
    flushing: bool,
    /// Each topic's produced-records and produced-bytes counters, registered once.
    produced: HashMap<Arc<str>, (metrics::Counter, metrics::Counter)>,
    /// When failed records were last logged (one line per burst).
    failed: Burst,
}

impl std::fmt::Debug for ProducerActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerActor")
            .field("unsettled", &self.unsettled.len())
            .finish()
    }
}

impl ProducerActor {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            leaders: HashMap::new(),
            unsettled: Vec::new(),
            stale: HashSet::new(),
            produced: HashMap::new(),
            failed: Burst::default(),
            timer: None,
            closing_since: None,
            done: false,
            flushing: false,
        }
    }

    pub(crate) fn core(&self) -> Arc<Core> {
        self.core.clone()
    }

    /// Send whatever is ready; schedule the next linger deadline.
    fn pump(&mut self, ctx: &mut Context<Self>, force: bool) {
        if self.done {
            return;
        }
        let force = force || self.flushing || self.closing_since.is_some();
        let now = Instant::now();
        let groups = {
            let mut acc = self.core.acc.lock().unwrap_or_else(|e| e.into_inner());
            let groups = acc.drain(now, force);
            if self.flushing && acc.is_idle() && groups.is_empty() {
                self.flushing = false;
            }
            groups
        };
        let mut by_spu: HashMap<i32, (SpuTarget, Vec<Vec<Sealed>>)> = HashMap::new();
        let mut unknown = Vec::new();
        for group in groups {
            // Retried batches are already counted.
            let fresh = group.iter().filter(|s| s.attempts == 0);
            self.unsettled.extend(fresh.map(|s| s.slot.clone()));
            let key: PartitionKey = (group[0].topic.clone(), group[0].partition);
            match self.leaders.get(&key) {
                Some(target) => by_spu
                    .entry(target.id)
                    .or_insert_with(|| (target.clone(), Vec::new()))
                    .1
                    .push(group),
                None => unknown.push((key, group)),
            }
        }
        for (key, group) in unknown {
            self.lookup_then_send(key, group, ctx);
        }
        for (_, (target, groups)) in by_spu {
            self.send(target, groups, ctx);
        }
        self.schedule_linger(ctx);
    }

    fn schedule_linger(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        let deadline = self
            .core
            .acc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_deadline();
        if let Some(deadline) = deadline {
            let delay = deadline.saturating_duration_since(Instant::now());
            self.timer = Some(ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                act.pump(ctx, false);
            }));
        }
    }

    /// Find the partition's leader, then send the group there.
    fn lookup_then_send(
        &mut self,
        key: PartitionKey,
        mut group: Vec<Sealed>,
        ctx: &mut Context<Self>,
    ) {
        let client = self.core.client.clone();
        let (topic, partition) = key.clone();
        let fresh = self.stale.remove(&key);
        // A lookup may wait for a leader to come online, but not past the youngest batch's
        // delivery deadline; older ones fail at theirs meanwhile (`expire_while_waiting`).
        let left = match &self.core.options.delivery {
            DeliveryGuarantee::AtLeastOnce(policy) => {
                self.expire_while_waiting(&mut group, policy, ctx);
                group
                    .iter()
                    .map(|s| s.time_left(policy))
                    .max()
                    .unwrap_or_default()
            }
            DeliveryGuarantee::AtMostOnce => Duration::MAX,
        };
        let fut = async move {
            let lookup = async {
                if fresh {
                    client.fresh_partition_leader(&topic, partition).await
                } else {
                    client.partition_leader(&topic, partition).await
                }
            };
            match tokio::time::timeout(left, lookup).await {
                Ok(result) => result.map_err(|e| (e, false)),
                // The oldest batch's delivery deadline passed while waiting.
                Err(_) => Err((
                    crate::cluster::ClientError::MetadataTimeout {
                        what: format!("the leader of {topic}-{partition}"),
                        timeout: left,
                    },
                    true,
                )),
            }
        };
        ctx.spawn(
            fut.into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(target) => {
                        act.leaders.insert(key, target.clone());
                        act.send(target, vec![group], ctx);
                    }
                    Err((error, cut)) => {
                        let mut group = group;
                        for sealed in &mut group {
                            sealed.attempts += 1;
                        }
                        if cut {
                            // Not a failure of its own: the batches that timed out report
                            // the failure that made them wait.
                            act.retry_or_fail(group, error.into(), false, ctx);
                        } else {
                            act.lookup_failed(group, error, ctx);
                        }
                        // Failed for good, the partition is free: its next batches go now
                        // (nothing else would send them).
                        act.unsettled.retain(|slot| !slot.is_settled());
                        act.pump(ctx, false);
                    }
                }),
        );
    }

    /// One produce request per `max_request_size` worth of partition groups.
    fn send(&mut self, target: SpuTarget, groups: Vec<Vec<Sealed>>, ctx: &mut Context<Self>) {
        let max = self.core.options.max_request_size;
        let mut request_groups: Vec<Vec<Sealed>> = Vec::new();
        let mut bytes = 0;
        for group in groups {
            let size: usize = group.iter().map(Sealed::encoded_len).sum();
            if !request_groups.is_empty() && bytes + size > max {
                self.send_request(target.clone(), std::mem::take(&mut request_groups), ctx);
                bytes = 0;
            }
            bytes += size;
            request_groups.push(group);
        }
        if !request_groups.is_empty() {
            self.send_request(target, request_groups, ctx);
        }
    }

    fn send_request(
        &mut self,
        target: SpuTarget,
        mut groups: Vec<Vec<Sealed>>,
        ctx: &mut Context<Self>,
    ) {
        if self.done {
            // Settled when the actor stopped (a lookup or retry that was under way).
            return;
        }
        let core = self.core.clone();
        let options = &core.options;
        let mut request = ProduceRequest::new(options.isolation, options.server_timeout);
        let mut failed = Vec::new();
        groups.retain_mut(|group| {
            let mut batches = Vec::with_capacity(group.len());
            for sealed in group.iter_mut() {
                if sealed.batch.is_none() {
                    if let Some(builder) = sealed.builder.take() {
                        match builder.build(options.compression) {
                            Ok(batch) => sealed.batch = Some(batch),
                            Err(e) => {
                                failed.push((
                                    std::mem::take(group),
                                    ProducerError::Client(
                                        crate::connection::ConnectionError::Encode(e).into(),
                                    ),
                                ));
                                return false;
                            }
                        }
                    }
                }
                batches.extend(sealed.batch.clone());
                sealed.attempts += 1;
            }
            request.push(&group[0].topic, group[0].partition, RecordSet::new(batches));
            true
        });
        let encode_failed = !failed.is_empty();
        for (group, error) in failed {
            self.settle_failed(group, error);
        }
        if groups.is_empty() {
            if encode_failed {
                // Their partitions are free: send what waits behind them.
                self.unsettled.retain(|slot| !slot.is_settled());
                ctx.notify(Wake);
            }
            return;
        }
        let span = produce_span(&groups);
        let client = self.core.client.clone();
        // No answer is awaited past the last delivery deadline of the request's batches;
        // each batch is reported at its own deadline, not a request timeout later, and the
        // oldest batch's deadline does not cut short the wait of the younger ones.
        let deadline = match &options.delivery {
            DeliveryGuarantee::AtLeastOnce(policy) => {
                for group in &mut groups {
                    self.expire_while_waiting(group, policy, ctx);
                }
                groups
                    .iter()
                    .flatten()
                    .map(|s| Instant::now() + s.time_left(policy))
                    .max()
            }
            DeliveryGuarantee::AtMostOnce => None,
        };
        let spu = target.clone();
        let fut = async move {
            let connect = client.spu_connection(spu.clone());
            let conn = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline.into(), connect)
                    .await
                    .map_err(|_| ConnectionError::ConnectTimeout {
                        addr: spu.addr.as_str().into(),
                        timeout: deadline.saturating_duration_since(Instant::now()),
                    })??,
                None => connect.await?,
            };
            let timeout = match deadline {
                Some(deadline) => conn
                    .request_timeout()
                    .min(deadline.saturating_duration_since(Instant::now())),
                None => conn.request_timeout(),
            };
            Ok::<_, ProducerError>(conn.request_within(&request, timeout).await?)
        };
        let fut = tracing::Instrument::instrument(fut, span.clone());
        ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| {
            record_produce_outcome(&span, &groups, &result);
            act.answered(&target, groups, result, ctx);
            act.unsettled.retain(|slot| !slot.is_settled());
            act.pump(ctx, false);
        }));
    }
}

impl Handler<Wake> for ProducerActor {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Context<Self>) {
        self.pump(ctx, false);
    }
}

impl Handler<FlushNow> for ProducerActor {
    type Result = MessageResult<FlushNow>;

    fn handle(&mut self, _: FlushNow, ctx: &mut Context<Self>) -> Self::Result {
        let mut slots = self
            .core
            .acc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pending_slots();
        self.unsettled.retain(|slot| !slot.is_settled());
        slots.extend(self.unsettled.iter().cloned());
        self.flushing = true;
        self.pump(ctx, true);
        MessageResult(slots)
    }
}
