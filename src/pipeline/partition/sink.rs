//! The worker's outputs to the sink (or the topics they name), and waiting for the
//! acknowledgements.

use std::collections::VecDeque;

use super::Acked;
use crate::pipeline::failure::{Failure, FailureKind};
use crate::pipeline::worker::Output;
use crate::producer::{DeliveryFuture, Producer};

/// Records whose outputs went to the sink, in order, each waiting for the acknowledgement
/// of the sink batches its outputs landed in (one receipt per batch). The receipts of all
/// of them are kept in one queue: no vector per record, and a record whose first output
/// landed in the batch the record before it waits for shares that receipt (a per-record
/// worker's records fill a batch one by one: one receipt for the batch, not one a record).
#[derive(Default)]
pub(super) struct Sent {
    units: VecDeque<Waiting>,
    receipts: VecDeque<DeliveryFuture>,
}

/// A unit in [`Sent`]: its receipts are, from the front of the queue once it is first, the
/// one it shares with the unit before it (if `shared`), then `own` of its own.
struct Waiting {
    unit: Acked,
    own: usize,
    shared: bool,
}

impl Waiting {
    fn receipts(&self) -> usize {
        usize::from(self.shared) + self.own
    }
}

impl Sent {
    pub(super) fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// `unit`'s outputs went to the sink: `receipts` (emptied) are what it waits for.
    pub(super) fn push(&mut self, unit: Acked, receipts: &mut Vec<DeliveryFuture>) {
        let mut drained = receipts.drain(..);
        // The unit before holds a receipt of the same batch (its last) until this one is
        // done with it too.
        let shared = match (self.units.back(), self.receipts.back(), drained.as_slice()) {
            (Some(before), Some(last), [first, ..]) if before.receipts() > 0 => {
                last.same_batch(first)
            }
            _ => false,
        };
        if shared {
            drained.next();
        }
        let before = self.receipts.len();
        self.receipts.extend(drained);
        let own = self.receipts.len() - before;
        self.units.push_back(Waiting { unit, own, shared });
    }

    /// Wait until the oldest unit's receipts are all acknowledged (cancel-safe: a receipt
    /// already acknowledged answers at once when polled again). Ready at once when empty.
    pub(super) async fn acknowledged(&self) -> Result<(), Failure> {
        let count = self.units.front().map_or(0, Waiting::receipts);
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
        self.units.front().is_some_and(|front| {
            self.receipts
                .range(..front.receipts())
                .all(DeliveryFuture::acknowledged_now)
        })
    }

    /// The oldest unit, its receipts dropped (but the last, when the next unit shares it).
    pub(super) fn pop(&mut self) -> Option<Acked> {
        let front = self.units.pop_front()?;
        let kept = self.units.front().is_some_and(|next| next.shared);
        self.receipts.drain(..front.receipts() - usize::from(kept));
        Some(front.unit)
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
