//! A leader lookup that failed: a partition that is gone (its topic was recreated with fewer
//! partitions) has its records moved to the partitions the topic has now, unless they were
//! sent to it explicitly; every other failure is retried or failed as usual.

use actix::prelude::*;

use super::ProducerActor;
use crate::cluster::ClientError;
use crate::producer::accumulator::Sealed;

impl ProducerActor {
    /// The leader of `group`'s partition could not be found.
    pub(super) fn lookup_failed(
        &mut self,
        group: Vec<Sealed>,
        error: ClientError,
        ctx: &mut Context<Self>,
    ) {
        let ClientError::PartitionNotFound { .. } = &error else {
            return self.failed(group, error.into(), ctx);
        };
        let (pinned, free): (Vec<_>, Vec<_>) = group.into_iter().partition(|s| s.pinned);
        if !pinned.is_empty() {
            // Sent to this partition on purpose: there is nowhere else for them to go.
            self.settle_failed(pinned, error.clone().into());
        }
        let Some(first) = free.first() else { return };
        let (topic, partition) = (first.topic.clone(), first.partition);
        let core = self.core.clone();
        let fut = async move { core.reread(&topic).await };
        ctx.spawn(fut.into_actor(self).map(move |read, act, ctx| {
            match read {
                Ok((_, count)) if partition >= count => {
                    let unreadable = act.core.reroute(free, count);
                    if !unreadable.is_empty() {
                        act.settle_failed(unreadable, error.into());
                    }
                }
                // The partition is back, or the topic cannot be read now: retried until the
                // delivery timeout.
                _ => act.failed(free, error.into(), ctx),
            }
            act.unsettled.retain(|slot| !slot.is_settled());
            act.pump(ctx, false);
        }));
    }
}
