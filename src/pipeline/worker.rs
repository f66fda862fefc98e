//! What a pipeline worker receives and answers.

use actix::prelude::*;
use bytes::Bytes;

use crate::consumer::ConsumerRecord;

/// A record for a worker; its answer acknowledges it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Output>, WorkerError>")]
pub struct Process(pub ConsumerRecord);

/// A record a worker wants sent to the pipeline's sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
}

impl Output {
    /// An output with `value` and no key.
    pub fn value(value: impl Into<Bytes>) -> Self {
        Self {
            key: None,
            value: value.into(),
        }
    }
}

/// A worker's failure: the record is not acknowledged and the worker is restarted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("worker failed: {0}")]
pub struct WorkerError(pub String);
