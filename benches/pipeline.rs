//! Pipeline throughput: a source topic (2 partitions) copied to a sink through one upper-casing
//! worker actor per partition, with outputs pipelined (`max_in_flight` 1,000, the default)
//! against waiting for each record's sink acknowledgement before the next (`max_in_flight`
//! 1), in alternating rounds of the same run. `FLUVIO_SC_ADDR` when set (a real cluster),
//! else the embedded test cluster in this process.
//!
//! `cargo bench --bench pipeline [-- COUNT SIZE ROUNDS]` (default 100,000 × 100 B, 3 rounds).
//!
//! Every copy checks its own work and panics on a shortfall: every source record
//! acknowledged, and the sink holding exactly that many records.

use std::sync::atomic::Ordering;
use std::time::Instant;

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::pipeline::{start_pipeline, Output, PipelineConfig, Process, WorkerError};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

struct Upper;

impl Actor for Upper {
    type Context = Context<Self>;
}

impl Handler<Process> for Upper {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        Ok(vec![Output {
            key: msg.0.key,
            value: msg.0.value.to_ascii_uppercase().into(),
        }])
    }
}

/// Copy `source` (`count` records) to a fresh sink; (records per second, CPU µs per record).
async fn copy(
    client: &FluvioClient,
    source: &str,
    count: usize,
    tag: &str,
    window: usize,
) -> (f64, f64) {
    let sink = format!("bench-pipeline-sink-{tag}");
    client
        .admin()
        .create_topic(&sink, TopicConfig::new(1))
        .await
        .expect("sink topic");
    let mut config = PipelineConfig::new(source, format!("bench-{tag}"));
    config.sink = Some(sink.clone());
    config.workers = 2;
    config.exit_at_end = true;
    config.max_in_flight = window;
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let pipeline = start_pipeline(client, config, |_| {
        Upper::start_in_arbiter(&Arbiter::new().handle(), |_| Upper).recipient()
    })
    .await
    .expect("pipeline");
    let stats = pipeline.wait().await.expect("pipeline run");
    let (cpu, secs) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let acked = stats.acked.load(Ordering::Relaxed);
    assert_eq!(acked, count as u64, "every source record acknowledged");
    let offsets = client
        .partition_offsets(&sink, 0)
        .await
        .expect("sink offsets");
    assert_eq!(
        offsets,
        (0, count as i64),
        "the sink holds every record, once"
    );
    let n = acked as f64;
    (n / secs, cpu * 1e6 / n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(100_000);
    let size = args.get(1).copied().unwrap_or(100);
    let rounds = args.get(2).copied().unwrap_or(3);
    System::new().block_on(async move {
        let (_cluster, addr) = match std::env::var("FLUVIO_SC_ADDR") {
            Ok(addr) if !addr.is_empty() => (None, addr),
            _ => {
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
        client
            .admin()
            .create_topic(&source, TopicConfig::new(2))
            .await
            .expect("source topic");
        let producer = client.producer(ProducerOptions::default());
        let value = "x".repeat(size);
        producer
            .send_batch(
                &source,
                (0..count).map(|i| (Some(i.to_string()), value.as_str())),
            )
            .await
            .expect("source records");
        producer.close().await.expect("flush");
        let (mut piped, mut serial) = (vec![], vec![]);
        for round in 0..rounds {
            piped.push(copy(&client, &source, count, &format!("{stamp}-p{round}"), 1000).await);
            serial.push(copy(&client, &source, count, &format!("{stamp}-s{round}"), 1).await);
        }
        let rate = |runs: &[(f64, f64)]| median(runs.iter().map(|r| r.0).collect());
        let cpu = |runs: &[(f64, f64)]| median(runs.iter().map(|r| r.1).collect());
        println!("cluster {addr}, {count} x {size} B, 2 partitions, {rounds} alternating rounds (medians)");
        println!(
            "pipeline copy: max_in_flight 1000 {:.0} rec/s ({:.2} µs CPU/record), max_in_flight 1 {:.0} rec/s ({:.2} µs CPU/record) => {:.2}x throughput",
            rate(&piped),
            cpu(&piped),
            rate(&serial),
            cpu(&serial),
            rate(&piped) / rate(&serial)
        );
        System::current().stop();
    });
}
