//! Closing: new records are refused at once, what is buffered or in flight is sent, and the
//! actor stops once idle or at the drain deadline, failing what is left. Stopped means
//! stopped: nothing is sent after that (retries scheduled, replication polls and leader
//! lookups under way are dropped with the actor), and an actor dropped without closing (its
//! actix System stopped) fails every record it still had instead of leaving it pending.

use std::time::{Duration, Instant};

use actix::prelude::*;

use super::ProducerActor;
use crate::producer::error::ProducerError;

/// Flush, then stop once idle (or at the drain deadline).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Close;

/// How often a closing actor looks whether it is idle or past its drain deadline.
const CHECK_EVERY: Duration = Duration::from_millis(10);

impl ProducerActor {
    /// Refuse new records and send everything buffered now; the first call starts the
    /// checks that stop the actor.
    fn begin_close(&mut self, ctx: &mut Context<Self>) {
        self.core.close();
        let first = self.closing_since.is_none();
        if first {
            self.closing_since = Some(Instant::now());
        }
        self.pump(ctx, true);
        if first {
            self.check_closed(ctx);
        }
    }

    fn idle(&self) -> bool {
        self.unsettled.iter().all(|s| s.is_settled())
            && self
                .core
                .acc
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_idle()
    }

    /// While closing: stop once idle, or fail what is left at the deadline.
    fn check_closed(&mut self, ctx: &mut Context<Self>) {
        let Some(since) = self.closing_since else {
            return;
        };
        if self.done {
            return;
        }
        if self.idle() {
            self.done = true;
            ctx.stop();
            return;
        }
        if since.elapsed() >= self.core.options.drain_deadline {
            self.fail_all(ProducerError::DrainDeadline(
                self.core.options.drain_deadline,
            ));
            ctx.stop();
            return;
        }
        ctx.run_later(CHECK_EVERY, |act, ctx| act.check_closed(ctx));
    }

    /// Stop for good: refuse new records, fail every buffered or unsettled one with `error`.
    /// Whatever was scheduled before (a retry, a lookup, a replication poll) sends nothing.
    fn fail_all(&mut self, error: ProducerError) {
        self.done = true;
        self.core.close();
        let left = self
            .core
            .acc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_all();
        for sealed in left {
            // Counted per batch: they may be of several partitions.
            self.settle_failed(vec![sealed], error.clone());
        }
        for slot in self.unsettled.drain(..) {
            slot.settle(Err(error.clone()));
        }
    }
}

impl Actor for ProducerActor {
    type Context = Context<Self>;

    fn stopping(&mut self, ctx: &mut Context<Self>) -> Running {
        self.core.close();
        if tokio::runtime::Handle::try_current().is_err() {
            // Dropped with its runtime (its System stopped): nothing can be sent any more,
            // and no timer can be set to wait for it.
            self.fail_all(ProducerError::Closed);
        }
        if self.done || self.idle() {
            self.done = true;
            return Running::Stop;
        }
        // Once: actix asks again on every poll while the mailbox is gone.
        if self.closing_since.is_none() {
            self.begin_close(ctx);
        }
        Running::Continue
    }
}

impl Drop for ProducerActor {
    /// Its System stopped (or its arbiter went) with records unsettled: they fail now.
    fn drop(&mut self) {
        // A no-op after a stop once idle or at the drain deadline.
        self.fail_all(ProducerError::Closed);
    }
}

impl Handler<Close> for ProducerActor {
    type Result = ();

    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        self.begin_close(ctx);
    }
}
