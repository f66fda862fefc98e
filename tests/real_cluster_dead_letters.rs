//! Dead letters end to end on a real Fluvio cluster: the official CLI writes 20,000 keyed
//! records to a 2-partition topic; the `pipeline` example copies it with `--fail-every 100`
//! (its worker fails every record whose offset is 99 modulo 100) and `--dead-letter`; the
//! sink and the dead-letter topic must hold exactly the records they should (counted by
//! their high watermarks and read back by our consumer and by the official CLI); then the
//! `replay` example writes the dead-lettered records into a third topic, once.
//!
//! Starts its own cluster on loopback from a `fluvio-run` binary (and uses the `fluvio` CLI
//! beside it, or `FLUVIO_CLI`); ignored by a plain `cargo test` (listed as ignored): run
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test
//! real_cluster_dead_letters -- --ignored --nocapture`.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::ConsumerRecord;
use actix_fluvio::pipeline::DeadLetter;

use common::embedded::to_end;
use common::group_workers::{example, value, FluvioCli};
use common::local_cluster::{fluvio_run, LocalCluster};

const RECORDS: usize = 20_000;
const EVERY: i64 = 100;

/// Run `example` with `args` against `cluster` to its end (at most 5 minutes); its stdout.
fn run(example: &Path, cluster: &LocalCluster, args: &[&str], log: &str) -> String {
    let mut child = Command::new(example)
        .args(args)
        .env("FLUVIO_SC_ADDR", &cluster.sc_public)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(cluster.log(log))
        .spawn()
        .expect("cannot start the example");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!(
                "{} did not finish; logs in {}",
                example.display(),
                cluster.dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{} failed ({}); logs in {}",
        example.display(),
        output.status,
        cluster.dir.display()
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn read(client: &FluvioClient, topic: &str, partition: u32) -> Vec<ConsumerRecord> {
    common::embedded::read_all(client, topic, partition, to_end()).await
}

async fn end(client: &FluvioClient, topic: &str, partition: u32) -> i64 {
    client.partition_offsets(topic, partition).await.unwrap().1
}

#[tokio::test]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_dead_letters -- --ignored"]
async fn the_pipeline_example_dead_letters_what_its_worker_fails_and_replay_restores_it() {
    let bin = fluvio_run();
    let (pipeline, replay) = (example("pipeline"), example("replay"));
    let cluster = LocalCluster::start(bin.clone(), 1).await;
    let client = cluster.client().await;
    let cli = FluvioCli::new(&cluster, &bin);
    for (topic, partitions) in [("dl-source", 2), ("dl-sink", 1), ("dl-restored", 1)] {
        let config = TopicConfig::new(partitions);
        client.admin().create_topic(topic, config).await.unwrap();
    }
    cli.produce("dl-source", 0..RECORDS);

    // Which records fail: offset 99 modulo 100 of each partition, as the high watermarks say.
    let mut expected_dead = BTreeMap::new();
    for p in 0..2 {
        let end = end(&client, "dl-source", p).await;
        for record in read(&client, "dl-source", p).await {
            if record.offset % EVERY == EVERY - 1 {
                expected_dead.insert((p, record.offset), record);
            }
        }
        assert_eq!(
            expected_dead.keys().filter(|(q, _)| *q == p).count() as i64,
            end / EVERY
        );
    }
    let dead = expected_dead.len();
    println!("{RECORDS} records written by the official CLI; {dead} fail");

    let args = [
        "dl-source",
        "dl-sink",
        "--consumer-id",
        "dl",
        "--exit-at-end",
        "--fail-every",
        "100",
        "--dead-letter",
        "dl-rejected",
    ];
    let stdout = run(&pipeline, &cluster, &args, "pipeline.log");
    let copied = format!("copied {} records, dead-lettered {dead}", RECORDS - dead);
    assert!(stdout.contains(&copied), "{stdout}");

    // The sink: every other record once, upper-cased, by its high watermark and its records.
    assert_eq!(end(&client, "dl-sink", 0).await as usize, RECORDS - dead);
    let sink: HashSet<String> = read(&client, "dl-sink", 0)
        .await
        .iter()
        .map(|r| String::from_utf8(r.value.to_vec()).unwrap())
        .collect();
    assert_eq!(sink.len(), RECORDS - dead);
    // The dead-letter topic (created by the pipeline, as the source's 2 partitions): each
    // failed record once, on its source partition, with its coordinates, key and value.
    assert_eq!(client.partition_count("dl-rejected").await.unwrap(), 2);
    let mut letters = Vec::new();
    for p in 0..2 {
        let records = read(&client, "dl-rejected", p).await;
        assert_eq!(end(&client, "dl-rejected", p).await as usize, records.len());
        let official = cli.consume("dl-rejected", p);
        assert_eq!(
            official.len(),
            records.len(),
            "the official CLI reads partition {p}"
        );
        for (record, line) in records.iter().zip(&official) {
            let letter = DeadLetter::from_json(&record.value).unwrap();
            assert_eq!(DeadLetter::from_json(line.as_bytes()).unwrap(), letter);
            let source = &expected_dead[&(letter.partition, letter.offset)];
            assert_eq!(letter.partition, p);
            assert_eq!(letter.value_bytes().unwrap(), source.value);
            assert_eq!(letter.key_bytes().unwrap(), source.key);
            assert_eq!(record.key, source.key);
            assert_eq!((letter.error.kind.as_str(), letter.attempts), ("worker", 4));
            assert!(
                letter.error.message.contains("--fail-every 100"),
                "{letter:?}"
            );
            letters.push(letter);
        }
    }
    assert_eq!(letters.len(), dead);
    let sink_official: usize = cli.consume("dl-sink", 0).len();
    println!(
        "sink: {} records; the official CLI read {sink_official}",
        sink.len()
    );
    for value in expected_dead.values() {
        let upper = String::from_utf8(value.value.to_ascii_uppercase()).unwrap();
        assert!(!sink.contains(&upper));
    }
    for i in (0..RECORDS).step_by(997) {
        let upper = value(i).to_uppercase();
        let failed = expected_dead
            .values()
            .any(|r| r.value == value(i).as_bytes());
        assert_eq!(sink.contains(&upper), !failed, "{upper}");
    }

    // Replay into a third topic, twice: the second writes nothing.
    let args = ["dl-rejected", "--into", "dl-restored"];
    let stdout = run(&replay, &cluster, &args, "replay.log");
    assert!(
        stdout.contains(&format!("replayed {dead} records")),
        "{stdout}"
    );
    let again = run(&replay, &cluster, &args, "replay-again.log");
    assert!(again.contains("replayed 0 records"), "{again}");
    let restored: HashSet<Vec<u8>> = read(&client, "dl-restored", 0)
        .await
        .iter()
        .map(|r| r.value.to_vec())
        .collect();
    assert_eq!(end(&client, "dl-restored", 0).await as usize, dead);
    let failed: HashSet<Vec<u8>> = expected_dead.values().map(|r| r.value.to_vec()).collect();
    assert_eq!(restored, failed);
    assert_eq!(cli.consume("dl-restored", 0).len(), dead);
    println!("{dead} dead letters replayed once");
}
