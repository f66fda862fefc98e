//! The worker's outputs to the sink (or the topics they name), and waiting for the
//! acknowledgements.

use std::collections::VecDeque;

use super::Acked;
use crate::pipeline::failure::{Failure, FailureKind};
use crate::pipeline::worker::Output;
use crate::producer::{DeliveryFuture, Producer};

/// Records whose outputs went to the sink, in order, each waiting for the acknowledgement
/// of the sink batches its outputs landed in (one receipt per batch). The receipts of all
/// of them are kept in one queue: no vector per record. Records that wait for nothing more
/// than the one before them (no output, or one that landed in the batch the record before
/// it waits for last: a per-record worker's records filling a sink batch one by one) are
/// kept as one entry with no receipt of their own: what a window of records waiting for
/// the sink holds grows with its batches, not its records.
#[derive(Default)]
pub(super) struct Sent {
    units: VecDeque<Waiting>,
    receipts: VecDeque<DeliveryFuture>,
}

/// An entry of [`Sent`]: its receipts are the first `own` of the queue once it is first.
struct Waiting {
    unit: Acked,
    /// The units after `unit` that wait for nothing but its receipts, as one.
    tail: Option<Acked>,
    own: usize,
}

impl Sent {
    pub(super) fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// `unit`'s outputs went to the sink: `receipts` (emptied) are what it waits for.
    pub(super) fn push(&mut self, unit: Acked, receipts: &mut Vec<DeliveryFuture>) {
        if let Some(back) = self.units.back_mut().filter(|back| joins(back, &unit)) {
            let within = match receipts.as_slice() {
                [] => true,
                [only] => back.own > 0 && self.receipts.back().is_some_and(|r| r.same_batch(only)),
                _ => false,
            };
            if within {
                receipts.clear();
                back.tail = Some(match back.tail {
                    Some(tail) => joined(tail, unit),
                    None => unit,
                });
                return;
            }
        }
        let own = receipts.len();
        self.receipts.extend(receipts.drain(..));
        self.units.push_back(Waiting {
            unit,
            tail: None,
            own,
        });
    }

    /// Wait until the oldest entry's receipts are all acknowledged (cancel-safe: a receipt
    /// already acknowledged answers at once when polled again). Ready at once when empty.
    pub(super) async fn acknowledged(&self) -> Result<(), Failure> {
        let count = self.units.front().map_or(0, |front| front.own);
        for receipt in self.receipts.range(..count) {
            receipt
                .settled()
                .await
                .map_err(|e| Failure::new(FailureKind::Sink, e.to_string()))?;
        }
        Ok(())
    }

    /// Whether the oldest entry's receipts are all acknowledged already (none waiting, a
    /// delivery failed, or one is still under way: `false`, for [`Sent::acknowledged`] to
    /// wait for).
    pub(super) fn acknowledged_now(&self) -> bool {
        self.units.front().is_some_and(|front| {
            self.receipts
                .range(..front.own)
                .all(DeliveryFuture::acknowledged_now)
        })
    }

    /// The oldest entry's units, as one (acknowledged together), its receipts dropped.
    pub(super) fn pop(&mut self) -> Option<Acked> {
        let front = self.units.pop_front()?;
        self.receipts.drain(..front.own);
        Some(match front.tail {
            Some(tail) => joined(front.unit, tail),
            None => front.unit,
        })
    }

    /// The oldest unit alone (its receipts failed: the failure is its), the units after it
    /// left waiting for its last receipt.
    pub(super) fn pop_first(&mut self) -> Option<Acked> {
        let front = self.units.front_mut()?;
        let Some(tail) = front.tail.take() else {
            return self.pop();
        };
        let unit = std::mem::replace(&mut front.unit, tail);
        if front.own > 0 {
            self.receipts.drain(..front.own - 1);
            front.own = 1;
        }
        Some(unit)
    }
}

/// Whether `unit` can wait as part of `back`: both handed to the worker (not given up on),
/// and `unit` the next delivered.
fn joins(back: &Waiting, unit: &Acked) -> bool {
    let last = back.tail.as_ref().unwrap_or(&back.unit);
    last.given_up.is_none() && unit.given_up.is_none() && last.id.nth(last.units) == unit.id
}

/// `first` and `then` (delivered right after it) as one.
fn joined(first: Acked, then: Acked) -> Acked {
    Acked {
        units: first.units + then.units,
        last: then.last,
        records: first.records + then.records,
        bytes: first.bytes + then.bytes,
        ..first
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pipeline::units::Units;
    use crate::producer::ProducerError;

    fn unit(units: &mut Units, offset: i64) -> Acked {
        Acked {
            id: units.delivered(offset, offset),
            units: 1,
            first: offset,
            last: offset,
            records: 1,
            bytes: 10,
            given_up: None,
        }
    }

    #[tokio::test]
    async fn records_filling_one_batch_wait_as_one_entry_and_a_failure_is_the_first_ones() {
        let mut units = Units::default();
        let (x, y) = (Arc::new(Default::default()), Arc::new(Default::default()));
        let receipt = |slot: &Arc<_>, index| DeliveryFuture {
            slot: Arc::clone(slot),
            partition: 0,
            index,
        };
        let mut sent = Sent::default();
        let mut ids = Vec::new();
        // Three records in batch x, then one in batch y, then one with no output.
        for (offset, batch) in [(0, Some(&x)), (1, Some(&x)), (2, Some(&x)), (3, Some(&y))] {
            let mut receipts = batch
                .map(|b| receipt(b, offset as u32))
                .into_iter()
                .collect();
            let unit = unit(&mut units, offset);
            ids.push(unit.id);
            sent.push(unit, &mut receipts);
        }
        sent.push(unit(&mut units, 4), &mut Vec::new());
        assert_eq!((sent.units.len(), sent.receipts.len()), (2, 2));
        assert!(!sent.acknowledged_now());
        x.settle(Ok(100));
        assert!(sent.acknowledged_now());
        sent.acknowledged().await.expect("x acknowledged");
        let first = sent.pop().expect("an entry");
        assert_eq!(
            (
                first.id,
                first.units,
                first.first,
                first.last,
                first.records,
                first.bytes
            ),
            (ids[0], 3, 0, 2, 3, 30)
        );
        y.settle(Err(ProducerError::Closed));
        assert!(sent.acknowledged().await.is_err());
        // The failure is record 3's; record 4 (no output of its own) waits behind it.
        let failed = sent.pop_first().expect("an entry");
        assert_eq!((failed.first, failed.last, failed.units), (3, 3, 1));
        assert!(sent.acknowledged().await.is_err(), "4 still waits for y");
        let rest = sent.pop().expect("an entry");
        assert_eq!((rest.first, rest.last, rest.units), (4, 4, 1));
        assert!(sent.is_empty() && sent.receipts.is_empty());
    }
}
