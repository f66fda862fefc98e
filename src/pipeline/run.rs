//! Running a pipeline: one task per partition ([`super::partition`]) reads, hands records
//! to its worker (several at once, in order), sends the worker's outputs to the sink,
//! acknowledges, commits in batches, restarts failed workers (redelivering from the last
//! committed offset) and drains on request; the handle drains and reports status.
//!
//! ```text
//!  partition p ──PartitionStream──▶ worker p % n ──outputs──▶ Producer (sink)
//!        ▲                             │ answer = ack              │ acknowledged
//!        └── commit (consumer id) ◀── OffsetTracker ◀──────────────┘
//! ```

use std::sync::Arc;

use tokio::sync::watch;

use super::committer::Committer;
use super::config::PipelineConfig;
use super::dlq_topic::DeadLetterTopic;
use super::failure::Failure;
use super::partition::PartitionTask;
use super::partition_metrics::PartitionMetrics;
use super::policy::GiveUp;
use super::stats::{PipelineCounters, PipelineStats};
use super::status::{PipelineState, PipelineStatus};
use super::worker::Worker;
use super::workers::{Factory, Workers};
use crate::cluster::{ClientError, FluvioClient};
use crate::consumer::ConsumerError;
use crate::group::GroupError;
use crate::producer::{Producer, ProducerError};

/// Why a pipeline stopped.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading failed.
    #[error(transparent)]
    Consumer(#[from] ConsumerError),
    /// Writing to the sink failed.
    #[error(transparent)]
    Producer(#[from] ProducerError),
    /// A drain did not finish within its deadline.
    #[error("the drain did not finish within {0:?}")]
    DrainTimeout(std::time::Duration),
    /// A partition task panicked or was cancelled (a bug: reported, never hidden).
    #[error("a pipeline task ended abnormally: {0}")]
    Task(String),
    /// The pipeline's consumer group failed (joining it, or its member stopped).
    #[error(transparent)]
    Group(#[from] GroupError),
    /// The configuration cannot work (what is wrong with it).
    #[error("invalid pipeline configuration: {0}")]
    InvalidConfig(String),
    /// The final commit of a drain (or of `exit_at_end`) could not be stored within 30 s:
    /// the records after the stored offset are processed, and will be again by the next
    /// run under the same consumer id.
    #[error("{topic}-{partition}: final commit of offset {offset} not stored: {error}")]
    Commit {
        /// The source topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The offset that was not stored.
        offset: i64,
        /// The last commit failure (boxed: the error stays small).
        error: Box<ConsumerError>,
    },
    /// A record failed every attempt and the failure policy says stop
    /// ([`GiveUp::Stop`](super::GiveUp::Stop)); it stays uncommitted.
    #[error("{topic}-{partition} offset {offset} failed {attempts} times; last: {failure}")]
    RecordFailed {
        /// The source topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The record's offset.
        offset: i64,
        /// Attempts that failed.
        attempts: u32,
        /// The last failure.
        failure: Failure,
    },
}

/// A running pipeline. When one partition fails for good (a record failed under
/// [`GiveUp::Stop`](super::GiveUp::Stop), a source error), the others drain and the pipeline
/// stops with that error.
#[derive(Debug)]
pub struct PipelineHandle {
    workers: Arc<Workers>,
    stop: Arc<watch::Sender<bool>>,
    /// Test hook: cuts a group pipeline's member off the cluster (see `cut_off_group`).
    cut_off: tokio::sync::mpsc::UnboundedSender<std::time::Duration>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), PipelineError>>>,
    first_error: Option<PipelineError>,
    producer: Producer,
    stats: Arc<PipelineCounters>,
    status: PipelineStatus,
}

/// Start a pipeline: `worker(i)` starts worker `i` on the current arbiter (`Actor::start`)
/// and returns its recipient, of [`Process`](super::Process) (records one by one) or of
/// [`ProcessBatch`](super::ProcessBatch) (a partition's records in batches), or a
/// [`Worker`](super::Worker) built from one (a typed worker: [`Worker::json`](super::Worker::json)).
/// The pipeline calls it on an arbiter (a thread)
/// of its own for each worker, so that a panic takes down only that worker; it calls it
/// again, on a new arbiter, to restart a failed worker (stopping the old arbiter), and must
/// get the same kind each time; every worker's arbiter stops when the pipeline ends. (An
/// actor the factory starts on an arbiter of its own making is not stopped with it.)
///
/// With a group as [`PipelineConfig::committer`], the pipeline joins that group first and
/// runs the partitions the group assigns to it (see [`Committer::Group`]).
///
/// # Errors
/// The source topic's partitions cannot be read; the group cannot be joined; the
/// dead-letter topic's name is not a topic name ([`PipelineError::InvalidConfig`]).
pub async fn start_pipeline<F, W>(
    client: &FluvioClient,
    mut config: PipelineConfig,
    worker: F,
) -> Result<PipelineHandle, PipelineError>
where
    F: Fn(usize) -> W + Send + Sync + 'static,
    W: Into<Worker>,
{
    let dead_letter_name = match &config.failure.then {
        GiveUp::DeadLetter(topic) => {
            let name = topic
                .clone()
                .unwrap_or_else(|| format!("{}-dlq", config.source));
            // Checked first: a name the SC refuses would hold the first dead letter for ever.
            if !crate::admin::is_valid_name(&name) {
                return Err(PipelineError::InvalidConfig(format!(
                    "dead-letter topic {name:?}: a topic name is up to 63 lowercase letters, digits and '-' (not at either end)"
                )));
            }
            Some(name)
        }
        GiveUp::Skip | GiveUp::Stop => None,
    };
    let (source_partition, sink_partition) = mirror_partitions(client, &config).await?;
    if source_partition.is_some() {
        config.partition = source_partition;
    }
    let count = client
        .partition_count(&config.source)
        .await
        .map_err(ConsumerError::from)?;
    let partitions: Vec<u32> = match config.partition {
        None => (0..count).collect(),
        Some(partition) if partition < count => vec![partition],
        Some(partition) => {
            let missing = ClientError::PartitionNotFound {
                topic: config.source.clone(),
                partition,
            };
            return Err(ConsumerError::from(missing).into());
        }
    };
    super::mirror_metrics::label(client, &config.source, &partitions).await;
    let member = match &config.committer {
        Committer::Group(group) => Some(super::group::join(client, &config, group).await?),
        _ => None,
    };
    let factory: Factory = Arc::new(move |i| worker(i).into());
    let shared_workers =
        Arc::new(Workers::start(factory, config.workers.max(1)).map_err(PipelineError::Task)?);
    // The sink's producer, also for outputs routed elsewhere and dead letters.
    let producer = client.producer(config.producer.clone());
    let dead_letters = match dead_letter_name {
        Some(name) => {
            let template = config.sink.as_deref().unwrap_or(&config.source);
            Some(Arc::new(DeadLetterTopic::new(
                client.clone(),
                &name,
                &config.source,
                template,
            )))
        }
        None => None,
    };
    let (stop, stop_rx) = watch::channel(false);
    let stop = Arc::new(stop);
    let stats = Arc::new(PipelineCounters::default());
    // A group pipeline's status lists the partitions assigned to it, as they change.
    let initial = if member.is_some() {
        &[][..]
    } else {
        &partitions[..]
    };
    let status = PipelineStatus::new(config.committer.consumer_id(), &config.source, initial);
    let shared = Shared {
        fence: member.as_ref().map(|m| m.fence()),
        client: client.clone(),
        config: Arc::new(config),
        workers: shared_workers.clone(),
        producer: producer.clone(),
        sink_partition,
        dead_letters,
        stats: stats.clone(),
        status: status.clone(),
    };
    let (cut_off, cut_off_rx) = tokio::sync::mpsc::unbounded_channel();
    let tasks = match member {
        Some(member) => {
            let driver = super::group::GroupDriver::new(shared, member, stop_rx, cut_off_rx);
            vec![tokio::spawn(tracing::Instrument::in_current_span(
                driver.run(),
            ))]
        }
        None => partitions
            .into_iter()
            .map(|partition| {
                let task = shared.task(partition, stop_rx.clone());
                let (stop, status) = (stop.clone(), status.clone());
                // The partition's spans are children of the span `start_pipeline` runs in.
                tokio::spawn(tracing::Instrument::in_current_span(async move {
                    let result = task.run().await;
                    if result.is_err() {
                        status.set_state(PipelineState::Draining);
                        let _ = stop.send(true);
                    }
                    result
                }))
            })
            .collect(),
    };
    Ok(PipelineHandle {
        workers: shared_workers,
        stop,
        cut_off,
        tasks,
        first_error: None,
        producer,
        stats,
        status,
    })
}

/// What every partition task of a pipeline shares.
pub(crate) struct Shared {
    pub(crate) client: FluvioClient,
    /// A group pipeline's lease: checked before each record goes to a worker, each output to
    /// the sink, and each commit.
    pub(crate) fence: Option<crate::group::Fence>,
    pub(crate) config: Arc<PipelineConfig>,
    pub(crate) workers: Arc<Workers>,
    pub(crate) producer: Producer,
    /// The sink's partition for outputs that name none (from `sink_mirror`).
    pub(crate) sink_partition: Option<u32>,
    pub(crate) dead_letters: Option<Arc<DeadLetterTopic>>,
    pub(crate) stats: Arc<PipelineCounters>,
    pub(crate) status: PipelineStatus,
}

/// The partitions `source_mirror` and `sink_mirror` name, checked: the source's is read by
/// number, the sink's must be written on this side of the mirror.
async fn mirror_partitions(
    client: &FluvioClient,
    config: &PipelineConfig,
) -> Result<(Option<u32>, Option<u32>), PipelineError> {
    let source = match &config.source_mirror {
        Some(_) if config.partition.is_some() || config.committer.is_group() => {
            return Err(PipelineError::InvalidConfig(
                "source_mirror picks the partition: leave partition and group unset".into(),
            ));
        }
        Some(name) => Some(
            client
                .mirror_partition(&config.source, name)
                .await
                .map_err(ConsumerError::from)?
                .partition,
        ),
        None => None,
    };
    let sink = match (&config.sink_mirror, &config.sink) {
        (Some(_), None) => {
            return Err(PipelineError::InvalidConfig(
                "sink_mirror names a partition of the sink: set sink".into(),
            ));
        }
        (Some(name), Some(sink)) => {
            let invalid = |e: String| PipelineError::InvalidConfig(format!("sink_mirror: {e}"));
            let found = client
                .mirror_partition(sink, name)
                .await
                .map_err(|e| invalid(e.to_string()))?;
            if !found.accepts_produce() {
                return Err(invalid(format!(
                    "{sink}-{} is written on the other side of the mirror",
                    found.partition
                )));
            }
            Some(found.partition)
        }
        (None, _) => None,
    };
    Ok((source, sink))
}

impl Shared {
    /// The worker that runs `partition` now.
    pub(crate) fn worker_for(&self, partition: u32) -> Worker {
        let index = partition as usize % self.workers.len();
        self.workers.slot(index).recipient.clone()
    }

    /// The task of `partition`, stopping (draining) when `stop` turns true.
    pub(crate) fn task(&self, partition: u32, stop: watch::Receiver<bool>) -> PartitionTask {
        let config = &self.config;
        let worker = partition as usize % self.workers.len();
        PartitionTask {
            client: self.client.clone(),
            metrics: PartitionMetrics::new(
                config.committer.consumer_id(),
                &config.source,
                partition,
                worker,
            ),
            config: config.clone(),
            fence: self.fence.clone(),
            partition,
            workers: self.workers.clone(),
            producer: self.producer.clone(),
            sink_partition: self.sink_partition,
            dead_letters: self.dead_letters.clone(),
            stop,
            stats: self.stats.clone(),
            status: self.status.clone(),
            attempts: Default::default(),
            dead_letter_failures: 0,
            commits_failing: Default::default(),
        }
    }
}

impl PipelineHandle {
    /// What flowed so far: a snapshot of the counters (call again for newer figures).
    pub fn stats(&self) -> PipelineStats {
        self.stats.snapshot()
    }

    /// A live view of the pipeline's state and its partitions' streams, for readiness
    /// checks (e.g. [`crate::health::Health::watch_pipeline`]); it outlives the handle.
    pub fn status(&self) -> PipelineStatus {
        self.status.clone()
    }

    /// Wait until every partition ended (`exit_at_end`) or one failed (the others then drain).
    /// A group pipeline ends when it has left its group (after a partition failed for good:
    /// its partitions are handed over first) or its group member stopped.
    ///
    /// # Errors
    /// The first partition's failure.
    pub async fn wait(self) -> Result<PipelineStats, PipelineError> {
        self.finish().await
    }

    /// Stop fetching, let records in flight finish, flush the sink, commit what was
    /// acknowledged, then stop.
    ///
    /// # Errors
    /// The first partition's failure.
    pub async fn drain(self) -> Result<PipelineStats, PipelineError> {
        self.status.set_state(PipelineState::Draining);
        let _ = self.stop.send(true);
        self.finish().await
    }

    /// As [`PipelineHandle::drain`], giving up after `deadline` (records not yet acknowledged
    /// then stay uncommitted and are read again by the next run with the same consumer id).
    ///
    /// # Errors
    /// The first partition's failure, or [`PipelineError::DrainTimeout`].
    pub async fn drain_within(
        self,
        deadline: std::time::Duration,
    ) -> Result<PipelineStats, PipelineError> {
        tokio::time::timeout(deadline, self.drain())
            .await
            .map_err(|_| PipelineError::DrainTimeout(deadline))?
    }

    /// Run until the pipeline ends by itself (as [`PipelineHandle::wait`]) or a
    /// [`shutdown_signal`](super::shutdown_signal) arrives (Ctrl-C, SIGTERM, `System` stop),
    /// then drain within `deadline`.
    ///
    /// `System::stop` also stops the workers' arbiters: a record that was in a stopped worker
    /// is not acknowledged, so it stays uncommitted and the next run reads it again.
    ///
    /// ```no_run
    /// # async fn run(pipeline: actix_fluvio::pipeline::PipelineHandle) {
    /// let stats = pipeline
    ///     .drain_on_shutdown(std::time::Duration::from_secs(30))
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`PipelineHandle::drain_within`].
    pub async fn drain_on_shutdown(
        mut self,
        deadline: std::time::Duration,
    ) -> Result<PipelineStats, PipelineError> {
        tokio::select! {
            () = self.join_tasks() => {}
            () = super::shutdown_signal() => {
                tracing::info!("shutdown requested: draining the pipeline");
            }
        }
        self.drain_within(deadline).await
    }

    /// Test hook: for `duration`, a group pipeline's member appends nothing (as
    /// [`GroupMember::cut_off`](crate::group::GroupMember::cut_off)), so it loses its lease
    /// and its partitions. Nothing for a pipeline without a group.
    #[doc(hidden)]
    pub fn cut_off_group(&self, duration: std::time::Duration) {
        let _ = self.cut_off.send(duration);
    }

    /// Stop at once, as a crash: records in flight are not committed (the next run with the
    /// same consumer id, or the group's next owner, reads them again). A group pipeline
    /// writes nothing more to its group: the others take its partitions over once its
    /// session has expired. The sink's producer is dropped without a flush.
    pub fn abort(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.workers.stop();
        self.status.set_state(PipelineState::Stopped);
    }

    /// Await the partition tasks, keeping the first failure; safe to cancel and call again.
    async fn join_tasks(&mut self) {
        while let Some(task) = self.tasks.first_mut() {
            let result = task.await;
            self.tasks.remove(0);
            let error = match result {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => error,
                Err(join) => PipelineError::Task(join.to_string()),
            };
            self.first_error.get_or_insert(error);
        }
    }

    async fn finish(mut self) -> Result<PipelineStats, PipelineError> {
        self.join_tasks().await;
        self.workers.stop();
        let closed = self.producer.close().await;
        self.status.set_state(PipelineState::Stopped);
        closed?;
        self.first_error
            .map_or_else(|| Ok(self.stats.snapshot()), Err)
    }
}
