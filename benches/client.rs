//! Our producer and consumer against the official `fluvio` 0.50.1 client, on the same
//! cluster in the same run: `FLUVIO_SC_ADDR` when set (a real cluster: CPU figures are the
//! client's alone), else the embedded test cluster in this process (CPU includes the server).
//!
//! `cargo bench --bench client` runs the matrix (produce 200,000 × 100 B and
//! 20,000 × 5 KiB with linger 0 and 10 ms; consume 400,000 × 100 B and 20,000 × 5 KiB), three
//! alternating rounds each; `cargo bench --bench client -- COUNT SIZE LINGER_MS ROUNDS` runs
//! one produce/consume scenario.
//!
//! `BENCH_ISOLATION=committed|uncommitted` sets both clients' producer acknowledgement and
//! consumer isolation (default: committed, our default); `BENCH_REPLICATION=N` creates the
//! topics with N replicas (default 1; needs a cluster of N SPUs).
//!
//! Each topic gets one untimed warm-up record first (a new replicated topic acknowledges
//! committed writes only once its followers have caught up, which takes seconds).
//!
//! Every run checks its own work and panics on a shortfall: each produced topic must end
//! at exactly the records written (warm-up included: a record stored twice fails too), each
//! consumer must read the records asked for at
//! offsets 0, 1, 2, ...

use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::{PartitionerKind, ProducerOptions};
use actix_fluvio::protocol::spu::Isolation;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use fluvio::consumer::ConsumerConfigExtBuilder;
use fluvio::{Fluvio, FluvioClusterConfig, Offset, RecordKey, TopicProducerConfigBuilder};
use futures_util::StreamExt;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

/// The isolation both clients use, from `BENCH_ISOLATION`.
fn isolation() -> Isolation {
    match std::env::var("BENCH_ISOLATION").as_deref() {
        Ok("uncommitted") => Isolation::ReadUncommitted,
        Ok("committed") | Err(_) => Isolation::ReadCommitted,
        Ok(other) => panic!("BENCH_ISOLATION={other}: committed or uncommitted"),
    }
}

fn official_isolation() -> fluvio::Isolation {
    match isolation() {
        Isolation::ReadCommitted => fluvio::Isolation::ReadCommitted,
        Isolation::ReadUncommitted => fluvio::Isolation::ReadUncommitted,
    }
}

fn replication() -> u32 {
    std::env::var("BENCH_REPLICATION").map_or(1, |n| n.parse().expect("BENCH_REPLICATION=N"))
}

struct Run {
    rate: f64,
    cpu_us_per_record: f64,
}

async fn measure<F: std::future::Future<Output = usize>>(f: F) -> Run {
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let n = f.await;
    let (cpu, secs) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    Run {
        rate: n as f64 / secs,
        cpu_us_per_record: cpu * 1e6 / n as f64,
    }
}

async fn ours_produce(
    client: &FluvioClient,
    topic: &str,
    count: usize,
    size: usize,
    linger: Duration,
) -> usize {
    let producer = client.producer(
        ProducerOptions::builder()
            .partitioner(PartitionerKind::Specific(0))
            .linger(linger)
            .isolation(isolation())
            .build(),
    );
    let value = vec![b'x'; size];
    producer.send(topic, None, &value).await.expect("warm-up");
    for _ in 1..count {
        producer
            .enqueue(topic, None, &value)
            .await
            .expect("enqueue");
    }
    producer.flush().await.expect("flush");
    producer.close().await.expect("close");
    count
}

async fn official_produce(
    fluvio: &Fluvio,
    topic: &str,
    count: usize,
    size: usize,
    linger: Duration,
) -> usize {
    let config = TopicProducerConfigBuilder::default()
        .batch_size(16_384)
        .linger(linger)
        .isolation(official_isolation())
        .build()
        .expect("config");
    let producer = fluvio
        .topic_producer_with_config(topic, config)
        .await
        .expect("producer");
    let value = vec![b'x'; size];
    let mut last = None;
    for _ in 0..count {
        last = Some(
            producer
                .send(RecordKey::NULL, value.clone())
                .await
                .expect("send"),
        );
    }
    producer.flush().await.expect("flush");
    if let Some(output) = last {
        output.wait().await.expect("ack");
    }
    count
}

async fn ours_consume(client: &FluvioClient, topic: &str, count: usize) -> usize {
    let options = ConsumerOptions::builder()
        .disable_continuous(true)
        .isolation(isolation())
        .build();
    let mut stream = client
        .partition_consumer(topic, 0, options)
        .await
        .expect("stream");
    let mut seen = 0;
    'read: while seen < count {
        let Some(batch) = stream.next_batch().await else {
            break;
        };
        for record in batch.expect("records") {
            assert_eq!(
                record.offset, seen as i64,
                "ours: records in order, none missing"
            );
            seen += 1;
            if seen == count {
                break 'read;
            }
        }
    }
    assert_eq!(seen, count, "ours: every record asked for was read");
    seen
}

/// The official consumer, from the beginning to the end. It skips whole batches on this
/// cluster (0.50.1 against a 0.18.2 SPU: a frame cut inside a batch, read as if the batch had
/// come whole; the official CLI skips the same ones). What it returns must still be in order
/// and inside the topic; the records it skipped are counted and printed, not hidden.
async fn official_consume(fluvio: &Fluvio, topic: &str, count: usize) -> usize {
    let config = ConsumerConfigExtBuilder::default()
        .topic(topic.to_string())
        .partition(0)
        .offset_start(Offset::beginning())
        .disable_continuous(true)
        .isolation(official_isolation())
        .build()
        .expect("config");
    let mut stream = fluvio.consumer_with_config(config).await.expect("stream");
    let (mut seen, mut next, mut skipped) = (0usize, 0i64, 0i64);
    while let Some(record) = stream.next().await {
        let offset = record.expect("record").offset();
        assert!(
            offset >= next && offset < count as i64,
            "official: offset {offset} out of order or past the end (expected {next}..{count})"
        );
        skipped += offset - next;
        next = offset + 1;
        seen += 1;
        if next >= count as i64 {
            break;
        }
    }
    assert_eq!(next, count as i64, "official: read to the end");
    if skipped > 0 {
        println!("  official consumer skipped {skipped} of {count} records (an official-client bug; its rate counts only what it returned)");
    }
    seen
}

/// One record written read-committed: the topic's replicas are all up.
async fn warm_up(client: &FluvioClient, topic: &str) {
    let producer = client.producer(
        ProducerOptions::builder()
            .partitioner(PartitionerKind::Specific(0))
            .isolation(Isolation::ReadCommitted)
            .build(),
    );
    producer
        .send(topic, None, b"warm-up")
        .await
        .expect("warm-up");
    producer.close().await.expect("close");
}

/// Panic unless `topic`/0 holds exactly offsets `0..count`: what was produced to it, all of it
/// (no more: a record stored twice fails too). Records acknowledged uncommitted reach the
/// high watermark once the followers have them: wait up to 30 s for that.
async fn assert_written(client: &FluvioClient, topic: &str, count: usize) {
    let since = Instant::now();
    let offsets = loop {
        let offsets = client.partition_offsets(topic, 0).await.expect("offsets");
        if offsets.1 >= count as i64 || since.elapsed() > Duration::from_secs(30) {
            break offsets;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        offsets,
        (0, count as i64),
        "{topic}-0 must hold the {count} records written"
    );
}

fn report(what: &str, ours: &[Run], theirs: &[Run]) {
    let median = |runs: &[Run], f: fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (or, tr) = (median(ours, |r| r.rate), median(theirs, |r| r.rate));
    let (oc, tc) = (
        median(ours, |r| r.cpu_us_per_record),
        median(theirs, |r| r.cpu_us_per_record),
    );
    println!(
        "{what}: ours {or:.0} rec/s ({oc:.2} µs CPU/record), official {tr:.0} rec/s ({tc:.2} µs CPU/record) \
         => {:.2}x throughput, {:.2}x less CPU per record",
        or / tr,
        tc / oc
    );
}

/// One scenario: produce `count` × `size` with `linger`, then consume `consume` records.
#[derive(Clone, Copy)]
struct Scenario {
    count: usize,
    size: usize,
    linger_ms: u64,
    consume: usize,
}

async fn scenario(client: &FluvioClient, fluvio: &Fluvio, s: Scenario, rounds: usize) {
    let linger = Duration::from_millis(s.linger_ms);
    let stamp = std::process::id();
    let (mut op, mut tp, mut oc, mut tc) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let tag = format!("{stamp}-{}-{}-{}-{round}", s.count, s.size, s.linger_ms);
        let (mine, theirs) = (format!("bench-ours-{tag}"), format!("bench-official-{tag}"));
        for topic in [&mine, &theirs] {
            client
                .admin()
                .create_topic(topic, TopicConfig::new(1).replication(replication()))
                .await
                .expect("topic");
        }
        // A new replicated topic acknowledges committed writes only once its followers
        // caught up with the leader (seconds): one record each, before timing anything.
        for topic in [&mine, &theirs] {
            warm_up(client, topic).await;
        }
        // The consume side reads what the produce side wrote: produce enough first.
        let produce = s.count.max(s.consume);
        op.push(measure(ours_produce(client, &mine, produce, s.size, linger)).await);
        tp.push(measure(official_produce(fluvio, &theirs, produce, s.size, linger)).await);
        assert_written(client, &mine, produce + 1).await;
        assert_written(client, &theirs, produce + 1).await;
        if s.consume > 0 {
            // Each consumer reads the topic the other client wrote: the same data on the wire.
            oc.push(measure(ours_consume(client, &theirs, s.consume)).await);
            tc.push(measure(official_consume(fluvio, &mine, s.consume)).await);
        }
        // Topics are left in place: a 0.18 SC can stall a topic created right after a
        // delete (see tests/real_cluster.rs).
    }
    let name = format!(
        "{} x {} B, linger {} ms",
        s.count.max(s.consume),
        s.size,
        s.linger_ms
    );
    report(&format!("produce {name}"), &op, &tp);
    if s.consume > 0 {
        report(&format!("consume {} x {} B", s.consume, s.size), &oc, &tc);
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let matrix = match args.as_slice() {
        [count, size, linger, ..] => vec![Scenario {
            count: *count,
            size: *size,
            linger_ms: *linger as u64,
            consume: *count,
        }],
        _ => vec![
            Scenario {
                count: 200_000,
                size: 100,
                linger_ms: 0,
                consume: 400_000,
            },
            Scenario {
                count: 200_000,
                size: 100,
                linger_ms: 10,
                consume: 0,
            },
            Scenario {
                count: 20_000,
                size: 5 * 1024,
                linger_ms: 0,
                consume: 20_000,
            },
            Scenario {
                count: 20_000,
                size: 5 * 1024,
                linger_ms: 10,
                consume: 0,
            },
        ],
    };
    let rounds = args.get(3).copied().unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (_cluster, addr) = match std::env::var("FLUVIO_SC_ADDR") {
            Ok(addr) => (None, addr),
            Err(_) => {
                let cluster = TestCluster::start(TestClusterConfig::default())
                    .await
                    .expect("testkit");
                let addr = cluster.sc_addr();
                (Some(cluster), addr)
            }
        };
        println!(
            "cluster {addr}, {rounds} alternating rounds per scenario (medians), {:?}, replication {}",
            isolation(),
            replication()
        );
        let client = FluvioClient::connect(ClientConfig::new(addr.clone()))
            .await
            .expect("ours");
        let fluvio = Fluvio::connect_with_config(&FluvioClusterConfig::new(addr.clone()))
            .await
            .expect("official");
        for s in matrix {
            scenario(&client, &fluvio, s, rounds).await;
        }
    });
}
