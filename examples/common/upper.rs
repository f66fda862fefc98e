//! The examples' pipeline worker: upper-cases each value, keeping its key (or, with a tag,
//! keying every output with the tag).

use actix::prelude::*;
use actix_fluvio::pipeline::{Output, ProcessBatch, WorkerError};
use bytes::Bytes;

/// A batch worker: one message and one answer per batch of a partition's records.
#[derive(Debug, Default)]
pub struct Upper {
    /// The key of every output instead of its record's key (`None`: the record's key), so
    /// the sink tells which worker wrote each output.
    pub tag: Option<Bytes>,
}

impl Actor for Upper {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Upper {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let outputs = msg.records.into_iter().map(|record| Output {
            key: self.tag.clone().or(record.key),
            value: record.value.to_ascii_uppercase().into(),
            partition: None,
            topic: None,
        });
        Ok(outputs.collect())
    }
}
