//! Delivery results: one slot per batch, shared by its records' futures (no allocation per
//! record).

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use super::error::ProducerError;

/// Where an acknowledged record was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordMetadata {
    /// The partition.
    pub partition: u32,
    /// The record's offset.
    pub offset: i64,
}

/// The outcome of one batch: its base offset, or why it failed.
#[derive(Debug, Default)]
pub(crate) struct BatchSlot {
    result: OnceLock<Result<i64, ProducerError>>,
    notify: Notify,
    /// The span of the first `send`/`send_batch` caller whose record joined the batch: the
    /// parent of the batch's `fluvio.produce` span.
    parent: OnceLock<tracing::Span>,
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
    /// Settle the batch (only the first call counts) and wake every waiter. A base offset
    /// comes from [`batch_bases`]: every record's offset fits an `i64`.
    pub(crate) fn settle(&self, result: Result<i64, ProducerError>) {
        if self.result.set(result).is_ok() {
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

    pub(crate) fn is_settled(&self) -> bool {
        self.result.get().is_some()
    }

    /// Wait until settled.
    pub(crate) async fn wait(&self) -> &Result<i64, ProducerError> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.result.get() {
                return result;
            }
            notified.await;
        }
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
    /// The partition the record was assigned to.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// Whether `other` is a record of the same batch (acknowledged or failed together).
    pub(crate) fn same_batch(&self, other: &DeliveryFuture) -> bool {
        Arc::ptr_eq(&self.slot, &other.slot)
    }

    /// Wait for the acknowledgement without taking the receipt (cancel-safe).
    pub(crate) async fn settled(&self) -> Result<(), ProducerError> {
        self.slot
            .wait()
            .await
            .as_ref()
            .map(|_| ())
            .map_err(Clone::clone)
    }

    /// Wait for the acknowledgement.
    ///
    /// # Errors
    /// The delivery failure shared by the record's batch.
    pub async fn wait(self) -> Result<RecordMetadata, ProducerError> {
        match self.slot.wait().await {
            Ok(base) => Ok(RecordMetadata {
                partition: self.partition,
                // `batch_bases` checked that the batch's last offset fits.
                offset: base + i64::from(self.index),
            }),
            Err(error) => Err(error.clone()),
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
