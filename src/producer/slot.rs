//! Delivery results: one slot per batch, shared by its records' futures (no allocation per
//! record).

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use super::error::ProducerError;

/// Where an acknowledged record was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordMetadata {
    /// The partition (the one it was moved to if its own was gone: a topic recreated with
    /// fewer partitions).
    pub partition: u32,
    /// The record's offset.
    pub offset: i64,
}

/// The outcome of one batch: its base offset, or why it failed, or where its records went
/// when it was re-partitioned.
#[derive(Debug, Default)]
pub(crate) struct BatchSlot {
    result: OnceLock<Result<i64, ProducerError>>,
    /// Set instead of `result` when the batch's partition was gone and its records were
    /// queued again elsewhere: entry `i` is where record `i` went.
    moved: OnceLock<Vec<Moved>>,
    notify: Notify,
    /// The span of the first `send`/`send_batch` caller whose record joined the batch: the
    /// parent of the batch's `fluvio.produce` span.
    parent: OnceLock<tracing::Span>,
    /// The last failure of the batch's sends, for the error it gets at its deadline.
    last_failure: std::sync::Mutex<Option<ProducerError>>,
    /// Sends of the batch that failed.
    failures: std::sync::atomic::AtomicU32,
}

/// Where one record of a re-partitioned batch went: a record of another batch.
#[derive(Debug, Clone)]
pub(crate) struct Moved {
    pub(crate) slot: Arc<BatchSlot>,
    pub(crate) partition: u32,
    pub(crate) index: u32,
}

/// A settled batch: its result, or where its records went.
enum Outcome<'a> {
    Done(&'a Result<i64, ProducerError>),
    Moved(&'a [Moved]),
}

/// The base offset of each of a run of batches (their record counts) stored one after
/// another from `base`, as a produce response acknowledges them; `None` when the offset of
/// any of their records would pass `i64::MAX` (`base` comes from the network).
pub(crate) fn batch_bases(base: i64, batches: impl IntoIterator<Item = u32>) -> Option<Vec<i64>> {
    let mut bases = Vec::new();
    let mut next = Some(base);
    for records in batches {
        let first = next?;
        if records > 0 {
            first.checked_add(i64::from(records) - 1)?;
        }
        bases.push(first);
        next = first.checked_add(i64::from(records));
    }
    Some(bases)
}

impl BatchSlot {
    /// A send of the batch failed with `error` (it is retried).
    pub(crate) fn note_failure(&self, error: &ProducerError) {
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
        self.failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sends of the batch that failed so far.
    pub(crate) fn failures(&self) -> u32 {
        self.failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The last failure noted, if any.
    pub(crate) fn last_failure(&self) -> Option<ProducerError> {
        self.last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Settle the batch (only the first call counts) and wake every waiter. A base offset
    /// comes from [`batch_bases`]: every record's offset fits an `i64`.
    pub(crate) fn settle(&self, result: Result<i64, ProducerError>) {
        if self.moved.get().is_none() && self.result.set(result).is_ok() {
            self.notify.notify_waiters();
        }
    }

    /// The batch's records were queued again as `moved` (one entry per record, in order):
    /// their futures follow them there. Ignored once the batch is settled.
    pub(crate) fn forward(&self, moved: Vec<Moved>) {
        if self.result.get().is_none() && self.moved.set(moved).is_ok() {
            self.notify.notify_waiters();
        }
    }

    /// Adopt `span` as the batch's parent span, unless it has one or `span` is none. Clones
    /// the span at most once per batch.
    pub(crate) fn adopt_parent(&self, span: &tracing::Span) {
        if self.parent.get().is_none() && !span.is_none() {
            let _ = self.parent.set(span.clone());
        }
    }

    /// The batch's parent span, if a caller gave one.
    pub(crate) fn parent(&self) -> Option<&tracing::Span> {
        self.parent.get()
    }

    /// Whether the batch is settled or forwarded (nothing is left for its sender to do).
    pub(crate) fn is_settled(&self) -> bool {
        self.result.get().is_some() || self.moved.get().is_some()
    }

    /// Wait until settled or forwarded.
    async fn outcome(&self) -> Outcome<'_> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.result.get() {
                return Outcome::Done(result);
            }
            if let Some(moved) = self.moved.get() {
                return Outcome::Moved(moved);
            }
            notified.await;
        }
    }

    /// Wait until every record of the batch is settled, wherever it was moved; the first
    /// failure, if any.
    pub(crate) async fn done(self: &Arc<Self>) -> Result<(), ProducerError> {
        let mut waiting = vec![self.clone()];
        let mut failure = None;
        while let Some(slot) = waiting.pop() {
            match slot.outcome().await {
                Outcome::Done(Ok(_)) => {}
                Outcome::Done(Err(error)) => {
                    failure.get_or_insert_with(|| error.clone());
                }
                Outcome::Moved(moved) => {
                    let mut targets: Vec<&Arc<BatchSlot>> = Vec::new();
                    for m in moved {
                        if !targets.iter().any(|t| Arc::ptr_eq(t, &m.slot)) {
                            targets.push(&m.slot);
                        }
                    }
                    waiting.extend(targets.into_iter().cloned());
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// Resolves when the SPU acknowledged the record (or its delivery failed for good).
#[derive(Debug, Clone)]
pub struct DeliveryFuture {
    pub(crate) slot: Arc<BatchSlot>,
    pub(crate) partition: u32,
    pub(crate) index: u32,
}

impl DeliveryFuture {
    /// The partition the record was assigned to when queued (it moves to another if that
    /// partition is gone when it is sent; the acknowledgement says where it was stored).
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// Whether `other` is a record of the same batch (acknowledged or failed together).
    pub(crate) fn same_batch(&self, other: &DeliveryFuture) -> bool {
        Arc::ptr_eq(&self.slot, &other.slot)
    }

    /// Whether the record's batch is acknowledged already (not failed, not moved).
    pub(crate) fn acknowledged_now(&self) -> bool {
        matches!(self.slot.result.get(), Some(Ok(_)))
    }

    /// Wait for the acknowledgement of the record's whole batch (wherever its records were
    /// moved) without taking the receipt (cancel-safe).
    pub(crate) async fn settled(&self) -> Result<(), ProducerError> {
        self.slot.done().await
    }

    /// Wait for the acknowledgement. A record whose partition was gone when it was sent (the
    /// topic was recreated with fewer partitions) is acknowledged in the partition it was
    /// moved to: see [`RecordMetadata::partition`].
    ///
    /// # Errors
    /// The delivery failure shared by the record's batch.
    pub async fn wait(self) -> Result<RecordMetadata, ProducerError> {
        let (mut slot, mut partition, mut index) = (self.slot, self.partition, self.index);
        loop {
            let next = match slot.outcome().await {
                Outcome::Done(Ok(base)) => {
                    return Ok(RecordMetadata {
                        partition,
                        // `batch_bases` checked that the batch's last offset fits.
                        offset: base + i64::from(index),
                    });
                }
                Outcome::Done(Err(error)) => return Err(error.clone()),
                Outcome::Moved(moved) => moved.get(index as usize).cloned(),
            };
            // Every record of a moved batch has its entry.
            let Some(next) = next else {
                return Err(ProducerError::Closed);
            };
            (slot, partition, index) = (next.slot, next.partition, next.index);
        }
    }
}

impl std::future::IntoFuture for DeliveryFuture {
    type Output = Result<RecordMetadata, ProducerError>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn bases_past_i64_are_refused() {
        assert_eq!(batch_bases(10, [3, 2, 5]), Some(vec![10, 13, 15]));
        assert_eq!(batch_bases(i64::MAX, [1]), Some(vec![i64::MAX]));
        assert_eq!(batch_bases(i64::MAX, [2]), None);
        assert_eq!(
            batch_bases(i64::MAX - 2, [2, 1]),
            Some(vec![i64::MAX - 2, i64::MAX])
        );
        assert_eq!(batch_bases(i64::MAX - 2, [2, 2]), None);
        assert_eq!(
            batch_bases(i64::MAX, [1, 0]),
            None,
            "no offset after i64::MAX"
        );
    }

    #[tokio::test]
    async fn a_forwarded_record_is_acknowledged_where_it_went() {
        let old = Arc::new(BatchSlot::default());
        let (a, b) = (
            Arc::new(BatchSlot::default()),
            Arc::new(BatchSlot::default()),
        );
        let future = |index| DeliveryFuture {
            slot: old.clone(),
            partition: 2,
            index,
        };
        let (first, second) = (future(0), future(1));
        old.forward(vec![
            Moved {
                slot: a.clone(),
                partition: 0,
                index: 3,
            },
            Moved {
                slot: b.clone(),
                partition: 1,
                index: 0,
            },
        ]);
        old.settle(Ok(99));
        assert!(old.is_settled());
        a.settle(Ok(10));
        let meta = first.clone().wait().await.unwrap();
        assert_eq!((meta.partition, meta.offset), (0, 13));
        // The whole batch is settled only once every record is.
        let whole = tokio::time::timeout(Duration::from_millis(20), old.done()).await;
        assert!(whole.is_err(), "b is not settled yet");
        b.settle(Err(ProducerError::Closed));
        assert!(matches!(second.wait().await, Err(ProducerError::Closed)));
        assert!(matches!(first.settled().await, Err(ProducerError::Closed)));
    }

    proptest! {
        /// Any base and counts: consecutive bases when the last record's offset fits,
        /// `None` exactly when it does not.
        #[test]
        fn bases_are_consecutive_or_none(
            base in prop_oneof![any::<i64>(), (i64::MAX - (1 << 34))..=i64::MAX],
            counts in proptest::collection::vec(1u32..=u32::MAX, 1..6),
        ) {
            let total: i128 = counts.iter().map(|&c| i128::from(c)).sum();
            let last = i128::from(base) + total - 1;
            match batch_bases(base, counts.iter().copied()) {
                Some(bases) => {
                    prop_assert!(last <= i128::from(i64::MAX));
                    let mut expected = i128::from(base);
                    for (b, c) in bases.iter().zip(&counts) {
                        prop_assert_eq!(i128::from(*b), expected);
                        expected += i128::from(*c);
                    }
                }
                None => prop_assert!(last > i128::from(i64::MAX)),
            }
        }
    }
}
