//! Where failed records go, on the embedded cluster: a dead-letter write that fails (the
//! dead-letter topic's SPU down 30 s) holds the partition's commits until it succeeds;
//! outputs routed to three topics are all acknowledged before their record is committed;
//! the skip policy; a batch worker naming its failing record spares the split; `replay`
//! writes dead-lettered records back, once; a dead-letter topic name the cluster would refuse
//! is refused at the start.
//!
//! (Above 400 lines on purpose: the scenarios share one small worker actor and the helpers
//! that read topics and commits; each scenario's setup, fault and checks read on their own.)

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::pipeline::{
    replay, start_pipeline, Backoff, DeadLetter, FailurePolicy, Output, PipelineConfig,
    PipelineError, Process, ProcessBatch, ReplayOptions, WorkerError,
};
use actix_fluvio::producer::{DeliveryGuarantee, ProducerOptions, RetryPolicy};
use actix_fluvio::testkit::TestCluster;
use common::committed;
use common::embedded::{cluster, read_all, to_end};

/// Values `0..n` as text; every `every`th (from `every - 1`) is poison.
fn is_poison(value: &[u8], every: u64) -> bool {
    let i: u64 = std::str::from_utf8(value).unwrap().parse().unwrap();
    i % every == every - 1
}

/// Batches a worker was handed: their offsets, and whether each failed.
type Batches = Arc<Mutex<Vec<(Vec<i64>, bool)>>>;

/// Copies values; answers an error on poison ones (naming the record when `named`). Notes
/// each batch.
struct Picky {
    every: u64,
    named: bool,
    batches: Batches,
}

impl Actor for Picky {
    type Context = Context<Self>;
}

impl Handler<Process> for Picky {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        if is_poison(&msg.0.value, self.every) {
            return Err(WorkerError::new("poison"));
        }
        Ok(vec![Output::value(msg.0.value)])
    }
}

impl Handler<ProcessBatch> for Picky {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let poison = msg.records.iter().find(|r| is_poison(&r.value, self.every));
        let offsets = msg.records.iter().map(|r| r.offset).collect();
        self.batches
            .lock()
            .unwrap()
            .push((offsets, poison.is_some()));
        if let Some(poison) = poison {
            return Err(match self.named {
                true => WorkerError::at(poison.offset, "poison"),
                false => WorkerError::new("poison"),
            });
        }
        Ok(msg
            .records
            .into_iter()
            .map(|r| Output::value(r.value))
            .collect())
    }
}

fn picky(every: u64) -> impl Fn(usize) -> Recipient<Process> + Send + Sync {
    move |_| {
        let batches = Arc::default();
        Picky {
            every,
            named: false,
            batches,
        }
        .start()
        .recipient()
    }
}

async fn produce(client: &FluvioClient, topic: &str, n: u64) {
    let producer = client.producer(ProducerOptions::default());
    producer
        .send_batch(topic, (0..n).map(|i| (None::<String>, i.to_string())))
        .await
        .unwrap();
}

async fn values(client: &FluvioClient, topic: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..client.partition_count(topic).await.unwrap() {
        for record in read_all(client, topic, p, to_end()).await {
            out.push(String::from_utf8(record.value.to_vec()).unwrap());
        }
    }
    out
}

/// Two SPUs: `on_first` topics on the first, `on_second` on the second (one partition each).
async fn two_spus(on_first: &[&str], on_second: &[&str]) -> (TestCluster, FluvioClient, i32) {
    let cluster = cluster(2).await;
    let client = common::embedded::client(&cluster).await;
    let ids = cluster.spu_ids();
    for (topics, spu) in [(on_first, ids[0]), (on_second, ids[1])] {
        for topic in topics {
            let config = TopicConfig::assigned([(0, vec![spu])]);
            client.admin().create_topic(topic, config).await.unwrap();
        }
    }
    (cluster, client, ids[1])
}

#[actix_rt::test]
async fn a_dead_letter_write_that_fails_holds_the_commits_until_it_succeeds() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let (cluster, client, second) = two_spus(&["source", "sink"], &["source-dlq"]).await;
    produce(&client, "source", 10_000).await;
    cluster.stop_spu(second).await.unwrap();
    let mut config = PipelineConfig::new("source", "held");
    config.sink = Some("sink".into());
    config.commit_every = 100;
    config.failure = FailurePolicy::dead_letter(0, None);
    config.failure.backoff = Backoff::fixed(Duration::from_millis(200));
    // Writes fail after 5 s: the dead-letter write fails several times during the outage.
    config.producer.delivery = DeliveryGuarantee::AtLeastOnce(RetryPolicy {
        timeout: Duration::from_secs(5),
        ..RetryPolicy::default()
    });
    let pipeline = start_pipeline(&client, config, picky(1_000)).await.unwrap();
    // For 30 s the first poison (offset 999) cannot be dead-lettered: nothing is committed
    // past it, though the records before it are.
    let outage = Instant::now();
    let mut highest = None;
    while outage.elapsed() < Duration::from_secs(30) {
        let now = committed(&client, "held", 0).await;
        assert!(
            now.is_none_or(|c| c < 999),
            "committed {now:?} past the unwritten record"
        );
        highest = highest.max(now);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        highest,
        Some(998),
        "the records before the poison are committed"
    );
    assert_eq!(pipeline.stats().dead_lettered, 0);
    cluster.restart_spu(second).await.unwrap();
    common::within(60, "commits reach the end", async {
        while committed(&client, "held", 0).await != Some(9_999) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    let stats = pipeline.drain().await.unwrap();
    assert_eq!(stats.dead_lettered, 10);
    let letters = values(&client, "source-dlq").await;
    let offsets: Vec<i64> = letters
        .iter()
        .map(|l| DeadLetter::from_json(l.as_bytes()).unwrap().offset)
        .collect();
    assert_eq!(
        offsets,
        (0..10).map(|k| k * 1_000 + 999).collect::<Vec<i64>>()
    );
    // Every other record in the sink; those after a failed write were sent again.
    let sink = values(&client, "sink").await;
    let distinct: HashSet<&String> = sink.iter().collect();
    assert_eq!(distinct.len(), 9_990);
    assert!(sink.iter().all(|v| !is_poison(v.as_bytes(), 1_000)));
    println!("{} records sent twice", sink.len() - distinct.len());
}

/// Sends each record to the sink and to two topics of its own.
struct Fanout {
    b: Arc<str>,
    c: Arc<str>,
}

impl Actor for Fanout {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Fanout {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let mut outputs = Vec::with_capacity(msg.records.len() * 3);
        for record in msg.records {
            outputs.push(Output::value(record.value.clone()));
            outputs.push(Output::value(record.value.clone()).to_topic(self.b.clone()));
            outputs.push(Output::value(record.value).to_topic(self.c.clone()));
        }
        Ok(outputs)
    }
}

#[actix_rt::test]
async fn routed_outputs_reach_three_topics_before_their_record_is_committed() {
    let (cluster, client, second) = two_spus(&["source", "out-a", "out-b"], &["out-c"]).await;
    produce(&client, "source", 5_000).await;
    // out-c is away: no record can be committed, though out-a and out-b take theirs.
    cluster.stop_spu(second).await.unwrap();
    let mut config = PipelineConfig::new("source", "fanout");
    config.sink = Some("out-a".into());
    config.commit_every = 100;
    config.commit_interval = Duration::from_millis(100);
    let pipeline = start_pipeline(&client, config, |_| {
        let fanout = Fanout {
            b: "out-b".into(),
            c: "out-c".into(),
        };
        fanout.start().recipient::<ProcessBatch>()
    })
    .await
    .unwrap();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(5) {
        assert_eq!(
            committed(&client, "fanout", 0).await,
            None,
            "committed without out-c"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        values(&client, "out-a").await.len() > 1_000,
        "the other sinks took records"
    );
    cluster.restart_spu(second).await.unwrap();
    common::within(60, "commits reach the end", async {
        while committed(&client, "fanout", 0).await != Some(4_999) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    pipeline.drain().await.unwrap();
    let expected: Vec<String> = (0..5_000).map(|i: u64| i.to_string()).collect();
    for topic in ["out-a", "out-b", "out-c"] {
        assert_eq!(values(&client, topic).await, expected, "{topic}");
    }
}

#[actix_rt::test]
async fn skipped_records_are_counted_and_committed_past() {
    let (_cluster, client) =
        common::embedded::cluster_with_topics(1, &[("source", 2), ("sink", 1)]).await;
    produce(&client, "source", 2_000).await;
    let mut config = PipelineConfig::new("source", "skipper");
    config.sink = Some("sink".into());
    config.exit_at_end = true;
    config.failure = FailurePolicy::skip(1);
    config.failure.backoff = Backoff::fixed(Duration::from_millis(1));
    let stats = start_pipeline(&client, config, picky(100))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(stats.skipped, 20);
    assert_eq!(stats.retried, 20);
    assert_eq!(values(&client, "sink").await.len(), 1_980);
    assert!(client
        .admin()
        .get_topic("source-dlq")
        .await
        .unwrap()
        .is_none());
    for p in 0..2 {
        let (_, end) = client.partition_offsets("source", p).await.unwrap();
        assert_eq!(committed(&client, "skipper", p).await, Some(end - 1));
    }
}

#[actix_rt::test]
async fn a_batch_worker_naming_its_failing_record_spares_the_split() {
    let (_cluster, client) =
        common::embedded::cluster_with_topics(1, &[("source", 1), ("sink", 1)]).await;
    produce(&client, "source", 5_000).await;
    let batches = Arc::new(Mutex::new(Vec::new()));
    let mut config = PipelineConfig::new("source", "named");
    config.sink = Some("sink".into());
    config.exit_at_end = true;
    config.failure.retries = 1;
    config.failure.backoff = Backoff::fixed(Duration::from_millis(1));
    let seen = batches.clone();
    let stats = start_pipeline(&client, config, move |_| {
        let picky = Picky {
            every: 1_000,
            named: true,
            batches: seen.clone(),
        };
        picky.start().recipient::<ProcessBatch>()
    })
    .await
    .unwrap()
    .wait()
    .await
    .unwrap();
    assert_eq!(stats.retried, 5);
    assert_eq!(stats.dead_lettered, 5);
    let batches = batches.lock().unwrap().clone();
    let shapes: Vec<String> = batches
        .iter()
        .map(|(o, failed)| {
            format!(
                "{}..={}{}",
                o[0],
                o[o.len() - 1],
                if *failed { "!" } else { "" }
            )
        })
        .collect();
    let poison = |offset: i64| offset % 1_000 == 999;
    // No split: a record alone is a poison one (its retry, or the tail of a read).
    let alone: Vec<i64> = batches
        .iter()
        .filter(|(o, _)| o.len() == 1)
        .map(|(o, _)| o[0])
        .collect();
    assert!(alone.iter().all(|&o| poison(o)), "{shapes:?}");
    // Each poison record failed twice (named as the batch's failing record): in a batch (or
    // read alone, as the tail of a read), then alone, its retry.
    let mut failures = HashMap::<i64, Vec<usize>>::new();
    for (offsets, _) in batches.iter().filter(|(_, failed)| *failed) {
        let named = offsets.iter().find(|&&o| poison(o)).unwrap();
        failures.entry(*named).or_default().push(offsets.len());
    }
    assert_eq!(failures.len(), 5, "{shapes:?}");
    assert!(
        failures.values().all(|f| f.len() == 2 && f[1] == 1),
        "each poison retried once, alone: {shapes:?}"
    );
    // A retry is the last record handed on until it is answered: what follows it in the
    // partition reaches the worker once, after its failure (handed on with it, a batch would
    // reach the worker twice in a row, its first answer dropped with the retry's failure).
    assert!(
        batches
            .windows(2)
            .all(|pair| pair[0].1 || pair[0].0 != pair[1].0),
        "a batch handed on twice in a row: {shapes:?}"
    );
    assert_eq!(values(&client, "sink").await.len(), 4_995);
}

#[actix_rt::test]
async fn replay_writes_dead_lettered_records_back_once() {
    let (_cluster, client) =
        common::embedded::cluster_with_topics(1, &[("source", 2), ("sink", 1), ("restored", 1)])
            .await;
    produce(&client, "source", 3_000).await;
    let mut config = PipelineConfig::new("source", "replayed");
    config.sink = Some("sink".into());
    config.exit_at_end = true;
    config.failure = FailurePolicy::dead_letter(0, Some("rejected".into()));
    start_pipeline(&client, config, picky(100))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(values(&client, "rejected").await.len(), 30);
    let options = ReplayOptions {
        into: Some("restored".into()),
        ..ReplayOptions::default()
    };
    let stats = replay(&client, "rejected", options.clone()).await.unwrap();
    assert_eq!(stats.replayed, 30);
    let mut restored: Vec<u64> = values(&client, "restored")
        .await
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    restored.sort_unstable();
    assert_eq!(
        restored,
        (0..30).map(|k| k * 100 + 99).collect::<Vec<u64>>()
    );
    // Again: nothing new was dead-lettered, nothing is written.
    assert_eq!(
        replay(&client, "rejected", options).await.unwrap().replayed,
        0
    );
    assert_eq!(values(&client, "restored").await.len(), 30);
    // Back into the source, each to the partition it came from.
    let (_, before) = client.partition_offsets("source", 0).await.unwrap();
    let back = ReplayOptions {
        consumer_id: Some("to-source".into()),
        ..ReplayOptions::default()
    };
    assert_eq!(
        replay(&client, "rejected", back).await.unwrap().replayed,
        30
    );
    let (_, after) = client.partition_offsets("source", 0).await.unwrap();
    let from_zero = values(&client, "rejected")
        .await
        .iter()
        .filter(|l| DeadLetter::from_json(l.as_bytes()).unwrap().partition == 0)
        .count();
    assert_eq!((after - before) as usize, from_zero);
}

#[actix_rt::test]
async fn a_dead_letter_topic_name_the_cluster_would_refuse_is_refused_at_the_start() {
    let (_cluster, client) = common::embedded::cluster_with_topics(1, &[("source", 1)]).await;
    let mut config = PipelineConfig::new("source", "named-badly");
    config.failure = FailurePolicy::dead_letter(3, Some("Rejected_Orders".into()));
    match start_pipeline(&client, config, picky(100)).await {
        Err(PipelineError::InvalidConfig(why)) => assert!(why.contains("Rejected_Orders"), "{why}"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}
