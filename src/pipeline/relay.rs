//! A per-record worker's relay: records cross to the worker's thread in runs, and each is
//! sent to the worker there, on its own thread.
//!
//! An actix message that crosses threads costs 0.9-2.6 µs of CPU (the mailbox's and the
//! answer's shared state moving between cores, wake-ups); on the actor's own thread 0.3 µs
//! (`benches/message_floor.rs`). The relay is a task on the worker's arbiter: the partition
//! queues records on a channel (waking the relay only when it waits for work), the relay
//! takes what is queued at once and sends each record to the worker as its own message, in
//! order, then hands each answer back. The worker's contract is unchanged: one message per
//! record, in order, answered one by one; a worker that stops fails its records as before,
//! and so does the relay's arbiter stopping (the worker being replaced).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::failure::Failure;
use super::worker::{answer, Answer, AskRecord, Mark, Output, Process, Worker, WorkerKind};
use crate::consumer::ConsumerRecord;
use actix::prelude::Recipient;

/// Most records taken from the channel at once (the partitions queue at most their
/// `max_in_flight` each).
const RUN: usize = 256;

/// A record for the worker, with its place and where its answer goes.
struct Job {
    record: ConsumerRecord,
    mark: Mark,
    reply: oneshot::Sender<Result<Vec<Output>, Failure>>,
}

/// The partitions' end of a relay (see the module docs).
pub(crate) struct Relay {
    jobs: mpsc::UnboundedSender<Job>,
}

/// The per-record worker the relay sends to, on its own thread.
enum Inner {
    Records(Recipient<Process>),
    Asked(Arc<dyn AskRecord>),
}

impl Inner {
    fn ask(&self, record: ConsumerRecord, mark: Mark) -> Answer {
        match self {
            // A fresh sender per message: each may put one message past a full mailbox, so
            // sends never wait and stay in order (the partitions bound them).
            Inner::Records(recipient) => answer(recipient.clone().send(Process(record)), mark),
            Inner::Asked(inner) => inner.ask(record, mark),
        }
    }
}

/// `worker`, reached through a relay on the current arbiter when it is a per-record worker
/// (a batch worker's messages already carry many records each).
pub(crate) fn relayed(worker: Worker) -> Worker {
    let inner = match worker.kind {
        WorkerKind::Records(recipient) => Inner::Records(recipient),
        WorkerKind::Asked(inner) => Inner::Asked(inner),
        WorkerKind::Batches(_) => return worker,
    };
    let (jobs, inbox) = mpsc::unbounded_channel();
    actix_rt::spawn(Serve {
        inner,
        inbox: Some(inbox),
        taken: Vec::with_capacity(RUN),
        answers: FuturesUnordered::new(),
    });
    Worker {
        kind: WorkerKind::Asked(Arc::new(Relay { jobs })),
        events: worker.events,
    }
}

impl AskRecord for Relay {
    fn ask(&self, record: ConsumerRecord, mark: Mark) -> Answer {
        let (reply, answer) = oneshot::channel();
        // Refused once the relay is gone (its arbiter stopped): `answer` then fails at once.
        let _ = self.jobs.send(Job {
            record,
            mark,
            reply,
        });
        Box::pin(async move {
            answer.await.unwrap_or_else(|_| {
                Failure::from_answer::<Vec<Output>>(Err(actix::MailboxError::Closed))
            })
        })
    }
}

/// The relay's task: takes queued records, asks the worker, hands answers back; ends once
/// every partition dropped its end and every answer is handed back.
struct Serve {
    inner: Inner,
    inbox: Option<mpsc::UnboundedReceiver<Job>>,
    taken: Vec<Job>,
    answers: FuturesUnordered<Pin<Box<dyn Future<Output = ()>>>>,
}

impl Future for Serve {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        while let Some(inbox) = &mut this.inbox {
            match inbox.poll_recv_many(cx, &mut this.taken, RUN) {
                Poll::Ready(0) => this.inbox = None,
                Poll::Ready(_) => {
                    for job in this.taken.drain(..) {
                        let answer = this.inner.ask(job.record, job.mark);
                        let reply = job.reply;
                        this.answers.push(Box::pin(async move {
                            // The partition may have dropped it (a restart): nothing to do.
                            let _ = reply.send(answer.await);
                        }));
                    }
                }
                Poll::Pending => break,
            }
        }
        while let Poll::Ready(Some(())) = this.answers.poll_next_unpin(cx) {}
        if this.inbox.is_none() && this.answers.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use actix::prelude::*;
    use bytes::Bytes;

    use super::*;
    use crate::pipeline::failure::FailureKind;
    use crate::pipeline::WorkerError;

    /// Answers each record with its value and the thread it ran on; never answers "hang".
    struct Echo;

    impl Actor for Echo {
        type Context = actix::Context<Self>;
    }

    impl Handler<Process> for Echo {
        type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

        fn handle(&mut self, msg: Process, _: &mut actix::Context<Self>) -> Self::Result {
            let value = msg.0.value;
            if value.as_ref() == b"hang" {
                return Box::pin(std::future::pending());
            }
            let thread = format!("{:?}", std::thread::current().id());
            Box::pin(async move { Ok(vec![Output::value(value), Output::value(thread)]) })
        }
    }

    fn record(offset: i64, value: &'static [u8]) -> ConsumerRecord {
        ConsumerRecord {
            topic: Arc::from("t"),
            partition: 0,
            offset,
            timestamp: -1,
            key: None,
            value: Bytes::from_static(value),
        }
    }

    /// A relayed `Echo` on an arbiter of its own, as `Workers` starts it.
    fn start() -> (Arc<dyn AskRecord>, Arbiter) {
        let arbiter = Arbiter::new();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        arbiter.spawn_fn(move || {
            let _ = tx.send(relayed(Worker::from(Echo.start().recipient::<Process>())));
        });
        match rx.recv().expect("the relay starts").kind {
            WorkerKind::Asked(relay) => (relay, arbiter),
            _ => panic!("a per-record worker is relayed"),
        }
    }

    #[actix_rt::test]
    async fn records_are_answered_in_order_on_the_workers_thread_and_marked() {
        let (relay, arbiter) = start();
        let answered = Arc::new(AtomicU64::new(0));
        let values: [&'static [u8]; 3] = [b"a", b"b", b"c"];
        let answers: Vec<Answer> = (1..=3000u64)
            .map(|seq| {
                let mark = Mark {
                    answered: answered.clone(),
                    seq,
                };
                relay.ask(record(seq as i64, values[seq as usize % 3]), mark)
            })
            .collect();
        let here = format!("{:?}", std::thread::current().id());
        for (seq, answer) in (1..=3000usize).zip(answers) {
            let outputs = answer.await.expect("answered");
            assert_eq!(outputs[0].value.as_ref(), values[seq % 3], "record {seq}");
            assert_ne!(outputs[1].value.as_ref(), here.as_bytes(), "record {seq}");
        }
        assert_eq!(answered.load(std::sync::atomic::Ordering::Relaxed), 3000);
        arbiter.stop();
    }

    #[actix_rt::test]
    async fn a_worker_replaced_fails_what_waits_at_its_relay() {
        let (relay, arbiter) = start();
        let mark = |seq| Mark {
            answered: Arc::default(),
            seq,
        };
        let done = relay.ask(record(0, b"a"), mark(1)).await;
        assert!(done.is_ok(), "{done:?}");
        let waiting: Vec<Answer> = (2..5)
            .map(|s| relay.ask(record(s, b"hang"), mark(s as u64)))
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // As `Workers::replace` does with a hung worker.
        arbiter.stop();
        for answer in waiting {
            let failure = tokio::time::timeout(Duration::from_secs(5), answer)
                .await
                .expect("a stopped relay's answers do not hang")
                .expect_err("nothing answered them");
            assert_eq!(failure.kind, FailureKind::Panic);
        }
        // And what is asked afterwards fails at once.
        let late =
            tokio::time::timeout(Duration::from_secs(5), relay.ask(record(9, b"a"), mark(9)))
                .await
                .expect("no hang");
        assert_eq!(late.expect_err("no relay").kind, FailureKind::Panic);
    }
}
