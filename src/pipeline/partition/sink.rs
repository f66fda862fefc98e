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

/// Whether every receipt is acknowledged already (a delivery failed, or is still under
/// way: `false`, for [`acknowledged`] to wait for).
pub(super) fn acknowledged_now(receipts: &[DeliveryFuture]) -> bool {
    receipts.iter().all(DeliveryFuture::acknowledged_now)
}

/// Enqueue `outputs`, each on its own topic or else on `sink` (dropped without either),
/// in its own partition, else (on the sink) the sink's if it has one; the receipts to
/// wait for. Outputs bound for the same place one after another are queued as one run.
pub(super) async fn send_outputs(
    sink: Option<(&str, Option<u32>)>,
    producer: &Producer,
    outputs: Vec<Output>,
    span: &tracing::Span,
) -> Result<Vec<DeliveryFuture>, Failure> {
    span.record("outputs", outputs.len());
    let mut receipts = Vec::new();
    if let [output] = outputs.as_slice() {
        if let Some((topic, partition)) = destination(output, sink) {
            let one = [(output.key.as_deref(), &output.value[..])];
            enqueue_run(producer, topic, partition, &one, &mut receipts).await?;
        }
        return Ok(receipts);
    }
    let mut run = Vec::with_capacity(outputs.len());
    let mut bound = None;
    for output in &outputs {
        let Some(to) = destination(output, sink) else {
            continue;
        };
        if let Some((topic, partition)) = bound.filter(|&b| b != to) {
            enqueue_run(producer, topic, partition, &run, &mut receipts).await?;
            run.clear();
        }
        bound = Some(to);
        run.push((output.key.as_deref(), &output.value[..]));
    }
    if let Some((topic, partition)) = bound {
        enqueue_run(producer, topic, partition, &run, &mut receipts).await?;
    }
    Ok(receipts)
}

/// Where `output` goes: its own topic, else the sink (`None`: dropped); its partition, else
/// (on the sink) the sink's if it has one.
fn destination<'a>(
    output: &'a Output,
    sink: Option<(&'a str, Option<u32>)>,
) -> Option<(&'a str, Option<u32>)> {
    match (output.topic.as_deref(), sink) {
        (Some(topic), _) => Some((topic, output.partition)),
        (None, Some((sink, pinned))) => Some((sink, output.partition.or(pinned))),
        (None, None) => None,
    }
}

/// Queue `run` on `topic`, adding its receipts to `receipts` (one per batch: records of one
/// batch are acknowledged together).
async fn enqueue_run(
    producer: &Producer,
    topic: &str,
    partition: Option<u32>,
    run: &[(Option<&[u8]>, &[u8])],
    receipts: &mut Vec<DeliveryFuture>,
) -> Result<(), Failure> {
    let queued = producer
        .enqueue_run(topic, partition, run)
        .await
        .map_err(|e| Failure::new(FailureKind::Sink, format!("{topic}: {e}")))?;
    for receipt in queued {
        if !receipts
            .last()
            .is_some_and(|last| last.same_batch(&receipt))
        {
            receipts.push(receipt);
        }
    }
    Ok(())
}
