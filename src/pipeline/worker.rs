//! What a pipeline worker receives and answers: one record ([`Process`]) or a batch of one
//! partition's records ([`ProcessBatch`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;

use super::failure::Failure;
use crate::consumer::ConsumerRecord;

/// A record for a worker; its answer acknowledges it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Output>, WorkerError>")]
pub struct Process(pub ConsumerRecord);

/// Records of one partition, in offset order, as the stream delivered them (up to one fetch
/// frame's worth, at most [`PipelineConfig::max_in_flight`](super::PipelineConfig) and the
/// consumer's `buffer_records`); the answer acknowledges all of them at once. An error fails
/// the whole batch: it is delivered again (at least once, so make the work idempotent or answer
/// only once all of it is done), split down to the failing record, which then goes through the
/// pipeline's [`FailurePolicy`](super::FailurePolicy). Name the failing record with
/// [`WorkerError::at`] to spare the split.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Output>, WorkerError>")]
pub struct ProcessBatch {
    /// The partition the records come from.
    pub partition: u32,
    /// The records, in offset order.
    pub records: Vec<ConsumerRecord>,
}

/// A record a worker wants sent to the pipeline's sink, or to a topic of its own
/// ([`Output::to_topic`]). The source record is committed only once every output of it is
/// acknowledged, wherever it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
    /// The partition (`None`: the producer's partitioner picks it).
    pub partition: Option<u32>,
    /// The topic (`None`: the pipeline's sink; without a sink, the output is dropped).
    pub topic: Option<Arc<str>>,
}

impl Output {
    /// An output with `value` and no key.
    pub fn value(value: impl Into<Bytes>) -> Self {
        Self {
            key: None,
            value: value.into(),
            partition: None,
            topic: None,
        }
    }

    /// An output with `key` and `value`.
    pub fn keyed(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        Self {
            key: Some(key.into()),
            value: value.into(),
            partition: None,
            topic: None,
        }
    }

    /// This output, sent to partition `partition`.
    pub fn to_partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// This output, sent to `topic` rather than the pipeline's sink (with the sink
    /// producer's options; the topic must exist). Hold the name in an `Arc<str>` to route
    /// many outputs without copying it.
    ///
    /// ```
    /// use actix_fluvio::pipeline::Output;
    ///
    /// let audit: std::sync::Arc<str> = "orders-audit".into();
    /// let output = Output::value("order 7 over limit").to_topic(audit.clone());
    /// assert_eq!(output.topic.as_deref(), Some("orders-audit"));
    /// ```
    pub fn to_topic(mut self, topic: impl Into<Arc<str>>) -> Self {
        self.topic = Some(topic.into());
        self
    }
}

/// A worker's failure: the record (or batch) is not acknowledged; it goes through the
/// pipeline's [`FailurePolicy`](super::FailurePolicy). The worker is not restarted.
///
/// ```
/// use actix_fluvio::pipeline::WorkerError;
///
/// let whole = WorkerError::new("database unavailable");
/// // A batch worker naming the record it failed on: the pipeline retries that one alone.
/// let one = WorkerError::at(4242, "no such customer");
/// assert_eq!((whole.offset, one.offset), (None, Some(4242)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("worker failed: {message}")]
pub struct WorkerError {
    /// What went wrong.
    pub message: String,
    /// The offset of the record it went wrong on, when a batch worker knows it (`None`: the
    /// batch is split to find it).
    pub offset: Option<i64>,
}

impl WorkerError {
    /// A failure saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            offset: None,
        }
    }

    /// A failure of the record at `offset`, saying `message`.
    pub fn at(offset: i64, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            offset: Some(offset),
        }
    }
}

impl From<String> for WorkerError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for WorkerError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

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
    /// One decoded record per message (a typed worker, see [`Worker::typed`]).
    Typed(Arc<dyn AskRecord>),
}

impl std::fmt::Debug for dyn AskRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("typed worker")
    }
}

/// Hands one record to a worker (decoding it first for a typed worker); the answer's
/// outputs, encoded.
pub(crate) trait AskRecord: Send + Sync {
    fn ask(&self, record: ConsumerRecord, mark: Mark) -> Answer;
}

/// A message's place among those sent to its worker, and where the worker's answers are
/// noted (the highest place answered so far): a worker that answered a later message is not
/// stuck on an earlier one.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub(crate) answered: Arc<AtomicU64>,
    pub(crate) seq: u64,
}

impl Mark {
    /// The worker answered this message (with outputs or an error).
    pub(crate) fn answered(&self) {
        self.answered.fetch_max(self.seq, Ordering::Relaxed);
    }
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

/// A worker's answer, as a future: the outputs, or why the records failed.
pub(crate) type Answer = Pin<Box<dyn Future<Output = Result<Vec<Output>, Failure>> + Send>>;

/// The answer to a message already sent: its outputs, or the worker's failure.
pub(crate) fn answer<M>(request: actix::dev::RecipientRequest<M>, mark: Mark) -> Answer
where
    M: Message<Result = Result<Vec<Output>, WorkerError>> + Send + 'static,
    M::Result: Send,
{
    Box::pin(async move {
        let answer = request.await;
        if answer.is_ok() {
            mark.answered();
        }
        Failure::from_answer(answer)
    })
}
