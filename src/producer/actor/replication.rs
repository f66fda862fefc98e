//! Waiting for replication instead of sending again: under read-committed acknowledgement
//! the leader answers `RequestTimedOut` when its replicas did not confirm the records within
//! the server timeout, though it stored them at the base offset it reports. Sending them
//! again would store them a second time, every server timeout, for as long as a follower is
//! slow or paused; so the producer asks the leader for its high watermark until it covers
//! the records (they are then acknowledged where the leader put them), each batch until its
//! own delivery deadline. Only when the leader cannot be asked (it died, or no longer leads)
//! are the records sent again, counted as possibly duplicated.

use std::time::Duration;

use actix::prelude::*;

use super::ProducerActor;
use crate::cluster::SpuTarget;
use crate::consumer::stream::offsets_in;
use crate::producer::accumulator::Sealed;
use crate::producer::config::DeliveryGuarantee;
use crate::producer::error::ProducerError;
use crate::protocol::spu::FetchOffsetsRequest;

/// First wait before asking the leader again; doubled per answer up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(1);

impl ProducerActor {
    /// `group` is stored on `target` from `base` on, not yet confirmed by the replicas
    /// (`error`, the `RequestTimedOut` answer). Ask again after the `step`th wait.
    pub(super) fn await_replication(
        &mut self,
        target: SpuTarget,
        group: Vec<Sealed>,
        base: i64,
        error: ProducerError,
        step: u32,
        ctx: &mut Context<Self>,
    ) {
        let policy = match &self.core.options.delivery {
            DeliveryGuarantee::AtLeastOnce(policy) => policy.clone(),
            DeliveryGuarantee::AtMostOnce => return self.settle_failed(group, error),
        };
        let records: i64 = group.iter().map(|s| i64::from(s.records)).sum();
        let Some(end) = base.checked_add(records) else {
            return self.acknowledged(group, base); // reports the overflow
        };
        let key = (group[0].topic.clone(), group[0].partition);
        for sealed in &group {
            sealed.slot.note_failure(&error);
        }
        let group = self.expire(group, &policy, &error);
        if group.is_empty() {
            return self.complete(&key);
        }
        if step == 0 {
            tracing::debug!(topic = %key.0, partition = key.1, base, end, "stored on the leader, not yet on its replicas; waiting for them");
        }
        // Asked until the youngest batch's deadline; the older ones expire on the way.
        let left = group
            .iter()
            .map(|s| s.time_left(&policy))
            .max()
            .unwrap_or_default();
        let wait = FIRST_POLL.saturating_mul(1 << step.min(5)).min(MAX_POLL);
        let client = self.core.client.clone();
        let (topic, partition) = (key.0.to_string(), key.1);
        let again = target.clone();
        let ask = async move {
            tokio::time::sleep(wait.min(left)).await;
            let conn = client
                .spu_connection(target)
                .await
                .map_err(|e| e.to_string())?;
            let timeout = conn.request_timeout().min(left).max(FIRST_POLL);
            let response = conn
                .request_within(&FetchOffsetsRequest::new(&topic, partition), timeout)
                .await
                .map_err(|e| e.to_string())?;
            offsets_in(&response, &topic, partition)
                .map(|(_, hw)| hw)
                .map_err(|e| e.to_string())
        };
        ctx.spawn(ask.into_actor(self).map(move |asked, act, ctx| {
            match asked {
                Ok(hw) if hw >= end => act.acknowledged(group, base),
                Ok(_) => act.await_replication(again, group, base, error, step + 1, ctx),
                Err(cause) => {
                    tracing::debug!(topic = %key.0, partition = key.1, %cause, "cannot ask the leader whether its replicas have the records; sending them again");
                    act.failed(group, error, ctx);
                }
            }
            act.unsettled.retain(|slot| !slot.is_settled());
            act.pump(ctx, false);
        }));
    }
}
