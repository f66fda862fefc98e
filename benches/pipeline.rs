//! Pipeline throughput, side by side in one run: a source topic (2 partitions) copied to a
//! sink with each value upper-cased and offsets committed, by
//! - our pipeline with a batch worker (`ProcessBatch`) per partition,
//! - our pipeline with a per-record worker (`Process`) per partition,
//! - the official `fluvio` 0.50.1 client in a plain loop (consume every partition, upper-case,
//!   `send`, every 1,000 records `flush` + `offset_commit` + `offset_flush`),
//! - our raw consumer and producer in a loop without actors (the ceiling),
//!
//! in alternating rounds. `FLUVIO_SC_ADDR` when set (a real cluster), else the embedded test
//! cluster in this process.
//!
//! `cargo bench --bench pipeline [-- COUNT SIZE ROUNDS]` (default 400,000 × 100 B, 3 rounds).
//! `BENCH_ONLY=batch|record|official|raw` runs one side (e.g. under a profiler); a comma list
//! (`record,raw`) runs those.
//!
//! Each copy runs in a process of its own (this bench, started again with `BENCH_COPY`), and
//! so does the seeding: a side's peak resident set (`VmHWM`) and CPU time are its own, with
//! only its own client connected. That process reports its rate, its CPU per record and its
//! peak RSS on a `RUN` line of its output.
//!
//! Every copy is checked and a shortfall panics: every source record processed
//! (acknowledged), and the sink holding exactly that many records. The official consumer
//! skips whole batches against a 0.18 SPU (see `benches/client.rs`); its skipped records are
//! counted and printed, and its rate counts only what it processed. Every topic the bench
//! creates is deleted at the end of the run.

use std::time::Instant;

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::pipeline::{start_pipeline, PipelineConfig, Process, ProcessBatch, Worker};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use fluvio::consumer::{ConsumerConfigExtBuilder, ConsumerStream, OffsetManagementStrategy};
use fluvio::{Fluvio, FluvioClusterConfig, Offset, RecordKey};
use futures_util::StreamExt;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::{cpu_seconds, peak_rss_mib};
#[path = "common/upper.rs"]
mod upper;
use upper::Upper;

/// One copy: records per second, CPU µs per record, peak RSS (MiB).
#[derive(Debug, Clone, Copy)]
struct Run {
    rate: f64,
    cpu_us: f64,
    rss_mib: f64,
}

/// Run one copy in this process: the records it processed, its rate and CPU per record, and
/// the process's peak RSS.
async fn measure<F: std::future::Future<Output = usize>>(f: F) -> (usize, Run) {
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let seen = f.await;
    let (cpu, secs) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let n = seen as f64;
    let run = Run {
        rate: n / secs,
        cpu_us: cpu * 1e6 / n,
        rss_mib: peak_rss_mib(),
    };
    (seen, run)
}

/// Create the sink topic (1 partition) for the copy tagged `tag`.
async fn sink_topic(client: &FluvioClient, tag: &str) -> String {
    let sink = format!("bench-pipeline-sink-{tag}");
    client
        .admin()
        .create_topic(&sink, TopicConfig::new(1))
        .await
        .expect("sink topic");
    sink
}

/// Panic unless `sink` holds exactly `count` records.
async fn assert_sink(client: &FluvioClient, sink: &str, count: usize) {
    let offsets = client
        .partition_offsets(sink, 0)
        .await
        .expect("sink offsets");
    assert_eq!(
        offsets,
        (0, count as i64),
        "the sink holds every record, once"
    );
}

/// The number in environment variable `name`, when set.
fn bench_env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}

/// `BENCH_MAX_BYTES`: the consumers' fetch size (`ConsumerOptions::max_bytes`), when set.
fn bench_max_bytes() -> Option<i32> {
    bench_env("BENCH_MAX_BYTES")
}

/// Our pipeline, with batch workers (`batches`) or per-record workers.
async fn ours_pipeline(
    client: &FluvioClient,
    source: &str,
    count: usize,
    sink: &str,
    batches: bool,
) -> usize {
    let mut config = PipelineConfig::new(source, format!("bench-{sink}"));
    config.sink = Some(sink.to_owned());
    config.workers = 2;
    config.exit_at_end = true;
    if let Some(w) = bench_env("BENCH_WINDOW") {
        config.max_in_flight = w;
    }
    if let Some(b) = bench_env("BENCH_WINDOW_BYTES") {
        config.max_in_flight_bytes = b;
    }
    if let Some(b) = bench_max_bytes() {
        config.consumer.max_bytes = b;
    }
    if let Some(n) = bench_env("BENCH_READ_AHEAD") {
        config.consumer.buffer_records = n;
    }
    let pipeline = start_pipeline(client, config, move |_| -> Worker {
        let upper = Upper::create(|_| Upper);
        if batches {
            upper.recipient::<ProcessBatch>().into()
        } else {
            upper.recipient::<Process>().into()
        }
    })
    .await
    .expect("pipeline");
    let stats = pipeline.wait().await.expect("pipeline run");
    let acked = stats.acked as usize;
    assert_eq!(acked, count, "every source record acknowledged");
    acked
}

/// Our consumer and producer in a plain loop: both partitions, upper-case, enqueue, commit
/// every 1,000 records after a flush.
async fn ours_raw(client: &FluvioClient, source: &str, count: usize, sink: &str) -> usize {
    let producer = client.producer(ProducerOptions::default());
    let mut copies = Vec::new();
    for partition in 0..2 {
        let (client, producer, source, sink) = (
            client.clone(),
            producer.clone(),
            source.to_owned(),
            sink.to_owned(),
        );
        let id = format!("bench-{sink}");
        copies.push(tokio::spawn(async move {
            let mut options = ConsumerOptions::builder()
                .consumer_id(id)
                .disable_continuous(true)
                .build();
            if let Some(b) = bench_max_bytes() {
                options.max_bytes = b;
            }
            if let Some(n) = bench_env("BENCH_READ_AHEAD") {
                options.buffer_records = n;
            }
            let mut stream = client
                .partition_consumer(&source, partition, options)
                .await
                .expect("stream");
            let (mut seen, mut since) = (0usize, 0usize);
            while let Some(batch) = stream.next_batch().await {
                let batch = batch.expect("records");
                for r in &batch {
                    let value = r.value.to_ascii_uppercase();
                    producer
                        .enqueue(&sink, r.key.as_deref(), &value)
                        .await
                        .expect("enqueue");
                }
                seen += batch.len();
                since += batch.len();
                if since >= 1000 {
                    producer.flush().await.expect("flush");
                    stream
                        .commit(batch.last().expect("non-empty").offset)
                        .await
                        .expect("commit");
                    since = 0;
                }
            }
            producer.flush().await.expect("flush");
            stream.commit_delivered().await.expect("commit");
            seen
        }));
    }
    let mut seen = 0;
    for copy in copies {
        seen += copy.await.expect("copy task");
    }
    producer.close().await.expect("close");
    assert_eq!(seen, count, "ours raw: every record read");
    seen
}

/// The official client, as a user would write the loop by hand.
async fn official_loop(fluvio: &Fluvio, source: &str, count: usize, sink: &str) -> usize {
    let config = ConsumerConfigExtBuilder::default()
        .topic(source.to_string())
        .offset_consumer(format!("bench-{sink}"))
        .offset_start(Offset::beginning())
        .offset_strategy(OffsetManagementStrategy::Manual)
        .disable_continuous(true)
        .build()
        .expect("config");
    let mut stream = fluvio.consumer_with_config(config).await.expect("stream");
    let producer = fluvio.topic_producer(sink).await.expect("producer");
    let mut seen = 0usize;
    while let Some(record) = stream.next().await {
        let record = record.expect("record");
        let value = record.value().to_ascii_uppercase();
        let key = record.key().map(|k| k.to_vec());
        match key {
            Some(k) => producer.send(k, value).await.expect("send"),
            None => producer.send(RecordKey::NULL, value).await.expect("send"),
        };
        seen += 1;
        if seen % 1000 == 0 {
            producer.flush().await.expect("flush");
            stream.offset_commit().await.expect("commit");
            stream.offset_flush().await.expect("offset flush");
        }
    }
    producer.flush().await.expect("flush");
    stream.offset_commit().await.expect("commit");
    stream.offset_flush().await.expect("offset flush");
    assert!(seen <= count, "official: {seen} records of {count}");
    if seen < count {
        println!("  official loop skipped {} of {count} records (official-client bug; its rate counts only what it processed)", count - seen);
    }
    seen
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Create `source` (2 partitions) and write `count` records of `size` B to it from a child
/// process (this bench run with `BENCH_SEED=source`), so that the records sent and the
/// allocator's memory for them stay out of this process's resident set: every copy is
/// measured from the same floor (a connected client), not from what seeding left behind.
fn seed_in_child(addr: &str, source: &str, count: usize, size: usize) {
    let exe = std::env::current_exe().expect("bench executable");
    let status = std::process::Command::new(exe)
        .args([count.to_string(), size.to_string()])
        .env("FLUVIO_SC_ADDR", addr)
        .env("BENCH_SEED", source)
        .status()
        .expect("seeding process");
    assert!(status.success(), "seeding {source}: {status}");
}

/// The seeding process: create `source` and write `count` records of `size` B.
async fn seed(addr: String, source: &str, count: usize, size: usize) {
    let client = FluvioClient::connect(ClientConfig::new(addr))
        .await
        .expect("client");
    client
        .admin()
        .create_topic(source, TopicConfig::new(2))
        .await
        .expect("source topic");
    let producer = client.producer(ProducerOptions::default());
    let value = "x".repeat(size);
    producer
        .send_batch(
            source,
            (0..count).map(|i| (Some(i.to_string()), value.as_str())),
        )
        .await
        .expect("source records");
    producer.close().await.expect("flush");
}

/// The sides, in the order each round runs them: `BENCH_ONLY` / `BENCH_COPY` name and label.
const SIDES: [(&str, &str); 4] = [
    ("batch", "pipeline, batch worker"),
    ("official", "official loop"),
    ("record", "pipeline, per-record worker"),
    ("raw", "ours raw loop (ceiling)"),
];

/// Copy `source` into the existing topic `sink` with side `side` in a child process (this
/// bench run with `BENCH_COPY=side`); its `RUN` line: records processed and the measures.
fn copy_in_child(addr: &str, side: &str, source: &str, sink: &str, count: usize) -> (usize, Run) {
    let exe = std::env::current_exe().expect("bench executable");
    let mut command = match std::env::var("BENCH_WRAP") {
        Ok(wrap) => {
            let mut c = std::process::Command::new(wrap);
            c.arg(exe);
            c
        }
        Err(_) => std::process::Command::new(exe),
    };
    let output = command
        .arg(count.to_string())
        .env("FLUVIO_SC_ADDR", addr)
        .env("BENCH_COPY", side)
        .env("BENCH_SOURCE", source)
        .env("BENCH_SINK", sink)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("copy process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{side} copy: {}\n{stdout}",
        output.status
    );
    let mut result = None;
    for line in stdout.lines() {
        match line.strip_prefix("RUN ") {
            Some(fields) => {
                let f: Vec<f64> = fields
                    .split(' ')
                    .map(|v| v.parse().expect("RUN field"))
                    .collect();
                let run = Run {
                    rate: f[1],
                    cpu_us: f[2],
                    rss_mib: f[3],
                };
                result = Some((f[0] as usize, run));
            }
            None => println!("{line}"),
        }
    }
    result.unwrap_or_else(|| panic!("{side} copy printed no RUN line:\n{stdout}"))
}

/// The copy process: connect the side's own client only, copy, print the `RUN` line.
async fn copy(addr: String, side: &str, count: usize) {
    let source = std::env::var("BENCH_SOURCE").expect("BENCH_SOURCE");
    let sink = std::env::var("BENCH_SINK").expect("BENCH_SINK");
    let (seen, run) = if side == "official" {
        let fluvio = Fluvio::connect_with_config(&FluvioClusterConfig::new(addr))
            .await
            .expect("official");
        measure(official_loop(&fluvio, &source, count, &sink)).await
    } else {
        let client = FluvioClient::connect(ClientConfig::new(addr))
            .await
            .expect("client");
        match side {
            "batch" => measure(ours_pipeline(&client, &source, count, &sink, true)).await,
            "record" => measure(ours_pipeline(&client, &source, count, &sink, false)).await,
            "raw" => measure(ours_raw(&client, &source, count, &sink)).await,
            other => panic!("BENCH_COPY={other}: batch, record, official or raw"),
        }
    };
    println!("RUN {seen} {} {} {}", run.rate, run.cpu_us, run.rss_mib);
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(400_000);
    let size = args.get(1).copied().unwrap_or(100);
    let rounds = args.get(2).copied().unwrap_or(3);
    let addr_env = std::env::var("FLUVIO_SC_ADDR")
        .ok()
        .filter(|a| !a.is_empty());
    if let Ok(source) = std::env::var("BENCH_SEED") {
        let addr = addr_env.expect("FLUVIO_SC_ADDR for seeding");
        System::new().block_on(seed(addr, &source, count, size));
        return;
    }
    if let Ok(side) = std::env::var("BENCH_COPY") {
        let addr = addr_env.expect("FLUVIO_SC_ADDR for a copy");
        System::new().block_on(copy(addr, &side, count));
        return;
    }
    System::new().block_on(async move {
        let (_cluster, addr) = match addr_env {
            Some(addr) => (None, addr),
            None => {
                let cluster = TestCluster::start(TestClusterConfig::default())
                    .await
                    .expect("embedded cluster");
                let addr = cluster.sc_addr();
                (Some(cluster), addr)
            }
        };
        let client = FluvioClient::connect(ClientConfig::new(addr.clone()))
            .await
            .expect("client");
        let stamp = std::process::id();
        let source = format!("bench-pipeline-source-{stamp}");
        // In a blocking thread, as each copy: the embedded cluster keeps serving meanwhile.
        let (a, src) = (addr.clone(), source.clone());
        tokio::task::spawn_blocking(move || seed_in_child(&a, &src, count, size))
            .await
            .expect("seeding");
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); SIDES.len()];
        let mut sinks = Vec::new();
        for round in 0..rounds {
            for (i, (side, _)) in SIDES.iter().enumerate() {
                if !only.is_empty() && !only.split(',').any(|o| o == *side) {
                    continue;
                }
                let sink = sink_topic(&client, &format!("{stamp}-{side}{round}")).await;
                // The copy runs in a blocking thread so the embedded cluster keeps serving.
                let (a, s, src) = (addr.clone(), sink.clone(), source.clone());
                let (seen, run) = tokio::task::spawn_blocking(move || {
                    copy_in_child(&a, side, &src, &s, count)
                })
                .await
                .expect("copy");
                assert_sink(&client, &sink, seen).await;
                sinks.push(sink);
                println!(
                    "round {}, {side}: {:.0} rec/s, {:.2} CPU µs/record, {:.1} MiB",
                    round + 1,
                    run.rate,
                    run.cpu_us,
                    run.rss_mib
                );
                runs[i].push(run);
            }
        }
        // Deleted at the end: a 0.18 SC may leave a topic created just after a deletion
        // unanswered (the create request timed out while the topic was provisioned).
        for topic in sinks.iter().chain([&source]) {
            client.admin().delete_topic(topic).await.expect("delete topic");
        }
        let med = |runs: &[Run], f: fn(&Run) -> f64| {
            if runs.is_empty() {
                f64::NAN
            } else {
                median(runs.iter().map(f).collect())
            }
        };
        println!("cluster {addr}, {count} x {size} B, 2 partitions, {rounds} alternating rounds (medians), each copy its own process");
        println!("| copy | rec/s | vs official | CPU µs/record | peak RSS MiB |");
        println!("|---|---|---|---|---|");
        let official_rate = med(&runs[1], |r| r.rate);
        for (i, (_, name)) in SIDES.iter().enumerate() {
            if runs[i].is_empty() {
                continue;
            }
            let rate = med(&runs[i], |r| r.rate);
            // (Without the official side, BENCH_ONLY: no ratio.)
            let ratio = if official_rate.is_nan() {
                "-".to_string()
            } else {
                format!("{:.2}x", rate / official_rate)
            };
            println!(
                "| {name} | {rate:.0} | {ratio} | {:.2} | {:.1} |",
                med(&runs[i], |r| r.cpu_us),
                med(&runs[i], |r| r.rss_mib),
            );
        }
        System::current().stop();
    });
}
