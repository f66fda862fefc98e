//! One partition of a running pipeline: its task reads, hands records to its worker (several
//! at once, in order), sends the worker's outputs to the sink, acknowledges, commits in
//! batches, and on a failure applies the pipeline's [`FailurePolicy`](super::FailurePolicy)
//! (redelivering from the last committed offset: splitting a failed batch, retrying a record,
//! dead-lettering or skipping it, or stopping); drains on request.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

mod attempts;
mod read;
mod relayed;
mod senders;
mod sink;

use attempts::{Attempts, Verdict};
use read::{ask, cut, next_records, Read, Segment};
use relayed::{Awaited, Reply, SessionRelay};
use senders::Senders;
use sink::{send_outputs, Sent};

use super::config::PipelineConfig;
use super::dead_letter::DeadLetter;
use super::dlq_topic::DeadLetterTopic;
use super::failure::{Failure, FailureKind};
use super::partition_metrics::PartitionMetrics;
use super::policy::GiveUp;
use super::run::PipelineError;
use super::stats::PipelineCounters;
use super::status::{Phase, PipelineStatus};
use super::units::{UnitId, Units};
use super::worker::{Answer, Mark, Output, PartitionEvent, Worker, WorkerKind};
use super::workers::Workers;
use crate::cluster::FluvioClient;
use crate::consumer::{CommitGuard, Committer, ConsumerError, ConsumerOptions, ConsumerRecord};
use crate::group::Fence;
use crate::producer::Producer;

/// Poll `answers` once, without waiting (they are about to be dropped): those the worker
/// answered note it at their worker (see [`Mark`]).
fn answered_yet<'a>(answers: impl Iterator<Item = &'a mut Pending>) {
    for pending in answers {
        poll_once(pending);
    }
}

/// Poll `future` once, without waiting: its output if it is ready. (Polled again later
/// with a real waker when not: every caller's future is cancel-safe.)
fn poll_now<F: std::future::Future + ?Sized>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// Poll `pending`'s answer once; whether it is answered (an answer is kept, to be taken
/// again). (Records with a relay: whether all are answered, which the relay notes itself.)
fn poll_once(pending: &mut Pending) -> bool {
    let Awaited::Answer(answer) = &mut pending.awaited else {
        return false;
    };
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match answer.as_mut().poll(&mut context) {
        std::task::Poll::Ready(answer) => {
            pending.awaited = Awaited::Answer(Box::pin(std::future::ready(answer)));
            true
        }
        std::task::Poll::Pending => false,
    }
}

/// Records handed to their worker in one message (one record, or a batch), or a record given
/// up on, waiting for the answer.
struct Pending {
    unit: Acked,
    /// The worker's generation the records went to.
    generation: u64,
    /// The message's place among those sent to the worker (see [`Workers`]).
    seq: u64,
    awaited: Awaited,
    /// The sender the message went through (none for a record given up on): another
    /// message's once this one is answered (see [`Senders`]).
    sender: Option<WorkerKind>,
    span: tracing::Span,
    /// A record being retried.
    retry: bool,
}

/// Records handed on in one message: their unit, first and last offsets, count. (Once their
/// outputs are sent, consecutive messages waiting for one sink batch are kept as one: `units`
/// from `id` on, see [`Sent`].)
#[derive(Debug, Clone, Copy)]
struct Acked {
    id: UnitId,
    units: u64,
    first: i64,
    last: i64,
    records: usize,
    /// Key and value bytes of the records.
    bytes: usize,
    /// A record given up on (dead-lettered or skipped, not handed to the worker), and the
    /// kind of its last failure.
    given_up: Option<(Disposal, FailureKind)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposal {
    DeadLettered,
    Skipped,
}

/// A session's failure: what failed, where, at which worker incarnation.
struct Failed {
    failure: Failure,
    unit: Acked,
    generation: u64,
    /// The failure took the worker down (it panicked, or answers nothing any more): the
    /// failed message's place at it, to find which message did it.
    took_worker: Option<u64>,
}

/// A session's records between the stream and their acknowledgement.
#[derive(Default)]
struct Flight {
    tracker: Units,
    answers: VecDeque<Pending>,
    /// In unit order: the sink acknowledges in order, and commits go by prefix anyway.
    sent: Sent,
    /// The receipts of the answer being sent (then moved to `sent`).
    receipts: Vec<crate::producer::DeliveryFuture>,
    /// Records in `answers` and `sent`, and their key and value bytes.
    held: usize,
    held_bytes: usize,
    /// Records in `answers`: with the worker, or answered with outputs not yet sent.
    at_worker: usize,
    /// Records being retried among `answers`.
    retries: usize,
    /// What a read holds after a record being retried, cut as the failure policy wants it:
    /// handed on once the retry is answered. (Were the retry to fail again, these are read
    /// again after the restart: handed on with it, the worker would see them twice.)
    behind_retry: VecDeque<Segment>,
    senders: Senders,
    /// A per-record worker's records go through a relay on its thread (see `relayed`).
    relay: Option<SessionRelay>,
}

/// The fetch frame size while records are failing (see `PartitionTask::session`).
const RECOVERY_FRAME_BYTES: i32 = 64 * 1024;
/// The read-ahead while records are failing.
const RECOVERY_READ_AHEAD: usize = 1_000;
/// Most records with a per-record or typed worker at once (with a batch worker:
/// `buffer_records`): a frame's worth keeps the worker busy; each costs a message
/// (`benches/README.md`).
const PER_RECORD_QUEUE: usize = 500;

pub(crate) struct PartitionTask {
    pub(crate) client: FluvioClient,
    pub(crate) config: Arc<PipelineConfig>,
    /// A group pipeline's lease (see [`Shared`](super::run::Shared)).
    pub(crate) fence: Option<Fence>,
    pub(crate) partition: u32,
    pub(crate) workers: Arc<Workers>,
    pub(crate) producer: Producer,
    /// The sink's partition for outputs that name none (from `sink_mirror`).
    pub(crate) sink_partition: Option<u32>,
    /// Where records given up on go (`None`: they are skipped, or the pipeline stops).
    pub(crate) dead_letters: Option<Arc<DeadLetterTopic>>,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) stats: Arc<PipelineCounters>,
    pub(crate) status: PipelineStatus,
    pub(crate) metrics: PartitionMetrics,
    pub(crate) attempts: Attempts,
    /// Dead-letter writes that failed in a row.
    pub(crate) dead_letter_failures: u32,
    /// Commits have been deferred since the last that was stored (warned once).
    pub(crate) commits_failing: std::sync::atomic::AtomicBool,
}

/// Why a session stops taking answers.
enum Stop {
    Fenced,
    Failed(Failed),
}

enum Session {
    Finished,
    Restart,
    /// The group member's lease ended (or another owner committed past this one): stopped
    /// without committing anything more.
    Fenced,
    /// A record failed for good under [`GiveUp::Stop`]: what was acknowledged is committed,
    /// then the partition fails.
    Failed(PipelineError),
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
                Ok(Session::Failed(error)) | Err(error) => break Err(error),
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
        let mut options = ConsumerOptions {
            consumer_id: Some(self.config.committer.consumer_id().to_owned()),
            disable_continuous: self.config.exit_at_end,
            auto_commit: None,
            ..self.config.consumer.clone()
        };
        // Records are failing: each retry reads again from the last commit, so read small
        // frames (a full one would be fetched and decoded again for every retry) until
        // they are settled, then start again with full ones.
        let recovering = !self.attempts.is_clear();
        if recovering {
            options.max_bytes = options.max_bytes.min(RECOVERY_FRAME_BYTES);
            options.buffer_records = options.buffer_records.min(RECOVERY_READ_AHEAD);
        }
        let read_ahead = options.buffer_records;
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
        let mut flight = Flight::default();
        let max_bytes = self.config.max_in_flight_bytes.max(1);
        let mut since_commit = 0usize;
        // Due on the interval after the last commit; one timer, reset after each commit.
        let commit_timer = tokio::time::sleep(self.config.commit_interval);
        tokio::pin!(commit_timer);
        let mut commit_due = false;
        let worker_index = self.partition as usize % self.workers.len();
        let window = self.config.max_in_flight.max(1);
        // Records with the worker (or answered, their outputs not yet sent) hold their
        // frames and outputs; those waiting for the sink's acknowledgement hold little (their
        // outputs are in the sink's batches). The worker's queue is a read-ahead like the
        // stream's, bounded the same: the sink keeps the whole window.
        let (first_worker, _) = self.worker(worker_index);
        first_worker
            .tell(PartitionEvent::Assigned {
                partition: self.partition,
            })
            .await;
        let worker_kind = first_worker.kind;
        // A record handed to a typed worker is a message of its own (its envelope, answer
        // channel and answer future: ~1 KB beside the record), and a per-record worker's
        // relay sends records one by one: a frame's worth queues.
        let at_worker = match worker_kind {
            WorkerKind::Batches(_) => read_ahead,
            _ => read_ahead.min(PER_RECORD_QUEUE),
        }
        .clamp(1, window);
        let (mut failed, mut ended, mut fenced) = (None, false, false);
        // Recovered: the failing records are settled; the session ends to read full frames.
        let mut recovered = false;
        // Since when the oldest unanswered record has been the worker's to answer.
        let mut front_since = Instant::now();
        let worker_timeout = self.config.worker_timeout;
        // One future for the whole session (not one per turn of the loop).
        let stop_signal = {
            let mut stop = self.stop.clone();
            async move {
                let _ = stop.changed().await;
            }
        };
        tokio::pin!(stop_signal);
        loop {
            if flight.retries == 0 && !flight.behind_retry.is_empty() {
                self.hand_on_cut(worker_index, &mut flight);
            }
            if ended && flight.held == 0 {
                break;
            }
            let front_is_worker = flight
                .answers
                .front()
                .is_some_and(|p| p.unit.given_up.is_none());
            tokio::select! {
                biased;
                // A drain: read nothing more, finish what the worker and the sink hold.
                () = &mut stop_signal, if !ended => ended = true,
                // An idle partition still commits what was acknowledged, on the interval.
                () = &mut commit_timer, if since_commit > 0 && !commit_due => commit_due = true,
                done = flight.sent.acknowledged(), if !flight.sent.is_empty() => {
                    match done {
                        Ok(()) => {
                            let unit = flight.sent.pop().expect("checked");
                            since_commit += self.settle(unit, &mut flight, highest_processed);
                            // Those acknowledged meanwhile too: one wake-up for a run.
                            while flight.sent.acknowledged_now() {
                                let unit = flight.sent.pop().expect("checked");
                                since_commit += self.settle(unit, &mut flight, highest_processed);
                            }
                            self.metrics.progressed();
                            if recovering && !ended && self.attempts.is_clear() {
                                (ended, recovered) = (true, true);
                            }
                        }
                        Err(failure) => {
                            let unit = flight.sent.pop_first().expect("checked");
                            let generation = self.worker(worker_index).1;
                            failed = Some(Failed { failure, unit, generation, took_worker: None });
                            break;
                        }
                    }
                }
                reply = std::future::poll_fn(|cx| relayed::poll_reply(&mut flight.answers, &mut flight.relay, cx)),
                    if !flight.answers.is_empty() =>
                {
                    // This answer, then those the worker gave meanwhile: one wake-up for a run.
                    let mut next = Some(reply);
                    let mut stopped = None;
                    while let Some(reply) = next.take() {
                        let taken = match reply {
                            Reply::Answer(answer) => {
                                let pending = flight.answers.pop_front().expect("checked");
                                self.take_answer(pending, answer, &mut flight, worker_index).await
                            }
                            Reply::Chunk(chunk) => self.take_chunk(chunk, &mut flight, worker_index).await,
                        };
                        if let Err(stop) = taken {
                            stopped = Some(stop);
                            break;
                        }
                        next = poll_now(std::pin::pin!(std::future::poll_fn(|cx| relayed::poll_reply(&mut flight.answers, &mut flight.relay, cx))));
                    }
                    // The next record's turn starts now: the time the outputs before it took
                    // to enter the sink's buffer is not its worker's.
                    if worker_timeout.is_some() {
                        front_since = Instant::now();
                    }
                    match stopped {
                        Some(Stop::Fenced) => {
                            fenced = true;
                            break;
                        }
                        Some(Stop::Failed(failure)) => {
                            failed = Some(failure);
                            break;
                        }
                        None => {}
                    }
                }
                () = tokio::time::sleep_until((front_since + worker_timeout.unwrap_or_default()).into()),
                    if worker_timeout.is_some() && front_is_worker =>
                {
                    let front = flight.answers.front().expect("checked");
                    let timeout = worker_timeout.unwrap_or_default();
                    let message = format!("no answer for offset {} within {timeout:?}", front.unit.first);
                    let (unit, seq) = flight.waiting_for(front);
                    // (Not sent yet: the worker is stuck on another partition's record.)
                    let seq = seq.unwrap_or(u64::MAX);
                    let failure = Failure::new(FailureKind::Timeout, message);
                    let generation = front.generation;
                    // A worker that answered later messages awaits this one (an answer future
                    // that hangs): only the record fails. One that answers nothing is stuck,
                    // and replaced.
                    answered_yet(flight.answers.iter_mut().skip(1));
                    let stuck = !self.workers.slot(worker_index).answered_after(seq);
                    let took_worker = stuck.then_some(seq);
                    self.report(worker_index, generation, took_worker);
                    failed = Some(Failed { failure, unit, generation, took_worker });
                    break;
                }
                // (A record being retried is the last one read until it is answered: were it
                // to fail again, what was read after it would be read again.)
                records = next_records(&mut stream, &worker_kind, (window - flight.held).min(at_worker - flight.at_worker)),
                    if !ended && flight.held < window && flight.at_worker < at_worker && flight.held_bytes < max_bytes
                        && flight.retries == 0 =>
                {
                    let Some(read) = records else {
                        // The end: finish what is under way first.
                        ended = true;
                        continue;
                    };
                    let timed = worker_timeout.is_some();
                    if !self.take_read(read?, worker_index, &mut flight, *highest_processed, &mut front_since, timed) {
                        fenced = true;
                        break;
                    }
                    // What the stream holds already goes on in this wake-up too: the worker
                    // gets a run of messages at once, and handles them in one wake-up.
                    while !ended && flight.held < window && flight.at_worker < at_worker
                        && flight.held_bytes < max_bytes && flight.retries == 0
                        && !self.stop.has_changed().unwrap_or(true)
                    {
                        let room = (window - flight.held).min(at_worker - flight.at_worker);
                        let next = poll_now(std::pin::pin!(next_records(&mut stream, &worker_kind, room)));
                        match next {
                            None => break,
                            Some(None) => ended = true,
                            Some(Some(read)) => {
                                if !self.take_read(read?, worker_index, &mut flight, *highest_processed, &mut front_since, timed) {
                                    fenced = true;
                                    break;
                                }
                            }
                        }
                    }
                    if fenced {
                        break;
                    }
                    self.stats
                        .peak_in_flight_bytes
                        .fetch_max(flight.held_bytes as u64, Ordering::Relaxed);
                }
            }
            self.metrics.in_flight.set(flight.held as f64);
            if since_commit >= self.config.commit_every || commit_due {
                if !self
                    .commit(&committer, guard.as_ref(), &mut flight.tracker, false)
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
        self.orphan(worker_index, &mut flight);
        flight.answers.clear();
        flight.relay = None;
        flight.at_worker = 0;
        while !flight.sent.is_empty() {
            let done = flight.sent.acknowledged().await;
            match done {
                Ok(()) => {
                    let unit = flight.sent.pop().expect("checked");
                    self.settle(unit, &mut flight, highest_processed);
                    self.metrics.progressed();
                }
                Err(failure) => {
                    let unit = flight.sent.pop_first().expect("checked");
                    let generation = self.worker(worker_index).1;
                    failed.get_or_insert(Failed {
                        failure,
                        unit,
                        generation,
                        took_worker: None,
                    });
                }
            }
        }
        let outcome = match failed {
            Some(failed) => self.recover(worker_index, failed).await?,
            None if recovered && !*self.stop.borrow() => Session::Restart,
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
                &mut flight.tracker,
                outcome.is_finished(),
            )
            .await?;
        Ok(if leased { outcome } else { Session::Fenced })
    }

    /// Take records read: hand them on (cut around failing records), noting redeliveries
    /// and progress; `false` when the group member's lease ended (nothing handed on).
    fn take_read(
        &mut self,
        read: Read,
        worker_index: usize,
        flight: &mut Flight,
        highest_processed: i64,
        front_since: &mut Instant,
        timed: bool,
    ) -> bool {
        let records = read.records();
        let Some(first) = records.first().map(|r| r.offset) else {
            return true;
        };
        if !self.leased() {
            return false;
        }
        if first <= highest_processed {
            let again = records
                .iter()
                .filter(|r| r.offset <= highest_processed)
                .count();
            self.stats
                .redelivered
                .fetch_add(again as u64, Ordering::Relaxed);
            self.metrics.redelivered.increment(again as u64);
        }
        if flight.answers.is_empty() && timed {
            *front_since = Instant::now();
        }
        let last = records.last().map_or(first, |r| r.offset);
        self.metrics.handed(flight.held == 0, first, last);
        if self.attempts.is_clear() {
            self.hand_over(Segment::Worker(read), worker_index, flight);
        } else {
            flight.behind_retry.extend(cut(read, &self.attempts));
            self.hand_on_cut(worker_index, flight);
        }
        true
    }

    /// Hand on the segments cut from a read, in order, up to a record being retried: those
    /// after it wait for its answer (see [`Flight::behind_retry`]).
    fn hand_on_cut(&self, worker_index: usize, flight: &mut Flight) {
        while flight.retries == 0 {
            let Some(segment) = flight.behind_retry.pop_front() else {
                break;
            };
            self.hand_over(segment, worker_index, flight);
        }
    }

    /// Take the worker's answer for `pending`: its outputs go to the sink (their receipts
    /// wait in `flight`), or the session stops (a failure, or the lease ended).
    async fn take_answer(
        &self,
        pending: Pending,
        answer: Result<Vec<Output>, Failure>,
        flight: &mut Flight,
        worker_index: usize,
    ) -> Result<(), Stop> {
        let Pending {
            unit,
            generation,
            seq,
            span,
            retry,
            sender,
            ..
        } = pending;
        flight.retries -= usize::from(retry);
        if unit.given_up.is_none() {
            flight.at_worker -= unit.records;
        }
        if !self.leased() {
            return Err(Stop::Fenced);
        }
        let outputs = match answer {
            Ok(outputs) => {
                if let Some(sender) = sender {
                    flight.senders.give_back(sender, generation);
                }
                outputs
            }
            Err(failure) => {
                let took_worker = failure.kind.replaces_worker().then_some(seq);
                self.report(worker_index, generation, took_worker);
                return Err(Stop::Failed(Failed {
                    failure,
                    unit,
                    generation,
                    took_worker,
                }));
            }
        };
        let sink = self
            .config
            .sink
            .as_deref()
            .map(|s| (s, self.sink_partition));
        let receipts = &mut flight.receipts;
        let sent = send_outputs(sink, &self.producer, outputs, &span, receipts);
        let sent = if span.is_disabled() {
            sent.await
        } else {
            tracing::Instrument::instrument(sent, span.clone()).await
        };
        match sent {
            Ok(()) => {
                flight.sent.push(unit, &mut flight.receipts);
                Ok(())
            }
            Err(failure) => {
                flight.receipts.clear();
                Err(Stop::Failed(Failed {
                    failure,
                    unit,
                    generation,
                    took_worker: None,
                }))
            }
        }
    }

    /// Hand `segment` on: to the worker, or (a record given up on) to the dead-letter topic,
    /// or nowhere (skipped); either way it waits among the answers, in order.
    fn hand_over(&self, segment: Segment, worker_index: usize, flight: &mut Flight) {
        let records = segment.records();
        let (first, last) = (records[0].offset, records[records.len() - 1].offset);
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
        let relayed = matches!(segment, Segment::Worker(_)) && self.relays(worker_index, flight);
        // Records a relay hands on one by one are acknowledged as they are answered: a
        // unit each (see `take_chunk`).
        let (id, units) = if relayed {
            let id = flight.tracker.delivered(first, first);
            for record in &records[1..] {
                flight.tracker.delivered(record.offset, record.offset);
            }
            (id, records.len() as u64)
        } else {
            (flight.tracker.delivered(first, last), 1)
        };
        let mut unit = Acked {
            id,
            units,
            first,
            last,
            records: records.len(),
            bytes: records.iter().map(ConsumerRecord::payload_len).sum(),
            given_up: None,
        };
        // (A record given up on never reaches the worker: no place at it, no generation.)
        let (awaited, sender, generation, seq) = match segment {
            Segment::Worker(read) if relayed => {
                (Awaited::Relayed, None, self.relay(read, flight), 0)
            }
            Segment::Worker(read) => {
                let (sender, generation, mark) = self.ticket(worker_index, &mut flight.senders);
                let seq = mark.seq;
                let answer = ask(&sender, self.partition, read, mark);
                (Awaited::Answer(answer), Some(sender), generation, seq)
            }
            Segment::GivenUp(record) => {
                let (answer, disposal, kind) = self.give_up(record);
                unit.given_up = Some((disposal, kind));
                (Awaited::Answer(answer), None, 0, 0)
            }
        };
        let retry = unit.given_up.is_none() && unit.records == 1 && self.attempts.is_retry(first);
        flight.held += unit.records;
        flight.held_bytes += unit.bytes;
        // A record given up on takes no place at the worker: counted, its place would free
        // on its way to the dead letters and let a one-record read through.
        if unit.given_up.is_none() {
            flight.at_worker += unit.records;
        }
        flight.retries += usize::from(retry);
        let mut pending = Pending {
            unit,
            generation,
            seq,
            awaited,
            sender,
            span,
            retry,
        };
        // A message its sender could not put in the worker's mailbox (the sender still
        // parked, see `Senders`) leaves now, before the next one.
        if pending.sender.is_some() {
            poll_once(&mut pending);
        }
        flight.answers.push_back(pending);
    }

    /// The answer standing for a record given up on: its dead-letter envelope, bound for the
    /// dead-letter topic, or nothing (skipped).
    fn give_up(&self, record: ConsumerRecord) -> (Answer, Disposal, FailureKind) {
        let given = self
            .attempts
            .given_up(record.offset)
            .expect("routed as given up")
            .clone();
        let kind = given.failure.kind;
        let Some(topic) = self.dead_letters.clone() else {
            return (
                Box::pin(std::future::ready(Ok(Vec::new()))),
                Disposal::Skipped,
                kind,
            );
        };
        let letter = DeadLetter::new(
            self.config.committer.consumer_id(),
            &record,
            &given.failure,
            given.attempts,
        );
        let value = bytes::Bytes::from(letter.to_json());
        let answer: Answer = Box::pin(async move {
            let partitions = topic
                .partitions()
                .await
                .map_err(|e| Failure::new(FailureKind::Sink, e))?;
            Ok(vec![Output {
                key: record.key,
                value,
                partition: Some(record.partition % partitions.max(1)),
                topic: Some(topic.name.clone()),
            }])
        });
        (answer, Disposal::DeadLettered, kind)
    }

    /// Whether this task may go on: always outside a group; in a group, while the member's
    /// lease runs.
    fn leased(&self) -> bool {
        self.fence.as_ref().is_none_or(Fence::is_valid)
    }

    /// Account for records whose outputs were acknowledged (or that were dead-lettered or
    /// skipped); how many. (The caller notes the progress, once for a run.)
    fn settle(&mut self, unit: Acked, flight: &mut Flight, highest_processed: &mut i64) -> usize {
        for n in 0..unit.units {
            flight.tracker.acked(unit.id.nth(n));
        }
        flight.held -= unit.records;
        flight.held_bytes -= unit.bytes;
        *highest_processed = (*highest_processed).max(unit.last);
        // Only below the first record not yet settled: one that failed before this unit
        // (a dead-letter write) is read again, and must still be known as given up.
        if let Some(done) = flight.tracker.done() {
            self.attempts.done_through(done);
        }
        let (partition, offset) = (self.partition, unit.first);
        match unit.given_up {
            None => {
                self.stats
                    .acked
                    .fetch_add(unit.records as u64, Ordering::Relaxed);
                self.metrics.acked.increment(unit.records as u64);
            }
            Some((Disposal::DeadLettered, kind)) => {
                self.dead_letter_failures = 0;
                self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                self.metrics.dead_lettered(kind);
                let topic = self.dead_letters.as_ref().map(|t| t.name.clone());
                tracing::info!(source = %self.config.source, partition, offset, %kind, topic = topic.as_deref(), "record dead-lettered");
            }
            Some((Disposal::Skipped, kind)) => {
                self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                self.metrics.skipped(kind);
                tracing::warn!(source = %self.config.source, partition, offset, %kind, "record skipped after its failures");
            }
        }
        unit.records
    }

    /// Worker `index` (a fresh sender to it, for events), and its generation.
    fn worker(&self, index: usize) -> (Worker, u64) {
        let slot = self.workers.slot(index);
        (slot.recipient.clone(), slot.generation)
    }

    /// A sender to worker `index` for a message about to be sent (one of `senders`, else
    /// a fresh one), the worker's generation, and the message's place among those sent to it.
    fn ticket(&self, index: usize, senders: &mut Senders) -> (WorkerKind, u64, Mark) {
        let slot = self.workers.slot(index);
        let mark = Mark {
            answered: slot.places.answered.clone(),
            seq: slot.places.sent.fetch_add(1, Ordering::Relaxed) + 1,
        };
        let sender = senders.take(&slot.recipient.kind, slot.generation);
        (sender, slot.generation, mark)
    }

    /// Messages about to be dropped unanswered still wait at the worker: should one of
    /// them take it down, no partition must be blamed for it (none would hear of it).
    fn orphan(&self, worker: usize, flight: &mut Flight) {
        let mut slot = None;
        let mut answers = std::mem::take(&mut flight.answers);
        for pending in answers.iter_mut().filter(|p| p.unit.given_up.is_none()) {
            if !poll_once(pending) {
                // (Records a relay has not sent yet do not wait at the worker.)
                let (_, Some(seq)) = flight.waiting_for(pending) else {
                    continue;
                };
                let slot = slot.get_or_insert_with(|| self.workers.slot(worker));
                slot.blame(pending.generation, seq);
            }
        }
        flight.answers = answers;
    }

    /// A failure that took the worker down (a panic, a worker stuck past its timeout) fails
    /// every message waiting at it, from any partition: report this one's place, so that only
    /// the oldest (the one the worker was handling) counts as the record's failure.
    fn report(&self, worker: usize, generation: u64, took_worker: Option<u64>) {
        if let Some(seq) = took_worker {
            self.workers.slot(worker).blame(generation, seq);
        }
    }

    /// After a failure: replace the worker if the failure took it down (unless another
    /// partition did already), apply the failure policy, and pause before reading again (the
    /// retry's backoff); or finish when the pipeline is stopping (a drain, or a `System` stop
    /// that took the worker down with its arbiter).
    async fn recover(&mut self, worker: usize, failed: Failed) -> Result<Session, PipelineError> {
        let Failed {
            failure,
            unit,
            generation,
            took_worker,
        } = failed;
        let partition = self.partition;
        if *self.stop.borrow() {
            tracing::info!(worker, partition, %failure, "worker stopped while draining");
            return Ok(Session::Finished);
        }
        let kind = failure.kind;
        if took_worker.is_some() {
            self.replace_worker(worker, generation, &failure)?;
        }
        let policy = &self.config.failure;
        let delay = if unit.given_up.is_some() {
            // A dead-letter write failed: write it again (the record stays given up on);
            // the partition's commits wait for it.
            self.dead_letter_failures += 1;
            let failures = self.dead_letter_failures;
            tracing::warn!(partition, offset = unit.first, %failure, failures, "dead-letter write failed; trying again");
            policy.backoff.delay(failures)
        } else if !self.blamed(worker, generation, took_worker).await {
            tracing::debug!(worker, partition, %failure, "another partition's record took the worker down: delivering again");
            Duration::ZERO
        } else {
            match self
                .attempts
                .failed(unit.first, unit.last, &failure, policy.retries)
            {
                Verdict::Split => {
                    tracing::debug!(partition, first = unit.first, last = unit.last, %failure, "a batch failed: delivering its records one by one");
                    Duration::ZERO
                }
                Verdict::Retry { offset, retry } => {
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    self.metrics.retried(kind);
                    tracing::debug!(partition, offset, retry, %failure, "record failed: retrying");
                    policy.backoff.delay(retry)
                }
                Verdict::GiveUp { offset, attempts } => {
                    if policy.then == GiveUp::Stop {
                        return Ok(Session::Failed(PipelineError::RecordFailed {
                            topic: self.config.source.clone(),
                            partition,
                            offset,
                            attempts,
                            failure,
                        }));
                    }
                    Duration::ZERO
                }
            }
        };
        self.status.set_phase(partition, Phase::Restarting);
        tokio::select! {
            _ = self.stop.changed() => Ok(Session::Finished),
            () = tokio::time::sleep(delay) => Ok(Session::Restart),
        }
    }

    /// Replace worker `worker` (unless another partition already replaced that generation).
    fn replace_worker(
        &self,
        worker: usize,
        generation: u64,
        failure: &Failure,
    ) -> Result<(), PipelineError> {
        let mut slot = self.workers.slot(worker);
        if slot.generation != generation {
            return Ok(());
        }
        tracing::debug!(worker, partition = self.partition, %failure, "pipeline worker failed; restarting it");
        // On a new arbiter; the failed worker's is stopped.
        self.workers
            .replace(&mut slot, worker)
            .map_err(PipelineError::Task)?;
        self.stats.restarts.fetch_add(1, Ordering::Relaxed);
        self.metrics.restarted(worker);
        Ok(())
    }

    /// Whether this partition's message `seq` is the one that took worker `worker`'s
    /// `generation` down: the oldest that failed with it, once the other partitions that
    /// saw it fail had a moment to report theirs.
    /// (`None`: the failure is the message's own.)
    async fn blamed(&self, worker: usize, generation: u64, took_worker: Option<u64>) -> bool {
        const SETTLE: Duration = Duration::from_millis(5);
        let Some(seq) = took_worker else {
            return true;
        };
        tokio::time::sleep(SETTLE).await;
        self.workers.slot(worker).blamed(generation, seq)
    }

    /// Whether the pipeline ends here: drained, or stopping at the partition's end.
    fn ending(&self) -> bool {
        *self.stop.borrow() || self.config.exit_at_end
    }

    /// Commit what the tracker allows. A reconnecting stream has no session to commit on for
    /// a moment: retry for a second (`last`: the session's final commit, for 30 s), then leave
    /// it to the next commit; the offset stays uncommitted, never skipped (warned once per
    /// outage). The final commit of a drain or of `exit_at_end` that could not be stored is
    /// an error ([`PipelineError::Commit`]); a partition handed over to another group member
    /// leaves its new owner to resume from the stored offset. In a group, the commit is
    /// guarded by the lease and never moves the stored offset backwards; `false` when it was
    /// refused for either reason (the partition is no longer this member's).
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
        let patience = Duration::from_secs(if last { 30 } else { 1 });
        let pause = self
            .config
            .failure
            .backoff
            .initial
            .clamp(Duration::from_millis(50), patience);
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
                    if self.commits_failing.swap(false, Ordering::Relaxed) {
                        tracing::info!(partition = self.partition, offset, "commits resumed");
                    }
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
                Err(error) if error.is_retriable() && last && self.ending() => {
                    return Err(PipelineError::Commit {
                        topic: self.config.source.clone(),
                        partition: self.partition,
                        offset,
                        error: Box::new(error),
                    });
                }
                Err(error) if error.is_retriable() => {
                    if self.commits_failing.swap(true, Ordering::Relaxed) {
                        tracing::debug!(partition = self.partition, offset, %error, "commit deferred again");
                    } else {
                        tracing::warn!(partition = self.partition, offset, %error, "commits deferred: retrying with the next (the offset stays uncommitted)");
                    }
                    return Ok(true);
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}
