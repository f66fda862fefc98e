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

impl BatchSlot {
    /// Settle the batch (only the first call counts) and wake every waiter.
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

    /// Wait for the acknowledgement.
    ///
    /// # Errors
    /// The delivery failure shared by the record's batch.
    pub async fn wait(self) -> Result<RecordMetadata, ProducerError> {
        match self.slot.wait().await {
            Ok(base) => Ok(RecordMetadata {
                partition: self.partition,
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
