//! Reading for the worker: one record or a batch, by the worker's kind, and the message
//! that hands it over.

use crate::consumer::{ConsumerError, ConsumerRecord, PartitionStream};
use crate::pipeline::worker::{Answer, Process, ProcessBatch, WorkerError, WorkerKind};

/// Records read for one message to the worker: one record for a per-record worker (no
/// vector per record), or a batch.
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

/// The next records for a worker of `kind`: one record for a per-record worker, up to
/// `room` (at least 1) as they arrived for a batch worker.
pub(super) async fn next_records(
    stream: &mut PartitionStream,
    kind: &WorkerKind,
    room: usize,
) -> Option<Result<Read, ConsumerError>> {
    match kind {
        WorkerKind::Records(_) => Some(stream.next().await?.map(Read::One)),
        WorkerKind::Batches(_) => Some(stream.next_batch_up_to(room).await?.map(Read::Batch)),
    }
}

/// Hand what was read to `worker`: one [`Process`] or one [`ProcessBatch`].
pub(super) fn ask(worker: &WorkerKind, partition: u32, read: Read) -> Answer {
    match (worker, read) {
        (WorkerKind::Records(recipient), Read::One(record)) => {
            Box::pin(recipient.send(Process(record)))
        }
        // Read for a batch worker, then replaced by a per-record one: a factory that
        // changes kind (see `Worker`) fails the batch, which is read again.
        (WorkerKind::Records(_), Read::Batch(_)) => {
            Box::pin(std::future::ready(Ok(Err(WorkerError(
                "the worker factory returned a per-record worker for a batch worker".into(),
            )))))
        }
        (WorkerKind::Batches(recipient), read) => {
            let records = match read {
                Read::One(record) => vec![record],
                Read::Batch(records) => records,
            };
            Box::pin(recipient.send(ProcessBatch { partition, records }))
        }
    }
}
