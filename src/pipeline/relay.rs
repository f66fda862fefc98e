//! A per-record worker's records, handed to it one message each on its own thread.
//!
//! An actix message between two threads costs its envelope, its answer channel and the two
//! threads' shared cache lines, ~0.8 µs of CPU each (`benches/README.md`); between two
//! tasks of one thread, a third of that. So a partition's session hands a per-record worker
//! its records in batches, to one relay task on the worker's arbiter, which sends each record
//! to the worker as its own [`Process`] there (in order, batch after batch, a window at a
//! time) and passes the answers back in order, in chunks: those answered by the time it
//! looks, never across a batch's end, so a slow worker's answers come back one by one and a
//! fast worker's in runs.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix::dev::RecipientRequest;
use actix::{MailboxError, Recipient};
use tokio::sync::mpsc;

use super::failure::Failure;
use super::worker::{Output, Process, WorkerError};
use crate::consumer::ConsumerRecord;

/// Most records of one relay at the worker at once (sent, not yet answered).
const WINDOW: usize = 64;

/// The next records of a batch answered, in order, and what ended the batch early.
#[derive(Debug)]
pub(crate) struct Chunk {
    /// Their outputs, in order.
    pub(crate) outputs: Vec<Output>,
    /// How many records answered.
    pub(crate) records: usize,
    /// The offset of the last of them (meaningless when `records` is 0).
    pub(crate) last: i64,
    /// The offset of the next record of the batch (meaningless once it is over).
    pub(crate) next: i64,
    /// Their key and value bytes.
    pub(crate) bytes: usize,
    /// The record after them failed, and the batch ends here: why, and its place among
    /// the messages sent to the worker.
    pub(crate) failed: Option<(Failure, u64)>,
}

/// Where a relay stands, for the partition: the place among the messages sent to the worker
/// of its oldest record not yet answered (0: none waiting at the worker).
#[derive(Debug, Default)]
pub(crate) struct Front(AtomicU64);

impl Front {
    /// The first unanswered record's place, when it was sent.
    pub(crate) fn seq(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&seq| seq > 0)
    }
}

/// The counters of one worker slot a relay notes its messages in: how many were sent (each
/// message's place) and the highest place answered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Places {
    pub(crate) sent: Arc<AtomicU64>,
    pub(crate) answered: Arc<AtomicU64>,
}

/// A relay for one partition's session: the batches it is handed go to the worker in order.
pub(crate) struct Link {
    pub(crate) batches: mpsc::UnboundedSender<Vec<ConsumerRecord>>,
    pub(crate) chunks: mpsc::UnboundedReceiver<Chunk>,
    pub(crate) front: Arc<Front>,
}

/// Start a relay to `worker` on `arbiter` (the worker's; `None`: this thread). It ends once
/// its link is dropped, or with its arbiter (its link then reads the end: every batch not
/// answered fails).
pub(crate) fn start(
    worker: Recipient<Process>,
    places: Places,
    arbiter: Option<&actix_rt::ArbiterHandle>,
) -> Link {
    let (batches, batches_rx) = mpsc::unbounded_channel();
    let (chunks_tx, chunks) = mpsc::unbounded_channel();
    let front = Arc::new(Front::default());
    let relay = Relay {
        worker,
        batches: batches_rx,
        records: Vec::new().into_iter(),
        places,
        front: front.clone(),
        chunks: chunks_tx,
        sent: VecDeque::with_capacity(WINDOW),
    };
    match arbiter {
        Some(arbiter) => {
            arbiter.spawn_fn(move || {
                actix_rt::spawn(relay);
            });
        }
        None => {
            actix_rt::spawn(relay);
        }
    }
    Link {
        batches,
        chunks,
        front,
    }
}

/// A record at the worker.
struct Sent {
    seq: u64,
    offset: i64,
    bytes: usize,
    /// The last record of its batch (a chunk ends with it).
    last: bool,
    request: Pin<Box<RecipientRequest<Process>>>,
    answer: Option<Result<Result<Vec<Output>, WorkerError>, MailboxError>>,
}

/// A relay task.
struct Relay {
    worker: Recipient<Process>,
    batches: mpsc::UnboundedReceiver<Vec<ConsumerRecord>>,
    /// The batch being sent.
    records: std::vec::IntoIter<ConsumerRecord>,
    places: Places,
    front: Arc<Front>,
    chunks: mpsc::UnboundedSender<Chunk>,
    sent: VecDeque<Sent>,
}

impl Relay {
    /// Send records until the window is full, batch after batch; whether more batches may
    /// come. Each record goes through a sender of its own: a sender that put a message past
    /// the worker's full mailbox refuses the next until the worker takes one, and a refused
    /// message would leave after those behind it.
    fn fill(&mut self, cx: &mut Context<'_>) -> bool {
        while self.sent.len() < WINDOW {
            let record = match self.records.next() {
                Some(record) => record,
                None => match self.batches.poll_recv(cx) {
                    Poll::Ready(Some(batch)) => {
                        self.records = batch.into_iter();
                        continue;
                    }
                    Poll::Ready(None) => return false,
                    Poll::Pending => break,
                },
            };
            let seq = self.places.sent.fetch_add(1, Ordering::Relaxed) + 1;
            let (offset, bytes) = (record.offset, record.payload_len());
            let request = Box::pin(self.worker.clone().send(Process(record)));
            self.sent.push_back(Sent {
                seq,
                offset,
                bytes,
                last: self.records.len() == 0,
                request,
                answer: None,
            });
        }
        let first = self.sent.front().map_or(0, |first| first.seq);
        self.front.0.store(first, Ordering::Relaxed);
        true
    }

    /// Take the answers given so far (in any order: a worker that answered a later record
    /// is not stuck on an earlier one, see [`Places::answered`]).
    fn poll_answers(&mut self, cx: &mut Context<'_>) {
        for sent in self.sent.iter_mut().filter(|s| s.answer.is_none()) {
            if let Poll::Ready(answer) = sent.request.as_mut().poll(cx) {
                if answer.is_ok() {
                    self.places.answered.fetch_max(sent.seq, Ordering::Relaxed);
                }
                sent.answer = Some(answer);
            }
        }
    }

    /// The answers at the front, in order, up to the end of their batch or a failure, as
    /// one chunk (`None`: none yet).
    fn chunk(&mut self) -> Option<Chunk> {
        let chunk = self.take_answered();
        // Before the chunk leaves: the partition reads where the relay stands when it
        // takes it (a failure's records after it may still take the worker down).
        let first = self.sent.front().map_or(0, |first| first.seq);
        self.front.0.store(first, Ordering::Relaxed);
        chunk
    }

    /// The answers at the front, in order, up to the end of their batch or a failure.
    fn take_answered(&mut self) -> Option<Chunk> {
        let mut chunk = Chunk {
            outputs: Vec::new(),
            records: 0,
            last: 0,
            next: 0,
            bytes: 0,
            failed: None,
        };
        while self.sent.front().is_some_and(|s| s.answer.is_some()) {
            let sent = self.sent.pop_front().expect("checked");
            match Failure::from_answer(sent.answer.expect("checked")) {
                Ok(outputs) => {
                    if chunk.outputs.is_empty() {
                        chunk.outputs = outputs;
                    } else {
                        chunk.outputs.extend(outputs);
                    }
                    chunk.records += 1;
                    chunk.last = sent.offset;
                    chunk.bytes += sent.bytes;
                    if sent.last {
                        return Some(chunk);
                    }
                }
                Err(failure) => {
                    chunk.failed = Some((failure.at(sent.offset), sent.seq));
                    return Some(chunk);
                }
            }
        }
        let next = self.sent.front().map(|s| s.offset);
        chunk.next = next
            .or_else(|| self.records.as_slice().first().map(|r| r.offset))
            .unwrap_or_default();
        (chunk.records > 0).then_some(chunk)
    }
}

impl Future for Relay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            // The partition's session ended (a failure, a drain, the end): send nothing more.
            if this.chunks.is_closed() {
                return Poll::Ready(());
            }
            let open = this.fill(cx);
            if this.sent.is_empty() {
                return if open { Poll::Pending } else { Poll::Ready(()) };
            }
            this.poll_answers(cx);
            let Some(chunk) = this.chunk() else {
                return Poll::Pending;
            };
            // A failure ends the partition's session: nothing more is sent.
            let failed = chunk.failed.is_some();
            if this.chunks.send(chunk).is_err() || failed {
                return Poll::Ready(());
            }
        }
    }
}
