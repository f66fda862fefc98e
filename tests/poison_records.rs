//! Poison records on the embedded cluster: a batch worker and a per-record worker that fail
//! on every 1,000th record of 1,000,000 (by an error, a panic, a hang past the worker
//! timeout) under the default policy (retries, then the dead-letter topic): the pipeline
//! completes, the sink holds exactly the other 999,000 records, the dead-letter topic exactly
//! 1,000 envelopes with their coordinates, every offset is committed, and the process has as
//! many threads as before. A record that is not JSON is dead-lettered by a typed worker with
//! its decode error, never reaching it.
//!
//! The tests take turns (`TURN`): each counts the process's threads.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Once;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::pipeline::{
    start_pipeline, Backoff, DeadLetter, Decoded, Output, PipelineConfig, Process, ProcessBatch,
    TypedOutput, Worker, WorkerError,
};
use actix_fluvio::producer::ProducerOptions;
use common::embedded::{cluster_with_topics, read_all, to_end};

const RECORDS: usize = 1_000_000;
const EVERY: usize = 1_000;

/// One test at a time: they count the process's threads.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Error,
    Panic,
    Hang,
}

impl Fault {
    fn kind(self) -> &'static str {
        match self {
            Fault::Error => "worker",
            Fault::Panic => "panic",
            Fault::Hang => "timeout",
        }
    }
}

fn value(i: usize) -> String {
    format!("{i:07}")
}

/// One record in each thousand: the `990 + k % 10`th of thousand `k`, so that the poison
/// records spread over the partitions (the producer places records round-robin: every
/// 1,000th record would land on the same partition).
fn poison(i: usize) -> bool {
    i % EVERY == EVERY - 10 + (i / EVERY) % 10
}

fn is_poison(value: &[u8]) -> bool {
    poison(std::str::from_utf8(value).unwrap().parse().unwrap())
}

/// Copies values, failing on the poison ones by its fault.
struct Poisoned(Fault);

impl Actor for Poisoned {
    type Context = Context<Self>;
}

type Answer = ResponseFuture<Result<Vec<Output>, WorkerError>>;

impl Poisoned {
    fn fail(&self, offset: i64) -> Answer {
        match self.0 {
            Fault::Error => Box::pin(std::future::ready(Err(WorkerError::new(format!(
                "poison at {offset}"
            ))))),
            Fault::Panic => panic!("poison record at {offset}"),
            Fault::Hang => Box::pin(std::future::pending()),
        }
    }
}

impl Handler<Process> for Poisoned {
    type Result = Answer;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Answer {
        if is_poison(&msg.0.value) {
            return self.fail(msg.0.offset);
        }
        Box::pin(std::future::ready(Ok(vec![Output::value(msg.0.value)])))
    }
}

impl Handler<ProcessBatch> for Poisoned {
    type Result = Answer;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Answer {
        if let Some(poison) = msg.records.iter().find(|r| is_poison(&r.value)) {
            return self.fail(poison.offset);
        }
        let outputs = msg.records.into_iter().map(|r| Output::value(r.value));
        Box::pin(std::future::ready(Ok(outputs.collect())))
    }
}

/// The panics the tests provoke are not printed (a thousand backtraces); others are.
fn quiet_poison_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .unwrap_or_default();
            if !message.starts_with("poison record") {
                default(info);
            }
        }));
    });
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Threads once the stopped arbiters' threads ended (they end a moment after their stop).
async fn threads_settled(expected: usize) -> usize {
    let started = Instant::now();
    let mut now = threads();
    while now != expected && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = threads();
    }
    now
}

/// Every record of every partition of `topic`.
async fn read_topic(
    client: &FluvioClient,
    topic: &str,
) -> Vec<actix_fluvio::consumer::ConsumerRecord> {
    let partitions = client.partition_count(topic).await.unwrap();
    let mut records = Vec::new();
    for p in 0..partitions {
        records.extend(read_all(client, topic, p, to_end()).await);
    }
    records
}

/// Every partition of `topic` committed on its last record under `consumer`.
async fn assert_committed_to_the_end(client: &FluvioClient, topic: &str, consumer: &str) {
    let offsets = client.admin().list_consumer_offsets().await.unwrap();
    for p in 0..client.partition_count(topic).await.unwrap() {
        let (_, end) = client.partition_offsets(topic, p).await.unwrap();
        let committed = offsets
            .iter()
            .find(|o| o.consumer_id == consumer && o.replica_id.partition == p)
            .map(|o| o.offset);
        assert_eq!(
            committed,
            Some(end - 1),
            "partition {p} committed to its end"
        );
    }
}

async fn poison_run(fault: Fault, batches: bool) {
    let _turn = TURN.lock().await;
    quiet_poison_panics();
    // A hang costs a worker timeout per attempt: more partitions wait out theirs together.
    let partitions = if fault == Fault::Hang { 10 } else { 4 };
    let (cluster, client) = cluster_with_topics(1, &[("source", partitions), ("sink", 1)]).await;
    let producer = client.producer(ProducerOptions::default());
    let written = producer
        .send_batch("source", (0..RECORDS).map(|i| (None::<String>, value(i))))
        .await
        .unwrap();
    // Where each poison record landed.
    let poisons: HashMap<String, (u32, i64)> = written
        .iter()
        .enumerate()
        .filter(|(i, _)| poison(*i))
        .map(|(i, meta)| (value(i), (meta.partition, meta.offset)))
        .collect();
    assert_eq!(poisons.len(), RECORDS / EVERY);
    let on: HashSet<u32> = poisons.values().map(|(p, _)| *p).collect();
    assert_eq!(
        on.len(),
        partitions as usize,
        "poison records on every partition"
    );

    let mut config = PipelineConfig::new("source", "poisoned");
    config.sink = Some("sink".into());
    config.exit_at_end = true;
    config.failure.retries = if fault == Fault::Hang { 1 } else { 2 };
    config.failure.backoff = Backoff::fixed(Duration::from_millis(1));
    if fault == Fault::Hang {
        config.worker_timeout = Some(Duration::from_millis(100));
    }
    // A panic, or a worker replaced as stuck, takes every message waiting at it with it:
    // with a worker per partition, the one that did it is known; a worker shared by
    // partitions blames the oldest message reported, which may cost another partition's
    // record an attempt (PipelineConfig::workers).
    if fault != Fault::Error {
        config.workers = partitions as usize;
    }
    let attempts = config.failure.retries + 1;
    let before = threads();
    let started = Instant::now();
    let pipeline = start_pipeline(&client, config, move |_| {
        let worker = Poisoned(fault).start();
        if batches {
            Worker::from(worker.recipient::<ProcessBatch>())
        } else {
            Worker::from(worker.recipient::<Process>())
        }
    })
    .await
    .unwrap();
    let stats = common::within(600, "the poisoned pipeline", pipeline.wait())
        .await
        .unwrap();
    println!(
        "{fault:?} ({}): {:.1} s, {} restarts, {} retried, {} redelivered",
        if batches { "batches" } else { "records" },
        started.elapsed().as_secs_f64(),
        stats.restarts,
        stats.retried,
        stats.redelivered,
    );
    assert_eq!(stats.dead_lettered, 1_000);

    // The sink: exactly the 999,000 others.
    let sink = read_topic(&client, "sink").await;
    assert_eq!(sink.len(), RECORDS - RECORDS / EVERY, "records in the sink");
    let distinct: HashSet<&[u8]> = sink.iter().map(|r| &r.value[..]).collect();
    assert_eq!(distinct.len(), sink.len(), "no record twice");
    assert!(sink.iter().all(|r| !is_poison(&r.value)));

    // The dead-letter topic: each poison once, with its coordinates and failure.
    let letters = read_topic(&client, "source-dlq").await;
    assert_eq!(letters.len(), RECORDS / EVERY, "envelopes");
    let mut seen = HashSet::new();
    for record in &letters {
        let letter = DeadLetter::from_json(&record.value).unwrap();
        let value = String::from_utf8(letter.value_bytes().unwrap().to_vec()).unwrap();
        assert!(seen.insert(value.clone()), "{value} dead-lettered twice");
        assert_eq!(
            poisons.get(&value),
            Some(&(letter.partition, letter.offset)),
            "{letter:?}"
        );
        assert_eq!(record.partition, letter.partition, "{letter:?}");
        assert_eq!(
            (letter.topic.as_str(), letter.consumer.as_str()),
            ("source", "poisoned")
        );
        assert_eq!(letter.error.kind, fault.kind(), "{letter:?}");
        assert_eq!(letter.attempts, attempts, "{letter:?}");
    }

    assert_committed_to_the_end(&client, "source", "poisoned").await;
    let after = threads_settled(before).await;
    assert_eq!(after, before, "threads before the pipeline and after it");
    cluster.shutdown().await;
}

#[actix_rt::test]
async fn a_batch_worker_erring_on_every_thousandth_record() {
    poison_run(Fault::Error, true).await;
}

#[actix_rt::test]
async fn a_per_record_worker_erring_on_every_thousandth_record() {
    poison_run(Fault::Error, false).await;
}

#[actix_rt::test]
async fn a_batch_worker_panicking_on_every_thousandth_record() {
    poison_run(Fault::Panic, true).await;
}

#[actix_rt::test]
async fn a_per_record_worker_panicking_on_every_thousandth_record() {
    poison_run(Fault::Panic, false).await;
}

#[actix_rt::test]
async fn a_batch_worker_hanging_on_every_thousandth_record() {
    poison_run(Fault::Hang, true).await;
}

#[actix_rt::test]
async fn a_per_record_worker_hanging_on_every_thousandth_record() {
    poison_run(Fault::Hang, false).await;
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Order {
    id: u64,
}

/// Doubles order ids.
struct Doubler;

impl Actor for Doubler {
    type Context = Context<Self>;
}

impl Handler<Decoded<Order, Order>> for Doubler {
    type Result = Result<Vec<TypedOutput<Order>>, WorkerError>;

    fn handle(&mut self, order: Decoded<Order, Order>, _: &mut Context<Self>) -> Self::Result {
        Ok(vec![TypedOutput::value(Order {
            id: order.value.id * 2,
        })])
    }
}

#[actix_rt::test]
async fn a_record_that_is_not_json_is_dead_lettered_with_its_decode_error() {
    let _turn = TURN.lock().await;
    let (_cluster, client) = cluster_with_topics(1, &[("orders", 2), ("doubled", 1)]).await;
    let producer = client.producer(ProducerOptions::default());
    let values = (0..2_000u64).map(|i| match i % 100 {
        17 => (None::<String>, format!("{{\"id\": {i}")),
        _ => (None, format!("{{\"id\": {i}}}")),
    });
    producer.send_batch("orders", values).await.unwrap();
    let mut config = PipelineConfig::new("orders", "doubler");
    config.sink = Some("doubled".into());
    config.exit_at_end = true;
    let stats = start_pipeline(&client, config, |_| {
        Worker::json(Doubler.start().recipient::<Decoded<Order, Order>>())
    })
    .await
    .unwrap()
    .wait()
    .await
    .unwrap();
    // Not retried: decoding again gives the same answer.
    assert_eq!(stats.retried, 0);
    assert_eq!(stats.dead_lettered, 20);
    let doubled: HashSet<u64> = read_topic(&client, "doubled")
        .await
        .iter()
        .map(|r| serde_json::from_slice::<Order>(&r.value).unwrap().id)
        .collect();
    let expected: HashSet<u64> = (0..2_000)
        .filter(|i| i % 100 != 17)
        .map(|i| i * 2)
        .collect();
    assert_eq!(doubled, expected);
    let letters = read_topic(&client, "orders-dlq").await;
    let mut ids = Vec::new();
    for record in letters {
        let letter = DeadLetter::from_json(&record.value).unwrap();
        assert_eq!((letter.error.kind.as_str(), letter.attempts), ("decode", 1));
        assert!(
            letter.error.message.starts_with("value: JSON: EOF"),
            "{letter:?}"
        );
        let text = String::from_utf8(letter.value_bytes().unwrap().to_vec()).unwrap();
        ids.push(text.trim_start_matches("{\"id\": ").parse::<u64>().unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..20).map(|k| k * 100 + 17).collect::<Vec<u64>>());
    assert_committed_to_the_end(&client, "orders", "doubler").await;
}
