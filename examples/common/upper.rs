//! The examples' pipeline worker: upper-cases each value, keeping its key.

use actix::prelude::*;
use actix_fluvio::pipeline::{Output, ProcessBatch, WorkerError};

/// A batch worker: one message and one answer per batch of a partition's records.
pub struct Upper;

impl Actor for Upper {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Upper {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let outputs = msg.records.into_iter().map(|record| Output {
            key: record.key,
            value: record.value.to_ascii_uppercase().into(),
            partition: None,
        });
        Ok(outputs.collect())
    }
}
