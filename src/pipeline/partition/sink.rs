//! The worker's outputs to the sink (or the topics they name), and waiting for the
//! acknowledgements.

use super::Acked;
use crate::pipeline::failure::{Failure, FailureKind};
use crate::pipeline::worker::Output;
use crate::producer::{DeliveryFuture, Producer};

/// Records whose outputs went to the sink, waiting for its acknowledgement (one receipt
/// per sink batch they landed in).
pub(super) struct Sent {
    pub(super) unit: Acked,
    pub(super) receipts: Vec<DeliveryFuture>,
}

/// Wait until every receipt is acknowledged (cancel-safe: a receipt already acknowledged
/// answers at once when polled again).
pub(super) async fn acknowledged(receipts: &[DeliveryFuture]) -> Result<(), Failure> {
    for receipt in receipts {
        receipt
            .settled()
            .await
            .map_err(|e| Failure::new(FailureKind::Sink, e.to_string()))?;
    }
    Ok(())
}

/// Enqueue `outputs`, each on its own topic or else on `sink` (dropped without either),
/// in its own partition, else (on the sink) the sink's if it has one; the receipts to
/// wait for.
pub(super) async fn send_outputs(
    sink: Option<(&str, Option<u32>)>,
    producer: &Producer,
    outputs: Vec<Output>,
    span: &tracing::Span,
) -> Result<Vec<DeliveryFuture>, Failure> {
    span.record("outputs", outputs.len());
    let mut receipts = Vec::new();
    for output in outputs {
        let (topic, partition) = match (output.topic.as_deref(), sink) {
            (Some(topic), _) => (topic, output.partition),
            (None, Some((sink, pinned))) => (sink, output.partition.or(pinned)),
            (None, None) => continue,
        };
        let enqueued = match partition {
            Some(p) => {
                producer
                    .enqueue_to(topic, p, output.key.as_deref(), &output.value)
                    .await
            }
            None => {
                producer
                    .enqueue(topic, output.key.as_deref(), &output.value)
                    .await
            }
        };
        let receipt =
            enqueued.map_err(|e| Failure::new(FailureKind::Sink, format!("{topic}: {e}")))?;
        // Records of one batch are acknowledged together: wait for one of them.
        if !receipts
            .last()
            .is_some_and(|last: &DeliveryFuture| last.same_batch(&receipt))
        {
            receipts.push(receipt);
        }
    }
    Ok(receipts)
}
