//! Pipelines with batch workers (`ProcessBatch`) on the embedded test cluster: each
//! partition's records arrive in order and in batches, a batch that fails is delivered again
//! after the restart with the commit never past it, a drain finishes the batches in flight,
//! and outputs can pick their sink partition.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::pipeline::{start_pipeline, Output, PipelineConfig, ProcessBatch, WorkerError};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

use common::{bounded, committed, read_values};

/// Source records `rec-NNNN` (keys `kNNNN`) over `partitions` partitions, and an empty sink
/// of `sink_partitions`.
async fn setup(
    partitions: u32,
    sink_partitions: u32,
    records: usize,
) -> (TestCluster, FluvioClient) {
    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    for (topic, count) in [("source", partitions), ("sink", sink_partitions)] {
        client
            .admin()
            .create_topic(topic, TopicConfig::new(count))
            .await
            .unwrap();
    }
    let producer = client.producer(ProducerOptions::default());
    producer
        .send_batch(
            "source",
            (0..records).map(|i| (Some(format!("k{i:04}")), format!("rec-{i:04}"))),
        )
        .await
        .unwrap();
    (cluster, client)
}

/// The failing batch's partition and first offset, and the committed offset then.
type AtFailure = (u32, i64, Option<i64>);

/// Tags each record `PARTITION:OFFSET:VALUE`, notes the batch sizes, and fails the first
/// batch that holds `fail_on` (after checking that nothing at or past the batch's first
/// offset was committed).
struct Tagger {
    client: FluvioClient,
    sizes: Arc<Mutex<Vec<usize>>>,
    fail_on: Arc<Mutex<Option<String>>>,
    seen_at_failure: Arc<Mutex<Option<AtFailure>>>,
}

impl Actor for Tagger {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Tagger {
    type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        self.sizes.lock().unwrap().push(msg.records.len());
        let fails = {
            let mut fail_on = self.fail_on.lock().unwrap();
            let hit = fail_on
                .as_ref()
                .is_some_and(|v| msg.records.iter().any(|r| r.value == v.as_bytes()));
            if hit {
                *fail_on = None;
            }
            hit
        };
        let (client, seen) = (self.client.clone(), self.seen_at_failure.clone());
        Box::pin(async move {
            if fails {
                let first = msg.records[0].offset;
                let at = committed(&client, "batcher", msg.partition).await;
                *seen.lock().unwrap() = Some((msg.partition, first, at));
                return Err(WorkerError::new("fails this batch once"));
            }
            let outputs = msg.records.iter().map(|r| {
                let value = String::from_utf8_lossy(&r.value);
                Output::keyed(
                    r.key.clone().unwrap_or_default(),
                    format!("{}:{}:{value}", msg.partition, r.offset),
                )
            });
            Ok(outputs.collect())
        })
    }
}

/// Outputs per source partition: the offsets, in sink order.
fn offsets_by_partition(sink: &[String]) -> BTreeMap<u32, Vec<i64>> {
    let mut by = BTreeMap::<u32, Vec<i64>>::new();
    for line in sink {
        let mut parts = line.splitn(3, ':');
        let p = parts.next().unwrap().parse().unwrap();
        let o = parts.next().unwrap().parse().unwrap();
        by.entry(p).or_default().push(o);
    }
    by
}

#[actix_rt::test]
async fn batches_keep_each_partitions_order_and_a_failed_batch_comes_again() {
    bounded(async {
        let (_cluster, client) = setup(2, 1, 2000).await;
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let fail_on = Arc::new(Mutex::new(Some("rec-1500".to_owned())));
        let seen_at_failure = Arc::new(Mutex::new(None));
        let mut config = PipelineConfig::new("source", "batcher");
        config.sink = Some("sink".into());
        config.commit_every = 100;
        config.max_in_flight = 300;
        config.exit_at_end = true;

        let worker = {
            let (client, sizes, fail_on, seen) = (
                client.clone(),
                sizes.clone(),
                fail_on.clone(),
                seen_at_failure.clone(),
            );
            move |_| {
                let tagger = Tagger {
                    client: client.clone(),
                    sizes: sizes.clone(),
                    fail_on: fail_on.clone(),
                    seen_at_failure: seen.clone(),
                };
                Tagger::create(|_| tagger).recipient::<ProcessBatch>()
            }
        };
        let stats = start_pipeline(&client, config, worker)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        // An error does not take the worker down: the batch comes again one record at a
        // time (no record failed alone, so nothing is retried).
        assert_eq!(stats.restarts, 0);
        assert_eq!(stats.retried, 0);

        // Batches, never above max_in_flight.
        let sizes = sizes.lock().unwrap().clone();
        assert!(sizes.iter().any(|&n| n > 1), "batches of one: {sizes:?}");
        assert!(sizes.iter().all(|&n| (1..=300).contains(&n)), "{sizes:?}");

        // The commit was behind the failing batch when it failed.
        let (partition, first, at) = seen_at_failure.lock().unwrap().expect("a batch failed");
        assert!(
            at.is_none_or(|c| c < first),
            "partition {partition} committed {at:?} with the batch from {first} unacknowledged"
        );

        // Every record, each partition in order (a restart resumes after the last commit,
        // which may go back once, to records acknowledged but not yet committed).
        let sink = read_values(&client, "sink", 1).await;
        let values: HashSet<String> = sink
            .iter()
            .map(|l| l.rsplit(':').next().unwrap().to_owned())
            .collect();
        assert_eq!(values.len(), 2000, "every record copied");
        for (p, offsets) in offsets_by_partition(&sink) {
            let (_, end) = client.partition_offsets("source", p).await.unwrap();
            // Each run of increasing offsets; a restart goes back once, to the commit.
            let back = offsets.windows(2).filter(|w| w[1] <= w[0]).count();
            assert!(
                back <= usize::from(p == partition),
                "partition {p}: {offsets:?}"
            );
            assert_eq!(offsets.last(), Some(&(end - 1)));
            assert_eq!(committed(&client, "batcher", p).await, Some(end - 1));
        }
    })
    .await;
}

/// Takes 20 ms per batch.
struct SlowBatches;

impl Actor for SlowBatches {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for SlowBatches {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        std::thread::sleep(Duration::from_millis(20));
        let outputs = msg
            .records
            .into_iter()
            .map(|r| Output::value(r.value.to_ascii_uppercase()));
        Ok(outputs.collect())
    }
}

#[actix_rt::test]
async fn a_drain_finishes_the_batches_in_flight_and_commits_what_they_acknowledged() {
    bounded(async {
        let (_cluster, client) = setup(1, 1, 3000).await;
        let mut config = PipelineConfig::new("source", "batch-drainer");
        config.sink = Some("sink".into());
        config.max_in_flight = 100;
        config.commit_every = 1_000_000;
        config.commit_interval = Duration::from_secs(3600);
        let pipeline = start_pipeline(&client, config, |_| {
            SlowBatches::create(|_| SlowBatches).recipient::<ProcessBatch>()
        })
        .await
        .unwrap();
        while pipeline.stats().acked < 100 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let stats = pipeline.drain().await.unwrap();
        let acked = stats.acked as usize;
        assert!(
            acked < 3000,
            "the drain stopped the reading ({acked} acked)"
        );
        let sink = read_values(&client, "sink", 1).await;
        assert_eq!(sink.len(), acked, "every acknowledged batch is in the sink");
        assert_eq!(
            committed(&client, "batch-drainer", 0).await,
            Some(acked as i64 - 1),
            "committed exactly what was acknowledged"
        );
        let expected: Vec<String> = (0..acked).map(|i| format!("REC-{i:04}")).collect();
        assert_eq!(sink, expected);
    })
    .await;
}

/// Sends each record to the sink partition its value's number picks.
struct Router;

impl Actor for Router {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Router {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let outputs = msg.records.into_iter().map(|r| {
            let n: u32 = String::from_utf8_lossy(&r.value[4..]).parse().unwrap();
            Output::value(r.value).to_partition(n % 3)
        });
        Ok(outputs.collect())
    }
}

#[actix_rt::test]
async fn outputs_go_to_the_sink_partition_they_name_and_options_pass_through() {
    bounded(async {
        let (_cluster, client) = setup(1, 3, 90).await;
        let mut config = PipelineConfig::new("source", "router");
        config.sink = Some("sink".into());
        config.exit_at_end = true;
        // The source's start offset and the sink's partitioner come from the options.
        config.consumer.offset = actix_fluvio::consumer::Offset::Absolute(30);
        config.producer.partitioner = actix_fluvio::producer::PartitionerKind::Specific(0);
        start_pipeline(&client, config, |_| {
            Router::create(|_| Router).recipient::<ProcessBatch>()
        })
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
        for p in 0..3u32 {
            let options = actix_fluvio::consumer::ConsumerOptions::builder()
                .disable_continuous(true)
                .build();
            let mut stream = client.partition_consumer("sink", p, options).await.unwrap();
            let mut got = Vec::new();
            while let Some(record) = stream.next().await {
                got.push(String::from_utf8(record.unwrap().value.to_vec()).unwrap());
            }
            let expected: Vec<String> = (30..90)
                .filter(|i| i % 3 == p as usize)
                .map(|i| format!("rec-{i:04}"))
                .collect();
            assert_eq!(got, expected, "sink partition {p}");
        }
    })
    .await;
}

#[actix_rt::test]
async fn the_bytes_in_flight_stay_within_max_in_flight_bytes_and_one_frame() {
    bounded(async {
        let (_cluster, client) = setup(2, 1, 0).await;
        let value = "v".repeat(10 * 1024);
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch(
                "source",
                (0..400).map(|i| (Some(format!("k{i:04}")), &value)),
            )
            .await
            .unwrap();
        const FRAME: i32 = 64 * 1024;
        const BOUND: usize = 256 * 1024;
        let mut config = PipelineConfig::new("source", "bounded");
        config.sink = Some("sink".into());
        config.exit_at_end = true;
        config.max_in_flight_bytes = BOUND;
        config.consumer.max_bytes = FRAME;
        let stats = start_pipeline(&client, config, |_| {
            SlowBatches::create(|_| SlowBatches).recipient::<ProcessBatch>()
        })
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
        assert_eq!(stats.acked, 400);
        let peak = stats.peak_in_flight_bytes as usize;
        println!("peak in flight: {peak} bytes (bound {BOUND} + one frame of {FRAME})");
        assert!(
            peak <= BOUND + FRAME as usize,
            "held {peak} bytes, above {BOUND} + one frame"
        );
        assert!(
            peak >= BOUND / 2,
            "a slow worker lets the records pile up to the bound: {peak}"
        );
    })
    .await;
}

/// Answers each batch 10 ms after it arrived, noting the most records it held at once.
struct Holding {
    held: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Actor for Holding {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Holding {
    type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let n = msg.records.len();
        let now = self.held.fetch_add(n, Ordering::SeqCst) + n;
        self.most.fetch_max(now, Ordering::SeqCst);
        let held = self.held.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            held.fetch_sub(n, Ordering::SeqCst);
            Ok(msg
                .records
                .into_iter()
                .map(|r| Output::value(r.value))
                .collect())
        })
    }
}

#[actix_rt::test]
async fn the_worker_holds_at_most_the_read_ahead_while_the_sink_keeps_the_window() {
    bounded(async {
        let (_cluster, client) = setup(1, 1, 2000).await;
        let (held, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut config = PipelineConfig::new("source", "holder");
        config.sink = Some("sink".into());
        config.exit_at_end = true;
        config.max_in_flight = 1000;
        config.consumer.buffer_records = 100;
        let worker = {
            let (held, most) = (held.clone(), most.clone());
            move |_| {
                let (held, most) = (held.clone(), most.clone());
                Holding::create(|_| Holding { held, most }).recipient::<ProcessBatch>()
            }
        };
        let stats = start_pipeline(&client, config, worker)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(stats.acked, 2000);
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=100).contains(&most),
            "the worker held {most} records at once (read-ahead 100, window 1000)"
        );
    })
    .await;
}
