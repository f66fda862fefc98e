//! The worker's outputs to the sink, and waiting for the sink's acknowledgements.

use actix::MailboxError;

use super::Acked;
use crate::pipeline::worker::{Output, WorkerError};
use crate::producer::{DeliveryFuture, Producer};

/// Records whose outputs went to the sink, waiting for its acknowledgement (one receipt
/// per sink batch they landed in).
pub(super) struct Sent {
    pub(super) unit: Acked,
    pub(super) receipts: Vec<DeliveryFuture>,
}

/// Wait until the sink acknowledged every receipt (cancel-safe: a receipt already
/// acknowledged answers at once when polled again).
pub(super) async fn acknowledged(receipts: &[DeliveryFuture]) -> Result<(), String> {
    for receipt in receipts {
        receipt.settled().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Enqueue the worker's outputs on the sink; the receipts to wait for. `Err` is the
/// worker's failure (or the sink refusing an output).
pub(super) async fn send_outputs(
    sink: Option<(&str, &Producer)>,
    answer: Result<Result<Vec<Output>, WorkerError>, MailboxError>,
    span: &tracing::Span,
) -> Result<Vec<DeliveryFuture>, String> {
    let outputs = match answer {
        Ok(Ok(outputs)) => outputs,
        Ok(Err(WorkerError(message))) => return Err(message),
        Err(MailboxError::Closed) => return Err("the worker stopped (panicked?)".into()),
        Err(MailboxError::Timeout) => return Err("the worker timed out".into()),
    };
    span.record("outputs", outputs.len());
    let mut receipts = Vec::new();
    if let Some((sink, producer)) = sink {
        for output in outputs {
            let enqueued = match output.partition {
                Some(p) => {
                    producer
                        .enqueue_to(sink, p, output.key.as_deref(), &output.value)
                        .await
                }
                None => {
                    producer
                        .enqueue(sink, output.key.as_deref(), &output.value)
                        .await
                }
            };
            let receipt = enqueued.map_err(|e| e.to_string())?;
            // Records of one batch are acknowledged together: wait for one of them.
            if !receipts
                .last()
                .is_some_and(|last: &DeliveryFuture| last.same_batch(&receipt))
            {
                receipts.push(receipt);
            }
        }
    }
    Ok(receipts)
}
