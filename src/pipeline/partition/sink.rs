//! The worker's outputs to the sink (or the topics they name), and waiting for the
//! acknowledgements.

use std::collections::VecDeque;

use super::Acked;
use crate::pipeline::failure::{Failure, FailureKind};
use crate::pipeline::worker::Output;
use crate::producer::{DeliveryFuture, Producer};

/// Records whose outputs went to the sink, in order, each waiting for the acknowledgement
/// of the sink batches its outputs landed in (one receipt per batch). The receipts of all
/// of them are kept in one queue: no vector per record.
#[derive(Default)]
pub(super) struct Sent {
    /// Each unit, and how many of the receipts (from the front) are its.
    units: VecDeque<(Acked, usize)>,
    receipts: VecDeque<DeliveryFuture>,
}

impl Sent {
    pub(super) fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// `unit`'s outputs went to the sink: `receipts` (emptied) are what it waits for.
    pub(super) fn push(&mut self, unit: Acked, receipts: &mut Vec<DeliveryFuture>) {
        self.units.push_back((unit, receipts.len()));
        self.receipts.extend(receipts.drain(..));
    }

    /// Wait until the oldest unit's receipts are all acknowledged (cancel-safe: a receipt
    /// already acknowledged answers at once when polled again). Ready at once when empty.
    pub(super) async fn acknowledged(&self) -> Result<(), Failure> {
        let count = self.units.front().map_or(0, |&(_, count)| count);
        for receipt in self.receipts.range(..count) {
            receipt
                .settled()
                .await
                .map_err(|e| Failure::new(FailureKind::Sink, e.to_string()))?;
        }
        Ok(())
    }

    /// Whether the oldest unit's receipts are all acknowledged already (none waiting, a
    /// delivery failed, or one is still under way: `false`, for [`Sent::acknowledged`] to
    /// wait for).
    pub(super) fn acknowledged_now(&self) -> bool {
        self.units.front().is_some_and(|&(_, count)| {
            self.receipts
                .range(..count)
                .all(DeliveryFuture::acknowledged_now)
        })
    }

    /// The oldest unit, its receipts dropped.
    pub(super) fn pop(&mut self) -> Option<Acked> {
        let (unit, count) = self.units.pop_front()?;
        self.receipts.drain(..count);
        Some(unit)
    }
}

/// Enqueue `outputs`, each on its own topic or else on `sink` (dropped without either),
/// in its own partition, else (on the sink) the sink's if it has one; the receipts to
/// wait for go to `receipts`. Outputs bound for the same place one after another are
/// queued as one run.
pub(super) async fn send_outputs(
    sink: Option<(&str, Option<u32>)>,
    producer: &Producer,
    outputs: Vec<Output>,
    span: &tracing::Span,
    receipts: &mut Vec<DeliveryFuture>,
) -> Result<(), Failure> {
    span.record("outputs", outputs.len());
    if let [output] = outputs.as_slice() {
        if let Some((topic, partition)) = destination(output, sink) {
            let one = [(output.key.as_deref(), &output.value[..])];
            enqueue_run(producer, topic, partition, &one, receipts).await?;
        }
        return Ok(());
    }
    let mut run = Vec::with_capacity(outputs.len());
    let mut bound = None;
    for output in &outputs {
        let Some(to) = destination(output, sink) else {
            continue;
        };
        if let Some((topic, partition)) = bound.filter(|&b| b != to) {
            enqueue_run(producer, topic, partition, &run, receipts).await?;
            run.clear();
        }
        bound = Some(to);
        run.push((output.key.as_deref(), &output.value[..]));
    }
    if let Some((topic, partition)) = bound {
        enqueue_run(producer, topic, partition, &run, receipts).await?;
    }
    Ok(())
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
    producer
        .enqueue_run(topic, partition, run, receipts)
        .await
        .map_err(|e| Failure::new(FailureKind::Sink, format!("{topic}: {e}")))
}
