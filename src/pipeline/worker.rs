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

/// A partition starting or stopping at a worker, for workers that keep state per
/// partition (see [`Worker::with_partition_events`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub enum PartitionEvent {
    /// Records of `partition` follow (the pipeline started, a consumer group assigned it, or
    /// the worker was restarted and the partition is read again from its last commit).
    Assigned {
        /// The partition.
        partition: u32,
    },
    /// `partition` stops here (a drain, its end, or a consumer group handing it to another
    /// member): every record of it this worker was handed is answered, and the final commit
    /// comes once this event is handled: flush the partition's state now.
    Revoked {
        /// The partition.
        partition: u32,
    },
    /// `partition` stopped without a final commit (its group member lost its lease): another
    /// member may process its uncommitted records; drop the partition's state.
    Lost {
        /// The partition.
        partition: u32,
    },
}

/// A worker actor: one that handles records one by one ([`Process`]) or in batches
/// ([`ProcessBatch`]), and optionally hears of its partitions starting and stopping
/// ([`PartitionEvent`]). `start_pipeline`'s factory returns either recipient (converted with
/// `into()`), or a `Worker` built from one.
///
/// ```
/// use actix::prelude::*;
/// use actix_fluvio::pipeline::{Output, PartitionEvent, ProcessBatch, Worker, WorkerError};
///
/// #[derive(Default)]
/// struct Counter(std::collections::HashMap<u32, u64>);
///
/// impl Actor for Counter {
///     type Context = Context<Self>;
/// }
///
/// impl Handler<ProcessBatch> for Counter {
///     type Result = Result<Vec<Output>, WorkerError>;
///     fn handle(&mut self, batch: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
///         *self.0.entry(batch.partition).or_default() += batch.records.len() as u64;
///         Ok(Vec::new())
///     }
/// }
///
/// impl Handler<PartitionEvent> for Counter {
///     type Result = ();
///     fn handle(&mut self, event: PartitionEvent, _: &mut Context<Self>) {
///         if let PartitionEvent::Revoked { partition } | PartitionEvent::Lost { partition } = event {
///             self.0.remove(&partition);
///         }
///     }
/// }
///
/// # actix::System::new().block_on(async {
/// let counter = Counter::default().start();
/// let worker = Worker::from(counter.clone().recipient::<ProcessBatch>())
///     .with_partition_events(counter.recipient());
/// # let _ = worker;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Worker {
    pub(crate) kind: WorkerKind,
    pub(crate) events: Option<Recipient<PartitionEvent>>,
}

/// What a worker handles.
#[derive(Debug, Clone)]
pub(crate) enum WorkerKind {
    /// One [`Process`] per record.
    Records(Recipient<Process>),
    /// One [`ProcessBatch`] per batch of a partition's records.
    Batches(Recipient<ProcessBatch>),
}

impl Worker {
    /// This worker, also told of its partitions starting and stopping.
    pub fn with_partition_events(mut self, events: Recipient<PartitionEvent>) -> Self {
        self.events = Some(events);
        self
    }

    /// Tell the worker of `event` (when it asked to hear of them), once it handled it.
    pub(crate) async fn tell(&self, event: PartitionEvent) {
        if let Some(events) = &self.events {
            // A worker that stopped meanwhile fails its records, which restarts it.
            let _ = events.send(event).await;
        }
    }
}

impl From<Recipient<Process>> for Worker {
    fn from(recipient: Recipient<Process>) -> Self {
        Self {
            kind: WorkerKind::Records(recipient),
            events: None,
        }
    }
}

impl From<Recipient<ProcessBatch>> for Worker {
    fn from(recipient: Recipient<ProcessBatch>) -> Self {
        Self {
            kind: WorkerKind::Batches(recipient),
            events: None,
        }
    }
}

/// A worker's answer, as a future.
pub(crate) type Answer =
    Pin<Box<dyn Future<Output = Result<Result<Vec<Output>, WorkerError>, MailboxError>> + Send>>;
