//! Fire-and-forget records ([`super::ProduceRecord`]) that were not delivered: nobody waits
//! for them, so the producer reports them itself. Each is counted in
//! [`telemetry::PRODUCER_RECORDS_DROPPED`] (by topic and the error's `code`), refused when
//! queued or failed later; and each burst of them writes one log line, not one per record.
//!
//! Deliveries are watched once per batch, not once per record: the records a
//! `ProduceRecord` queued in the same batch share one watcher.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::ProducerError;
use super::slot::DeliveryFuture;
use crate::telemetry;

/// A burst ends after this long without a dropped record: the next one logs again.
const QUIET: Duration = Duration::from_secs(10);
/// In a burst that goes on, a line at most this often (with what was dropped since).
const REMIND: Duration = Duration::from_secs(60);

/// When to write a line about dropped records: at the first of a burst, then at most every
/// [`REMIND`] while it lasts. Pure: fed the time.
#[derive(Debug, Default)]
pub(crate) struct Burst {
    last_drop: Option<Instant>,
    last_line: Option<Instant>,
    /// Dropped since the last line.
    unlogged: u64,
}

impl Burst {
    /// `records` were dropped at `now`: `Some(earlier)` when a line is due, `earlier` being
    /// the records dropped since the previous line and not reported by it.
    pub(crate) fn note(&mut self, now: Instant, records: u64) -> Option<u64> {
        let fresh = self
            .last_drop
            .is_none_or(|t| now.saturating_duration_since(t) >= QUIET);
        let remind = self
            .last_line
            .is_some_and(|t| now.saturating_duration_since(t) >= REMIND);
        self.last_drop = Some(now);
        if fresh || remind {
            self.last_line = Some(now);
            Some(std::mem::take(&mut self.unlogged))
        } else {
            self.unlogged += records;
            None
        }
    }
}

/// The producer's dropped-record reporter, shared by its actor's handlers and the watchers
/// they start.
#[derive(Debug, Default)]
pub(crate) struct Dropped {
    burst: Mutex<Burst>,
    /// Watched batches (by their slot's address, alive while watched): the topic and how
    /// many `ProduceRecord` records are in it.
    watched: Mutex<HashMap<usize, (Arc<str>, u64)>>,
}

impl Dropped {
    /// Count `records` of `topic` that `error` dropped; log the first of a burst.
    pub(crate) fn report(&self, topic: &str, records: u64, error: &ProducerError) {
        metrics::counter!(telemetry::PRODUCER_RECORDS_DROPPED, "topic" => topic.to_string(), "code" => error.metric_code())
            .increment(records);
        let line = self
            .burst
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .note(Instant::now(), records);
        if let Some(earlier) = line {
            tracing::error!(topic, records, earlier, %error, "ProduceRecord records not delivered (dropped); more in this burst are only counted in fluvio_producer_records_dropped_total");
        }
    }

    /// Report the record of `future` (queued by a `ProduceRecord` for `topic`) if its
    /// delivery fails. Starts a watcher on the current arbiter for its batch, unless one
    /// watches it already.
    pub(crate) fn watch(self: &Arc<Self>, topic: &str, future: DeliveryFuture) {
        let key = Arc::as_ptr(&future.slot) as usize;
        {
            let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, records)) = watched.get_mut(&key) {
                *records += 1;
                return;
            }
            watched.insert(key, (topic.into(), 1));
        }
        let this = self.clone();
        actix_rt::spawn(async move {
            let outcome = future.settled().await;
            // Removed while `future` still holds the slot: its address is not reused yet.
            let entry = this
                .watched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            if let (Err(error), Some((topic, records))) = (outcome, entry) {
                this.report(&topic, records, &error);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_logs_once_then_reminds_and_a_pause_starts_another() {
        let mut burst = Burst::default();
        let t0 = Instant::now();
        assert_eq!(burst.note(t0, 3), Some(0), "the first drop logs");
        for s in 1..=59 {
            assert_eq!(burst.note(t0 + Duration::from_secs(s), 1), None);
        }
        assert_eq!(
            burst.note(t0 + Duration::from_secs(60), 1),
            Some(59),
            "a burst that goes on is reminded of, with what was not logged"
        );
        assert_eq!(burst.note(t0 + Duration::from_secs(61), 2), None);
        assert_eq!(
            burst.note(t0 + Duration::from_secs(71), 1),
            Some(2),
            "after ten quiet seconds a new burst logs"
        );
    }
}
