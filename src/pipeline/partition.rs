//! One partition of a running pipeline: its task reads, hands records to its worker (several
//! at once, in order), sends the worker's outputs to the sink, acknowledges, commits in
//! batches, restarts a failed worker (redelivering from the last committed offset) and
//! drains on request.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

mod read;
mod sink;

use read::{ask, next_records};
use sink::{acknowledged, send_outputs, Sent};

use super::config::PipelineConfig;
use super::partition_metrics::PartitionMetrics;
use super::run::{PipelineError, PipelineStats};
use super::status::{Phase, PipelineStatus};
use super::units::{UnitId, Units};
use super::worker::{Answer, PartitionEvent, Worker};
use super::workers::Workers;
use crate::cluster::FluvioClient;
use crate::consumer::{CommitGuard, Committer, ConsumerError, ConsumerOptions};
use crate::group::Fence;
use crate::producer::Producer;

/// Records handed to their worker in one message (one record, or a batch), waiting for
/// the answer.
struct Pending {
    unit: Acked,
    /// The worker's generation the records went to.
    generation: u64,
    answer: Answer,
    span: tracing::Span,
}

/// Records handed to the worker in one message: their unit, first and last offsets, count.
#[derive(Debug, Clone, Copy)]
struct Acked {
    id: UnitId,
    first: i64,
    last: i64,
    records: usize,
    /// Key and value bytes of the records.
    bytes: usize,
}

pub(crate) struct PartitionTask {
    pub(crate) client: FluvioClient,
    pub(crate) config: Arc<PipelineConfig>,
    /// A group pipeline's lease (see [`Shared`](super::run::Shared)).
    pub(crate) fence: Option<Fence>,
    pub(crate) partition: u32,
    pub(crate) workers: Arc<Workers>,
    pub(crate) producer: Option<Producer>,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) stats: Arc<PipelineStats>,
    pub(crate) status: PipelineStatus,
    pub(crate) metrics: PartitionMetrics,
}

enum Session {
    Finished,
    Restart,
    /// The group member's lease ended (or another owner committed past this one): stopped
    /// without committing anything more.
    Fenced,
}

impl Session {
    fn is_finished(&self) -> bool {
        matches!(self, Session::Finished)
    }
}

impl PartitionTask {
    pub(crate) async fn run(mut self) -> Result<(), PipelineError> {
        let mut highest_processed = -1;
        let result = loop {
            self.status.set_phase(self.partition, Phase::Starting);
            match self.session(&mut highest_processed).await {
                Ok(Session::Finished | Session::Fenced) => break Ok(()),
                Ok(Session::Restart) => continue,
                Err(error) => break Err(error),
            }
        };
        self.status.set_phase(self.partition, Phase::Ended);
        self.metrics.in_flight.set(0.0);
        result
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
            auto_commit: None,
            ..self.config.consumer.clone()
        };
        let mut stream = self
            .client
            .partition_consumer(&self.config.source, self.partition, options)
            .await?;
        self.status
            .set_phase(self.partition, Phase::Reading(stream.status()));
        let committer = stream.committer();
        let guard = self
            .fence
            .clone()
            .map(|fence| CommitGuard::new(move || fence.is_valid()));
        let mut tracker = Units::default();
        let mut answers: VecDeque<Pending> = VecDeque::new();
        // In unit order: the sink acknowledges in order, and commits go by prefix anyway.
        let mut sent: VecDeque<Sent> = VecDeque::new();
        // Records in `answers` and `sent`.
        let (mut held, mut held_bytes) = (0usize, 0usize);
        let max_bytes = self.config.max_in_flight_bytes.max(1);
        let mut since_commit = 0usize;
        // Due on the interval after the last commit; one timer, reset after each commit.
        let commit_timer = tokio::time::sleep(self.config.commit_interval);
        tokio::pin!(commit_timer);
        let mut commit_due = false;
        let worker_index = self.partition as usize % self.workers.len();
        let window = self.config.max_in_flight.max(1);
        let (first_worker, _) = self.worker(worker_index);
        first_worker
            .tell(PartitionEvent::Assigned {
                partition: self.partition,
            })
            .await;
        let worker_kind = first_worker.kind;
        let (mut failure, mut ended, mut fenced) = (None, false, false);
        // Since when the oldest unanswered record has been the worker's to answer.
        let mut front_since = Instant::now();
        let worker_timeout = self.config.worker_timeout;
        loop {
            if ended && held == 0 {
                break;
            }
            tokio::select! {
                biased;
                // A drain: read nothing more, finish what the worker and the sink hold.
                _ = self.stop.changed(), if !ended => ended = true,
                // An idle partition still commits what was acknowledged, on the interval.
                () = &mut commit_timer, if since_commit > 0 && !commit_due => commit_due = true,
                done = async { acknowledged(&sent.front().expect("checked").receipts).await },
                    if !sent.is_empty() =>
                {
                    let unit = sent.pop_front().expect("checked").unit;
                    match self.settle(unit, done, &mut tracker, highest_processed) {
                        Ok(unit) => {
                            held -= unit.records;
                            held_bytes -= unit.bytes;
                            since_commit += unit.records;
                        }
                        Err(error) => {
                            failure = Some((error, self.worker(worker_index).1));
                            break;
                        }
                    }
                }
                answer = async { answers.front_mut().expect("checked").answer.as_mut().await },
                    if !answers.is_empty() =>
                {
                    let Pending { unit, generation, span, .. } =
                        answers.pop_front().expect("checked");
                    if worker_timeout.is_some() {
                        front_since = Instant::now();
                    }
                    if !self.leased() {
                        fenced = true;
                        break;
                    }
                    let sink = self.config.sink.as_deref().zip(self.producer.as_ref());
                    let outputs = send_outputs(sink, answer, &span);
                    match tracing::Instrument::instrument(outputs, span.clone()).await {
                        Ok(receipts) => sent.push_back(Sent { unit, receipts }),
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
                    let error = format!("no answer for offset {} within {timeout:?}", front.unit.first);
                    failure = Some((error, front.generation));
                    break;
                }
                records = next_records(&mut stream, &worker_kind, window - held),
                    if !ended && held < window && held_bytes < max_bytes =>
                {
                    let Some(read) = records else {
                        // The end: finish what is under way first.
                        ended = true;
                        continue;
                    };
                    let read = read?;
                    let records = read.records();
                    let (Some(first), Some(last)) = (records.first(), records.last()) else {
                        continue;
                    };
                    let (first, last) = (first.offset, last.offset);
                    if !self.leased() {
                        fenced = true;
                        break;
                    }
                    if first <= *highest_processed {
                        let again = records.iter().filter(|r| r.offset <= *highest_processed).count();
                        self.stats.redelivered.fetch_add(again as u64, Ordering::Relaxed);
                        self.metrics.redelivered.increment(again as u64);
                    }
                    let unit = Acked {
                        id: tracker.delivered(first, last),
                        first,
                        last,
                        records: records.len(),
                        bytes: records
                            .iter()
                            .map(|r| r.value.len() + r.key.as_ref().map_or(0, |k| k.len()))
                            .sum(),
                    };
                    let span = tracing::debug_span!(
                        "fluvio.pipeline.record",
                        topic = %self.config.source,
                        partition = self.partition,
                        offset = first,
                        last,
                        records = records.len(),
                        worker = worker_index,
                        outputs = tracing::field::Empty,
                    );
                    let (worker, generation) = self.worker(worker_index);
                    if answers.is_empty() && worker_timeout.is_some() {
                        front_since = Instant::now();
                    }
                    held += unit.records;
                    held_bytes += unit.bytes;
                    self.stats
                        .peak_in_flight_bytes
                        .fetch_max(held_bytes as u64, Ordering::Relaxed);
                    answers.push_back(Pending {
                        unit,
                        generation,
                        answer: ask(&worker.kind, self.partition, read),
                        span,
                    });
                }
            }
            self.metrics.in_flight.set(held as f64);
            if since_commit >= self.config.commit_every || commit_due {
                if !self
                    .commit(&committer, guard.as_ref(), &mut tracker, false)
                    .await?
                {
                    fenced = true;
                    break;
                }
                since_commit = 0;
                commit_due = false;
                commit_timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + self.config.commit_interval);
            }
        }
        if fenced {
            // Another member may own the partition now: nothing more is committed, and the
            // outputs already sent stay at least once.
            tracing::warn!(
                partition = self.partition,
                "group lease lost: the partition stops without committing"
            );
            return Ok(Session::Fenced);
        }
        // After a failure, records the worker has not answered are dropped (read again after
        // the restart); what went to the sink finishes: acknowledged records get committed.
        drop(answers);
        while let Some(Sent { unit, receipts }) = sent.pop_front() {
            let done = acknowledged(&receipts).await;
            if let Err(error) = self.settle(unit, done, &mut tracker, highest_processed) {
                failure.get_or_insert((error, self.worker(worker_index).1));
            }
        }
        let outcome = match failure {
            Some((failure, generation)) => self.restart(worker_index, generation, failure).await?,
            None => Session::Finished,
        };
        if outcome.is_finished() {
            // Everything handed to the worker is answered: its last chance to flush.
            self.worker(worker_index)
                .0
                .tell(PartitionEvent::Revoked {
                    partition: self.partition,
                })
                .await;
        }
        let leased = self
            .commit(
                &committer,
                guard.as_ref(),
                &mut tracker,
                outcome.is_finished(),
            )
            .await?;
        Ok(if leased { outcome } else { Session::Fenced })
    }

    /// Whether this task may go on: always outside a group; in a group, while the member's
    /// lease runs.
    fn leased(&self) -> bool {
        self.fence.as_ref().is_none_or(Fence::is_valid)
    }

    /// Account for records whose outputs the sink answered: how many; `Err` is the failure.
    fn settle(
        &self,
        unit: Acked,
        done: Result<(), String>,
        tracker: &mut Units,
        highest_processed: &mut i64,
    ) -> Result<Acked, String> {
        done?;
        tracker.acked(unit.id);
        *highest_processed = (*highest_processed).max(unit.last);
        self.stats
            .acked
            .fetch_add(unit.records as u64, Ordering::Relaxed);
        self.metrics.acked.increment(unit.records as u64);
        Ok(unit)
    }

    /// A fresh sender to worker `index`, and its generation. (Each sender may put one
    /// message past a full mailbox, so sends never wait and stay in order; `max_in_flight`
    /// bounds them.)
    fn worker(&self, index: usize) -> (Worker, u64) {
        let slot = self.workers.slot(index);
        (slot.recipient.clone(), slot.generation)
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
            let mut slot = self.workers.slot(worker);
            if slot.generation == generation {
                let restarts = slot
                    .failures
                    .record(Instant::now(), self.config.restart_window);
                tracing::warn!(worker, partition = self.partition, %failure, restarts, "pipeline worker failed; restarting");
                if restarts > self.config.max_restarts as usize {
                    return Err(PipelineError::TooManyRestarts {
                        worker,
                        restarts,
                        last: failure,
                    });
                }
                // On a new arbiter; the failed worker's is stopped.
                self.workers
                    .replace(&mut slot, worker)
                    .map_err(PipelineError::Task)?;
                self.stats.restarts.fetch_add(1, Ordering::Relaxed);
                self.metrics.restarted(worker);
            } else {
                tracing::debug!(worker, partition = self.partition, %failure, "worker already restarted");
            }
        }
        self.status.set_phase(self.partition, Phase::Restarting);
        tokio::select! {
            _ = self.stop.changed() => Ok(Session::Finished),
            () = tokio::time::sleep(self.config.restart_backoff) => Ok(Session::Restart),
        }
    }

    /// Commit what the tracker allows. A reconnecting stream has no session to commit on for
    /// a moment: retry for a second (`last`: the session's final commit, for 30 s), then leave
    /// it to the next commit; the offset stays uncommitted, never skipped. In a group, the
    /// commit is guarded by the lease and never moves the stored offset backwards; `false`
    /// when it was refused for either reason (the partition is no longer this member's).
    async fn commit(
        &self,
        committer: &Committer,
        guard: Option<&CommitGuard>,
        tracker: &mut Units,
        last: bool,
    ) -> Result<bool, PipelineError> {
        let Some(offset) = tracker.committable() else {
            return Ok(true);
        };
        let patience = std::time::Duration::from_secs(if last { 30 } else { 1 });
        let pause = self
            .config
            .restart_backoff
            .clamp(std::time::Duration::from_millis(50), patience);
        let started = Instant::now();
        loop {
            let result = match guard {
                Some(guard) => committer.commit_guarded(offset, guard).await,
                None => committer.commit(offset).await,
            };
            match result {
                Ok(()) => {
                    tracker.committed(offset);
                    self.stats.commits.fetch_add(1, Ordering::Relaxed);
                    return Ok(true);
                }
                Err(ConsumerError::Fenced { .. }) => return Ok(false),
                Err(error @ ConsumerError::CommitBehind { .. }) => {
                    tracing::warn!(partition = self.partition, %error, "another member moved the partition on: stopping it");
                    return Ok(false);
                }
                Err(error) if error.is_retriable() && started.elapsed() < patience => {
                    tracing::debug!(partition = self.partition, offset, %error, "commit waits for the stream's session");
                    tokio::time::sleep(pause).await;
                }
                Err(error) if error.is_retriable() => {
                    tracing::warn!(partition = self.partition, offset, %error, "commit deferred");
                    return Ok(true);
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}
