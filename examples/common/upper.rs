//! The examples' pipeline worker: upper-cases each value, keeping its key (or, with a tag,
//! keying every output with the tag); for demonstrations, it can fail every Nth record.

use actix::prelude::*;
use actix_fluvio::pipeline::{Output, ProcessBatch, WorkerError};
use bytes::Bytes;

/// A batch worker: one message and one answer per batch of a partition's records.
#[derive(Debug, Default)]
pub struct Upper {
    /// The key of every output instead of its record's key (`None`: the record's key), so
    /// the sink tells which worker wrote each output.
    pub tag: Option<Bytes>,
    /// Fail the records whose offset is `n - 1` modulo `n` (a demonstration of the failure
    /// policy: they are retried, then dead-lettered).
    pub fail_every: Option<u64>,
}

impl Actor for Upper {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Upper {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        if let Some(n) = self.fail_every.filter(|&n| n > 0) {
            let failing = msg.records.iter().find(|r| (r.offset as u64) % n == n - 1);
            if let Some(record) = failing {
                // Naming the record: the pipeline retries it alone, not the whole batch.
                let why = format!("demonstration failure (--fail-every {n})");
                return Err(WorkerError::at(record.offset, why));
            }
        }
        let outputs = msg.records.into_iter().map(|record| Output {
            key: self.tag.clone().or(record.key),
            value: record.value.to_ascii_uppercase().into(),
            partition: None,
            topic: None,
        });
        Ok(outputs.collect())
    }
}
