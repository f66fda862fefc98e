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

/// Enqueue `outputs`, each on its own topic or else on `sink` (dropped without either);
/// the receipts to wait for.
pub(super) async fn send_outputs(
    sink: Option<&str>,
    producer: &Producer,
    outputs: Vec<Output>,
    span: &tracing::Span,
) -> Result<Vec<DeliveryFuture>, Failure> {
    span.record("outputs", outputs.len());
    let mut receipts = Vec::new();
    for output in outputs {
        let Some(topic) = output.topic.as_deref().or(sink) else {
            continue;
        };
        let enqueued = match output.partition {
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
