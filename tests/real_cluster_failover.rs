//! Leader failover on a real Fluvio cluster this test owns (an SC and 3 SPUs from
//! `FLUVIO_RUN`): replication-2 and replication-3 topics under producers writing numbered
//! records in full-speed bursts, each read by a continuous consumer, while the leader of one
//! of them is SIGKILLed five times, across the SPUs, without waiting for its followers to
//! catch up (it comes back 5 s later). With the default read-committed acknowledgement no
//! acknowledged record may be missing from what the leader stores, read to its log end (not
//! its high watermark: Fluvio 0.18 may restart a leader with an older high watermark than it
//! acknowledged records under, its follower then stopping for good, so acknowledged records
//! stay above it; the tests print how many), records may fail only at their delivery timeout
//! where the replicas stopped confirming, the continuous consumers must see every offset in
//! order, and the records found twice must be counted by
//! `fluvio_producer_possibly_duplicated_records_total`, within the in-flight window. The
//! official client writes its own replication-2 topic through the same kills; its outcome is
//! printed beside ours.
//!
//! Ignored by a plain `cargo test` (listed as ignored); run with a `fluvio-run` binary:
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test
//! real_cluster_failover -- --ignored --nocapture`.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::{Producer, ProducerError, ProducerOptions};
use actix_fluvio::protocol::spu::Isolation;
use actix_fluvio::protocol::ErrorCode;

use common::local_cluster::{fluvio_run, until, LocalCluster};
use common::official;

const KILLS: usize = 5;
/// Records per burst, and the pause between bursts (about 20,000 records a second).
const BURST: u64 = 1_000;
const PAUSE: Duration = Duration::from_millis(50);

/// What one writer got acknowledged, per record number.
#[derive(Default)]
struct Ledger {
    acked: Vec<bool>,
    failed: u64,
    /// Failures other than the leader's replicas never confirming within the delivery
    /// timeout (`RequestTimedOut` to the end).
    failed_otherwise: u64,
    /// Failures that were not a delivery timeout: the producer gave up early.
    failed_early: u64,
    first_error: Option<String>,
}

/// Why a record failed.
#[derive(Clone, Copy)]
enum Why {
    /// The delivery timeout passed while the leader's replicas did not confirm it.
    Unconfirmed,
    /// The delivery timeout passed, its last attempt failing otherwise (no leader, say).
    TimedOut,
    /// Anything else.
    Other,
}

impl Why {
    fn of(error: &ProducerError) -> Self {
        match error {
            ProducerError::DeliveryTimeout { last, .. }
                if matches!(
                    &**last,
                    ProducerError::Server {
                        code: ErrorCode::RequestTimedOut { .. },
                        ..
                    }
                ) =>
            {
                Why::Unconfirmed
            }
            ProducerError::DeliveryTimeout { .. } => Why::TimedOut,
            _ => Why::Other,
        }
    }
}

impl Ledger {
    fn settle(&mut self, i: u64, result: Result<(), String>, why: Why) {
        let i = i as usize;
        if self.acked.len() <= i {
            self.acked.resize(i + 1, false);
        }
        match result {
            Ok(()) => self.acked[i] = true,
            Err(e) => {
                self.failed += 1;
                self.failed_otherwise += u64::from(!matches!(why, Why::Unconfirmed));
                self.failed_early += u64::from(matches!(why, Why::Other));
                self.first_error.get_or_insert(e);
            }
        }
    }
}

/// What a topic holds, against a ledger.
struct Tally {
    stored: u64,
    duplicates: u64,
    missing: u64,
    acked: u64,
    /// Acknowledged records stored only above the high watermark (a leader restarted with
    /// an older one than it had acknowledged them under, which Fluvio 0.18 does).
    above_hw: u64,
}

/// `values` (offset, number) against `ledger`, the partition's high watermark being `hw`.
fn tally(ledger: &Ledger, values: &[(i64, u64)], hw: i64) -> Tally {
    let mut seen = vec![0u32; ledger.acked.len().max(1)];
    let mut below_hw = vec![false; seen.len()];
    let mut duplicates = 0;
    for &(offset, n) in values {
        let n = n as usize;
        if n >= seen.len() {
            seen.resize(n + 1, 0);
            below_hw.resize(n + 1, false);
        }
        seen[n] += 1;
        below_hw[n] |= offset < hw;
        if seen[n] > 1 {
            duplicates += 1;
        }
    }
    let acked = || ledger.acked.iter().enumerate().filter(|(_, acked)| **acked);
    Tally {
        stored: values.len() as u64,
        duplicates,
        missing: acked().filter(|(n, _)| seen[*n] == 0).count() as u64,
        acked: acked().count() as u64,
        above_hw: acked()
            .filter(|(n, _)| seen[*n] > 0 && !below_hw[*n])
            .count() as u64,
    }
}

/// Every value of partition 0 of `topic` that is `prefix` and a number, with its offset,
/// and the partition's high watermark: everything its leader stores, to its log end,
/// committed or not. (A read to the high watermark is not enough: a leader restarted with
/// an older high watermark than it had acknowledged records under holds them above it.)
async fn read_back(client: &FluvioClient, topic: &str, prefix: &str) -> (Vec<(i64, u64)>, i64) {
    let (_, hw) = client.partition_offsets(topic, 0).await.unwrap();
    let end = client.admin().list_partitions(Some(topic)).await.unwrap()[0].end_offset;
    let options = ConsumerOptions::builder()
        .isolation(Isolation::ReadUncommitted)
        .build();
    let mut stream = client.partition_consumer(topic, 0, options).await.unwrap();
    let mut out = Vec::new();
    let mut next = 0;
    // To the log end the SC reported, then on while records keep coming (its report may lag).
    loop {
        let wait = Duration::from_secs(if next >= end { 2 } else { 60 });
        let record = match tokio::time::timeout(wait, stream.next()).await {
            Ok(Some(record)) => record.unwrap(),
            Ok(None) => panic!("{topic}: the stream ended at {next}"),
            Err(_) if next >= end => break,
            Err(_) => {
                panic!("{topic}: nothing read for {wait:?} at {next}, the log end being {end}")
            }
        };
        next = record.offset + 1;
        if &record.value[..] != PROBE {
            let value = std::str::from_utf8(&record.value).unwrap();
            out.extend(official::number(value, prefix).map(|n| (record.offset, n)));
        }
    }
    (out, hw)
}

/// The record that checks a new topic takes writes (not numbered).
const PROBE: &[u8] = b"probe";

/// Our producer writing `topic` in bursts until `stop`; each receipt settles into the ledger.
fn spawn_ours(
    producer: Producer,
    topic: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Ledger> {
    tokio::spawn(async move {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let mut settling = Vec::new();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..BURST {
                let receipt = producer
                    .enqueue(&topic, None, i.to_string().as_bytes())
                    .await
                    .expect("queued");
                let ledger = ledger.clone();
                settling.push(tokio::spawn(async move {
                    let result = receipt.wait().await.map(|_| ());
                    let why = result.as_ref().err().map_or(Why::Other, Why::of);
                    let result = result.map_err(|e| e.to_string());
                    ledger.lock().unwrap().settle(i, result, why);
                }));
                i += 1;
            }
            tokio::time::sleep(PAUSE).await;
        }
        producer.flush().await.ok();
        for task in settling {
            task.await.unwrap();
        }
        Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap()
    })
}

/// The ledger of what the official producer got.
fn ledger_of(sent: &official::Sent) -> Ledger {
    let mut ledger = Ledger::default();
    for &(n, acked, _) in &sent.outcomes {
        let result = if acked { Ok(()) } else { Err(String::new()) };
        ledger.settle(n, result, Why::Other);
    }
    ledger.first_error = sent.first_error.clone();
    ledger
}

/// A continuous reader's progress: the offsets read so far, and where to stop.
#[derive(Default)]
struct Progress {
    read: std::sync::atomic::AtomicI64,
    end: Mutex<Option<i64>>,
}

/// A continuous consumer of `topic` from the beginning: every offset in order (asserted),
/// until the end it is told.
fn spawn_reader(
    client: FluvioClient,
    topic: String,
    progress: Arc<Progress>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut stream = client
            .partition_consumer(&topic, 0, ConsumerOptions::default())
            .await
            .unwrap();
        let mut next = 0i64;
        loop {
            if progress.end.lock().unwrap().is_some_and(|end| next >= end) {
                return next as u64;
            }
            let record = match tokio::time::timeout(Duration::from_millis(500), stream.next()).await
            {
                Ok(Some(record)) => record.expect("the continuous consumer never gives up"),
                Ok(None) => panic!("{topic}: the continuous stream ended"),
                Err(_) => continue,
            };
            assert_eq!(
                record.offset, next,
                "{topic}: offsets in order, none skipped"
            );
            next += 1;
            progress.read.store(next, Ordering::Relaxed);
        }
    })
}

/// `writer`'s ledger once every record settled, and its tally against what the leader of
/// `topic` stores, committed or not: a record acknowledged read-committed was on every
/// replica then, so whoever leads now has it.
async fn settle(
    client: &FluvioClient,
    topic: &str,
    writer: tokio::task::JoinHandle<Ledger>,
) -> (Ledger, Tally) {
    let ledger = tokio::time::timeout(Duration::from_secs(180), writer)
        .await
        .expect("every record settles within its delivery timeout")
        .unwrap();
    let (values, hw) = read_back(client, topic, "").await;
    let t = tally(&ledger, &values, hw);
    (ledger, t)
}

/// The partition's replication as the SC reports it, and whether it stalled: a high
/// watermark below the log end that stays there is a replica that stopped following.
async fn replication(client: &FluvioClient, topic: &str) -> (String, bool) {
    let partitions = client.admin().list_partitions(Some(topic)).await.unwrap();
    let p = &partitions[0];
    let state = format!(
        "leader {} of {:?}: high watermark {}, log end {}",
        p.leader, p.replicas, p.high_watermark, p.end_offset
    );
    (state, p.high_watermark < p.end_offset)
}

/// A one-partition topic of `replicas` replicas, once a committed write goes through (its
/// followers are up): the probe record is its offset 0.
async fn create(client: &FluvioClient, topic: &str, replicas: u32) {
    client
        .admin()
        .create_topic(topic, TopicConfig::new(1).replication(replicas))
        .await
        .unwrap();
    until("the topic takes records", Duration::from_secs(60), || {
        let producer = client.producer(ProducerOptions::default());
        async move { producer.send(topic, None, PROBE).await.is_ok() }
    })
    .await;
}

async fn leader_of(client: &FluvioClient, topic: &str) -> i32 {
    client.fresh_partition_leader(topic, 0).await.unwrap().id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_failover -- --ignored"]
async fn leaders_killed_five_times_under_full_speed_producers_lose_nothing() {
    let metrics = common::prometheus::metrics_addr();
    let mut cluster = LocalCluster::start_with_ids(fluvio_run(), 3, 5301).await;
    let client = cluster.client().await;
    let fluvio = official::connect(&cluster.sc_public).await;
    let ours = [("failover-r2", 2), ("failover-r3", 3)];
    let theirs = "failover-r2-official";
    for (topic, replicas) in ours.iter().copied().chain([(theirs, 2)]) {
        create(&client, topic, replicas).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let producer = client.producer(ProducerOptions::default());
    let mut writers = Vec::new();
    let ends: BTreeMap<&str, Arc<Progress>> = ours
        .iter()
        .map(|(t, _)| (*t, Arc::new(Progress::default())))
        .collect();
    let mut readers = Vec::new();
    for (topic, _) in ours {
        writers.push(spawn_ours(producer.clone(), topic.into(), stop.clone()));
        readers.push(spawn_reader(
            client.clone(),
            topic.into(),
            ends[topic].clone(),
        ));
    }
    let started = Instant::now();
    let official = official::spawn_writer(
        fluvio.clone(),
        theirs.into(),
        "",
        (BURST, PAUSE),
        stop.clone(),
        started,
    );

    let mut killed = Vec::new();
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_secs(6)).await;
        let topic = ours[kill % ours.len()].0;
        let leader = leader_of(&client, topic).await;
        cluster.kill_spu(leader);
        killed.push((started.elapsed(), topic, leader));
        println!(
            "{:?}: killed {leader}, the leader of {topic}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        cluster.start_spu(leader);
        cluster.wait_online(&client).await;
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);

    let mut lines = Vec::new();
    let scrape = common::prometheus::scrape(metrics).await;
    for ((topic, _), writer) in ours.iter().zip(writers) {
        let (ledger, t) = settle(&client, topic, writer).await;
        let series =
            format!("fluvio_producer_possibly_duplicated_records_total{{topic=\"{topic}\"}}");
        let counted = common::prometheus::value(&scrape, &series).unwrap_or(0.0) as u64;
        let (state, stalled) = replication(&client, topic).await;
        lines.push(format!(
            "{topic} ours: acknowledged {}, failed {} ({} other than unconfirmed replication, {} before the delivery timeout), stored {}, missing {}, acknowledged and stored only above the high watermark {}, duplicates {}, counted as possible duplicates {counted}; {state}{}",
            t.acked,
            ledger.failed,
            ledger.failed_otherwise,
            ledger.failed_early,
            t.stored,
            t.missing,
            t.above_hw,
            t.duplicates,
            ledger.first_error.as_ref().map(|e| format!(" (first error: {e})")).unwrap_or_default()
        ));
        let line = lines.last().unwrap();
        assert_eq!(t.missing, 0, "{line}");
        // Records fail only at their delivery timeout, and only where the leader's
        // replicas stopped confirming: for the whole timeout, or for good (a follower that
        // stopped following, its high watermark left below the log end: Fluvio 0.18 does
        // this after a leader restarted with an older high watermark; records then fail
        // with whatever their last attempt met, a leader down at that moment, say).
        assert_eq!(ledger.failed_early, 0, "{line}");
        if !stalled {
            assert_eq!(ledger.failed_otherwise, 0, "{line}");
        }
        assert!(t.duplicates <= counted, "{line}");
        // At most one request in flight per partition, of at most max_request_size
        // (1 MiB): a lost answer resends at most that many records (≥ 16 B each).
        let window = (1 << 20) / 16;
        assert!(counted <= (KILLS as u64) * window, "{line}");
        let (_, end) = client.partition_offsets(topic, 0).await.unwrap();
        *ends[topic].end.lock().unwrap() = Some(end);
    }
    for (reader, (topic, _)) in readers.into_iter().zip(ours) {
        let read = tokio::time::timeout(Duration::from_secs(120), reader)
            .await
            .expect("the continuous consumer reaches the end")
            .unwrap();
        lines.push(format!(
            "{topic} ours: the continuous consumer read offsets 0..{read} in order (to the high watermark)"
        ));
    }
    let sent = official.await.unwrap();
    let ledger = ledger_of(&sent);
    let (values, hw) = read_back(&client, theirs, "").await;
    let t = tally(&ledger, &values, hw);
    let (state, _) = replication(&client, theirs).await;
    lines.push(format!(
        "{theirs} official: acknowledged {}, failed {}, never settled {}, stored {}, missing {}, duplicates {}; {state}{}",
        t.acked,
        ledger.failed,
        sent.unsettled,
        t.stored,
        t.missing,
        t.duplicates,
        ledger
            .first_error
            .as_ref()
            .map(|e| format!(" (first error: {e})"))
            .unwrap_or_default()
    ));
    println!("leaders killed at {:?}:\n{}", killed, lines.join("\n"));
}

/// The leader of a replication-2 topic paused (SIGSTOP, sockets open) for 60 s under a
/// producer and a continuous consumer, then resumed: both go on as soon as the partition
/// has a working leader again — a follower the SC elects, or the leader itself once resumed
/// — and nothing acknowledged is lost. The official client writes (values `o{n}`, a tenth of
/// the rate) and reads the same partition; its outcome is printed beside ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_failover -- --ignored"]
async fn a_leader_paused_for_60_s_loses_nothing_and_stalls_no_longer_than_its_partition() {
    let cluster = LocalCluster::start_with_ids(fluvio_run(), 3, 5401).await;
    let client = cluster.client().await;
    let topic = "paused-r2";
    create(&client, topic, 2).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_ours(
        client.producer(ProducerOptions::default()),
        topic.into(),
        stop.clone(),
    );
    let progress = Arc::new(Progress::default());
    let reader = spawn_reader(client.clone(), topic.into(), progress.clone());
    let fluvio = official::connect(&cluster.sc_public).await;
    let started = Instant::now();
    let theirs = official::spawn_writer(
        fluvio.clone(),
        topic.into(),
        "o",
        (BURST / 10, PAUSE),
        stop.clone(),
        started,
    );
    let their_reader = official::spawn_reader(fluvio, topic.into(), stop.clone(), started);
    tokio::time::sleep(Duration::from_secs(5)).await;

    let leader = leader_of(&client, topic).await;
    let read_before = progress.read.load(Ordering::Relaxed);
    cluster.signal_spu(leader, "STOP");
    let paused = Instant::now();
    let (mut elected, mut resumed_reading) = (None, None);
    while paused.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The SC's view (its listing; a stale cache would not show a move).
        if elected.is_none() {
            let partitions = client.admin().list_partitions(Some(topic)).await;
            if partitions.is_ok_and(|p| p[0].leader != leader) {
                elected = Some(paused.elapsed());
            }
        }
        if resumed_reading.is_none()
            && progress.read.load(Ordering::Relaxed) > read_before + 2 * BURST as i64
        {
            resumed_reading = Some(paused.elapsed());
        }
    }
    cluster.signal_spu(leader, "CONT");
    let continued = Instant::now();
    let cont_at = started.elapsed();
    // The first record read after SIGCONT (as measured for the official consumer below).
    let at_cont = progress.read.load(Ordering::Relaxed);
    while progress.read.load(Ordering::Relaxed) == at_cont
        && continued.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first_read = continued.elapsed();
    until("reading resumes", Duration::from_secs(60), || {
        let read = progress.read.load(Ordering::Relaxed);
        async move { read > read_before + 2 * BURST as i64 }
    })
    .await;
    let after_cont = continued.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let (ledger, t) = settle(&client, topic, writer).await;
    let (_, end) = client.partition_offsets(topic, 0).await.unwrap();
    *progress.end.lock().unwrap() = Some(end);
    let read = tokio::time::timeout(Duration::from_secs(120), reader)
        .await
        .expect("the continuous consumer reaches the end")
        .unwrap();
    let sent = theirs.await.unwrap();
    let their_read = their_reader.await.unwrap();
    let (values, hw) = read_back(&client, topic, "o").await;
    let their = tally(&ledger_of(&sent), &values, hw);
    let their_read_at = their_read.read_at("o");
    let their_resumed = their_read_at
        .iter()
        .find(|t| **t > cont_at)
        .map(|t| *t - cont_at);
    println!(
        "official, same partition: acknowledged {}, failed {} ({:?}), never settled {}, stored {}, missing {}, duplicates {}; \
         its consumer read {} of its records, the first after SIGCONT {their_resumed:?} after it, the last at {:?}; first error {:?}, ended by itself at {:?}",
        their.acked,
        sent.failed(),
        sent.first_error,
        sent.unsettled,
        their.stored,
        their.missing,
        their.duplicates,
        their_read_at.len(),
        their_read_at.last(),
        their_read.first_error,
        their_read.ended,
    );
    let line = format!(
        "leader {leader} paused 60 s: SC elected another leader after {elected:?}; reading resumed {resumed_reading:?} into the pause; after SIGCONT the first record was read after {first_read:?}, 2,000 more than before the pause after {after_cont:?}; \
         acknowledged {}, failed {}, stored {}, missing {}, acknowledged and stored only above the high watermark {}, duplicates {}; read 0..{read} in order; {}",
        t.acked,
        ledger.failed,
        t.stored,
        t.missing,
        t.above_hw,
        t.duplicates,
        replication(&client, topic).await.0
    );
    println!("{line}");
    assert_eq!(t.missing, 0, "{line}");
    assert_eq!(ledger.failed_otherwise, 0, "{line}");
    assert!(after_cont < Duration::from_secs(20), "{line}");
    if let Some(elected) = elected {
        // A new leader was elected: the clients follow it (the idle probe notices the
        // silent socket within 20 s + its timeout) rather than wait for the pause to end.
        let resumed = resumed_reading.expect(&line);
        assert!(resumed < elected + Duration::from_secs(40), "{line}");
    }
}
