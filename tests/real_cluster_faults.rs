//! Faults on a real Fluvio cluster this test owns (an SC and 2 SPUs from `FLUVIO_RUN`, see
//! `tests/common/local_cluster.rs`): an SPU killed in the middle of millions of records, SPU
//! outages of 30 s and 120 s under a steady producer and a continuous consumer, a leader
//! failover on a replicated topic, an SC outage of 90 s and an SC paused for 45 s (during
//! which a producer's first record for a topic waits for the SC, or fails at its delivery
//! deadline when that comes first). Every record the producer was told is stored must be
//! read back; duplicates are counted. The official client goes through the same faults in
//! the same test, and both outcomes are printed side by side.
//! Ignored by a plain `cargo test` (listed as ignored); run with a `fluvio-run` binary, e.g.
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_faults
//! -- --ignored --nocapture --test-threads=1`.
//!
//! (Above 400 lines on purpose: the fault harness (steady producer, continuous consumer,
//! the official client beside ours) at the top serves every scenario.)

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::{DeliveryGuarantee, Producer, ProducerError, ProducerOptions};
use actix_fluvio::protocol::sc::{ListRequest, PartitionSpec};

use common::local_cluster::{fluvio_run, until, LocalCluster};
use tokio::task::JoinHandle;

const A: i32 = 5101;
const B: i32 = 5102;

fn number(i: u64) -> String {
    format!("{i:010}")
}

/// What a scenario's producer achieved, and what the topic held afterwards.
#[derive(Debug, Default)]
struct Outcome {
    sent: u64,
    acked: BTreeSet<u64>,
    failed: u64,
    first_error: Option<String>,
    stored: u64,
    missing: u64,
    duplicates: u64,
}

impl Outcome {
    /// Compare the acknowledged numbers with `read` (every value read back).
    fn read_back(&mut self, read: &[String]) {
        let mut seen = BTreeSet::new();
        for value in read {
            let n: u64 = value.parse().expect("a number");
            if !seen.insert(n) {
                self.duplicates += 1;
            }
        }
        self.stored = read.len() as u64;
        self.missing = self.acked.iter().filter(|n| !seen.contains(n)).count() as u64;
    }

    /// Queue record `i` with our producer.
    async fn enqueue(
        &mut self,
        producer: &actix_fluvio::producer::Producer,
        topic: &str,
        i: u64,
    ) -> (u64, actix_fluvio::producer::DeliveryFuture) {
        self.sent += 1;
        let future = producer.enqueue(topic, None, number(i).as_bytes()).await;
        (i, future.expect("queued"))
    }

    /// Account for record `i`'s delivery.
    fn settle<T>(&mut self, i: u64, result: Result<T, String>) {
        match result {
            Ok(_) => {
                self.acked.insert(i);
            }
            Err(e) => {
                self.failed += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn line(&self, who: &str) -> String {
        format!(
            "{who:>8}: sent {}, acknowledged {}, failed {}, stored {}, acknowledged but missing {}, duplicates {}{}",
            self.sent,
            self.acked.len(),
            self.failed,
            self.stored,
            self.missing,
            self.duplicates,
            self.first_error
                .as_ref()
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        )
    }
}

/// Every value of partition 0 of `topic`, read with our consumer up to its end.
async fn read_all(client: &FluvioClient, topic: &str) -> Vec<String> {
    let options = ConsumerOptions::builder().disable_continuous(true).build();
    let mut stream = client.partition_consumer(topic, 0, options).await.unwrap();
    let mut out = Vec::new();
    while let Some(record) = stream.next().await {
        out.push(String::from_utf8(record.unwrap().value.to_vec()).unwrap());
    }
    out
}

async fn official(cluster: &LocalCluster) -> fluvio::Fluvio {
    fluvio::Fluvio::connect_with_config(&fluvio::FluvioClusterConfig::new(&cluster.sc_public))
        .await
        .expect("the official client connects")
}

/// A one-partition topic led by `leader`, waiting until it takes records.
async fn topic_on(client: &FluvioClient, name: &str, replicas: Vec<i32>) {
    client
        .admin()
        .create_topic(name, TopicConfig::assigned([(0, replicas)]))
        .await
        .unwrap();
    until("the topic's leader", Duration::from_secs(30), || async {
        client.partition_offsets(name, 0).await.is_ok()
    })
    .await;
}

/// Ours: `count` numbered records queued as fast as the producer takes them, then flushed.
async fn ours_bulk(client: &FluvioClient, topic: &str, count: u64) -> Outcome {
    let producer = client.producer(
        ProducerOptions::builder()
            .linger(Duration::from_millis(5))
            .build(),
    );
    let mut outcome = Outcome::default();
    let mut futures = Vec::with_capacity(count as usize);
    for i in 0..count {
        futures.push(outcome.enqueue(&producer, topic, i).await);
    }
    if let Err(e) = producer.flush().await {
        outcome.first_error.get_or_insert(e.to_string());
    }
    for (i, future) in futures {
        outcome.settle(i, future.wait().await.map_err(|e| e.to_string()));
    }
    outcome
}

/// The official producer: the same records, then its flush.
async fn official_bulk(fluvio: &fluvio::Fluvio, topic: &str, count: u64) -> Outcome {
    let producer = fluvio.topic_producer(topic.to_string()).await.unwrap();
    let mut outcome = Outcome::default();
    let mut outputs = Vec::new();
    for i in 0..count {
        match producer.send(fluvio::RecordKey::NULL, number(i)).await {
            Ok(output) => outputs.push((i, output)),
            Err(e) => {
                outcome.failed += 1;
                outcome.first_error.get_or_insert(e.to_string());
            }
        }
        outcome.sent += 1;
    }
    if let Err(e) = producer.flush().await {
        outcome.first_error.get_or_insert(e.to_string());
    }
    for (i, output) in outputs {
        outcome.settle(i, output.wait().await.map_err(|e| e.to_string()));
    }
    outcome
}

/// Millions of numbered records with the leader killed 1 s in and restarted 2 s later:
/// everything flushed is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_faults -- --ignored"]
async fn millions_of_records_across_an_spu_kill() {
    let bin = fluvio_run();
    let mut cluster = LocalCluster::start(bin, 2).await;
    let client = cluster.client().await;
    let fluvio = official(&cluster).await;
    const COUNT: u64 = 3_000_000;
    let mut lines = Vec::new();
    for who in ["ours", "official"] {
        let topic = format!("bulk-{who}");
        topic_on(&client, &topic, vec![A]).await;
        let produce = async {
            match who {
                "ours" => ours_bulk(&client, &topic, COUNT).await,
                _ => official_bulk(&fluvio, &topic, COUNT).await,
            }
        };
        let fault = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            cluster.kill_spu(A);
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster.start_spu(A);
        };
        let (mut outcome, ()) = tokio::join!(produce, fault);
        cluster.wait_online(&client).await;
        outcome.read_back(&read_all(&client, &topic).await);
        lines.push(outcome.line(who));
        if who == "ours" {
            assert_eq!(outcome.acked.len() as u64, COUNT, "{}", outcome.line(who));
            assert_eq!(outcome.missing, 0, "{}", outcome.line(who));
        }
    }
    println!(
        "SPU killed 1 s into {COUNT} records, back 2 s later:\n{}",
        lines.join("\n")
    );
}

/// Which client a scenario runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Official,
}

/// A producer sending about 200 records a second and a continuous consumer of the same
/// topic, both started before the leader goes down at 5 s for `outage`, and going on for 20 s
/// after. Every acknowledged record must reach the consumer (asserted for ours).
async fn steady_through_an_outage(outage: Duration, delivery_timeout: Duration, sides: &[Side]) {
    let bin = fluvio_run();
    let mut cluster = LocalCluster::start(bin, 2).await;
    let client = cluster.client().await;
    let fluvio = official(&cluster).await;
    let mut lines = Vec::new();
    for &side in sides {
        let topic = format!("steady-{side:?}").to_lowercase();
        topic_on(&client, &topic, vec![A]).await;
        let consumed = Arc::new(Mutex::new(Vec::new()));
        let consumer = spawn_consumer(side, &client, &fluvio, &topic, consumed.clone()).await;
        let mut options = ProducerOptions::default();
        if let DeliveryGuarantee::AtLeastOnce(policy) = &mut options.delivery {
            policy.timeout = delivery_timeout;
        }
        let ours = client.producer(options);
        let theirs = fluvio.topic_producer(topic.clone()).await.unwrap();
        let started = Instant::now();
        let (mut killed, mut restarted) = (false, false);
        let mut outcome = Outcome::default();
        let (mut futures, mut outputs) = (Vec::new(), Vec::new());
        while started.elapsed() < outage + Duration::from_secs(25) {
            if !killed && started.elapsed() >= Duration::from_secs(5) {
                cluster.kill_spu(A);
                killed = true;
            }
            if !restarted && started.elapsed() >= Duration::from_secs(5) + outage {
                cluster.start_spu(A);
                restarted = true;
            }
            let i = outcome.sent;
            match side {
                Side::Ours => futures.push(outcome.enqueue(&ours, &topic, i).await),
                Side::Official => {
                    outcome.sent += 1;
                    match theirs.send(fluvio::RecordKey::NULL, number(i)).await {
                        Ok(output) => outputs.push((i, output)),
                        Err(e) => outcome.settle::<()>(i, Err(e.to_string())),
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = ours.flush().await;
        let _ = theirs.flush().await;
        for (i, future) in futures {
            outcome.settle(i, future.wait().await.map_err(|e| e.to_string()));
        }
        for (i, output) in outputs {
            outcome.settle(i, output.wait().await.map_err(|e| e.to_string()));
        }
        let patience = Duration::from_secs(if side == Side::Ours { 120 } else { 30 });
        let deadline = Instant::now() + patience;
        while consumed.lock().unwrap().len() < outcome.acked.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        consumer.abort();
        let read = consumed.lock().unwrap().clone();
        outcome.read_back(&read);
        let who = format!("{side:?}").to_lowercase();
        lines.push(outcome.line(&who));
        if side == Side::Ours {
            assert_eq!(outcome.failed, 0, "{}", outcome.line(&who));
            assert_eq!(outcome.missing, 0, "{}", outcome.line(&who));
        }
        cluster.wait_online(&client).await;
    }
    println!(
        "{outage:?} SPU outage under a steady producer and a continuous consumer (missing = acknowledged but not consumed):\n{}",
        lines.join("\n")
    );
}

/// A continuous consumer of partition 0 of `topic` from the beginning, pushing every value
/// into `consumed` until it ends or fails.
async fn spawn_consumer(
    side: Side,
    client: &FluvioClient,
    fluvio: &fluvio::Fluvio,
    topic: &str,
    consumed: Arc<Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<()> {
    match side {
        Side::Ours => {
            let mut stream = client
                .partition_consumer(topic, 0, ConsumerOptions::default())
                .await
                .unwrap();
            tokio::spawn(async move {
                while let Some(record) = stream.next().await {
                    let record = record.expect("our continuous consumer never gives up");
                    let value = String::from_utf8(record.value.to_vec()).unwrap();
                    consumed.lock().unwrap().push(value);
                }
            })
        }
        Side::Official => {
            use futures_util::StreamExt;
            let config = fluvio::consumer::ConsumerConfigExtBuilder::default()
                .topic(topic.to_string())
                .partition(0)
                .offset_start(fluvio::Offset::beginning())
                .build()
                .unwrap();
            let mut stream = fluvio.consumer_with_config(config).await.unwrap();
            tokio::spawn(async move {
                while let Some(Ok(record)) = stream.next().await {
                    let value = String::from_utf8(record.value().to_vec()).unwrap();
                    consumed.lock().unwrap().push(value);
                }
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_faults -- --ignored"]
async fn a_producer_and_a_consumer_through_a_30_s_spu_outage() {
    let sides = [Side::Ours, Side::Official];
    steady_through_an_outage(Duration::from_secs(30), Duration::from_secs(120), &sides).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_faults -- --ignored"]
async fn a_producer_and_a_consumer_through_a_120_s_spu_outage() {
    let sides = [Side::Ours];
    steady_through_an_outage(Duration::from_secs(120), Duration::from_secs(180), &sides).await;
}

/// A replicated topic whose leader dies once its follower is in sync: the SC moves the
/// leadership, and the producer and the consumer follow it. The old leader comes back 20 s
/// later: on Fluvio 0.18 a read-committed write (the default) is confirmed only once every
/// replica has it, so the records sent meanwhile wait for it (a replica gone for good stops
/// committed writes to its partitions; `Isolation::ReadUncommitted` trades that for the
/// risk of losing acknowledged records in a failover).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_faults -- --ignored"]
async fn a_leader_failover_on_a_replicated_topic() {
    let bin = fluvio_run();
    let mut cluster = LocalCluster::start(bin, 2).await;
    let client = cluster.client().await;
    let topic = "replicated";
    topic_on(&client, topic, vec![A, B]).await;
    let producer = client.producer(ProducerOptions::default());
    let mut outcome = Outcome::default();
    let first: Vec<(Option<&[u8]>, String)> = (0..10_000).map(|i| (None, number(i))).collect();
    for receipt in producer.send_batch(topic, first).await.unwrap() {
        outcome.acked.insert(receipt.offset as u64);
    }
    outcome.sent = 10_000;
    until("the follower in sync", Duration::from_secs(60), || async {
        let partitions = client
            .low_level()
            .sc()
            .request(&ListRequest::<PartitionSpec>::new(vec![]))
            .await
            .unwrap();
        partitions.objects.iter().any(|p| {
            p.name == format!("{topic}-0")
                && p.status.leader.hw == 10_000
                && p.status
                    .replicas
                    .iter()
                    .any(|r| r.spu == B && r.hw == 10_000)
        })
    })
    .await;
    let mut stream = client
        .partition_consumer(topic, 0, ConsumerOptions::default())
        .await
        .unwrap();
    let mut read = Vec::new();
    while read.len() < 10_000 {
        read.push(String::from_utf8(stream.next().await.unwrap().unwrap().value.to_vec()).unwrap());
    }
    cluster.kill_spu(A);
    let killed = Instant::now();
    let mut futures = Vec::new();
    for i in 10_000..14_000u64 {
        futures.push(outcome.enqueue(&producer, topic, i).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let leader = client.fresh_partition_leader(topic, 0).await.unwrap();
    let elected = killed.elapsed();
    cluster.start_spu(A);
    let _ = producer.flush().await;
    for (i, future) in futures {
        outcome.settle(i, future.wait().await.map_err(|e| e.to_string()));
    }
    while read.len() < outcome.acked.len() {
        match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
            Ok(Some(Ok(record))) => read.push(String::from_utf8(record.value.to_vec()).unwrap()),
            other => panic!("the consumer after the failover: {other:?}"),
        }
    }
    outcome.read_back(&read);
    println!(
        "leader {A} killed, back 20 s later; leader {} {:?} after the kill; all settled {:?} after it:\n{}",
        leader.id,
        elected,
        killed.elapsed(),
        outcome.line("ours")
    );
    assert_eq!(
        leader.id, B,
        "the follower led while the old leader was away"
    );
    assert_eq!(outcome.failed, 0, "{}", outcome.line("ours"));
    assert_eq!(outcome.missing, 0, "{}", outcome.line("ours"));
}

/// The delivery timeout of a first record sent while the SC is away for longer.
const EXPIRES: Duration = Duration::from_secs(20);

/// A producer whose records have `timeout` to be delivered.
fn producer_timing_out(client: &FluvioClient, timeout: Duration) -> Producer {
    let mut options = ProducerOptions::default();
    if let DeliveryGuarantee::AtLeastOnce(policy) = &mut options.delivery {
        policy.timeout = timeout;
    }
    client.producer(options)
}

/// A record to `topic` from `producer`, sent now; the send's outcome and how long it took.
fn timed_send(producer: Producer, topic: &'static str) -> JoinHandle<(Duration, SendResult)> {
    tokio::spawn(async move {
        let sent = Instant::now();
        let result = producer.send(topic, None, b"expired").await.map(|_| ());
        (sent.elapsed(), result)
    })
}

type SendResult = Result<(), ProducerError>;

/// A first record sent with an `EXPIRES` delivery timeout while the SC was away (or paused)
/// for longer failed at its deadline: not at once, not once the SC was back.
async fn failed_at_its_deadline(expiring: JoinHandle<(Duration, SendResult)>) {
    assert!(
        expiring.is_finished(),
        "a record whose delivery timeout ({EXPIRES:?}) ended while the SC was away is still waiting"
    );
    let (took, expired) = expiring.await.unwrap();
    let error = expired.expect_err("a record for a topic whose metadata the SC could not give");
    println!("a first record with a {EXPIRES:?} delivery timeout failed after {took:?}: {error}");
    assert!(
        took >= EXPIRES - Duration::from_millis(500) && took <= EXPIRES + Duration::from_secs(5),
        "failed after {took:?}, its delivery timeout being {EXPIRES:?}: {error}"
    );
    assert!(
        matches!(error, ProducerError::DeliveryTimeout { .. }),
        "{error}"
    );
}

/// A client that lives through a 90 s SC outage: known partitions keep working, and a
/// topic created once the SC is back works too. The official client goes through the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_faults -- --ignored"]
async fn a_long_running_client_across_a_90_s_sc_outage() {
    let bin = fluvio_run();
    let mut cluster = LocalCluster::start(bin, 2).await;
    let client = cluster.client().await;
    let fluvio = official(&cluster).await;
    topic_on(&client, "known", vec![A]).await;
    topic_on(&client, "unseen", vec![B]).await;
    topic_on(&client, "expires", vec![A]).await;
    let producer = client.producer(ProducerOptions::default());
    producer.send("known", None, b"before").await.unwrap();
    let theirs = fluvio.topic_producer("known".to_string()).await.unwrap();
    // A producer whose delivery timeout outlasts the outage, for a topic it never wrote to,
    // and one whose delivery timeout ends within the outage.
    let patient = producer_timing_out(&client, Duration::from_secs(300));
    let hasty = producer_timing_out(&client, EXPIRES);
    cluster.kill_sc();
    tokio::time::sleep(Duration::from_secs(2)).await;
    producer
        .send("known", None, b"during")
        .await
        .expect("known partitions work without the SC");
    // Its first record needs the topic's metadata from the SC: it waits for the SC (within
    // its delivery timeout) rather than failing at once.
    let first = tokio::spawn(async move { patient.send("unseen", None, b"first").await });
    // The same with a delivery timeout shorter than the outage: it fails at its deadline,
    // neither at once nor when the SC is back.
    let expiring = timed_send(hasty, "expires");
    let official_during = match tokio::time::timeout(Duration::from_secs(10), async {
        let output = theirs
            .send(fluvio::RecordKey::NULL, "official during")
            .await?;
        output.wait().await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await
    {
        Ok(Ok(_)) => "stored".to_string(),
        Ok(Err(e)) => format!("failed: {e}"),
        Err(_) => "no answer within 10 s".to_string(),
    };
    tokio::time::sleep(Duration::from_secs(88)).await;
    failed_at_its_deadline(expiring).await;
    assert!(
        !first.is_finished(),
        "a first record for a topic ended while the SC was away: {:?}",
        first.await
    );
    cluster.start_sc();
    let started = Instant::now();
    let created = common::create_when_ready(&client, "after", TopicConfig::new(1));
    tokio::time::timeout(Duration::from_secs(60), created)
        .await
        .expect("a topic created after the outage");
    tokio::time::timeout(
        Duration::from_secs(60),
        producer.send("after", None, b"new"),
    )
    .await
    .expect("producing to it in time")
    .expect("producing to it");
    let ours_after = started.elapsed();
    let official_after = match tokio::time::timeout(Duration::from_secs(60), async {
        fluvio
            .admin()
            .await
            .create(
                "after-official".to_string(),
                false,
                fluvio::metadata::topic::TopicSpec::new_computed(1, 1, None),
            )
            .await?;
        let producer = fluvio.topic_producer("after-official".to_string()).await?;
        producer
            .send(fluvio::RecordKey::NULL, "new")
            .await?
            .wait()
            .await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await
    {
        Ok(Ok(())) => format!("works ({:?} after the SC came back)", started.elapsed()),
        Ok(Err(e)) => format!("fails: {e}"),
        Err(_) => "no answer within 60 s".to_string(),
    };
    println!(
        "90 s SC outage:\n    ours: produced during the outage; a new topic works {ours_after:?} after the SC came back\nofficial: during the outage {official_during}; a new topic {official_after}"
    );
    assert_eq!(read_all(&client, "after").await, vec!["new"]);
    tokio::time::timeout(Duration::from_secs(120), first)
        .await
        .expect("the first record for a topic sent during the outage, in time")
        .unwrap()
        .expect("the first record for a topic sent during the outage");
    assert_eq!(read_all(&client, "unseen").await, vec!["first"]);
    assert!(read_all(&client, "expires").await.is_empty());
}

/// A client across a 45 s SC pause (`kill -STOP`: its sockets open, nothing answered, as a
/// hung process or a frozen VM), its SC connection reset 10 s in (`ss -K`): known partitions
/// keep working; a first record for a topic fails at its delivery deadline when that ends
/// within the pause, and is stored once the SC resumes when it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_faults -- --ignored"]
async fn a_client_across_a_45_s_sc_pause() {
    let bin = fluvio_run();
    let cluster = LocalCluster::start(bin, 2).await;
    let client = cluster.client().await;
    topic_on(&client, "known", vec![A]).await;
    topic_on(&client, "unseen", vec![B]).await;
    topic_on(&client, "expires", vec![A]).await;
    let producer = client.producer(ProducerOptions::default());
    producer.send("known", None, b"before").await.unwrap();
    let patient = producer_timing_out(&client, Duration::from_secs(300));
    let hasty = producer_timing_out(&client, EXPIRES);
    cluster.signal_sc("STOP");
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::time::timeout(
        Duration::from_secs(10),
        producer.send("known", None, b"during"),
    )
    .await
    .expect("known partitions answer while the SC is paused")
    .expect("known partitions work while the SC is paused");
    let first = tokio::spawn(async move { patient.send("unseen", None, b"first").await });
    let expiring = timed_send(hasty, "expires");
    // Their connection to the SC reset in the middle of the pause (a load balancer): the
    // client connects again, to an SC that still answers nothing.
    tokio::time::sleep(Duration::from_secs(10)).await;
    cluster.reset_sc_connections();
    tokio::time::sleep(Duration::from_secs(33)).await;
    failed_at_its_deadline(expiring).await;
    assert!(
        !first.is_finished(),
        "a first record for a topic ended while the SC was paused: {:?}",
        first.await
    );
    cluster.signal_sc("CONT");
    let resumed = Instant::now();
    tokio::time::timeout(Duration::from_secs(120), first)
        .await
        .expect("the first record for a topic sent during the pause, in time")
        .unwrap()
        .expect("the first record for a topic sent during the pause");
    println!(
        "45 s SC pause: the first record waiting for it stored {:?} after the SC resumed",
        resumed.elapsed()
    );
    assert_eq!(read_all(&client, "unseen").await, vec!["first"]);
    assert_eq!(read_all(&client, "known").await, vec!["before", "during"]);
    assert!(read_all(&client, "expires").await.is_empty());
}
