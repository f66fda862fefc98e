//! What a per-record worker costs before any Fluvio work: one actix message per record, to
//! an actor on an arbiter of its own (as the pipeline runs its workers), answered with one
//! output, a window of messages in flight (as the pipeline keeps a per-record worker's queue
//! full).
//!
//! `cargo bench --bench message_floor [-- COUNT WINDOW ROUNDS]` (default 2,000,000 records,
//! a window of 500, as the pipeline queues at a per-record worker, 3 rounds). Under
//! `taskset -c 0` both threads share one core: no wake-up crosses cores.
//!
//! It was the floor under the pipeline's per-record CPU until the pipeline sent a per-record
//! worker's messages from a relay on the worker's own thread (`benches/README.md`); compare
//! its µs per record with the `record` and `raw` sides of `benches/pipeline.rs`. Every answer
//! is checked: one upper-cased output per record, in order.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use actix_fluvio::consumer::ConsumerRecord;
use actix_fluvio::pipeline::Process;
use bytes::Bytes;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;
#[path = "common/upper.rs"]
mod upper;
use upper::Upper;

fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .filter(|a| !a.starts_with('-'))
        .nth(index)
        .and_then(|a| a.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Poll `future` once without waiting: its output if ready.
fn poll_now<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(future).poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// One round: `count` messages through a window of `window`; (messages/s, CPU µs/message).
async fn round(worker: &Recipient<Process>, count: usize, window: usize) -> (f64, f64) {
    let topic: Arc<str> = Arc::from("floor");
    let value = Bytes::from(vec![b'a'; 100]);
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let mut answers = VecDeque::with_capacity(window);
    let mut spare: Vec<Recipient<Process>> = Vec::with_capacity(window);
    let (mut sent, mut answered) = (0usize, 0usize);
    while answered < count {
        while sent < count && answers.len() < window {
            let record = ConsumerRecord {
                topic: topic.clone(),
                partition: 0,
                offset: sent as i64,
                timestamp: -1,
                key: None,
                value: value.clone(),
            };
            // A sender per message in flight, as the pipeline sends (each may put one
            // message past the worker's full mailbox), used again once its message is
            // answered; polled once at once, so that a message its sender could not put in
            // the mailbox leaves now, through a fresh one.
            let sender = spare.pop().unwrap_or_else(|| worker.clone());
            let mut request = Box::pin(sender.send(Process(record)));
            let ready = poll_now(&mut request);
            answers.push_back((request, ready, sender));
            sent += 1;
        }
        let (request, ready, sender) = answers.pop_front().expect("a message in flight");
        let outputs = match ready {
            Some(ready) => ready,
            None => request.await,
        }
        .expect("the worker is alive")
        .expect("the worker answers");
        spare.push(sender);
        assert!(
            outputs.len() == 1 && outputs[0].value.iter().all(|&b| b == b'A'),
            "message {answered}: a wrong answer"
        );
        answered += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    (count as f64 / seconds, cpu * 1e6 / count as f64)
}

fn main() {
    let (count, window, rounds) = (arg(1, 2_000_000), arg(2, 500).max(1), arg(3, 3));
    let system = System::new();
    system.block_on(async move {
        let arbiter = Arbiter::new();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        arbiter.spawn_fn(move || {
            let _ = tx.send(Upper.start().recipient::<Process>());
        });
        let worker = rx.recv().expect("the worker starts");
        println!("message floor: {count} records, a window of {window}, {rounds} rounds");
        for index in 1..=rounds {
            let (rate, us) = round(&worker, count, window).await;
            println!("round {index}: {rate:>10.0} msg/s  {us:.2} CPU µs/record");
        }
        arbiter.stop();
    });
}
