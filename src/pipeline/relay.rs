//! A per-record worker's records, handed to it one message each on its own thread.
//!
//! An actix message between two threads costs its envelope, its answer channel and the two
//! threads' shared cache lines, ~0.8 µs of CPU each (`benches/README.md`); between two
//! tasks of one thread, a third of that. So a partition's session hands a per-record worker
//! its records in batches, to one relay task on the worker's arbiter, which sends each record
//! to the worker as its own [`Process`] there (in order, batch after batch, a window at a
//! time) and passes the answers back in order, in chunks: those answered by the time it
//! looks, never across a batch's end, so a slow worker's answers come back one by one and a
//! fast worker's in runs (held over its next window while it answers each window whole
//! before the relay looks again, up to [`CHUNK`] records).

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

/// Most records of one relay at the worker at once (sent, not yet answered). Below an actix
/// mailbox's default capacity (16), so that the relay's one sender puts none past it (a
/// sender that does is parked, and each message it refuses then takes a sender of its own:
/// three allocations); and within what glibc's allocator keeps per thread for each size (7),
/// so that what a record's message allocates on the worker's thread, and frees there, comes
/// from that cache (`benches/README.md`: 15 at once spent more CPU per record).
const WINDOW: usize = 7;

/// Most records of one chunk: a worker that answers every record of its window before the
/// relay looks again has its answers held over its next window, up to this many records
/// (one message across threads for them, not one a window). As many as a window of 64
/// records held before (a fast synchronous worker answered all before the relay looked).
const CHUNK: usize = 64;

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
        held: None,
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
    answer: Option<Answer>,
}

/// A worker's answer to one record, or why it gave none.
type Answer = Result<Result<Vec<Output>, WorkerError>, MailboxError>;

impl Places {
    /// Poll the request of message `seq`: its answer, if given (noted as answered).
    fn poll(
        &self,
        request: Pin<&mut RecipientRequest<Process>>,
        seq: u64,
        cx: &mut Context<'_>,
    ) -> Option<Answer> {
        let Poll::Ready(answer) = request.poll(cx) else {
            return None;
        };
        if answer.is_ok() {
            self.answered.fetch_max(seq, Ordering::Relaxed);
        }
        Some(answer)
    }
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
    /// The answers taken and not passed back yet.
    held: Option<Chunk>,
}

impl Relay {
    /// Send records until the window is full, batch after batch; whether more batches may
    /// come. A message the relay's sender refuses (it put one past the worker's mailbox
    /// capacity, e.g. with other relays to the same worker, and is parked until the worker
    /// takes one) waits in its request with a sender of its own: polled at once, it goes
    /// out before the next record does.
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
            let mut request = Box::pin(self.worker.send(Process(record)));
            let answer = self.places.poll(request.as_mut(), seq, cx);
            self.sent.push_back(Sent {
                seq,
                offset,
                bytes,
                last: self.records.len() == 0,
                request,
                answer,
            });
        }
        self.note_front();
        true
    }

    /// Note where the relay stands, for the partition: the first record not answered.
    fn note_front(&self) {
        let first = self.sent.front().map_or(0, |first| first.seq);
        self.front.0.store(first, Ordering::Relaxed);
    }

    /// Take the answers given so far (in any order: a worker that answered a later record
    /// is not stuck on an earlier one, see [`Places::answered`]).
    fn poll_answers(&mut self, cx: &mut Context<'_>) {
        for sent in self.sent.iter_mut().filter(|s| s.answer.is_none()) {
            sent.answer = self.places.poll(sent.request.as_mut(), sent.seq, cx);
        }
    }

    /// Move the answers at the front, in order, to the held chunk, up to the end of their
    /// batch or a failure (which end the chunk: true) or the chunk's most records.
    fn take_answered(&mut self) -> bool {
        while self.sent.front().is_some_and(|s| s.answer.is_some()) {
            let chunk = self.held.get_or_insert_with(|| Chunk {
                outputs: Vec::new(),
                records: 0,
                last: 0,
                next: 0,
                bytes: 0,
                failed: None,
            });
            if chunk.records >= CHUNK {
                return true;
            }
            let sent = self.sent.pop_front().expect("checked");
            match Failure::from_answer(sent.answer.expect("checked")) {
                Ok(outputs) => {
                    if chunk.outputs.is_empty() {
                        chunk.outputs = outputs;
                    } else {
                        // Room for a chunk's records at once: grown step by step, the
                        // vector's larger sizes each cost glibc a pass over its free lists.
                        if chunk.records == 1 {
                            chunk.outputs.reserve(CHUNK - 1);
                        }
                        chunk.outputs.extend(outputs);
                    }
                    chunk.records += 1;
                    chunk.last = sent.offset;
                    chunk.bytes += sent.bytes;
                    if sent.last {
                        return true;
                    }
                }
                Err(failure) => {
                    chunk.failed = Some((failure.at(sent.offset), sent.seq));
                    return true;
                }
            }
        }
        self.held
            .as_ref()
            .is_some_and(|chunk| chunk.records >= CHUNK)
    }

    /// The held chunk, to pass back now (`None`: nothing held).
    fn release(&mut self) -> Option<Chunk> {
        let mut chunk = self.held.take()?;
        let next = self.sent.front().map(|s| s.offset);
        chunk.next = next
            .or_else(|| self.records.as_slice().first().map(|r| r.offset))
            .unwrap_or_default();
        // Before the chunk leaves: the partition reads where the relay stands when it
        // takes it (a failure's records after it may still take the worker down).
        self.note_front();
        Some(chunk)
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
            if this.sent.is_empty() && this.held.is_none() {
                return if open { Poll::Pending } else { Poll::Ready(()) };
            }
            this.poll_answers(cx);
            let held = this.held.as_ref().map_or(0, |chunk| chunk.records);
            let ended = this.take_answered();
            let taken = this.held.as_ref().map_or(0, |chunk| chunk.records) > held;
            // The worker answered every record it had since the last look: hold the
            // answers while it takes its next window, if there is one. They leave at the
            // next look that finds it has answered none (or not all) of it.
            if taken && !ended && this.sent.is_empty() {
                this.fill(cx);
                if !this.sent.is_empty() {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            let Some(chunk) = this.release() else {
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use actix::{Actor, Arbiter, AsyncContext, Handler};
    use bytes::Bytes;

    use super::*;

    /// The records a worker handled, in order: partition and offset.
    type Noted = Arc<Mutex<Vec<(u32, i64)>>>;

    /// Notes the records it handles, in order, and answers each with its offset; after the
    /// record at `stall` (if any) it takes no message until `release` is notified. Its
    /// mailbox holds `capacity` messages.
    struct Noting {
        noted: Noted,
        capacity: usize,
        stall: Option<i64>,
        release: Arc<tokio::sync::Notify>,
    }

    impl Actor for Noting {
        type Context = actix::Context<Self>;

        fn started(&mut self, ctx: &mut actix::Context<Self>) {
            ctx.set_mailbox_capacity(self.capacity);
        }
    }

    impl Handler<Process> for Noting {
        type Result = Result<Vec<Output>, WorkerError>;

        fn handle(
            &mut self,
            Process(record): Process,
            ctx: &mut actix::Context<Self>,
        ) -> Self::Result {
            let noted = (record.partition, record.offset);
            self.noted.lock().expect("not poisoned").push(noted);
            if self.stall == Some(record.offset) {
                let release = self.release.clone();
                ctx.wait(actix::fut::wrap_future(async move {
                    release.notified().await;
                }));
            }
            Ok(vec![Output::value(record.offset.to_string())])
        }
    }

    fn worker(capacity: usize, stall: Option<i64>) -> (Noting, Noted) {
        let noted = Arc::new(Mutex::new(Vec::new()));
        let worker = Noting {
            noted: noted.clone(),
            capacity,
            stall,
            release: Arc::new(tokio::sync::Notify::new()),
        };
        (worker, noted)
    }

    /// Records `from..to` of `partition`, as a batch.
    fn batch(partition: u32, from: i64, to: i64) -> Vec<ConsumerRecord> {
        (from..to)
            .map(|offset| ConsumerRecord {
                topic: Arc::from("t"),
                partition,
                offset,
                timestamp: -1,
                key: None,
                value: Bytes::new(),
            })
            .collect()
    }

    /// Hand `count` records of `partition` to `link` in batches of 100 and read its chunks
    /// to the end: every record answered, in order, each chunk within one batch; the most
    /// records of one chunk.
    async fn feed(mut link: Link, partition: u32, count: i64) -> usize {
        for from in (0..count).step_by(100) {
            let to = (from + 100).min(count);
            link.batches
                .send(batch(partition, from, to))
                .expect("relay runs");
        }
        let (mut next, mut most) = (0, 0);
        while next < count {
            let chunk = tokio::time::timeout(Duration::from_secs(30), link.chunks.recv())
                .await
                .expect("a chunk within 30 s")
                .expect("relay runs");
            assert!(chunk.failed.is_none(), "{:?}", chunk.failed);
            assert_eq!(chunk.outputs.len(), chunk.records);
            for (i, output) in chunk.outputs.iter().enumerate() {
                assert_eq!(output.value, (next + i as i64).to_string(), "{partition}");
            }
            // Never across a batch's end.
            assert_eq!(next / 100, chunk.last / 100, "{partition}");
            next += chunk.records as i64;
            assert_eq!(chunk.last, next - 1);
            most = most.max(chunk.records);
        }
        most
    }

    fn offsets(noted: &Mutex<Vec<(u32, i64)>>, partition: u32) -> Vec<i64> {
        let noted = noted.lock().expect("not poisoned");
        noted
            .iter()
            .filter(|(p, _)| *p == partition)
            .map(|&(_, o)| o)
            .collect()
    }

    #[actix_rt::test]
    async fn a_fast_worker_answers_in_chunks_larger_than_its_window() {
        let arbiter = Arbiter::new();
        let (noting, noted) = worker(16, None);
        let addr = Noting::start_in_arbiter(&arbiter.handle(), move |_| noting);
        let link = start(addr.recipient(), Places::default(), Some(&arbiter.handle()));
        let most = feed(link, 0, 2_000).await;
        assert!(most > WINDOW && most <= CHUNK, "{most}");
        assert_eq!(offsets(&noted, 0), (0..2_000).collect::<Vec<_>>());
        arbiter.stop();
    }

    #[actix_rt::test]
    async fn relays_keep_their_records_in_order_through_a_one_message_mailbox() {
        // Two relays on the worker's thread, as two partitions' sessions, and one on this
        // thread (the worker elsewhere): every sender puts a message past the mailbox.
        let arbiter = Arbiter::new();
        let (noting, noted) = worker(1, None);
        let addr = Noting::start_in_arbiter(&arbiter.handle(), move |_| noting);
        let links = [Some(&arbiter.handle()), Some(&arbiter.handle()), None]
            .map(|on| start(addr.clone().recipient(), Places::default(), on));
        let [a, b, c] = links;
        tokio::join!(feed(a, 0, 3_000), feed(b, 1, 3_000), feed(c, 2, 3_000));
        for partition in 0..3 {
            assert_eq!(
                offsets(&noted, partition),
                (0..3_000).collect::<Vec<_>>(),
                "partition {partition}"
            );
        }
        arbiter.stop();
    }

    #[actix_rt::test]
    async fn answers_held_over_a_window_leave_when_the_worker_takes_none_of_it() {
        let arbiter = Arbiter::new();
        // The worker answers its first window whole (records 0-6), then takes nothing.
        let (noting, _) = worker(16, Some(WINDOW as i64 - 1));
        let release = noting.release.clone();
        let addr = Noting::start_in_arbiter(&arbiter.handle(), move |_| noting);
        let mut link = start(addr.recipient(), Places::default(), Some(&arbiter.handle()));
        link.batches.send(batch(0, 0, 30)).expect("relay runs");
        let chunk = tokio::time::timeout(Duration::from_secs(10), link.chunks.recv())
            .await
            .expect("the first window's answers within 10 s, not held")
            .expect("relay runs");
        assert_eq!(chunk.records, WINDOW);
        // The record after them, sent and not answered, is where the relay stands.
        assert_eq!(link.front.seq(), Some(WINDOW as u64 + 1));
        release.notify_one();
        let mut answered = chunk.records;
        while answered < 30 {
            let chunk = tokio::time::timeout(Duration::from_secs(10), link.chunks.recv())
                .await
                .expect("the rest once released")
                .expect("relay runs");
            answered += chunk.records;
        }
        assert_eq!(answered, 30);
        arbiter.stop();
    }
}
