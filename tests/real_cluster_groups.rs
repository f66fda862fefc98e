//! Consumer groups on a real Fluvio cluster, with the `worker` example as users run it:
//! three worker processes in one group copy 1,000,000 numbered records from a 6-partition
//! topic (spread over 2 SPUs) to a replicated sink while more records arrive; one worker is
//! killed with SIGKILL mid-run and a fourth starts later. The sink must hold every record;
//! records copied twice are counted and must stay within the killed worker's in-flight
//! window; the time from the kill to its partitions being committed again is measured.
//!
//! It starts its own cluster (SC and 2 SPUs on free loopback ports) from `FLUVIO_RUN`, and is
//! ignored by a plain `cargo test` (listed as ignored): run it with
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_groups
//! -- --ignored --nocapture`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::group::{describe_group, GroupDescription};
use actix_fluvio::producer::ProducerOptions;

use common::group_workers::{value, worker_example, Copying, Worker, GROUP};
use common::local_cluster::{fluvio_run, until, LocalCluster};
use common::read_values;

const SOURCE: &str = "numbers";
const SINK: &str = "numbers-upper";
const PARTITIONS: u32 = 6;
const SINK_PARTITIONS: u32 = 3;
const RECORDS: usize = 1_000_000;
/// Written before the workers start; the rest arrives while they run.
const BACKLOG: usize = 500_000;
/// The rest is written in batches of this many, one every `PACE`.
const BATCH: usize = 500;
const PACE: Duration = Duration::from_millis(40);
/// The group's defaults (`GroupConfig`): a crashed member's partitions are processed
/// again within the session timeout and 2 s.
const SESSION: Duration = Duration::from_secs(10);
/// The worker's commit interval here, and the pipeline's in-flight window per partition
/// (`PipelineConfig::max_in_flight`'s default) with `commit_every`.
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);
const COMMIT_EVERY: usize = 1_000;
const MAX_IN_FLIGHT: usize = 20_000;

/// How every worker here copies: the pipeline's commits as configured above.
fn copying() -> Copying {
    Copying {
        source: SOURCE.into(),
        sink: SINK.into(),
        commit_every: COMMIT_EVERY,
        commit_interval: COMMIT_INTERVAL,
    }
}

async fn group(client: &FluvioClient) -> Option<GroupDescription> {
    describe_group(client, GROUP).await.ok()
}

/// The group's view once every partition is owned by `live` members and none is being
/// released.
async fn settled_on(client: &FluvioClient, live: &[&Worker]) -> GroupDescription {
    let started = Instant::now();
    loop {
        if let Some(g) = group(client).await {
            let owned: usize = live.iter().map(|w| w.owns(&g).len()).sum();
            if owned == PARTITIONS as usize
                && g.releasing.is_empty()
                && g.members.len() == live.len()
                && live.iter().all(|w| !w.owns(&g).is_empty())
            {
                return g;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the group did not settle on {:?}: {:?}",
            live.iter().map(|w| &w.name).collect::<Vec<_>>(),
            group(client).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_groups -- --ignored"]
async fn three_workers_copy_a_million_records_through_a_kill_and_a_join() {
    let bin = fluvio_run();
    let example = worker_example();
    let cluster = LocalCluster::start(bin, 2).await;
    let client = cluster.client().await;
    let admin = client.admin();
    admin
        .create_topic(SOURCE, TopicConfig::new(PARTITIONS))
        .await
        .unwrap();
    admin
        .create_topic(SINK, TopicConfig::new(SINK_PARTITIONS).replication(2))
        .await
        .unwrap();
    let producer = client.producer(ProducerOptions::default());
    let keyed = |range: std::ops::Range<usize>| range.map(|i| (Some(format!("k{i}")), value(i)));
    producer
        .send_batch(SOURCE, keyed(0..BACKLOG))
        .await
        .unwrap();
    producer.flush().await.unwrap();

    let mut workers: Vec<Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| Worker::start(&example, &cluster, name, &copying()))
        .collect();
    let live: Vec<&Worker> = workers.iter().collect();
    let shares = settled_on(&client, &live).await;
    for w in &workers {
        println!("{} owns {:?}", w.name, w.owns(&shares));
    }

    // The rest of the records arrive while the workers run.
    let written = Arc::new(AtomicUsize::new(BACKLOG));
    let writer = {
        let (producer, written) = (producer.clone(), written.clone());
        tokio::spawn(async move {
            for start in (BACKLOG..RECORDS).step_by(BATCH) {
                let end = (start + BATCH).min(RECORDS);
                producer
                    .send_batch(SOURCE, keyed(start..end))
                    .await
                    .unwrap();
                written.store(end, Ordering::Relaxed);
                tokio::time::sleep(PACE).await;
            }
            producer.flush().await.unwrap();
        })
    };

    // Kill one worker a fifth of the way through the live records.
    until("live records arriving", Duration::from_secs(60), || {
        let written = written.clone();
        async move { written.load(Ordering::Relaxed) >= BACKLOG + (RECORDS - BACKLOG) / 5 }
    })
    .await;
    let before = group(&client).await.expect("the group");
    let victim = workers.remove(0);
    let orphaned = victim.owns(&before);
    assert!(!orphaned.is_empty(), "{} owns nothing", victim.name);
    let killed = Instant::now();
    drop(victim); // SIGKILL
    println!(
        "killed w1 (owning {orphaned:?}) with {} records written",
        written.load(Ordering::Relaxed)
    );

    // Its partitions are taken over and committed past where they stood.
    let resumed = loop {
        let g = group(&client).await.expect("the group");
        let moved = orphaned.iter().all(|p| {
            let owner_alive = g.owners.get(p).is_some_and(|m| !m.id.starts_with("w1-"));
            owner_alive && g.committed.get(p) > before.committed.get(p)
        });
        if moved {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "w1's partitions {orphaned:?} not resumed after 60 s: {g:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("w1's partitions committed again {resumed:?} after the kill");
    assert!(
        written.load(Ordering::Relaxed) < RECORDS,
        "the writer finished before the takeover: nothing showed the partitions flowing"
    );
    // Processed again within the session timeout and 2 s; seen here through the commits,
    // which come every commit interval.
    let bound = SESSION + Duration::from_secs(2) + COMMIT_INTERVAL + Duration::from_millis(300);
    assert!(
        resumed < bound,
        "w1's partitions resumed after {resumed:?} (bound {bound:?})"
    );

    // A fourth worker joins; partitions move to it by graceful handover.
    workers.push(Worker::start(&example, &cluster, "w4", &copying()));
    let joined = Instant::now();
    let live: Vec<&Worker> = workers.iter().collect();
    let shares = settled_on(&client, &live).await;
    let rebalance = joined.elapsed();
    for w in &workers {
        println!("{} owns {:?}", w.name, w.owns(&shares));
    }
    println!("w4 started and the group settled on 3 workers in {rebalance:?}");

    writer.await.unwrap();
    until(
        "every source record committed",
        Duration::from_secs(300),
        || {
            let client = client.clone();
            async move {
                let Some(g) = group(&client).await else {
                    return false;
                };
                let mut done = true;
                for p in 0..PARTITIONS {
                    let (_, end) = client.partition_offsets(SOURCE, p).await.unwrap();
                    done &= g.committed.get(&p) == Some(&(end - 1));
                }
                done
            }
        },
    )
    .await;
    for w in workers.drain(..) {
        w.stop(&cluster.dir).await;
    }

    let sink = read_values(&client, SINK, SINK_PARTITIONS).await;
    let mut copies: HashMap<&str, usize> = HashMap::with_capacity(RECORDS);
    for v in &sink {
        *copies.entry(v.as_str()).or_default() += 1;
    }
    let missing: Vec<String> = (0..RECORDS)
        .map(|i| value(i).to_uppercase())
        .filter(|v| !copies.contains_key(v.as_str()))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "records lost, e.g. {missing:?}");
    assert_eq!(copies.len(), RECORDS, "only copies of source records");
    let duplicates = sink.len() - RECORDS;
    let mut twice_by_count: BTreeMap<usize, usize> = BTreeMap::new();
    for n in copies.values().filter(|n| **n > 1) {
        *twice_by_count.entry(*n).or_default() += 1;
    }
    println!(
        "sink: {} records, {RECORDS} distinct, {duplicates} copied more than once \
         (records by copy count: {twice_by_count:?}); takeover {resumed:?}, join {rebalance:?}",
        sink.len()
    );
    // Only the killed worker's uncommitted records are copied again: per partition at most
    // the in-flight window and the records acknowledged since the last commit.
    let window = orphaned.len() * (MAX_IN_FLIGHT + COMMIT_EVERY);
    assert!(
        duplicates <= window,
        "{duplicates} records copied twice, more than the window of {window}"
    );
}
