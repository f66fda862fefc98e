//! Running a pipeline: one task per partition reads, hands records to its worker (several
//! at once, in order), sends the worker's outputs to the sink, acknowledges, commits in
//! batches, restarts failed workers (redelivering from the last committed offset) and drains
//! on request.
//!
//! ```text
//!  partition p ──PartitionStream──▶ worker p % n ──outputs──▶ Producer (sink)
//!        ▲                             │ answer = ack              │ acknowledged
//!        └── commit (consumer id) ◀── OffsetTracker ◀──────────────┘
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix::{MailboxError, Recipient};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::config::PipelineConfig;
use super::tracker::OffsetTracker;
use super::worker::{Output, Process, WorkerError};
use crate::cluster::{ClientError, FluvioClient};
use crate::consumer::{ConsumerError, ConsumerOptions};
use crate::producer::{DeliveryFuture, Producer, ProducerError, ProducerOptions};
use crate::telemetry;

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
    /// Workers failed more often than `max_restarts` within `restart_window`.
    #[error("worker {worker} restarted {restarts} times within the window; last failure: {last}")]
    TooManyRestarts {
        /// The worker index.
        worker: usize,
        /// Restarts counted.
        restarts: usize,
        /// The last failure.
        last: String,
    },
}

/// Counts of what flowed.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Records acknowledged by workers.
    pub acked: AtomicU64,
    /// Records delivered again after a restart.
    pub redelivered: AtomicU64,
    /// Worker restarts.
    pub restarts: AtomicU64,
    /// Offset commits.
    pub commits: AtomicU64,
}

type Factory = Arc<dyn Fn(usize) -> Recipient<Process> + Send + Sync>;

struct Workers {
    factory: Factory,
    slots: Vec<Mutex<Slot>>,
}

/// One worker: its current actor, which incarnation that is, and its recent failures.
struct Slot {
    recipient: Recipient<Process>,
    generation: u64,
    failures: VecDeque<Instant>,
}

/// A running pipeline. When one partition fails for good (too many worker restarts, a sink or
/// source error), the others drain and the pipeline stops with that error.
#[derive(Debug)]
pub struct PipelineHandle {
    stop: Arc<watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), PipelineError>>>,
    first_error: Option<PipelineError>,
    producer: Option<Producer>,
    stats: Arc<PipelineStats>,
}

/// Start a pipeline: `worker(i)` starts worker `i` and returns its recipient (called again
/// to restart it). Start each worker on an arbiter of its own
/// (`actix::Arbiter::new()`), so that a panic takes down only that worker.
///
/// # Errors
/// The source topic's partitions cannot be read.
pub async fn start_pipeline<F>(
    client: &FluvioClient,
    config: PipelineConfig,
    worker: F,
) -> Result<PipelineHandle, PipelineError>
where
    F: Fn(usize) -> Recipient<Process> + Send + Sync + 'static,
{
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
    let factory: Factory = Arc::new(worker);
    let workers = Arc::new(Workers {
        slots: (0..config.workers.max(1))
            .map(|i| {
                Mutex::new(Slot {
                    recipient: factory(i),
                    generation: 0,
                    failures: VecDeque::new(),
                })
            })
            .collect(),
        factory,
    });
    let producer = config
        .sink
        .as_ref()
        .map(|_| client.producer(ProducerOptions::default()));
    let (stop, stop_rx) = watch::channel(false);
    let stop = Arc::new(stop);
    let stats = Arc::new(PipelineStats::default());
    let config = Arc::new(config);
    let tasks = partitions
        .into_iter()
        .map(|partition| {
            let task = PartitionTask {
                client: client.clone(),
                config: config.clone(),
                partition,
                workers: workers.clone(),
                producer: producer.clone(),
                stop: stop_rx.clone(),
                stats: stats.clone(),
            };
            let stop = stop.clone();
            // The partition's spans are children of the span `start_pipeline` runs in.
            tokio::spawn(tracing::Instrument::in_current_span(async move {
                let result = task.run().await;
                if result.is_err() {
                    let _ = stop.send(true);
                }
                result
            }))
        })
        .collect();
    Ok(PipelineHandle {
        stop,
        tasks,
        first_error: None,
        producer,
        stats,
    })
}

impl PipelineHandle {
    /// What flowed so far.
    pub fn stats(&self) -> &PipelineStats {
        &self.stats
    }

    /// Wait until every partition ended (`exit_at_end`) or one failed (the others then drain).
    ///
    /// # Errors
    /// The first partition's failure.
    pub async fn wait(self) -> Result<Arc<PipelineStats>, PipelineError> {
        self.finish().await
    }

    /// Stop fetching, let records in flight finish, flush the sink, commit what was
    /// acknowledged, then stop.
    ///
    /// # Errors
    /// The first partition's failure.
    pub async fn drain(self) -> Result<Arc<PipelineStats>, PipelineError> {
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
    ) -> Result<Arc<PipelineStats>, PipelineError> {
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
    ) -> Result<Arc<PipelineStats>, PipelineError> {
        tokio::select! {
            () = self.join_tasks() => {}
            () = super::shutdown_signal() => {
                tracing::info!("shutdown requested: draining the pipeline");
            }
        }
        self.drain_within(deadline).await
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

    async fn finish(mut self) -> Result<Arc<PipelineStats>, PipelineError> {
        self.join_tasks().await;
        if let Some(producer) = self.producer.take() {
            producer.close().await?;
        }
        self.first_error.map_or(Ok(self.stats), Err)
    }
}

/// A record handed to its worker, waiting for the answer.
struct Pending {
    offset: i64,
    /// The worker's generation the record went to.
    generation: u64,
    answer: std::pin::Pin<Box<actix::dev::RecipientRequest<Process>>>,
    span: tracing::Span,
}

struct PartitionTask {
    client: FluvioClient,
    config: Arc<PipelineConfig>,
    partition: u32,
    workers: Arc<Workers>,
    producer: Option<Producer>,
    stop: watch::Receiver<bool>,
    stats: Arc<PipelineStats>,
}

enum Session {
    Finished,
    Restart,
}

impl Session {
    fn is_finished(&self) -> bool {
        matches!(self, Session::Finished)
    }
}

impl PartitionTask {
    async fn run(mut self) -> Result<(), PipelineError> {
        let mut highest_processed = -1;
        loop {
            match self.session(&mut highest_processed).await? {
                Session::Finished => return Ok(()),
                Session::Restart => continue,
            }
        }
    }

    /// Read from the last committed offset until the end, a stop, or a failure. Records reach
    /// the worker in order without waiting for the previous answer; answers are taken in
    /// order, their outputs go to the sink without waiting, and each record is acknowledged
    /// when the sink acknowledged its outputs. At most `max_in_flight` records are between
    /// the stream and their acknowledgement.
    async fn session(&mut self, highest_processed: &mut i64) -> Result<Session, PipelineError> {
        let options = ConsumerOptions {
            consumer_id: Some(self.config.consumer_id.clone()),
            disable_continuous: self.config.exit_at_end,
            smartmodules: self.config.smartmodules.clone(),
            ..ConsumerOptions::default()
        };
        let mut stream = self
            .client
            .partition_consumer(&self.config.source, self.partition, options)
            .await?;
        let committer = stream.committer();
        let mut tracker = OffsetTracker::new(None);
        let mut answers: VecDeque<Pending> = VecDeque::new();
        let mut in_flight: JoinSet<(i64, Result<(), String>)> = JoinSet::new();
        let (mut since_commit, mut last_commit) = (0usize, Instant::now());
        let worker_index = self.partition as usize % self.workers.slots.len();
        let window = self.config.max_in_flight.max(1);
        let (mut failure, mut ended) = (None, false);
        // Since when the oldest unanswered record has been the worker's to answer.
        let mut front_since = Instant::now();
        let worker_timeout = self.config.worker_timeout;
        loop {
            if ended && answers.is_empty() && in_flight.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                // A drain: read nothing more, finish what the worker and the sink hold.
                _ = self.stop.changed(), if !ended => ended = true,
                // An idle partition still commits what was acknowledged, on the interval.
                () = tokio::time::sleep_until((last_commit + self.config.commit_interval).into()),
                    if since_commit > 0 => {}
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    match self.settle(done, &mut tracker, highest_processed) {
                        Ok(()) => since_commit += 1,
                        Err(error) => {
                            failure = Some((error, self.worker(worker_index).1));
                            break;
                        }
                    }
                }
                answer = async { answers.front_mut().expect("checked").answer.as_mut().await },
                    if !answers.is_empty() =>
                {
                    let Pending { offset, generation, span, .. } =
                        answers.pop_front().expect("checked");
                    front_since = Instant::now();
                    let sent = self.send_outputs(answer, &span);
                    match tracing::Instrument::instrument(sent, span.clone()).await {
                        Ok(receipts) => {
                            let acked = async move {
                                for receipt in receipts {
                                    receipt.wait().await.map_err(|e| e.to_string())?;
                                }
                                Ok(())
                            };
                            in_flight.spawn(tracing::Instrument::instrument(
                                async move { (offset, acked.await) },
                                span,
                            ));
                        }
                        Err(error) => {
                            failure = Some((error, generation));
                            break;
                        }
                    }
                }
                () = tokio::time::sleep_until((front_since + worker_timeout.unwrap_or_default()).into()),
                    if worker_timeout.is_some() && !answers.is_empty() =>
                {
                    let front = answers.front().expect("checked");
                    let timeout = worker_timeout.unwrap_or_default();
                    let error = format!("no answer for offset {} within {timeout:?}", front.offset);
                    failure = Some((error, front.generation));
                    break;
                }
                record = stream.next(), if !ended && answers.len() + in_flight.len() < window => {
                    let Some(record) = record else {
                        // The end: finish what is under way first.
                        ended = true;
                        continue;
                    };
                    let record = record?;
                    let offset = record.offset;
                    if offset <= *highest_processed {
                        self.stats.redelivered.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!(telemetry::PIPELINE_REDELIVERED).increment(1);
                    }
                    tracker.delivered(offset);
                    let span = tracing::debug_span!(
                        "fluvio.pipeline.record",
                        topic = %self.config.source,
                        partition = self.partition,
                        offset,
                        worker = worker_index,
                        outputs = tracing::field::Empty,
                    );
                    let (worker, generation) = self.worker(worker_index);
                    if answers.is_empty() {
                        front_since = Instant::now();
                    }
                    answers.push_back(Pending {
                        offset,
                        generation,
                        answer: Box::pin(worker.send(Process(record))),
                        span,
                    });
                }
            }
            if since_commit >= self.config.commit_every
                || last_commit.elapsed() >= self.config.commit_interval
            {
                self.commit(&committer, &mut tracker, false).await?;
                since_commit = 0;
                last_commit = Instant::now();
            }
        }
        // After a failure, records the worker has not answered are dropped (read again after
        // the restart); what went to the sink finishes: acknowledged records get committed.
        drop(answers);
        while let Some(done) = in_flight.join_next().await {
            if let Err(error) = self.settle(done, &mut tracker, highest_processed) {
                failure.get_or_insert((error, self.worker(worker_index).1));
            }
        }
        let outcome = match failure {
            Some((failure, generation)) => self.restart(worker_index, generation, failure).await?,
            None => Session::Finished,
        };
        self.commit(&committer, &mut tracker, outcome.is_finished())
            .await?;
        Ok(outcome)
    }

    /// Account for a record whose outputs the sink answered; `Err` is the failure.
    fn settle(
        &self,
        done: Result<(i64, Result<(), String>), tokio::task::JoinError>,
        tracker: &mut OffsetTracker,
        highest_processed: &mut i64,
    ) -> Result<(), String> {
        let (offset, result) = done.map_err(|e| format!("acknowledgement task: {e}"))?;
        result?;
        tracker.acked(offset);
        *highest_processed = (*highest_processed).max(offset);
        self.stats.acked.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(telemetry::PIPELINE_ACKED).increment(1);
        Ok(())
    }

    /// A fresh sender to worker `index`, and its generation. (Each sender may put one
    /// message past a full mailbox, so sends never wait and stay in order; `max_in_flight`
    /// bounds them.)
    fn worker(&self, index: usize) -> (Recipient<Process>, u64) {
        let slot = self.workers.slots[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (slot.recipient.clone(), slot.generation)
    }

    /// Enqueue the worker's outputs on the sink; the receipts to wait for. `Err` is the
    /// worker's failure (or the sink refusing an output).
    async fn send_outputs(
        &self,
        answer: Result<Result<Vec<Output>, WorkerError>, MailboxError>,
        span: &tracing::Span,
    ) -> Result<Vec<DeliveryFuture>, String> {
        let outputs = match answer {
            Ok(Ok(outputs)) => outputs,
            Ok(Err(WorkerError(message))) => return Err(message),
            Err(MailboxError::Closed) => return Err("the worker stopped (panicked?)".into()),
            Err(MailboxError::Timeout) => return Err("the worker timed out".into()),
        };
        span.record("outputs", outputs.len());
        let mut receipts = Vec::new();
        if let (Some(sink), Some(producer)) = (&self.config.sink, &self.producer) {
            receipts.reserve(outputs.len());
            for output in outputs {
                let receipt = producer
                    .enqueue(sink, output.key.as_deref(), &output.value)
                    .await
                    .map_err(|e| e.to_string())?;
                receipts.push(receipt);
            }
        }
        Ok(receipts)
    }

    /// Replace the failed worker (unless another partition already replaced that generation),
    /// then pause for the backoff; or finish when the pipeline is stopping (a drain, or a
    /// `System` stop that took the worker down with its arbiter).
    async fn restart(
        &mut self,
        worker: usize,
        generation: u64,
        failure: String,
    ) -> Result<Session, PipelineError> {
        if *self.stop.borrow() {
            tracing::info!(worker, partition = self.partition, %failure, "worker stopped while draining");
            return Ok(Session::Finished);
        }
        {
            let mut slot = self.workers.slots[worker]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if slot.generation == generation {
                let now = Instant::now();
                let window = self.config.restart_window;
                slot.failures.push_back(now);
                while slot
                    .failures
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > window)
                {
                    slot.failures.pop_front();
                }
                let restarts = slot.failures.len();
                tracing::warn!(worker, partition = self.partition, %failure, restarts, "pipeline worker failed; restarting");
                if restarts > self.config.max_restarts as usize {
                    return Err(PipelineError::TooManyRestarts {
                        worker,
                        restarts,
                        last: failure,
                    });
                }
                slot.recipient = (self.workers.factory)(worker);
                slot.generation += 1;
                self.stats.restarts.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(telemetry::PIPELINE_RESTARTS).increment(1);
            } else {
                tracing::debug!(worker, partition = self.partition, %failure, "worker already restarted");
            }
        }
        tokio::select! {
            _ = self.stop.changed() => Ok(Session::Finished),
            () = tokio::time::sleep(self.config.restart_backoff) => Ok(Session::Restart),
        }
    }

    /// Commit what the tracker allows. A reconnecting stream has no session to commit on for
    /// a moment: retry for a second (`last`: the session's final commit, for 30 s), then leave
    /// it to the next commit; the offset stays uncommitted, never skipped.
    async fn commit(
        &self,
        committer: &crate::consumer::Committer,
        tracker: &mut OffsetTracker,
        last: bool,
    ) -> Result<(), PipelineError> {
        let Some(offset) = tracker.committable() else {
            return Ok(());
        };
        let patience = std::time::Duration::from_secs(if last { 30 } else { 1 });
        let pause = self
            .config
            .restart_backoff
            .clamp(std::time::Duration::from_millis(50), patience);
        let started = Instant::now();
        loop {
            match committer.commit(offset).await {
                Ok(()) => {
                    tracker.committed(offset);
                    self.stats.commits.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(error) if error.is_retriable() && started.elapsed() < patience => {
                    tracing::debug!(partition = self.partition, offset, %error, "commit waits for the stream's session");
                    tokio::time::sleep(pause).await;
                }
                Err(error) if error.is_retriable() => {
                    tracing::warn!(partition = self.partition, offset, %error, "commit deferred");
                    return Ok(());
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}
