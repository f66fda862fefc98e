//! The benches' worker: upper-cases each value (key kept), per record or per batch.

#![allow(dead_code)] // each bench uses what it needs

use actix::prelude::*;
use actix_fluvio::pipeline::{Output, Process, ProcessBatch, WorkerError};

pub struct Upper;

impl Actor for Upper {
    type Context = Context<Self>;
}

impl Handler<Process> for Upper {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        Ok(vec![Output {
            key: msg.0.key,
            value: msg.0.value.to_ascii_uppercase().into(),
            partition: None,
            topic: None,
        }])
    }
}

impl Handler<ProcessBatch> for Upper {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let outputs = msg.records.into_iter().map(|r| Output {
            key: r.key,
            value: r.value.to_ascii_uppercase().into(),
            partition: None,
            topic: None,
        });
        Ok(outputs.collect())
    }
}
