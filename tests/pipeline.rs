//! Pipelines on the embedded test cluster: a worker that panics on chosen records is
//! restarted and nothing is skipped; a drain leaves every acknowledged record in the sink and
//! the committed offset on the last processed record.
//!
//! (Above 400 lines on purpose: each test brings the small worker actor it needs (a
//! panicking, hanging, slow or tagging one) next to it, so a test reads on its own.)

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::pipeline::{
    start_pipeline, Backoff, FailureKind, FailurePolicy, Output, PipelineConfig, PipelineError,
    Process, WorkerError,
};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::protocol::ErrorCode;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

use common::read_values;

struct Upper {
    panic_on: Arc<Mutex<HashSet<String>>>,
}

impl Actor for Upper {
    type Context = Context<Self>;
}

impl Handler<Process> for Upper {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        let value = String::from_utf8_lossy(&msg.0.value).to_string();
        if self.panic_on.lock().unwrap().remove(&value) {
            panic!("worker panics on {value} (once)");
        }
        Ok(vec![Output::value(value.to_uppercase())])
    }
}

fn worker(
    panic_on: Arc<Mutex<HashSet<String>>>,
) -> impl Fn(usize) -> Recipient<Process> + Send + Sync {
    move |_| {
        let panic_on = panic_on.clone();
        Upper::create(move |_| Upper { panic_on }).recipient()
    }
}

/// Every partition of "source" committed on its last record under `consumer_id`.
async fn assert_committed_to_the_end(client: &FluvioClient, consumer_id: &str, partitions: u32) {
    let offsets = client.admin().list_consumer_offsets().await.unwrap();
    for p in 0..partitions {
        let (_, end) = client.partition_offsets("source", p).await.unwrap();
        let committed = offsets
            .iter()
            .find(|o| o.consumer_id == consumer_id && o.replica_id.partition == p)
            .map(|o| o.offset);
        assert_eq!(
            committed,
            Some(end - 1),
            "partition {p} committed to its last record"
        );
    }
}

async fn setup(partitions: u32, records: usize) -> (TestCluster, FluvioClient) {
    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .unwrap();
    let client = FluvioClient::connect(ClientConfig::new(cluster.sc_addr()))
        .await
        .unwrap();
    client
        .admin()
        .create_topic("source", TopicConfig::new(partitions))
        .await
        .unwrap();
    client
        .admin()
        .create_topic("sink", TopicConfig::new(1))
        .await
        .unwrap();
    let producer = client.producer(ProducerOptions::default());
    producer
        .send_batch(
            "source",
            (0..records).map(|i| (Some(format!("k{i}")), format!("rec-{i:03}"))),
        )
        .await
        .unwrap();
    (cluster, client)
}

#[actix_rt::test]
async fn a_panicking_worker_is_restarted_and_no_record_is_skipped() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(2, 100).await;
        let panic_on: HashSet<String> = ["rec-017", "rec-058", "rec-090"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut config = PipelineConfig::new("source", "copier");
        config.sink = Some("sink".into());
        config.workers = 2;
        config.commit_every = 10;
        config.exit_at_end = true;
        config.failure.backoff = Backoff::fixed(Duration::from_millis(10));
        let pipeline = start_pipeline(&client, config, worker(Arc::new(Mutex::new(panic_on))))
            .await
            .unwrap();
        let stats = pipeline.wait().await.unwrap();
        assert_eq!(stats.restarts, 3);

        let sink = read_values(&client, "sink", 1).await;
        let distinct: HashSet<&String> = sink.iter().collect();
        let expected: HashSet<String> = (0..100).map(|i| format!("REC-{i:03}")).collect();
        assert_eq!(distinct.len(), 100, "every record processed at least once");
        assert!(expected.iter().all(|e| distinct.contains(e)));
        let duplicates = sink.len() - distinct.len();
        assert_eq!(
            duplicates as u64, stats.redelivered,
            "duplicates are exactly the counted redeliveries"
        );

        assert_committed_to_the_end(&client, "copier", 2).await;
    })
    .await
    .expect("test timed out");
}

/// The SPU stores commits on the leader of the consumer-offset partition; while that peer is
/// away it refuses them ("update offset in peer"). A retriable refusal: the pipeline goes on
/// and commits once the peer answers again.
#[actix_rt::test]
async fn commits_refused_by_the_offsets_peer_are_retried_not_fatal() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (cluster, client) = setup(1, 100).await;
        let refused = ErrorCode::Other("update offset in peer: connection refused".into());
        cluster.fail_next(1006, refused, 5);
        let mut config = PipelineConfig::new("source", "refused");
        config.sink = Some("sink".into());
        config.commit_every = 10;
        config.exit_at_end = true;
        let pipeline = start_pipeline(&client, config, worker(Arc::default()))
            .await
            .unwrap();
        pipeline
            .wait()
            .await
            .expect("refused commits are not fatal");
        assert_eq!(read_values(&client, "sink", 1).await.len(), 100);
        assert_committed_to_the_end(&client, "refused", 1).await;
    })
    .await
    .expect("test timed out");
}

/// A final commit (`exit_at_end`) that the offsets peer keeps refusing: after trying for
/// 30 s the pipeline ends with the typed error, not `Ok` (the records stay uncommitted).
#[actix_rt::test]
async fn a_final_commit_that_cannot_be_stored_ends_the_pipeline_with_an_error() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let (cluster, client) = setup(1, 100).await;
        let refused = ErrorCode::Other("update offset in peer: connection refused".into());
        cluster.fail_next(1006, refused, 1_000_000);
        let mut config = PipelineConfig::new("source", "never-stored");
        config.sink = Some("sink".into());
        config.exit_at_end = true;
        let started = std::time::Instant::now();
        let pipeline = start_pipeline(&client, config, worker(Arc::default()))
            .await
            .unwrap();
        let err = pipeline.wait().await.unwrap_err();
        assert!(
            matches!(
                &err,
                PipelineError::Commit {
                    offset: 99,
                    partition: 0,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(30),
            "gave up early: {err}"
        );
        assert_eq!(read_values(&client, "sink", 1).await.len(), 100);
    })
    .await
    .expect("test timed out");
}

#[actix_rt::test]
async fn a_drain_commits_exactly_what_was_processed_and_a_rerun_continues() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(1, 40).await;
        let mut config = PipelineConfig::new("source", "drainer");
        config.sink = Some("sink".into());
        config.commit_every = 1_000_000;
        config.commit_interval = Duration::from_secs(3600);
        let pipeline = start_pipeline(&client, config.clone(), worker(Default::default()))
            .await
            .unwrap();
        while pipeline.stats().acked < 40 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        pipeline.drain().await.unwrap();
        assert_eq!(read_values(&client, "sink", 1).await.len(), 40);
        let offsets = client.admin().list_consumer_offsets().await.unwrap();
        let committed = offsets
            .iter()
            .find(|o| o.consumer_id == "drainer")
            .map(|o| o.offset);
        assert_eq!(committed, Some(39));

        // More records, and the same consumer id continues where it stopped.
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch(
                "source",
                (40..50).map(|i| (None::<String>, format!("rec-{i:03}"))),
            )
            .await
            .unwrap();
        config.exit_at_end = true;
        start_pipeline(&client, config, worker(Default::default()))
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        let sink = read_values(&client, "sink", 1).await;
        assert_eq!(sink.len(), 50, "no record copied twice: {sink:?}");
        assert_eq!(sink[49], "REC-049");
    })
    .await
    .expect("test timed out");
}

#[actix_rt::test]
async fn a_system_stop_drains_the_pipeline() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(2, 60).await;
        let mut config = PipelineConfig::new("source", "stopped");
        config.sink = Some("sink".into());
        config.commit_every = 1_000_000;
        config.commit_interval = Duration::from_secs(3600);
        let pipeline = start_pipeline(&client, config, worker(Default::default()))
            .await
            .unwrap();
        while pipeline.stats().acked < 60 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Nothing committed yet (huge commit batch): only the drain commits.
        actix_rt::spawn(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            System::current().stop();
        });
        let stats = pipeline
            .drain_on_shutdown(Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(stats.acked, 60);
        assert_eq!(read_values(&client, "sink", 1).await.len(), 60);
        assert_committed_to_the_end(&client, "stopped", 2).await;
    })
    .await
    .expect("the System stop did not drain the pipeline");
}

/// Fails every record of partition 1.
struct FailsPartitionOne;

impl Actor for FailsPartitionOne {
    type Context = Context<Self>;
}

impl Handler<Process> for FailsPartitionOne {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        if msg.0.partition == 1 {
            return Err(WorkerError::new("partition 1 is poison"));
        }
        Ok(vec![Output::value(msg.0.value)])
    }
}

#[actix_rt::test]
async fn a_partition_that_fails_for_good_stops_the_whole_pipeline() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(2, 20).await;
        let mut config = PipelineConfig::new("source", "poisoned");
        config.sink = Some("sink".into());
        config.workers = 2;
        config.failure = FailurePolicy::stop(2);
        config.failure.backoff = Backoff::fixed(Duration::from_millis(10));
        // Continuous: partition 0 alone would run forever.
        let pipeline = start_pipeline(&client, config, |_| {
            FailsPartitionOne::create(|_| FailsPartitionOne).recipient()
        })
        .await
        .unwrap();
        match pipeline.wait().await {
            Err(PipelineError::RecordFailed {
                partition,
                offset,
                attempts,
                failure,
                ..
            }) => {
                assert_eq!((partition, offset, attempts), (1, 0, 3));
                assert_eq!(failure.kind, FailureKind::Worker);
                assert!(failure.message.contains("poison"), "{failure}");
            }
            other => panic!("expected RecordFailed, got {other:?}"),
        }
    })
    .await
    .expect("the pipeline kept running after a partition failed for good");
}

/// Tags each value with its origin; a mailbox of one message, so that senders contend.
struct Tagger;

impl Actor for Tagger {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1);
    }
}

impl Handler<Process> for Tagger {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        let r = msg.0;
        Ok(vec![Output::value(format!("{}:{}", r.partition, r.offset))])
    }
}

#[actix_rt::test]
async fn records_reach_a_shared_worker_and_the_sink_in_partition_order() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(2, 3000).await;
        let mut config = PipelineConfig::new("source", "ordered");
        config.sink = Some("sink".into());
        config.workers = 1;
        config.exit_at_end = true;
        let pipeline = start_pipeline(&client, config, |_| Tagger::create(|_| Tagger).recipient())
            .await
            .unwrap();
        let stats = pipeline.wait().await.unwrap();
        assert_eq!(stats.acked, 3000);
        let sink = read_values(&client, "sink", 1).await;
        assert_eq!(sink.len(), 3000);
        for p in 0..2u32 {
            let offsets: Vec<i64> = sink
                .iter()
                .filter_map(|v| v.split_once(':'))
                .filter(|(partition, _)| *partition == p.to_string())
                .map(|(_, offset)| offset.parse().unwrap())
                .collect();
            let (_, end) = client.partition_offsets("source", p).await.unwrap();
            assert_eq!(
                offsets,
                (0..end).collect::<Vec<i64>>(),
                "partition {p} in order"
            );
        }
    })
    .await
    .expect("test timed out");
}

/// Notes each record as it arrives; answers it a moment later (a varying moment: answers
/// finish out of order), through a mailbox of one.
struct Arrivals(Arc<Mutex<Vec<(u32, i64)>>>);

impl Actor for Arrivals {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1);
    }
}

impl Handler<Process> for Arrivals {
    type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        let r = msg.0;
        self.0.lock().unwrap().push((r.partition, r.offset));
        let pause = Duration::from_micros((r.offset as u64 * 7919) % 300);
        Box::pin(async move {
            tokio::time::sleep(pause).await;
            Ok(vec![Output::value(format!("{}:{}", r.partition, r.offset))])
        })
    }
}

#[actix_rt::test]
async fn a_per_record_worker_gets_each_partition_in_order_while_its_answers_come_out_of_order() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (_cluster, client) = setup(2, 20_000).await;
        let mut config = PipelineConfig::new("source", "arrivals");
        config.sink = Some("sink".into());
        config.workers = 1;
        config.exit_at_end = true;
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let noted = arrivals.clone();
        let pipeline = start_pipeline(&client, config, move |_| {
            let noted = noted.clone();
            Arrivals::create(move |_| Arrivals(noted)).recipient()
        })
        .await
        .unwrap();
        let stats = pipeline.wait().await.unwrap();
        assert_eq!((stats.acked, stats.redelivered), (20_000, 0));
        let arrivals = arrivals.lock().unwrap().clone();
        for p in 0..2u32 {
            let offsets: Vec<i64> = arrivals
                .iter()
                .filter(|(partition, _)| *partition == p)
                .map(|(_, offset)| *offset)
                .collect();
            let (_, end) = client.partition_offsets("source", p).await.unwrap();
            assert_eq!(
                offsets,
                (0..end).collect::<Vec<i64>>(),
                "partition {p} reached the worker in order, once"
            );
        }
        assert_eq!(read_values(&client, "sink", 1).await.len(), 20_000);
    })
    .await
    .expect("test timed out");
}

#[actix_rt::test]
async fn an_idle_pipeline_commits_on_the_interval() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(1, 25).await;
        let mut config = PipelineConfig::new("source", "idler");
        config.sink = Some("sink".into());
        config.commit_every = 1_000_000;
        config.commit_interval = Duration::from_millis(200);
        let pipeline = start_pipeline(&client, config, worker(Default::default()))
            .await
            .unwrap();
        // No record arrives after the 25th: only the interval can commit it.
        loop {
            let offsets = client.admin().list_consumer_offsets().await.unwrap();
            if offsets
                .iter()
                .any(|o| o.consumer_id == "idler" && o.offset == 24)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        pipeline.drain().await.unwrap();
    })
    .await
    .expect("the last records were never committed while the pipeline was idle");
}

#[actix_rt::test]
async fn a_pipeline_can_read_one_partition() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(2, 200).await;
        let tagger = |_| Tagger::create(|_| Tagger).recipient();
        let mut config = PipelineConfig::new("source", "one");
        config.sink = Some("sink".into());
        config.partition = Some(5);
        match start_pipeline(&client, config.clone(), tagger).await {
            Err(PipelineError::Consumer(error)) => {
                assert!(error.to_string().contains("partition 5"), "{error}")
            }
            other => panic!("expected a missing partition, got {other:?}"),
        }
        config.partition = Some(1);
        config.exit_at_end = true;
        start_pipeline(&client, config, tagger)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        let (_, end) = client.partition_offsets("source", 1).await.unwrap();
        let expected: Vec<String> = (0..end).map(|o| format!("1:{o}")).collect();
        assert_eq!(read_values(&client, "sink", 1).await, expected);
    })
    .await
    .expect("test timed out");
}

/// Panics on the `at`-th record it handles (counted across restarts), upper-cases the rest.
struct PanicsOnce {
    handled: Arc<std::sync::atomic::AtomicUsize>,
    at: usize,
}

impl Actor for PanicsOnce {
    type Context = Context<Self>;
}

impl Handler<Process> for PanicsOnce {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        let n = self
            .handled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        if n == self.at {
            panic!("worker panics on its record number {n}");
        }
        let value = String::from_utf8_lossy(&msg.0.value).to_uppercase();
        Ok(vec![Output::value(value)])
    }
}

#[actix_rt::test]
async fn a_worker_shared_by_partitions_is_restarted_once_per_failure() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(2, 400).await;
        let mut config = PipelineConfig::new("source", "shared");
        config.sink = Some("sink".into());
        config.workers = 1;
        config.exit_at_end = true;
        config.failure.backoff = Backoff::fixed(Duration::from_millis(10));
        // The 10th record: both partitions' records are then waiting in the mailbox, so both
        // partitions see the worker stop.
        let handled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let pipeline = start_pipeline(&client, config, move |_| {
            let handled = handled.clone();
            PanicsOnce::create(move |_| PanicsOnce { handled, at: 10 }).recipient()
        })
        .await
        .unwrap();
        let stats = pipeline.wait().await.unwrap();
        assert_eq!(
            stats.restarts, 1,
            "one panic, one restart, though both partitions saw the worker stop"
        );
        let sink: HashSet<String> = read_values(&client, "sink", 1).await.into_iter().collect();
        assert_eq!(sink.len(), 400, "every record processed at least once");
        assert_committed_to_the_end(&client, "shared", 2).await;
    })
    .await
    .expect("test timed out");
}

/// Never answers its first `rec-005` (the answer stays pending); upper-cases the rest.
struct HangsOnce {
    hung: Arc<std::sync::atomic::AtomicBool>,
}

impl Actor for HangsOnce {
    type Context = Context<Self>;
}

impl Handler<Process> for HangsOnce {
    type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        let value = String::from_utf8_lossy(&msg.0.value).to_string();
        if value == "rec-005" && !self.hung.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(std::future::pending());
        }
        Box::pin(async move { Ok(vec![Output::value(value.to_uppercase())]) })
    }
}

#[actix_rt::test]
async fn a_record_not_answered_in_time_is_retried_without_restarting_a_worker_that_goes_on() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(1, 50).await;
        let mut config = PipelineConfig::new("source", "patient");
        config.sink = Some("sink".into());
        config.exit_at_end = true;
        config.worker_timeout = Some(Duration::from_millis(300));
        config.failure.backoff = Backoff::fixed(Duration::from_millis(10));
        let hung = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pipeline = start_pipeline(&client, config, move |_| {
            let hung = hung.clone();
            HangsOnce::create(move |_| HangsOnce { hung }).recipient()
        })
        .await
        .unwrap();
        let stats = pipeline.wait().await.unwrap();
        // The worker answered the records after the hung one: it is not stuck, only that
        // answer is; the record is retried at the same worker.
        assert_eq!(stats.restarts, 0);
        assert_eq!(stats.retried, 1);
        let sink: HashSet<String> = read_values(&client, "sink", 1).await.into_iter().collect();
        let expected: HashSet<String> = (0..50).map(|i| format!("REC-{i:03}")).collect();
        assert_eq!(sink, expected, "every record, the hung one included");
        assert_committed_to_the_end(&client, "patient", 1).await;
    })
    .await
    .expect("a hung worker stalled the pipeline");
}

/// Takes 5 ms per record; upper-cases.
struct Slow;

impl Actor for Slow {
    type Context = Context<Self>;
}

impl Handler<Process> for Slow {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        std::thread::sleep(Duration::from_millis(5));
        let value = String::from_utf8_lossy(&msg.0.value).to_uppercase();
        Ok(vec![Output::value(value)])
    }
}

#[actix_rt::test]
async fn a_drain_finishes_the_records_already_handed_to_the_worker() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (_cluster, client) = setup(1, 100).await;
        let mut config = PipelineConfig::new("source", "finisher");
        config.sink = Some("sink".into());
        let pipeline = start_pipeline(&client, config, |_| Slow::create(|_| Slow).recipient())
            .await
            .unwrap();
        while pipeline.stats().acked < 5 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // All 100 records are in the worker's mailbox by now: the drain lets them finish.
        let stats = pipeline.drain().await.unwrap();
        assert_eq!(stats.acked, 100);
        assert_eq!(read_values(&client, "sink", 1).await.len(), 100);
        assert_committed_to_the_end(&client, "finisher", 1).await;
    })
    .await
    .expect("test timed out");
}
