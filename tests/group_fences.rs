//! Consumer-group fences on the embedded test cluster, with each member as users run them:
//! a pipeline per "process", here a thread with an actix system of its own (its client, its
//! connections, its worker actors), which the test can freeze as `kill -STOP` would.
//!
//! - A member frozen past its session resumes without processing a record its successor
//!   already processed, and without moving a committed offset backwards.
//! - A coordination topic with two partitions is refused; a new one is replicated.
//! - A revoked partition whose application never answers is given up after the revoke
//!   timeout, and its new owner starts it.
//! - A member joining a group with a long history reads from the latest snapshot.
//!
//! (Above 400 lines on purpose: the frozen-process harness and its checks serve the first
//! test, and the other fences need the same group set-up.)

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::group::{
    coordination_topic, describe_group, Assignment, GroupConfig, GroupError, GroupMember,
};
use actix_fluvio::pipeline::{
    start_pipeline, Output, PartitionEvent, PipelineConfig, PipelineHandle, ProcessBatch, Worker,
    WorkerError,
};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::testkit::TestCluster;
use common::embedded::{client_config, cluster, cluster_with_topics};
use common::read_values;

const GROUP: &str = "fenced";
const PARTITIONS: u32 = 4;
const SESSION: Duration = Duration::from_secs(2);
const MARGIN: Duration = Duration::from_millis(500);

/// Who processed which record when: (member, partition, offset) at an instant.
type Ledger = Arc<Mutex<Vec<(Instant, &'static str, u32, i64)>>>;

/// Copies each value to the sink, tagged with its member's name (`a:rec-00012`), 20 ms
/// after it got the batch, noting in the ledger when it was handed each record.
struct Copier {
    name: &'static str,
    ledger: Ledger,
}

impl Actor for Copier {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Copier {
    type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let (name, ledger) = (self.name, self.ledger.clone());
        let now = Instant::now();
        ledger.lock().unwrap().extend(
            msg.records
                .iter()
                .map(|r| (now, name, msg.partition, r.offset)),
        );
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(msg
                .records
                .into_iter()
                .map(|r| {
                    let value = String::from_utf8_lossy(&r.value);
                    Output::value(format!("{name}:{value}"))
                })
                .collect())
        })
    }
}

fn group_config() -> GroupConfig {
    GroupConfig {
        session_timeout: SESSION,
        heartbeat: Duration::from_millis(200),
        takeover_margin: MARGIN,
        ..GroupConfig::new(GROUP, "source")
    }
}

/// A group pipeline named `name` copying "source" to "sink". (Its worker runs on an arbiter
/// the pipeline owns: freezing a process's main arbiter freezes its member, partition tasks,
/// client and sink producer; the worker's answers wait for them.)
async fn pipeline(client: &FluvioClient, name: &'static str, ledger: Ledger) -> PipelineHandle {
    let mut config = PipelineConfig::new(
        "source",
        GroupConfig {
            member_id: Some(name.into()),
            ..group_config()
        },
    );
    config.sink = Some("sink".into());
    config.commit_interval = Duration::from_millis(100);
    config.commit_every = 50;
    start_pipeline(client, config, move |_| {
        Copier {
            name,
            ledger: ledger.clone(),
        }
        .start()
        .recipient::<ProcessBatch>()
    })
    .await
    .unwrap()
}

/// A pipeline in a "process" of its own: a thread running an actix system with its own
/// client. `freeze` stops the whole thread, as `kill -STOP` stops a process.
struct Process {
    arbiter: actix_rt::ArbiterHandle,
    drain: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Process {
    fn start(cluster: &TestCluster, name: &'static str, ledger: Ledger) -> Self {
        let config = client_config(cluster);
        let (arbiter_tx, arbiter_rx) = std::sync::mpsc::channel();
        let (drain, drained) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let _ = arbiter_tx.send(actix_rt::Arbiter::current());
                let client = FluvioClient::connect(config).await.unwrap();
                let handle = pipeline(&client, name, ledger).await;
                let _ = drained.await;
                handle.drain().await.unwrap();
            });
        });
        Self {
            arbiter: arbiter_rx.recv().unwrap(),
            drain: Some(drain),
            thread: Some(thread),
        }
    }

    /// Stop every task and actor of the process for `pause`.
    fn freeze(&self, pause: Duration) {
        self.arbiter.spawn_fn(move || std::thread::sleep(pause));
    }

    /// Drain the pipeline and end the process.
    async fn stop(mut self) {
        let _ = self.drain.take().unwrap().send(());
        let thread = self.thread.take().unwrap();
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
    }
}

/// Produce `rec-{from..to}` (keyed, spread over the partitions), 25 records every 20 ms.
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
    producer.flush().await.unwrap();
}

/// The group's committed offset of each source partition.
async fn committed(client: &FluvioClient) -> BTreeMap<u32, i64> {
    client
        .admin()
        .list_consumer_offsets()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.consumer_id == GROUP && o.replica_id.topic == "source")
        .map(|o| (o.replica_id.partition, o.offset))
        .collect()
}

async fn until<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn a_frozen_member_resumes_without_processing_behind_its_successor_or_moving_commits_back() {
    let (cluster, client) = cluster_with_topics(1, &[("source", PARTITIONS), ("sink", 1)]).await;
    let ledger = Ledger::default();
    let a = Process::start(&cluster, "a", ledger.clone());
    let b = pipeline(&client, "b", ledger.clone()).await;
    const RECORDS: usize = 20_000;
    let producing = actix_rt::spawn(produce(client.clone(), 0, RECORDS));

    // Sample the committed offsets every 20 ms: none may ever go down.
    let sampler = {
        let client = client.clone();
        actix_rt::spawn(async move {
            let mut highest: BTreeMap<u32, i64> = BTreeMap::new();
            let mut backwards = Vec::new();
            loop {
                for (p, offset) in committed(&client).await {
                    let high = highest.entry(p).or_insert(offset);
                    if offset < *high {
                        backwards.push((p, *high, offset));
                    }
                    *high = (*high).max(offset);
                }
                if SAMPLING_DONE.load(std::sync::atomic::Ordering::Relaxed) {
                    return backwards;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // Both members process records of their own partitions.
    until(30, "both members processing", || {
        let ledger = ledger.clone();
        async move {
            let ledger = ledger.lock().unwrap();
            ["a", "b"]
                .iter()
                .all(|m| ledger.iter().any(|(_, who, _, _)| who == m))
        }
    })
    .await;
    until(30, "two partitions each", || async {
        describe_group(&client, GROUP).await.is_ok_and(|g| {
            g.members.len() == 2 && g.releasing.is_empty() && g.owners.len() == PARTITIONS as usize
        })
    })
    .await;

    // Freeze a well past its session: b expires it and takes its partitions over.
    let pause = SESSION + MARGIN + Duration::from_secs(3);
    a.freeze(pause);
    let resumed = Instant::now() + pause;
    tokio::time::sleep(pause + Duration::from_secs(4)).await;
    producing.await.unwrap();
    // Every partition committed to its end, whoever owns it now.
    let mut ends = BTreeMap::new();
    for p in 0..PARTITIONS {
        let (_, end) = client.partition_offsets("source", p).await.unwrap();
        ends.insert(p, end - 1);
    }
    until(60, "every partition committed to its end", || async {
        committed(&client).await == ends
    })
    .await;
    SAMPLING_DONE.store(true, std::sync::atomic::Ordering::Relaxed);
    let backwards = sampler.await.unwrap();
    a.stop().await;
    b.drain().await.unwrap();

    assert!(
        backwards.is_empty(),
        "committed offsets moved backwards (partition, highest, then): {backwards:?}"
    );
    // A record b was handed was never handed to a afterwards, and no output of a landed in
    // the sink after b's output of the same record: the stale member did nothing once it
    // resumed past its lease (a batch its worker was in the middle of when it froze
    // finishes, but its outputs are not sent).
    let after_resume = stale_hand_offs(&ledger.lock().unwrap(), resumed);
    let sink = read_values(&client, "sink", 1).await;
    let mut first_by_b: BTreeMap<&str, usize> = BTreeMap::new();
    for (at, value) in sink.iter().enumerate() {
        if let Some(record) = value.strip_prefix("b:") {
            first_by_b.entry(record).or_insert(at);
        }
    }
    let late: Vec<&String> = sink
        .iter()
        .enumerate()
        .filter(|(at, v)| {
            v.strip_prefix("a:")
                .and_then(|r| first_by_b.get(r))
                .is_some_and(|b| b < at)
        })
        .map(|(_, v)| v)
        .collect();
    assert!(
        late.is_empty(),
        "{} outputs of a landed after b's of the same record (first: {:?})",
        late.len(),
        late.first()
    );
    let copied: BTreeSet<&str> = sink.iter().map(|v| &v[2..]).collect();
    assert_eq!(copied.len(), RECORDS, "every record reached the sink");
    let duplicates = sink.len() - RECORDS;
    println!("{RECORDS} records, {duplicates} copied twice, a handed {after_resume} records after it resumed");
}

/// Fails when `a` was handed a record after `b` had been (printing that partition's hand-off
/// runs); the number of records handed to `a` since `resumed`.
fn stale_hand_offs(ledger: &[(Instant, &'static str, u32, i64)], resumed: Instant) -> usize {
    let mut by_b: BTreeMap<(u32, i64), Instant> = BTreeMap::new();
    for (at, _, p, o) in ledger.iter().filter(|e| e.1 == "b") {
        by_b.entry((*p, *o)).or_insert(*at);
    }
    let stale: Vec<_> = ledger
        .iter()
        .filter(|(at, who, p, o)| *who == "a" && by_b.get(&(*p, *o)).is_some_and(|b| b < at))
        .collect();
    if let Some(first) = stale.first() {
        let mut runs: Vec<(&str, i64, i64, Instant)> = Vec::new();
        let mut entries: Vec<_> = ledger.iter().filter(|e| e.2 == first.2).collect();
        entries.sort_by_key(|e| e.0);
        for (at, who, _, o) in entries {
            match runs.last_mut() {
                Some(run) if run.0 == *who && run.2 + 1 == *o => run.2 = *o,
                _ => runs.push((who, *o, *o, *at)),
            }
        }
        for run in runs.iter().take(40) {
            eprintln!(
                "p{}: {} {}..={} at {:?}",
                first.2, run.0, run.1, run.2, run.3
            );
        }
    }
    assert!(
        stale.is_empty(),
        "a was handed {} records after b had (first: {:?})",
        stale.len(),
        stale.first()
    );
    ledger
        .iter()
        .filter(|(at, who, _, _)| *who == "a" && *at >= resumed)
        .count()
}

/// Tells the sampler of committed offsets to stop.
static SAMPLING_DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[actix_rt::test]
async fn a_coordination_topic_with_two_partitions_is_refused() {
    let (_cluster, client) = cluster_with_topics(1, &[("source", PARTITIONS)]).await;
    client
        .admin()
        .create_topic(&coordination_topic(GROUP), TopicConfig::new(2))
        .await
        .unwrap();
    match GroupMember::join(&client, group_config()).await {
        Err(GroupError::CoordinationTopic { topic, partitions }) => {
            assert_eq!((topic.as_str(), partitions), ("consumer-group-fenced", 2));
        }
        other => panic!("joined a group on a two-partition log: {other:?}"),
    }
}

#[actix_rt::test]
async fn a_new_coordination_topic_is_replicated_on_up_to_three_spus() {
    for (spus, replicas) in [(1, 1), (4, 3)] {
        let cluster = cluster(spus).await;
        let client = cluster.client().await.unwrap();
        client
            .admin()
            .create_topic("source", TopicConfig::new(PARTITIONS))
            .await
            .unwrap();
        let member = GroupMember::join(&client, group_config()).await.unwrap();
        let partitions = client
            .admin()
            .list_partitions(Some(&coordination_topic(GROUP)))
            .await
            .unwrap();
        assert_eq!(partitions.len(), 1, "{partitions:?}");
        assert_eq!(
            partitions[0].replicas.len(),
            replicas,
            "{spus} SPUs: {partitions:?}"
        );
        member.leave().await.unwrap();
    }
}

#[actix_rt::test]
async fn a_revoked_partition_never_released_is_given_up_after_the_revoke_timeout() {
    let (_cluster, client) = cluster_with_topics(1, &[("source", PARTITIONS)]).await;
    let revoke_timeout = Duration::from_secs(3);
    let config = |name: &str| GroupConfig {
        member_id: Some(name.into()),
        revoke_timeout,
        ..group_config()
    };
    let mut a = GroupMember::join(&client, config("a")).await.unwrap();
    let Some(Ok(Assignment::Assigned { partitions, .. })) = a.next().await else {
        panic!("a got no partitions");
    };
    assert_eq!(partitions.len(), PARTITIONS as usize);
    let mut b = GroupMember::join(&client, config("b")).await.unwrap();
    // a is asked to hand two partitions over and hangs on to them (a hung worker).
    let Some(Ok(Assignment::Revoked { release, .. })) = a.next().await else {
        panic!("a was not asked to release");
    };
    let revoked = Instant::now();
    let hung = release;
    // b gets them once a has given its lease up: after the revoke timeout, and a's
    // expiry by b (session timeout and margin) at the latest.
    match tokio::time::timeout(Duration::from_secs(20), b.next()).await {
        Ok(Some(Ok(Assignment::Assigned { .. }))) => {}
        other => panic!("b never got a partition: {other:?}"),
    }
    let waited = revoked.elapsed();
    assert!(
        waited >= revoke_timeout - Duration::from_millis(300),
        "b started them before a gave them up: {waited:?}"
    );
    assert!(
        waited < revoke_timeout + SESSION + MARGIN + Duration::from_secs(3),
        "{waited:?}"
    );
    // a lost everything with its lease.
    let mut lost = false;
    while let Ok(Some(Ok(event))) = tokio::time::timeout(Duration::from_millis(500), a.next()).await
    {
        // (Its fence turned invalid then; it may hold a new lease by now, having rejoined.)
        lost |= matches!(event, Assignment::Lost { .. });
    }
    assert!(lost, "a was not told it lost its partitions");
    drop(hung);
}

#[actix_rt::test]
async fn a_member_joining_a_long_history_reads_from_the_latest_snapshot() {
    let (_cluster, client) = cluster_with_topics(1, &[("source", PARTITIONS)]).await;
    let first = GroupMember::join(
        &client,
        GroupConfig {
            member_id: Some("first".into()),
            ..group_config()
        },
    )
    .await
    .unwrap();
    // 200,000 records of history: heartbeats of members long gone.
    let log = coordination_topic(GROUP);
    let producer = client.producer(ProducerOptions::default());
    for chunk in 0..200 {
        let records = (0..1000).map(|i| {
            (
                None::<String>,
                format!("v1 heartbeat ghost-{} 1 {}", i % 10, chunk * 1000 + i),
            )
        });
        producer.send_batch(&log, records).await.unwrap();
    }
    producer.flush().await.unwrap();
    let (_, end) = client.partition_offsets(&log, 0).await.unwrap();
    // The first member writes snapshots as it reads them and stores the latest's point.
    until(60, "a snapshot point stored near the end", || async {
        let stored = client
            .admin()
            .list_consumer_offsets()
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.consumer_id == "fenced-snapshot" && o.replica_id.topic == log)
            .map(|o| o.offset);
        stored.is_some_and(|s| s > end - 2_000)
    })
    .await;
    let started = Instant::now();
    let mut second = GroupMember::join(
        &client,
        GroupConfig {
            member_id: Some("second".into()),
            ..group_config()
        },
    )
    .await
    .unwrap();
    // The first member answers its revocations (dropping a release answers it).
    let mut first = first;
    actix_rt::spawn(async move { while first.next().await.is_some() {} });
    loop {
        match tokio::time::timeout(Duration::from_secs(10), second.next()).await {
            Ok(Some(Ok(Assignment::Assigned { .. }))) => break,
            Ok(Some(Ok(_))) => {}
            other => panic!("the second member got no partitions: {other:?}"),
        }
    }
    let joined = started.elapsed();
    println!("joined a group with {end} log records in {joined:?}");
    // Reading the whole history here takes seconds; the snapshot point leaves ~1,000.
    assert!(joined < Duration::from_secs(2), "{joined:?}");
}

/// What a worker heard, in the order it handled it: a partition event, or a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    Event(PartitionEvent),
    Record(u32, i64),
}

type Journal = Arc<Mutex<Vec<(&'static str, Heard)>>>;

/// Notes every partition event and record it handles in the journal.
struct Journaled {
    name: &'static str,
    journal: Journal,
}

impl Actor for Journaled {
    type Context = Context<Self>;
}

impl Handler<ProcessBatch> for Journaled {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
        let mut journal = self.journal.lock().unwrap();
        for r in &msg.records {
            journal.push((self.name, Heard::Record(msg.partition, r.offset)));
        }
        Ok(Vec::new())
    }
}

impl Handler<PartitionEvent> for Journaled {
    type Result = ();

    fn handle(&mut self, event: PartitionEvent, _: &mut Context<Self>) {
        self.journal
            .lock()
            .unwrap()
            .push((self.name, Heard::Event(event)));
    }
}

async fn journaled(client: &FluvioClient, name: &'static str, journal: Journal) -> PipelineHandle {
    let mut config = PipelineConfig::new(
        "source",
        GroupConfig {
            member_id: Some(name.into()),
            ..group_config()
        },
    );
    config.commit_interval = Duration::from_millis(100);
    start_pipeline(client, config, move |_| {
        let actor = Journaled {
            name,
            journal: journal.clone(),
        }
        .start();
        Worker::from(actor.clone().recipient::<ProcessBatch>())
            .with_partition_events(actor.recipient())
    })
    .await
    .unwrap()
}

#[actix_rt::test]
async fn workers_hear_their_partitions_assigned_revoked_and_lost_around_their_records() {
    let (_cluster, client) = cluster_with_topics(1, &[("source", PARTITIONS)]).await;
    let journal = Journal::default();
    let producing = actix_rt::spawn(produce(client.clone(), 0, 4_000));
    let a = journaled(&client, "a", journal.clone()).await;
    let heard = |member: &'static str, event: fn(u32) -> PartitionEvent| {
        let journal = journal.clone();
        move || {
            let journal = journal.clone();
            async move {
                let journal = journal.lock().unwrap();
                (0..PARTITIONS).any(|p| journal.contains(&(member, Heard::Event(event(p)))))
            }
        }
    };
    until(
        20,
        "a assigned",
        heard("a", |partition| PartitionEvent::Assigned { partition }),
    )
    .await;
    let b = journaled(&client, "b", journal.clone()).await;
    until(
        20,
        "a revoked",
        heard("a", |partition| PartitionEvent::Revoked { partition }),
    )
    .await;
    until(
        20,
        "b assigned",
        heard("b", |partition| PartitionEvent::Assigned { partition }),
    )
    .await;
    // a cut off from the group: it loses its partitions with its lease.
    a.cut_off_group(SESSION * 2);
    until(
        20,
        "a lost",
        heard("a", |partition| PartitionEvent::Lost { partition }),
    )
    .await;
    producing.await.unwrap();
    a.drain().await.unwrap();
    b.drain().await.unwrap();

    // Per member and partition: records only between an Assigned and the Revoked or Lost
    // that ends it, and events alternating.
    let journal = journal.lock().unwrap();
    for member in ["a", "b"] {
        for p in 0..PARTITIONS {
            let mut open = false;
            for (_, heard) in journal.iter().filter(|(m, _)| *m == member) {
                match *heard {
                    Heard::Event(PartitionEvent::Assigned { partition }) if partition == p => {
                        assert!(!open, "{member}: partition {p} assigned twice");
                        open = true;
                    }
                    Heard::Event(
                        PartitionEvent::Revoked { partition } | PartitionEvent::Lost { partition },
                    ) if partition == p => {
                        assert!(open, "{member}: partition {p} stopped before it started");
                        open = false;
                    }
                    Heard::Record(partition, offset) if partition == p => {
                        assert!(open, "{member}: record {p}@{offset} outside its assignment");
                    }
                    _ => {}
                }
            }
        }
    }
}
