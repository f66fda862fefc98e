//! Senders to a worker, used again once their message is answered.
//!
//! Each message goes to the worker through a sender of its own: a sender that puts a
//! message past the worker's full mailbox is parked (refuses the next one) until the worker
//! takes a message, so one shared sender would hold messages back, and they would leave out
//! of order. A fresh clone per message costs three allocations and a shared counter's
//! update, each way. But the worker takes messages in order and frees one parked sender per
//! message it takes, the oldest first, and no more senders park than messages wait beyond
//! the mailbox's capacity: by the time a message is answered, its sender is free again. So
//! the senders of answered messages are kept for the next messages. Should one still be
//! parked (other senders to the same worker raced it), the message is handed to a fresh
//! clone the first time its answer is polled, which the partition does at once.

use crate::pipeline::worker::WorkerKind;

/// Spare senders to one worker incarnation.
#[derive(Default)]
pub(super) struct Senders {
    generation: u64,
    spare: Vec<WorkerKind>,
}

impl Senders {
    /// A sender for the next message to `worker` (of `generation`): a spare one, else a
    /// clone. Spares of an earlier incarnation are dropped.
    pub(super) fn take(&mut self, worker: &WorkerKind, generation: u64) -> WorkerKind {
        if generation != self.generation {
            self.spare.clear();
            self.generation = generation;
        }
        self.spare.pop().unwrap_or_else(|| worker.clone())
    }

    /// `sender`, to the worker of `generation`, whose message was answered: kept for the
    /// next message to that incarnation.
    pub(super) fn give_back(&mut self, sender: WorkerKind, generation: u64) {
        if generation == self.generation {
            self.spare.push(sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::AtomicU64;
    use std::sync::{Arc, Mutex};

    use actix::prelude::*;
    use bytes::Bytes;

    use super::super::poll_now;
    use super::super::read::{ask, Read};
    use super::*;
    use crate::consumer::ConsumerRecord;
    use crate::pipeline::worker::{Mark, Output, Process, WorkerError};

    /// Notes the records it handles, in order; answers each with its offset. Its mailbox
    /// holds one message, so nearly every message parks its sender.
    struct Noting(Arc<Mutex<Vec<(u32, i64)>>>);

    impl Actor for Noting {
        type Context = Context<Self>;

        fn started(&mut self, ctx: &mut Context<Self>) {
            ctx.set_mailbox_capacity(1);
        }
    }

    impl Handler<Process> for Noting {
        type Result = Result<Vec<Output>, WorkerError>;

        fn handle(&mut self, Process(record): Process, _: &mut Context<Self>) -> Self::Result {
            let noted = (record.partition, record.offset);
            self.0.lock().expect("not poisoned").push(noted);
            Ok(vec![Output {
                key: None,
                value: Bytes::from(record.offset.to_string()),
                partition: None,
                topic: None,
            }])
        }
    }

    /// Send `count` records of `partition` to `worker` as a partition does: `window` in
    /// flight, each through a sender from `Senders`, polled once at once, given back when
    /// answered. The most spare senders held at once.
    async fn feed(worker: WorkerKind, partition: u32, count: i64, window: usize) -> usize {
        let mut senders = Senders::default();
        let answered = Arc::new(AtomicU64::new(0));
        let mut in_flight = VecDeque::new();
        let (mut next, mut most_spare) = (0, 0);
        for expected in 0..count {
            while next < count && in_flight.len() < window {
                let sender = senders.take(&worker, 1);
                let record = ConsumerRecord {
                    topic: Arc::from("t"),
                    partition,
                    offset: next,
                    timestamp: -1,
                    key: None,
                    value: Bytes::new(),
                };
                let mark = Mark {
                    answered: answered.clone(),
                    seq: next as u64 + 1,
                };
                let mut answer = ask(&sender, partition, Read::One(record), mark);
                let ready = poll_now(answer.as_mut());
                in_flight.push_back((answer, ready, sender));
                next += 1;
            }
            let (answer, ready, sender) = in_flight.pop_front().expect("in flight");
            let outputs = match ready {
                Some(ready) => ready,
                None => answer.await,
            }
            .expect("answered");
            assert_eq!(
                outputs[0].value,
                expected.to_string(),
                "partition {partition}"
            );
            senders.give_back(sender, 1);
            most_spare = most_spare.max(senders.spare.len());
        }
        most_spare
    }

    #[actix_rt::test]
    async fn reused_senders_keep_two_partitions_in_order_through_a_one_message_mailbox() {
        let noted = Arc::new(Mutex::new(Vec::new()));
        let worker_arbiter = Arbiter::new();
        let worker = {
            let noted = noted.clone();
            Noting::start_in_arbiter(&worker_arbiter.handle(), move |_| Noting(noted))
        };
        let kind = WorkerKind::Records(worker.recipient());
        // The other partition on a thread of its own: its senders race this one's.
        let other = Arbiter::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let other_kind = kind.clone();
        other.spawn(async move {
            let _ = tx.send(feed(other_kind, 1, 5_000, 64).await);
        });
        let both = async { (feed(kind, 0, 5_000, 64).await, rx.await) };
        let (most_spare, other_spare) =
            tokio::time::timeout(std::time::Duration::from_secs(60), both)
                .await
                .expect("both partitions answered within 60 s");
        let other_spare = other_spare.expect("the other partition finished");
        assert!(
            most_spare <= 64 && other_spare <= 64,
            "{most_spare} {other_spare}"
        );
        assert!(most_spare > 0, "senders were used again");
        let noted = noted.lock().expect("not poisoned").clone();
        for partition in [0, 1] {
            let offsets: Vec<i64> = noted
                .iter()
                .filter(|(p, _)| *p == partition)
                .map(|&(_, o)| o)
                .collect();
            assert_eq!(
                offsets,
                (0..5_000).collect::<Vec<_>>(),
                "partition {partition}"
            );
        }
        other.stop();
        worker_arbiter.stop();
    }
}
