//! Reading for the worker: one record or a batch, by the worker's kind; cutting what was
//! read where the failure policy wants records alone or given up; and the message that
//! hands it over.

use super::attempts::{Attempts, Route};
use crate::consumer::{ConsumerError, ConsumerRecord, PartitionStream};
use crate::pipeline::failure::{Failure, FailureKind};
use crate::pipeline::worker::{answer, Answer, Mark, Process, ProcessBatch, WorkerKind};

/// Records read for one message to the worker: one record for a typed worker (no vector
/// per record), or a batch (a batch worker's, or a per-record worker's relay's).
pub(super) enum Read {
    One(ConsumerRecord),
    Batch(Vec<ConsumerRecord>),
}

impl Read {
    pub(super) fn records(&self) -> &[ConsumerRecord] {
        match self {
            Read::One(record) => std::slice::from_ref(record),
            Read::Batch(records) => records,
        }
    }
}

/// A part of what was read: records for one message to the worker, or a record given up on.
pub(super) enum Segment {
    Worker(Read),
    GivenUp(ConsumerRecord),
}

impl Segment {
    pub(super) fn records(&self) -> &[ConsumerRecord] {
        match self {
            Segment::Worker(read) => read.records(),
            Segment::GivenUp(record) => std::slice::from_ref(record),
        }
    }
}

/// The next records for a worker of `kind`: one record for a typed worker, up to `room`
/// (at least 1) as they arrived for a batch worker or a per-record worker's relay.
pub(super) async fn next_records(
    stream: &mut PartitionStream,
    kind: &WorkerKind,
    room: usize,
) -> Option<Result<Read, ConsumerError>> {
    match kind {
        WorkerKind::Typed(_) => Some(stream.next().await?.map(Read::One)),
        // A per-record worker's records go to its relay in batches (see `relayed`).
        WorkerKind::Records(_) | WorkerKind::Batches(_) => {
            Some(stream.next_batch_up_to(room).await?.map(Read::Batch))
        }
    }
}

/// `read` cut where `attempts` wants records alone (failing ones, or a failed batch's) or
/// given up on; the rest stays together, in order.
pub(super) fn cut(read: Read, attempts: &Attempts) -> Vec<Segment> {
    let records = match read {
        Read::One(record) => {
            return vec![match attempts.route(record.offset) {
                Route::GivenUp => Segment::GivenUp(record),
                Route::Together | Route::Alone => Segment::Worker(Read::One(record)),
            }]
        }
        Read::Batch(records) => records,
    };
    let mut segments = Vec::new();
    let mut together = Vec::new();
    for record in records {
        let route = attempts.route(record.offset);
        if route == Route::Together {
            together.push(record);
            continue;
        }
        if !together.is_empty() {
            segments.push(Segment::Worker(Read::Batch(std::mem::take(&mut together))));
        }
        segments.push(match route {
            Route::GivenUp => Segment::GivenUp(record),
            _ => Segment::Worker(Read::One(record)),
        });
    }
    if !together.is_empty() {
        segments.push(Segment::Worker(Read::Batch(together)));
    }
    segments
}

/// Hand what was read to `worker`: one [`Process`], one [`ProcessBatch`], or one decoded
/// record for a typed worker.
pub(super) fn ask(worker: &WorkerKind, partition: u32, read: Read, mark: Mark) -> Answer {
    match (worker, read) {
        (WorkerKind::Records(recipient), Read::One(record)) => {
            answer(recipient.send(Process(record)), mark)
        }
        (WorkerKind::Typed(typed), Read::One(record)) => typed.ask(record, mark),
        // Read for a batch worker, then replaced by a per-record one (a factory that changes
        // kind, see `Worker`): the batch fails and is delivered again one record at a time.
        (WorkerKind::Records(_) | WorkerKind::Typed(_), Read::Batch(_)) => {
            Box::pin(std::future::ready(Err(Failure::new(
                FailureKind::Worker,
                "the worker factory returned a per-record worker for a batch worker",
            ))))
        }
        (WorkerKind::Batches(recipient), read) => {
            let records = match read {
                Read::One(record) => vec![record],
                Read::Batch(records) => records,
            };
            answer(recipient.send(ProcessBatch { partition, records }), mark)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;

    fn records(offsets: std::ops::Range<i64>) -> Vec<ConsumerRecord> {
        offsets
            .map(|offset| ConsumerRecord {
                topic: Arc::from("t"),
                partition: 0,
                offset,
                timestamp: -1,
                key: None,
                value: Bytes::new(),
            })
            .collect()
    }

    fn shape(segments: &[Segment]) -> Vec<String> {
        segments
            .iter()
            .map(|s| match s {
                Segment::Worker(Read::Batch(r)) => {
                    format!("{}..={}", r[0].offset, r[r.len() - 1].offset)
                }
                Segment::Worker(Read::One(r)) => format!("{}", r.offset),
                Segment::GivenUp(r) => format!("x{}", r.offset),
            })
            .collect()
    }

    #[test]
    fn a_batch_is_cut_around_failing_and_given_up_records() {
        let mut attempts = Attempts::default();
        let failure = Failure::new(FailureKind::Worker, "no");
        attempts.failed(0, 9, &failure.clone().at(3), 1);
        attempts.failed(0, 9, &failure.clone().at(7), 0);
        let segments = cut(Read::Batch(records(0..10)), &attempts);
        assert_eq!(shape(&segments), ["0..=2", "3", "4..=6", "x7", "8..=9"]);
        let one = cut(Read::One(records(7..8).remove(0)), &attempts);
        assert_eq!(shape(&one), ["x7"]);
        let clear = cut(Read::Batch(records(0..10)), &Attempts::default());
        assert_eq!(shape(&clear), ["0..=9"]);
    }
}
