//! What a pipeline worker receives and answers: one record ([`Process`]) or a batch of one
//! partition's records ([`ProcessBatch`]).

use std::future::Future;
use std::pin::Pin;

use actix::prelude::*;
use bytes::Bytes;

use crate::consumer::ConsumerRecord;

/// A record for a worker; its answer acknowledges it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Output>, WorkerError>")]
pub struct Process(pub ConsumerRecord);

/// Records of one partition, in offset order, as the stream delivered them (up to one fetch
/// frame's worth, at most [`PipelineConfig::max_in_flight`](super::PipelineConfig)); the
/// answer acknowledges all of them at once. An error fails the whole batch: the worker is
/// restarted and the batch is delivered again (at least once), so make the work idempotent
/// or answer only once all of it is done.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Output>, WorkerError>")]
pub struct ProcessBatch {
    /// The partition the records come from.
    pub partition: u32,
    /// The records, in offset order.
    pub records: Vec<ConsumerRecord>,
}

/// A record a worker wants sent to the pipeline's sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
    /// The sink partition (`None`: the sink producer's partitioner picks it).
    pub partition: Option<u32>,
}

impl Output {
    /// An output with `value` and no key.
    pub fn value(value: impl Into<Bytes>) -> Self {
        Self {
            key: None,
            value: value.into(),
            partition: None,
        }
    }

    /// An output with `key` and `value`.
    pub fn keyed(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        Self {
            key: Some(key.into()),
            value: value.into(),
            partition: None,
        }
    }

    /// This output, sent to sink partition `partition`.
    pub fn to_partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }
}

/// A worker's failure: the record is not acknowledged and the worker is restarted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("worker failed: {0}")]
pub struct WorkerError(pub String);

/// A worker actor: one that handles records one by one ([`Process`]) or in batches
/// ([`ProcessBatch`]). `start_pipeline`'s factory returns either recipient.
#[derive(Debug, Clone)]
pub enum Worker {
    /// Gets one [`Process`] per record.
    Records(Recipient<Process>),
    /// Gets one [`ProcessBatch`] per batch of a partition's records.
    Batches(Recipient<ProcessBatch>),
}

impl From<Recipient<Process>> for Worker {
    fn from(recipient: Recipient<Process>) -> Self {
        Worker::Records(recipient)
    }
}

impl From<Recipient<ProcessBatch>> for Worker {
    fn from(recipient: Recipient<ProcessBatch>) -> Self {
        Worker::Batches(recipient)
    }
}

/// A worker's answer, as a future.
pub(crate) type Answer =
    Pin<Box<dyn Future<Output = Result<Result<Vec<Output>, WorkerError>, MailboxError>> + Send>>;
