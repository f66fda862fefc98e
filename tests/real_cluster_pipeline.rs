//! The pipeline example end to end against a real Fluvio cluster, with the SPU killed
//! mid-run and restarted 2 s later, or 30 s later: the sink must hold every source record,
//! upper-cased, and the committed offsets must sit on the source's last records.
//!
//! Restarting the SPU needs a cluster this test owns, so it starts one itself on loopback
//! (free ports, a fresh directory) from a `fluvio-run` binary: `fluvio-run sc --local` and one
//! custom SPU registered with [`Admin::register_spu`] (`tests/common/local_cluster.rs`). It
//! is ignored by a plain `cargo test` (listed as ignored); run it with that binary, e.g.
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_pipeline
//! -- --ignored --nocapture`.
//!
//! [`Admin::register_spu`]: actix_fluvio::admin::Admin::register_spu

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::producer::ProducerOptions;

use common::local_cluster::{fluvio_run, until, LocalCluster};
use common::read_values;

const RECORDS: usize = 60_000;
/// Values of ~1 KB: each source partition (30 MB) is far more than a consumer reads ahead
/// (2,500 buffered records plus one frame), so the SPU restart hits the source streams
/// as well as the sink's producer and the commits.
const PADDING: usize = 990;
const SPU_ID: i32 = 5101;

/// The pipeline example's binary, built with every feature (as `cargo test --all-features`
/// builds this test; the example needs `web`, which is not a default feature).
fn pipeline_example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--all-features", "--example", "pipeline"])
        .arg("--message-format=short")
        .status()
        .expect("cannot run cargo");
    assert!(built.success(), "cannot build the pipeline example");
    let deps = std::env::current_exe().unwrap();
    let profile_dir = deps.parent().unwrap().parent().unwrap();
    let example = profile_dir
        .join("examples")
        .join(format!("pipeline{}", std::env::consts::EXE_SUFFIX));
    assert!(example.exists(), "{} was not built", example.display());
    example
}

fn run_example(example: &Path, cluster: &LocalCluster, source: &str, sink: &str) -> Child {
    Command::new(example)
        .args([source, sink, "--consumer-id", "e2e", "--exit-at-end"])
        .env("FLUVIO_SC_ADDR", &cluster.sc_public)
        .env(
            "RUST_LOG",
            "info,actix_fluvio::pipeline=debug,actix_fluvio::consumer=debug",
        )
        .stdout(Stdio::piped())
        .stderr(cluster.log("pipeline.log"))
        .spawn()
        .expect("cannot start the pipeline example")
}

/// Wait for the example to exit (at most `timeout`); its stdout.
async fn finished(mut child: Child, timeout: Duration, logs: &Path) -> String {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!(
                "the pipeline example did not finish within {timeout:?}; logs in {}",
                logs.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let Output { status, stdout, .. } = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "the pipeline example failed ({status}); logs in {}",
        logs.display()
    );
    String::from_utf8(stdout).unwrap()
}

fn value(i: usize) -> String {
    format!("rec-{i:06}-{}", "x".repeat(PADDING))
}

#[tokio::test]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_pipeline -- --ignored"]
async fn the_pipeline_example_copies_everything_across_an_spu_restart() {
    copy_across_an_outage(Duration::from_secs(2)).await;
}

/// The same with the SPU down for 30 s: the streams, the sink's producer and the commits
/// wait it out (the client reconnects forever, records live for their delivery timeout).
#[tokio::test]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_pipeline -- --ignored"]
async fn the_pipeline_example_copies_everything_across_a_30_s_spu_outage() {
    copy_across_an_outage(Duration::from_secs(30)).await;
}

async fn copy_across_an_outage(outage: Duration) {
    let bin = fluvio_run();
    let example = pipeline_example();
    let mut cluster = LocalCluster::start(bin, 1).await;
    let client = cluster.client().await;
    let admin = client.admin();

    admin
        .create_topic("e2e-source", TopicConfig::new(2))
        .await
        .unwrap();
    admin
        .create_topic("e2e-sink", TopicConfig::new(1))
        .await
        .unwrap();
    let producer = client.producer(ProducerOptions::default());
    producer
        .send_batch(
            "e2e-source",
            (0..RECORDS).map(|i| (Some(format!("k{i}")), value(i))),
        )
        .await
        .unwrap();
    producer.close().await.unwrap();

    let run = run_example(&example, &cluster, "e2e-source", "e2e-sink");
    let copied_some = || {
        let client = client.clone();
        async move {
            client
                .partition_offsets("e2e-sink", 0)
                .await
                .is_ok_and(|(_, end)| end >= RECORDS as i64 / 10)
        }
    };
    until("a tenth copied", Duration::from_secs(120), copied_some).await;
    cluster.kill_spu(SPU_ID);
    println!("SPU {SPU_ID} killed mid-run; restarting it in {outage:?}");
    tokio::time::sleep(outage).await;
    cluster.start_spu(SPU_ID);
    let stdout = finished(run, Duration::from_secs(300), &cluster.dir).await;
    println!("first run: {}", stdout.trim());
    let log = std::fs::read_to_string(cluster.dir.join("pipeline.log")).unwrap();
    let count = |what: &str| log.lines().filter(|l| l.contains(what)).count();
    println!(
        "pipeline log: {} connection losses, {} resumed streams, {} produce retries",
        count("connection lost"),
        count("stream lost; resuming"),
        count("produce failed; retrying")
    );
    // Which of the pipeline's parts the kill reaches depends on timing: the source streams
    // when they are still reading (not when they already hold the rest of their partition),
    // the sink's producer when it has a request out, the commits when one is under way. The
    // client must see the connection drop in any case.
    assert!(
        count("connection lost") > 0,
        "the SPU restart did not reach the pipeline at all"
    );

    let sink = read_values(&client, "e2e-sink", 1).await;
    let distinct: HashSet<&String> = sink.iter().collect();
    let expected: HashSet<String> = (0..RECORDS).map(|i| value(i).to_uppercase()).collect();
    let missing = expected.iter().filter(|e| !distinct.contains(e)).count();
    assert_eq!(missing, 0, "records lost across the SPU restart");
    assert_eq!(distinct.len(), RECORDS, "only transformed source records");
    println!(
        "sink: {} records, {} distinct, {} duplicates",
        sink.len(),
        distinct.len(),
        sink.len() - distinct.len()
    );

    let offsets = admin.list_consumer_offsets().await.unwrap();
    for p in 0..2u32 {
        let (_, end) = client.partition_offsets("e2e-source", p).await.unwrap();
        let committed = offsets
            .iter()
            .find(|o| o.consumer_id == "e2e" && o.replica_id.partition == p)
            .map(|o| o.offset);
        assert_eq!(
            committed,
            Some(end - 1),
            "source partition {p} fully committed"
        );
    }

    // The same consumer id again: nothing left to copy.
    let rerun = run_example(&example, &cluster, "e2e-source", "e2e-sink");
    let stdout = finished(rerun, Duration::from_secs(120), &cluster.dir).await;
    assert!(stdout.contains("copied 0 records"), "rerun: {stdout}");
    let (_, end) = client.partition_offsets("e2e-sink", 0).await.unwrap();
    assert_eq!(end as usize, sink.len(), "the rerun wrote nothing");
}
