//! An SC restarted on an empty metadata directory under a running producer, on a real Fluvio
//! cluster this test owns (an SC and 2 SPUs from `FLUVIO_RUN`): the topic is gone, the SPUs
//! are registered again and the topic is created again with 3 partitions instead of 1.
//! Every record our producer queues from the moment the topic is created again must be
//! acknowledged and stored (read back from every partition); records queued before are
//! reported (they went to a topic that was deleted). The official client writes the same
//! topic (values `o{n}`) and its outcome is printed beside ours.
//!
//! Fluvio 0.18 itself does not clear out the deleted topic's replica on its SPU, and a new
//! partition of the same name on that SPU is never served: the SC logs "attempt to update by
//! stale value" and lists it `Offline`, or `Online` on an SPU that answers `NotLeader` (the
//! SPU logs "follower replica recreated-0 didn't exists!"), even after an SPU restart; no
//! client can write or read it. So the test clears the old replica out, as an operator
//! would (its SPU down 2 s while the SC has no topics), before creating the topic again.
//!
//! Ignored by a plain `cargo test` (listed as ignored); run with a `fluvio-run` binary:
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test
//! real_cluster_fresh_sc -- --ignored --nocapture`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::{ProducerOptions, RecordMetadata};
use actix_fluvio::protocol::sc::PartitionResolution;

use common::local_cluster::{fluvio_run, until, LocalCluster};
use common::official;

const TOPIC: &str = "recreated";
/// One record every 5 ms (200 a second), from each client.
const PACE: Duration = Duration::from_millis(5);

/// One record of ours: its number, when it was queued, its outcome and when it came.
type Outcome = (u64, Duration, Result<RecordMetadata, String>, Duration);

/// Every value of `topic`'s `partitions`, read by our consumer up to each one's end, and
/// the partitions not read to their end within 60 s.
async fn read_all(client: &FluvioClient, partitions: u32) -> (Vec<String>, Vec<u32>) {
    let (mut values, mut unread) = (Vec::new(), Vec::new());
    for partition in 0..partitions {
        let options = ConsumerOptions::builder().disable_continuous(true).build();
        let mut stream = client
            .partition_consumer(TOPIC, partition, options)
            .await
            .unwrap();
        let read = async {
            while let Some(record) = stream.next().await {
                values.push(String::from_utf8_lossy(&record.unwrap().value).into_owned());
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .is_err()
        {
            unread.push(partition);
        }
    }
    (values, unread)
}

/// Whether the SC lists the topic's 3 partitions as `Online`.
async fn online(client: &FluvioClient) -> bool {
    let partitions = client.admin().list_partitions(Some(TOPIC)).await;
    partitions
        .is_ok_and(|p| p.len() == 3 && p.iter().all(|p| p.status == PartitionResolution::Online))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_fresh_sc -- --ignored"]
async fn an_sc_restarted_empty_and_the_topic_recreated_wider_store_every_record_queued_after() {
    let mut cluster = LocalCluster::start(fluvio_run(), 2).await;
    let client = cluster.client().await;
    common::create_when_ready(&client, TOPIC, TopicConfig::new(1)).await;
    until("the topic takes records", Duration::from_secs(60), || {
        let producer = client.producer(ProducerOptions::default());
        async move { producer.send(TOPIC, None, b"probe").await.is_ok() }
    })
    .await;

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (producer, stop) = (client.producer(ProducerOptions::default()), stop.clone());
        tokio::spawn(async move {
            let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
            let mut waits = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let queued = started.elapsed();
                let receipt = producer
                    .enqueue(TOPIC, None, n.to_string().as_bytes())
                    .await
                    .expect("queued");
                let outcomes = outcomes.clone();
                waits.push(tokio::spawn(async move {
                    let result = receipt.wait().await.map_err(|e| e.to_string());
                    outcomes
                        .lock()
                        .unwrap()
                        .push((n, queued, result, started.elapsed()));
                }));
                n += 1;
                tokio::time::sleep(PACE).await;
            }
            for wait in waits {
                wait.await.unwrap();
            }
            Arc::try_unwrap(outcomes).unwrap().into_inner().unwrap()
        })
    };
    let fluvio = official::connect(&cluster.sc_public).await;
    let theirs =
        official::spawn_writer(fluvio, TOPIC.into(), "o", (1, PACE), stop.clone(), started);

    tokio::time::sleep(Duration::from_secs(5)).await;
    let old_leader = client.fresh_partition_leader(TOPIC, 0).await.unwrap().id;
    cluster.restart_sc_empty(&client).await;
    let sc_back = started.elapsed();
    println!("{sc_back:?}: the SC is back, empty, and the SPUs registered again");
    until("the SC lists no topic", Duration::from_secs(30), || {
        let admin = client.admin();
        async move { admin.list_topics().await.is_ok_and(|t| t.is_empty()) }
    })
    .await;
    // Fluvio 0.18 leaves the deleted topic's replica on its SPU (see above): clear it out,
    // as an operator would, with the SPU down 2 s.
    cluster.kill_spu(old_leader);
    let replica = cluster
        .dir
        .join(format!("spu-{old_leader}/spu-logs-{old_leader}/{TOPIC}-0"));
    std::fs::remove_dir_all(&replica).expect("the old replica's directory");
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.start_spu(old_leader);
    println!(
        "{:?}: SPU {old_leader} restarted without the old {TOPIC}-0",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    common::create_when_ready(&client, TOPIC, TopicConfig::new(3)).await;
    let recreated = started.elapsed();
    println!("{recreated:?}: the topic is created again with 3 partitions");

    until("every partition online", Duration::from_secs(90), || {
        let client = client.clone();
        async move { online(&client).await }
    })
    .await;
    let online = started.elapsed();
    println!("{online:?}: every partition online");
    tokio::time::sleep(Duration::from_secs(20)).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = tokio::time::timeout(Duration::from_secs(180), writer)
        .await
        .expect("every record settles within its delivery timeout")
        .unwrap();
    println!("{:?}: our records settled", started.elapsed());
    let sent = theirs.await.unwrap();
    println!(
        "{:?}: the official producer's records settled",
        started.elapsed()
    );

    let (values, unread) = read_all(&client, 3).await;
    let partitions = client.admin().list_partitions(Some(TOPIC)).await.unwrap();
    let ours: BTreeMap<u64, usize> = values.iter().fold(BTreeMap::new(), |mut m, v| {
        if let Some(n) = official::number(v, "") {
            *m.entry(n).or_default() += 1;
        }
        m
    });
    let their_stored: BTreeSet<u64> = values
        .iter()
        .filter_map(|v| official::number(v, "o"))
        .collect();
    let (before, after): (Vec<&Outcome>, Vec<&Outcome>) = outcomes
        .iter()
        .partition(|(_, queued, ..)| *queued < recreated);
    let summary = |side: &[&Outcome]| {
        let acked = side.iter().filter(|o| o.2.is_ok()).count();
        let stored = side.iter().filter(|o| ours.contains_key(&o.0)).count();
        let acked_missing = side
            .iter()
            .filter(|o| o.2.is_ok() && !ours.contains_key(&o.0))
            .count();
        let first_error = side.iter().find_map(|o| o.2.as_ref().err());
        let slowest = side.iter().max_by_key(|o| o.3 - o.1);
        format!(
            "{} queued, {acked} acknowledged, {stored} stored, {acked_missing} acknowledged but not stored, first error {first_error:?}; the slowest: {slowest:?}",
            side.len()
        )
    };
    let duplicates = ours.values().filter(|c| **c > 1).count();
    let their_after: Vec<(u64, bool)> = sent
        .outcomes
        .iter()
        .filter(|o| o.2 >= recreated)
        .map(|o| (o.0, o.1))
        .collect();
    println!(
        "SC back empty at {sc_back:?}, topic created again with 3 partitions at {recreated:?}, all online at {online:?}\n\
         ours, queued before the recreate: {}\n\
         ours, queued after: {}; duplicates {duplicates}\n\
         official: {} records, {} acknowledged, {} failed (first error {:?}), {} never settled; {} of its acknowledged stored; settled after the recreate: {} acknowledged, {} failed",
        summary(&before),
        summary(&after),
        sent.outcomes.len() as u64 + sent.unsettled,
        sent.acked().count(),
        sent.failed(),
        sent.first_error,
        sent.unsettled,
        sent.acked().filter(|n| their_stored.contains(n)).count(),
        their_after.iter().filter(|o| o.1).count(),
        their_after.iter().filter(|o| !o.1).count(),
    );
    println!(
        "partitions not read to their end within 60 s: {unread:?}; the SC lists {partitions:?}"
    );
    assert!(unread.is_empty());
    assert!(!after.is_empty());
    for (n, queued, result, _) in &after {
        let metadata = result
            .as_ref()
            .unwrap_or_else(|e| panic!("record {n} queued at {queued:?} failed: {e}"));
        assert!(
            ours.contains_key(n),
            "record {n} queued at {queued:?}, acknowledged at {metadata:?}, is not stored"
        );
    }
    let partitions: BTreeSet<u32> = after
        .iter()
        .filter_map(|o| o.2.as_ref().ok().map(|m| m.partition))
        .collect();
    assert_eq!(
        partitions,
        BTreeSet::from([0, 1, 2]),
        "records spread over the new partitions"
    );
}
