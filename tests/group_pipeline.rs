//! Pipelines in a consumer group on the embedded test cluster: two pipelines of one group
//! share a four-partition topic while records are produced, a drained one hands its
//! partitions to the other, a crashed one has them taken over within the session timeout
//! plus 2 s, and every source record reaches the sink with the group's committed offsets
//! at the end of every partition.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::group::{describe_group, GroupConfig};
use actix_fluvio::pipeline::{
    start_pipeline, FailurePolicy, Output, PipelineConfig, PipelineError, PipelineHandle,
    ProcessBatch, WorkerError,
};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::testkit::TestCluster;
use common::embedded::cluster_with_topics;

use common::read_values;

const GROUP: &str = "copiers";
const PARTITIONS: u32 = 4;
const SESSION: Duration = Duration::from_secs(2);

/// Copies each record's value to the sink, 30 ms after it got them: records are still in
/// flight when their partition is revoked, so a release before they are finished and
/// committed would let the new owner copy them again.
struct Copier;

impl Actor for Copier {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Copier {
    type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(msg
                .records
                .into_iter()
                .map(|r| Output::value(r.value.to_vec()))
                .collect())
        })
    }
}

async fn setup() -> (TestCluster, FluvioClient) {
    cluster_with_topics(1, &[("source", PARTITIONS), ("sink", 1)]).await
}

/// A pipeline of group `GROUP` copying "source" to "sink" (2 s sessions, 200 ms heartbeats).
async fn member(client: &FluvioClient, name: &str) -> PipelineHandle {
    let mut config = PipelineConfig::new(
        "source",
        GroupConfig {
            member_id: Some(name.into()),
            session_timeout: SESSION,
            heartbeat: Duration::from_millis(200),
            takeover_margin: Duration::from_millis(500),
            ..GroupConfig::new(GROUP, "source")
        },
    );
    config.sink = Some("sink".into());
    config.commit_interval = Duration::from_millis(200);
    start_pipeline(client, config, |_| {
        Copier::create(|_| Copier).recipient::<ProcessBatch>()
    })
    .await
    .unwrap()
}

/// Produce `rec-{from..to}` (keyed, so spread over the partitions) in small batches.
async fn produce(client: FluvioClient, from: usize, to: usize) {
    let producer = client.producer(ProducerOptions::default());
    for chunk in (from..to).collect::<Vec<_>>().chunks(25) {
        let records: Vec<(Option<String>, String)> = chunk
            .iter()
            .map(|i| (Some(format!("k{i:05}")), format!("rec-{i:05}")))
            .collect();
        producer.send_batch("source", records).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Poll `check` every 50 ms until it holds; fail the test after `secs`.
async fn until(secs: u64, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Pipelines "a" and "b" of the group, once each runs two partitions (none of them both).
async fn two_members(client: &FluvioClient) -> (PipelineHandle, PipelineHandle) {
    let a = member(client, "a").await;
    let b = member(client, "b").await;
    until(20, "two partitions each", || {
        let (pa, pb) = (partitions(&a), partitions(&b));
        pa.len() == 2 && pb.len() == 2 && pa.is_disjoint(&pb)
    })
    .await;
    (a, b)
}

fn partitions(handle: &PipelineHandle) -> BTreeSet<u32> {
    handle.status().partition_ids().into_iter().collect()
}

/// Every source record is in the sink, and the group's committed offset of every source
/// partition is its last record's (polled: commits follow the sink's acknowledgements).
/// `handed_over`: partitions only moved gracefully (finished and committed before their
/// release), so no record reached the sink twice.
async fn everything_copied_and_committed(client: &FluvioClient, handed_over: bool) {
    let mut ends = Vec::new();
    for p in 0..PARTITIONS {
        let options = ConsumerOptions::builder().disable_continuous(true).build();
        let mut stream = client
            .partition_consumer("source", p, options)
            .await
            .unwrap();
        let mut end = 0;
        while let Some(record) = stream.next().await {
            end = record.unwrap().offset + 1;
        }
        assert!(end > 0, "partition {p} got records");
        ends.push(end);
    }
    let started = Instant::now();
    loop {
        let offsets = client.admin().list_consumer_offsets().await.unwrap();
        let committed: Vec<Option<i64>> = (0..PARTITIONS)
            .map(|p| {
                offsets
                    .iter()
                    .find(|o| o.consumer_id == GROUP && o.replica_id.partition == p)
                    .map(|o| o.offset)
            })
            .collect();
        let expected: Vec<Option<i64>> = ends.iter().map(|end| Some(end - 1)).collect();
        if committed == expected {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "committed {committed:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let source: BTreeSet<String> = read_values(client, "source", PARTITIONS)
        .await
        .into_iter()
        .collect();
    let sink_records = read_values(client, "sink", 1).await;
    let sink: BTreeSet<String> = sink_records.iter().cloned().collect();
    if handed_over {
        assert_eq!(sink.len(), sink_records.len(), "records copied twice");
    }
    let missing: Vec<_> = source.difference(&sink).take(5).collect();
    assert!(missing.is_empty(), "not in the sink: {missing:?}...");
    assert_eq!(source.len(), ends.iter().sum::<i64>() as usize);
}

#[actix_rt::test]
async fn two_pipelines_share_the_partitions_and_a_drained_one_hands_them_over() {
    let (_cluster, client) = setup().await;
    let producing = actix_rt::spawn(produce(client.clone(), 0, 3000));
    let (a, b) = two_members(&client).await;
    let stats = tokio::time::timeout(Duration::from_secs(30), a.drain())
        .await
        .expect("drain within 30 s")
        .unwrap();
    // The drained pipeline processed and committed before handing its partitions over.
    assert!(stats.acked > 0);
    assert!(stats.commits > 0);
    until(15, "b runs all four partitions", || {
        partitions(&b) == (0..PARTITIONS).collect()
    })
    .await;
    until(15, "b ready", || b.status().not_ready().is_empty()).await;
    producing.await.unwrap();
    everything_copied_and_committed(&client, true).await;
    let stats = b.drain().await.unwrap();
    assert!(stats.acked > 0);
}

#[actix_rt::test]
async fn a_crashed_pipelines_partitions_are_taken_over_within_the_session_timeout() {
    let (_cluster, client) = setup().await;
    let producing = actix_rt::spawn(produce(client.clone(), 0, 1000));
    let (a, b) = two_members(&client).await;
    producing.await.unwrap();
    a.abort();
    let took = until(10, "b takes a's partitions over", || {
        partitions(&b) == (0..PARTITIONS).collect()
    })
    .await;
    assert!(
        took <= SESSION + Duration::from_secs(2),
        "takeover after {took:?}"
    );
    produce(client.clone(), 1000, 1500).await;
    everything_copied_and_committed(&client, false).await;
    b.drain().await.unwrap();
}

/// Fails every batch.
struct Failing;

impl Actor for Failing {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Failing {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, _: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        Err(WorkerError::new("always fails"))
    }
}

#[actix_rt::test]
async fn a_pipeline_whose_partition_fails_for_good_leaves_its_group_with_the_error() {
    let (_cluster, client) = setup().await;
    produce(client.clone(), 0, 100).await;
    let mut config = PipelineConfig::new(
        "source",
        GroupConfig {
            session_timeout: SESSION,
            heartbeat: Duration::from_millis(200),
            ..GroupConfig::new(GROUP, "source")
        },
    );
    config.failure = FailurePolicy::stop(0);
    let failing = start_pipeline(&client, config, |_| {
        Failing::create(|_| Failing).recipient::<ProcessBatch>()
    })
    .await
    .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(20), failing.wait())
        .await
        .expect("ends within 20 s");
    assert!(
        matches!(result, Err(PipelineError::RecordFailed { .. })),
        "{result:?}"
    );
    let group = describe_group(&client, GROUP).await.unwrap();
    assert!(group.members.is_empty(), "left: {group:?}");
    // Its partitions go to the next member at once, which copies everything.
    let copier = member(&client, "next").await;
    until(10, "the next member runs every partition", || {
        partitions(&copier) == (0..PARTITIONS).collect()
    })
    .await;
    everything_copied_and_committed(&client, true).await;
    copier.drain().await.unwrap();
}

#[actix_rt::test]
async fn a_pipeline_cut_off_from_its_group_stops_its_partitions_before_they_move_and_rejoins() {
    let (_cluster, client) = setup().await;
    let producing = actix_rt::spawn(produce(client.clone(), 0, 2000));
    let (a, b) = two_members(&client).await;
    let had = partitions(&a);
    a.cut_off_group(Duration::from_secs(4));
    // Its lease ends (2 s after its last heartbeat read back): it stops its partitions
    // (Lost) while b does not run them yet.
    until(5, "a loses its partitions", || partitions(&a).is_empty()).await;
    assert!(
        partitions(&b).is_disjoint(&had),
        "b started {had:?} before a lost them"
    );
    // Records keep coming, and a's aborted partition tasks process none of them: its
    // acknowledged count stands still from a moment after the loss until it rejoins.
    let more = actix_rt::spawn(produce(client.clone(), 2000, 2600));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let acked_at_loss = a.stats().acked;
    until(10, "b takes them over", || {
        partitions(&b) == (0..PARTITIONS).collect()
    })
    .await;
    more.await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        partitions(&a).is_empty(),
        "a rejoined too early for the check"
    );
    assert_eq!(
        a.stats().acked,
        acked_at_loss,
        "a processed records after it lost its partitions"
    );
    // Back on the cluster, a rejoins and gets two partitions again.
    until(20, "a rejoins", || {
        partitions(&a).len() == 2 && partitions(&b).len() == 2
    })
    .await;
    producing.await.unwrap();
    everything_copied_and_committed(&client, false).await;
    a.drain().await.unwrap();
    b.drain().await.unwrap();
}
