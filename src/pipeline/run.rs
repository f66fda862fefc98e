//! Running a pipeline: one task per partition reads, hands each record to its worker, sends
//! the worker's outputs to the sink, acknowledges, commits in batches, restarts failed
//! workers (redelivering from the last committed offset) and drains on request.
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

use super::config::PipelineConfig;
use super::tracker::OffsetTracker;
use super::worker::{Output, Process, WorkerError};
use crate::cluster::FluvioClient;
use crate::consumer::{ConsumerError, ConsumerOptions, ConsumerRecord};
use crate::producer::{Producer, ProducerError, ProducerOptions};
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
    slots: Vec<Mutex<(Recipient<Process>, VecDeque<Instant>)>>,
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
    let partitions = client
        .partition_count(&config.source)
        .await
        .map_err(ConsumerError::from)?;
    let factory: Factory = Arc::new(worker);
    let workers = Arc::new(Workers {
        slots: (0..config.workers.max(1))
            .map(|i| Mutex::new((factory(i), VecDeque::new())))
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
    let tasks = (0..partitions)
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

    /// Read from the last committed offset until the end, a stop, or a worker failure.
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
        let (mut since_commit, mut last_commit) = (0usize, Instant::now());
        let worker_index = self.partition as usize % self.workers.slots.len();
        let outcome = loop {
            let record = tokio::select! {
                biased;
                _ = self.stop.changed() => break Session::Finished,
                record = stream.next() => record,
            };
            let Some(record) = record else {
                break Session::Finished;
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
            let processed = self.process(worker_index, record, &span);
            match tracing::Instrument::instrument(processed, span.clone()).await {
                Ok(()) => {
                    tracker.acked(offset);
                    *highest_processed = (*highest_processed).max(offset);
                    self.stats.acked.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(telemetry::PIPELINE_ACKED).increment(1);
                    since_commit += 1;
                }
                Err(failure) => {
                    let outcome = self.restart(worker_index, failure).await?;
                    self.commit(&committer, &mut tracker, outcome.is_finished())
                        .await?;
                    return Ok(outcome);
                }
            }
            if since_commit >= self.config.commit_every
                || last_commit.elapsed() >= self.config.commit_interval
            {
                self.commit(&committer, &mut tracker, false).await?;
                since_commit = 0;
                last_commit = Instant::now();
            }
        };
        self.commit(&committer, &mut tracker, outcome.is_finished())
            .await?;
        Ok(outcome)
    }

    /// Hand the record to its worker and send the outputs; `Err` is the worker's failure.
    async fn process(
        &self,
        worker: usize,
        record: ConsumerRecord,
        span: &tracing::Span,
    ) -> Result<(), String> {
        let recipient = self.workers.slots[worker]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone();
        let outputs: Vec<Output> = match recipient.send(Process(record)).await {
            Ok(Ok(outputs)) => outputs,
            Ok(Err(WorkerError(message))) => return Err(message),
            Err(MailboxError::Closed) => return Err("the worker stopped (panicked?)".into()),
            Err(MailboxError::Timeout) => return Err("the worker timed out".into()),
        };
        span.record("outputs", outputs.len());
        if let (Some(sink), Some(producer)) = (&self.config.sink, &self.producer) {
            let mut receipts = Vec::with_capacity(outputs.len());
            for output in outputs {
                let receipt = producer
                    .enqueue(sink, output.key.as_deref(), &output.value)
                    .await
                    .map_err(|e| e.to_string())?;
                receipts.push(receipt);
            }
            for receipt in receipts {
                receipt.wait().await.map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Restart the failed worker after the backoff, or finish when the pipeline is stopping
    /// (a drain, or a `System` stop that took the worker down with its arbiter).
    async fn restart(&mut self, worker: usize, failure: String) -> Result<Session, PipelineError> {
        if *self.stop.borrow() {
            tracing::info!(worker, partition = self.partition, %failure, "worker stopped while draining");
            return Ok(Session::Finished);
        }
        let restarts = {
            let mut slot = self.workers.slots[worker]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            slot.1.push_back(now);
            while slot
                .1
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.config.restart_window)
            {
                slot.1.pop_front();
            }
            slot.1.len()
        };
        tracing::warn!(worker, partition = self.partition, %failure, restarts, "pipeline worker failed; restarting");
        if restarts > self.config.max_restarts as usize {
            return Err(PipelineError::TooManyRestarts {
                worker,
                restarts,
                last: failure,
            });
        }
        tokio::select! {
            _ = self.stop.changed() => return Ok(Session::Finished),
            () = tokio::time::sleep(self.config.restart_backoff) => {}
        }
        let fresh = (self.workers.factory)(worker);
        self.workers.slots[worker]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0 = fresh;
        self.stats.restarts.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(telemetry::PIPELINE_RESTARTS).increment(1);
        Ok(Session::Restart)
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
