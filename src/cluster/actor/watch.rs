//! The SC's watch streams feeding the metadata cache, resumed with backoff.

use actix::prelude::*;

use super::{backoff, ClusterActor, REWATCH_DELAY};
use crate::cluster::metadata::{MetadataCache, Store};
use crate::connection::ConnectionError;
use crate::protocol::sc::{
    MetadataUpdate, ObjectSpec, PartitionSpec, SpuSpec, TopicSpec, WatchRequest, WatchResponse,
};

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

impl ClusterActor {
    pub(super) fn watch<S: CachedSpec>(&mut self, ctx: &mut Context<Self>)
    where
        Self: StreamHandler<Result<WatchResponse<S>, ConnectionError>>,
    {
        let sc = self.sc.clone();
        let fut = async move { sc.stream(&WatchRequest::<S>::new()).await };
        ctx.spawn(fut.into_actor(self).map(|result, act, ctx| match result {
            Ok(stream) => {
                act.awaiting_snapshot.insert(S::LABEL);
                ctx.add_stream(stream);
            }
            Err(error) => {
                act.watch_failed::<S>(&error);
                act.rewatch::<S>(ctx);
            }
        }));
    }

    /// Apply one frame of `S`'s watch; whether objects came or went. A stream's first frame
    /// is the SC's full snapshot: it replaces the store even when empty (an SC restarted
    /// with no state), where a later empty frame changes nothing.
    fn apply_frame<S: CachedSpec>(&mut self, update: MetadataUpdate<S>) -> bool {
        let store = S::store(&mut self.cache);
        if !self.awaiting_snapshot.remove(S::LABEL) {
            return store.apply(update);
        }
        let mut membership = store.sync(update.all);
        if !update.changes.is_empty() {
            membership |= store.apply(MetadataUpdate {
                all: Vec::new(),
                ..update
            });
        }
        membership
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
}

impl<S: CachedSpec> StreamHandler<Result<WatchResponse<S>, ConnectionError>> for ClusterActor {
    fn handle(&mut self, item: Result<WatchResponse<S>, ConnectionError>, ctx: &mut Context<Self>) {
        match item {
            Ok(response) => {
                if let Some(failures) = self.watch_failures.remove(S::LABEL) {
                    tracing::info!(label = S::LABEL, failures, "metadata watch resumed");
                }
                let membership = self.apply_frame::<S>(response.update);
                if S::LABEL != TopicSpec::LABEL {
                    self.changes.send_modify(|n| *n += 1);
                }
                if membership && S::LABEL != SpuSpec::LABEL {
                    self.topology.send_modify(|n| *n += 1);
                }
                if S::LABEL == SpuSpec::LABEL {
                    self.close_departed_spus();
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
