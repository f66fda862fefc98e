//! Consumer groups through faults on a real Fluvio cluster (issue 20), with the `worker`
//! example as users run it: three worker processes in group `copiers` copy a 6-partition
//! source to a sink; each output is keyed with the worker that wrote it (the example's
//! `tag`). The source's numbered records are written by the official `fluvio` CLI: a
//! backlog (`fluvio produce -f`), then 10,000 records a second while the workers run (one
//! `fluvio produce` reading them from its stdin as they come due).
//!
//! - `a_paused_member_writes_and_commits_nothing_after_its_expiry`: one worker SIGSTOPped
//!   for 25 s then resumed. No committed offset ever goes back (sampled every 100 ms), no
//!   output of the paused worker is written between its expiry and its rejoin, every record
//!   reaches the sink, and duplicates stay within what it processed after its last commit
//!   and under 2 % of the records. (On fc9ffab, before the fences, the resumed worker
//!   commits its old position: two offsets went back by some 41,000 records.)
//! - `a_member_joins_a_ten_million_record_log_as_fast_as_a_short_one`: one worker runs
//!   while our producer appends 10,000,000 heartbeats of departed members to the
//!   coordination log (never more than 200,000 ahead of the worker's snapshot point, so it
//!   keeps its lease); a member started then writes its first output within 2 s, and within
//!   1 s of one that joined the same group's short log.
//! - `the_group_settles_after_its_log_leader_dies_during_a_join` (down 4 s) and
//!   `..._is_down_past_the_session` (15 s): two workers run, a third starts, and the
//!   coordination log's leader SPU is SIGKILLed 100 ms later (about when the join is
//!   appended), then restarted. The group settles on the three (every partition owned,
//!   nothing being released) within 2 × the session timeout of the SPU's return, and every
//!   record reaches the sink. Fluvio 0.18 advances a partition's high watermark only with
//!   every replica, so the read-committed log stalls while the SPU is away (and until it
//!   has caught up): the leases in the figures. The live records come from our producer
//!   here (5,000 a second, at least once), which retries the dead SPU's partitions while
//!   the others flow.
//! - `a_rolling_restart_copies_every_record_within_the_in_flight_windows`: each worker in
//!   turn SIGTERMed (it drains, commits and leaves) and replaced while records flow: every
//!   record in the sink, duplicates within partitions × (max_in_flight + commit_every).
//!
//! (Above 400 lines on purpose: the scenarios of issue 20 are one suite, sharing the
//! cluster setup, the source-to-sink comparison and the group's checks; the processes, the
//! CLI and the samplers are in `tests/common/group_workers.rs` and `group_watch.rs`.)
//!
//! Each test starts its own cluster (SC and 3 SPUs on free loopback ports) from
//! `FLUVIO_RUN` (the CLI is the `fluvio` beside it, or `FLUVIO_CLI`), and is ignored by a
//! plain `cargo test`: run them with `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test
//! --all-features --test real_cluster_group_faults -- --ignored --nocapture --test-threads=1`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::Offset;
use actix_fluvio::group::{coordination_topic, describe_group, GroupDescription, GroupRecord};
use actix_fluvio::producer::ProducerOptions;

use common::group_watch::{
    coordination_log, decreases, read_all, read_outputs, records_in, report, sample_commits,
    until_all_committed, watch_group, Output, Stored,
};
use common::group_workers::{
    now_ms, value, worker_example, Copying, Flow, FluvioCli, Worker, GROUP,
};
use common::local_cluster::{fluvio_run, LocalCluster};

const SOURCE: &str = "numbers";
const SINK: &str = "numbers-copied";
const PARTITIONS: u32 = 6;
const SINK_PARTITIONS: u32 = 3;
/// Written by the CLI before the workers start.
const BACKLOG: usize = 20_000;
/// Records a second while the workers run.
const RATE: usize = 10_000;
/// The group's session timeout (`GroupConfig`'s default, the worker's).
const SESSION: Duration = Duration::from_secs(10);
/// The worker's commit settings (config/worker.toml's, the pipeline's defaults).
const COMMIT_EVERY: usize = 1_000;
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

fn copying() -> Copying {
    Copying {
        source: SOURCE.into(),
        sink: SINK.into(),
        commit_every: COMMIT_EVERY,
        commit_interval: COMMIT_INTERVAL,
    }
}

/// A cluster with the source and sink topics, the CLI, and the worker example.
struct Setup {
    cluster: LocalCluster,
    client: FluvioClient,
    cli: FluvioCli,
    example: std::path::PathBuf,
}

async fn setup() -> Setup {
    let bin = fluvio_run();
    let example = worker_example();
    let cluster = LocalCluster::start(bin.clone(), 3).await;
    let client = cluster.client().await;
    let admin = client.admin();
    admin
        .create_topic(SOURCE, TopicConfig::new(PARTITIONS))
        .await
        .unwrap();
    admin
        .create_topic(SINK, TopicConfig::new(SINK_PARTITIONS))
        .await
        .unwrap();
    let cli = FluvioCli::new(&cluster, &bin);
    Setup {
        cluster,
        client,
        cli,
        example,
    }
}

impl Setup {
    /// The CLI writes records `range` (blocking: off the runtime's thread).
    async fn cli_writes(&self, range: std::ops::Range<usize>) {
        let n = range.len();
        let took = tokio::task::block_in_place(|| self.cli.produce(SOURCE, range));
        report(
            &self.cluster,
            &format!(
                "the fluvio CLI wrote {n} records in {took:?} ({:.0} records/s)",
                n as f64 / took.as_secs_f64()
            ),
        );
    }

    fn start(&self, name: &str) -> Worker {
        Worker::start(&self.example, &self.cluster, name, &copying())
    }
}

/// The group's view once every partition is owned by `live` workers (each owning some),
/// none is being released and they are its only members; within `timeout`.
async fn settled_on(
    client: &FluvioClient,
    live: &[&Worker],
    timeout: Duration,
) -> GroupDescription {
    let started = Instant::now();
    loop {
        if let Ok(g) = describe_group(client, GROUP).await {
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
            started.elapsed() < timeout,
            "the group did not settle on {:?} within {timeout:?}: {:?}",
            live.iter().map(|w| &w.name).collect::<Vec<_>>(),
            describe_group(client, GROUP).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Source records and sink outputs compared: copies of each source value.
struct Copies {
    /// Source records (their high watermarks' sum).
    records: usize,
    /// Source records with a value stored before (a producer's retry).
    source_duplicates: usize,
    /// Sink outputs.
    outputs: usize,
    /// Source values with no copy in the sink (a few).
    missing: Vec<String>,
    /// Sink values that are no source record's (a few).
    strangers: Vec<String>,
    /// Sink copies beyond the source's, summed.
    duplicates: usize,
    /// Those of values with a copy written at or after the `since` given to [`compare`]
    /// (the others were all written before it).
    duplicates_since: usize,
}

/// Every source record read (their count checked against the high watermarks) and the sink
/// compared with them; duplicates with a copy written at or after `since` (ms since the
/// epoch) are also counted apart.
async fn compare(
    client: &FluvioClient,
    source: &[Stored],
    outputs: &[Output],
    since: i64,
) -> Copies {
    let records = records_in(client, SOURCE, PARTITIONS).await as usize;
    assert_eq!(
        source.len(),
        records,
        "source records read vs high watermarks"
    );
    // Per value: copies in the source, copies in the sink, the latest sink copy's timestamp.
    let mut copies: HashMap<String, (usize, usize, i64)> = HashMap::with_capacity(records);
    for r in source {
        let value = String::from_utf8_lossy(&r.value).to_uppercase();
        copies.entry(value).or_insert((0, 0, i64::MIN)).0 += 1;
    }
    let mut strangers = Vec::new();
    for o in outputs {
        match copies.get_mut(&o.value) {
            Some((_, n, latest)) => {
                *n += 1;
                *latest = (*latest).max(o.timestamp);
            }
            None => strangers.push(o.value.clone()),
        }
    }
    let mut missing: Vec<String> = copies
        .iter()
        .filter(|(_, (_, n, _))| *n == 0)
        .map(|(v, _)| v.clone())
        .collect();
    missing.sort();
    missing.truncate(5);
    strangers.truncate(5);
    let extra = |(s, n, _): &(usize, usize, i64)| n.saturating_sub(*s);
    Copies {
        records,
        source_duplicates: records - copies.len(),
        outputs: outputs.len(),
        missing,
        strangers,
        duplicates: copies.values().map(extra).sum(),
        duplicates_since: copies
            .values()
            .filter(|(_, _, latest)| *latest >= since)
            .map(extra)
            .sum(),
    }
}

/// The first sample at or after `from` for which `check` holds: its time.
fn first_when<T>(samples: &[(i64, T)], from: i64, check: impl Fn(&T) -> bool) -> Option<i64> {
    samples
        .iter()
        .find(|(at, s)| *at >= from && check(s))
        .map(|(at, _)| *at)
}

/// Wait until each of `partitions` has at least `least` records past the group's committed
/// offset (within 10 s): how many each has.
async fn until_uncommitted(
    client: &FluvioClient,
    partitions: &[u32],
    least: i64,
) -> BTreeMap<u32, i64> {
    let started = Instant::now();
    loop {
        let offsets = client.admin().list_consumer_offsets().await.unwrap();
        let mut behind = BTreeMap::new();
        for &p in partitions {
            let (_, end) = client.partition_offsets(SOURCE, p).await.unwrap();
            let committed = offsets
                .iter()
                .find(|o| {
                    o.consumer_id == GROUP
                        && o.replica_id.topic == SOURCE
                        && o.replica_id.partition == p
                })
                .map_or(-1, |o| o.offset);
            behind.insert(p, end - 1 - committed);
        }
        if behind.values().all(|b| *b >= least) {
            return behind;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "partitions {partitions:?} never {least} records behind their commits: {behind:?}"
        );
    }
}

/// The longest time between two samples.
fn longest_gap<T>(samples: &[(i64, T)]) -> Duration {
    let gap = samples.windows(2).map(|w| w[1].0 - w[0].0).max();
    Duration::from_millis(gap.unwrap_or(i64::MAX).max(0) as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_group_faults -- --ignored --nocapture --test-threads=1"]
async fn a_paused_member_writes_and_commits_nothing_after_its_expiry() {
    const PAUSE: Duration = Duration::from_secs(25);
    let s = setup().await;
    let (cluster, client) = (&s.cluster, &s.client);
    s.cli_writes(0..BACKLOG).await;
    let commits = sample_commits(client, SOURCE);
    let views = watch_group(client);
    let mut workers: Vec<Worker> = ["w1", "w2", "w3"].iter().map(|n| s.start(n)).collect();
    let live: Vec<&Worker> = workers.iter().collect();
    settled_on(client, &live, Duration::from_secs(60)).await;
    let flow = Flow::cli(&s.cli, SOURCE, BACKLOG, RATE);
    tokio::time::sleep(Duration::from_secs(5)).await;

    let before = describe_group(client, GROUP).await.unwrap();
    let paused = &workers[0];
    let held = paused.owns(&before);
    assert!(!held.is_empty(), "{} owns nothing: {before:?}", paused.name);
    let incarnation = before
        .members
        .iter()
        .find(|m| paused.is(&m.id))
        .cloned()
        .expect("the paused worker is a member");
    // Paused with records of its own not committed yet (as nearly always with records
    // flowing), so that it has something stale to commit when it resumes.
    let uncommitted = until_uncommitted(client, &held, 100).await;
    let paused_at = now_ms();
    paused.signal("STOP");
    tokio::time::sleep(PAUSE).await;
    paused.signal("CONT");
    let resumed_at = now_ms();
    report(
        cluster,
        &format!(
            "{} ({incarnation}) paused for {PAUSE:?} holding {held:?} with {uncommitted:?} \
             records not committed, {} records written",
            paused.name,
            flow.written.load(std::sync::atomic::Ordering::Relaxed)
        ),
    );
    tokio::time::sleep(Duration::from_secs(15)).await;
    let end = flow.stop().await;
    until_all_committed(client, SOURCE, PARTITIONS, Duration::from_secs(120)).await;
    let live: Vec<&Worker> = workers.iter().collect();
    settled_on(client, &live, 2 * SESSION).await;
    for w in workers.drain(..) {
        w.stop(&cluster.dir).await;
    }
    let commits = commits.stop().await;
    let views = views.stop().await;

    let source = read_all(client, SOURCE, PARTITIONS).await;
    let outputs = read_outputs(client, SINK, SINK_PARTITIONS).await;
    let log = coordination_log(client, Offset::Beginning).await;
    let copies = compare(client, &source, &outputs, paused_at).await;
    let name = incarnation.id.split('-').next().unwrap().to_owned();
    let is_paused = |id: &str| id.starts_with(&format!("{name}-"));

    // When the others expired it (their log's record, and our poll of the view), and when it
    // joined again (a new incarnation's join record).
    let expired_logged = log.iter().find_map(|(ts, r)| match r {
        GroupRecord::Expire { member, .. } if *member == incarnation => Some(*ts),
        _ => None,
    });
    let expired_seen = first_when(&views, paused_at, |g| {
        !g.members.iter().any(|m| is_paused(&m.id))
    })
    .expect("the paused member never left the group's view");
    let rejoined = log.iter().find_map(|(ts, r)| match r {
        GroupRecord::Join { member } if is_paused(&member.id) && *ts > paused_at => Some(*ts),
        _ => None,
    });
    // Its outputs written while it was no member.
    let stale: Vec<&Output> = outputs
        .iter()
        .filter(|o| o.tag == name && o.timestamp >= expired_seen)
        .filter(|o| rejoined.is_none_or(|j| o.timestamp < j))
        .collect();

    // What it had committed when it was expired, and what it copied past that.
    let commit_samples: Vec<(i64, BTreeMap<u32, i64>)> =
        commits.iter().map(|c| (c.at, c.offsets.clone())).collect();
    let cut = expired_logged.unwrap_or(expired_seen);
    let last_commit: BTreeMap<u32, i64> = commit_samples
        .iter()
        .rev()
        .find(|(at, _)| *at < cut)
        .map(|(_, o)| {
            held.iter()
                .map(|p| (*p, o.get(p).copied().unwrap_or(-1)))
                .collect()
        })
        .expect("a commit sample before the expiry");
    let taken_over = first_when(&commit_samples, cut, |o| {
        last_commit
            .iter()
            .all(|(p, c)| o.get(p).is_some_and(|now| now > c))
    });
    let by_paused: std::collections::HashSet<&str> = outputs
        .iter()
        .filter(|o| o.tag == name && rejoined.is_none_or(|j| o.timestamp < j))
        .map(|o| o.value.as_str())
        .collect();
    let after_commit = source
        .iter()
        .filter(|r| last_commit.get(&r.partition).is_some_and(|c| r.offset > *c))
        .filter(|r| {
            let v = String::from_utf8_lossy(&r.value).to_uppercase();
            by_paused.contains(v.as_str())
        })
        .count();
    let went_back = decreases(&commits);
    let gap = longest_gap(&commit_samples);

    let since = |t: i64| Duration::from_millis((t - paused_at).max(0) as u64);
    report(
        cluster,
        &format!(
            "paused member: {} records ({} written live, up to {}), {} outputs, {} duplicates \
             ({:.2} %), {} of them of records copied after the pause (the others: leases lost \
             {:?}); it processed {after_commit} records after its last commit {last_commit:?}; \
             pause {PAUSE:?}; expiry logged {:?} and seen {:?} after the pause; partitions \
             committed again {:?} after it; rejoined {:?} after the resume; {} outputs written \
             while expired; {} committed offsets went back{} ({} samples, at most {gap:?} apart)",
            copies.records,
            end - BACKLOG,
            value(end - 1),
            copies.outputs,
            copies.duplicates,
            100.0 * copies.duplicates as f64 / copies.records as f64,
            copies.duplicates_since,
            leases_lost(cluster, &["w1", "w2", "w3"]),
            expired_logged.map(since),
            since(expired_seen),
            taken_over.map(since),
            rejoined.map(|j| Duration::from_millis((j - resumed_at).max(0) as u64)),
            stale.len(),
            went_back.len(),
            went_back
                .first()
                .map(|d| format!(
                    " (first: partition {} from {} to {}, {:?} after the pause; samples with an \
                     offset back over {:?})",
                    d.partition,
                    d.from,
                    d.to,
                    since(d.at),
                    Duration::from_millis((went_back[went_back.len() - 1].at - d.at) as u64),
                ))
                .unwrap_or_default(),
            commits.len(),
        ),
    );
    assert!(
        gap < Duration::from_secs(1),
        "the committed offsets went unsampled for {gap:?}"
    );
    assert!(
        went_back.is_empty(),
        "committed offsets went back: {went_back:?}"
    );
    assert!(
        stale.is_empty(),
        "{} outputs of {name} written between its expiry and its rejoin, e.g. {:?}",
        stale.len(),
        stale.first()
    );
    assert!(
        copies.missing.is_empty(),
        "records lost, e.g. {:?}",
        copies.missing
    );
    assert!(
        copies.strangers.is_empty(),
        "outputs of no source record: {:?}",
        copies.strangers
    );
    // Duplicates whose copies were all written before the pause are not its doing (a
    // member whose first join was read back as its lease ended, on a new coordination
    // topic whose followers were not in sync yet, started its partitions for an instant).
    assert!(
        copies.duplicates_since <= after_commit,
        "{} duplicates of records copied after the pause, more than the {after_commit} \
         records the paused member processed after its last commit",
        copies.duplicates_since
    );
    assert!(
        copies.duplicates * 50 < copies.records,
        "{} duplicates of {} records: 2 % or more",
        copies.duplicates,
        copies.records
    );
}

/// The offset of the group's latest snapshot point on its coordination log (consumer
/// `GROUP-snapshot`), if one is stored.
async fn snapshot_point(client: &FluvioClient) -> Option<i64> {
    let consumer = format!("{GROUP}-snapshot");
    let log = coordination_topic(GROUP);
    client
        .admin()
        .list_consumer_offsets()
        .await
        .ok()?
        .into_iter()
        .find(|o| o.consumer_id == consumer && o.replica_id.topic == log)
        .map(|o| o.offset)
}

/// The end (high watermark) of the coordination log.
async fn log_end(client: &FluvioClient) -> i64 {
    client
        .partition_offsets(&coordination_topic(GROUP), 0)
        .await
        .unwrap()
        .1
}

/// Append `records` heartbeats of departed members (`v1 heartbeat ghost-N 1 SEQ`) to the
/// coordination log with our producer, never more than `lead` records past the group's
/// snapshot point (its members read them as they come); how long it took.
async fn write_history(client: &FluvioClient, records: usize, lead: i64) -> Duration {
    const BATCH: usize = 100_000;
    let producer = client.producer(ProducerOptions::builder().batch_size(512 * 1024).build());
    let log = coordination_topic(GROUP);
    let started = Instant::now();
    let mut written = 0;
    while written < records {
        let point = snapshot_point(client).await.unwrap_or(-1);
        if log_end(client).await - point > lead {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let n = BATCH.min(records - written);
        let ghosts = (written..written + n).map(|i| {
            (
                None::<Vec<u8>>,
                format!("v1 heartbeat ghost-{} 1 {}", i % 100, i / 100 + 1),
            )
        });
        producer.send_batch(&log, ghosts).await.unwrap();
        written += n;
        if written % 1_000_000 == 0 {
            println!(
                "history: {written} written after {:?}; log end {}, snapshot point {point}",
                started.elapsed(),
                log_end(client).await
            );
        }
    }
    started.elapsed()
}

/// When `worker`'s first output was written (its producer's timestamp), after `started`.
fn first_output(outputs: &[Output], worker: &str, started: i64) -> Option<Duration> {
    outputs
        .iter()
        .filter(|o| o.tag == worker)
        .map(|o| o.timestamp)
        .min()
        .map(|t| Duration::from_millis((t - started).max(0) as u64))
}

/// When `worker` joined (the timestamp of its join record in `log`), after `started`.
fn joined(log: &[(i64, GroupRecord)], worker: &str, started: i64) -> Option<Duration> {
    log.iter().find_map(|(ts, r)| match r {
        GroupRecord::Join { member } if member.id.starts_with(&format!("{worker}-")) => {
            Some(Duration::from_millis((ts - started).max(0) as u64))
        }
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_group_faults -- --ignored --nocapture --test-threads=1"]
async fn a_member_joins_a_ten_million_record_log_as_fast_as_a_short_one() {
    const HISTORY: usize = 10_000_000;
    /// Records a second while the group runs (the history's writer and reader need the rest).
    const FLOW: usize = 2_000;
    let s = setup().await;
    let (cluster, client) = (&s.cluster, &s.client);
    s.cli_writes(0..BACKLOG).await;
    let w1 = s.start("w1");
    settled_on(client, &[&w1], Duration::from_secs(60)).await;
    let flow = Flow::cli(&s.cli, SOURCE, BACKLOG, FLOW);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // A member joins the group's short log, and leaves.
    let short = log_end(client).await;
    let a2 = s.start("a2");
    let a2_started = now_ms();
    settled_on(client, &[&w1, &a2], 2 * SESSION).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    a2.stop(&cluster.dir).await;
    settled_on(client, &[&w1], 2 * SESSION).await;
    let short_log = coordination_log(client, Offset::Absolute(short)).await;

    // Ten million records of history, read by w1 as they come.
    let lost_before = leases_lost(cluster, &["w1"])["w1"];
    let wrote = write_history(client, HISTORY, 200_000).await;
    let written_at = Instant::now();
    let long = log_end(client).await;
    loop {
        let point = snapshot_point(client).await.unwrap_or(-1);
        if point >= long - 3_000 {
            break;
        }
        assert!(
            written_at.elapsed() < Duration::from_secs(120),
            "w1 did not read the history within 120 s: snapshot point {point}, log end {long}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report(
        cluster,
        &format!(
            "long log: {HISTORY} records written in {wrote:?} ({:.0} records/s), read by w1 {:?} \
             later; log end {long}",
            HISTORY as f64 / wrote.as_secs_f64(),
            written_at.elapsed()
        ),
    );

    let lost_during = leases_lost(cluster, &["w1"])["w1"];

    // A member joins the long log.
    let long = log_end(client).await;
    let point = snapshot_point(client).await;
    let b2 = s.start("b2");
    let b2_started = now_ms();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let long_log = coordination_log(client, Offset::Absolute(long)).await;
    let end = flow.stop().await;
    until_all_committed(client, SOURCE, PARTITIONS, Duration::from_secs(120)).await;
    w1.stop(&cluster.dir).await;
    b2.stop(&cluster.dir).await;

    let source = read_all(client, SOURCE, PARTITIONS).await;
    let outputs = read_outputs(client, SINK, SINK_PARTITIONS).await;
    let copies = compare(client, &source, &outputs, i64::MIN).await;
    let on_short = first_output(&outputs, "a2", a2_started);
    let on_long = first_output(&outputs, "b2", b2_started);
    let lost_at_end = leases_lost(cluster, &["w1"])["w1"];
    report(
        cluster,
        &format!(
            "joining: on the short log ({short} records) joined {:?} and first output {on_short:?} \
             after start; on the long log ({long} records, snapshot point {point:?}) joined {:?} \
             and first output {on_long:?} after start; w1 lost its lease {lost_before} times before \
             the history, {} while it was written and read, {} after; \
             {} records (up to {}), {} duplicates",
            joined(&short_log, "a2", a2_started),
            joined(&long_log, "b2", b2_started),
            lost_during - lost_before,
            lost_at_end - lost_during,
            copies.records,
            value(end - 1),
            copies.duplicates
        ),
    );
    assert!(
        copies.missing.is_empty(),
        "records lost, e.g. {:?}",
        copies.missing
    );
    assert!(
        copies.strangers.is_empty(),
        "outputs of no source record: {:?}",
        copies.strangers
    );
    let on_short = on_short.expect("a2 never wrote an output");
    let on_long = on_long.expect("b2 never wrote an output");
    assert!(
        on_long < Duration::from_secs(2),
        "first output {on_long:?} after starting on the long log (on the short one: {on_short:?})"
    );
    assert!(
        on_long < on_short + Duration::from_secs(1),
        "first output {on_long:?} after starting on the long log, {on_short:?} on the short one"
    );
}

/// The leader SPU of the coordination log, once it has one.
async fn log_leader(client: &FluvioClient) -> Option<i32> {
    let log = coordination_topic(GROUP);
    let partitions = client.admin().list_partitions(Some(&log)).await.ok()?;
    partitions.first().map(|p| p.leader)
}

/// When the coordination log's high watermark next rises: members append a heartbeat every
/// second, so it rises within one once the log's replicas are in sync again. A Fluvio 0.18 SPU
/// holds the high watermark until every replica has a record, and a follower that reached its
/// new leader before that SPU took the leadership is not served until its periodic re-sync
/// (`LEADER_RECONCILIATION_INTERVAL_SEC`, 60 s, `fluvio-spu`
/// `replication/follower/controller.rs`): no member can read the group's records meanwhile.
fn log_moving_again(client: &FluvioClient) -> tokio::task::JoinHandle<Instant> {
    let client = client.clone();
    tokio::spawn(async move {
        let log = coordination_topic(GROUP);
        let mut first = None;
        loop {
            if let Ok((_, end)) = client.partition_offsets(&log, 0).await {
                match first {
                    None => first = Some(end),
                    Some(first) if end > first => return Instant::now(),
                    Some(_) => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// How often "lease lost" is in each worker's log.
fn leases_lost(cluster: &LocalCluster, workers: &[&str]) -> BTreeMap<String, usize> {
    workers
        .iter()
        .map(|w| {
            let log = std::fs::read_to_string(cluster.dir.join(format!("{w}.log")));
            (
                w.to_string(),
                log.unwrap_or_default().matches("lease lost").count(),
            )
        })
        .collect()
}

/// Two workers run; a third starts and the coordination log's leader SPU is killed at once,
/// kept down for `down`, and restarted. The group settles on the three within 2 × the
/// session timeout of its log's high watermark moving again (see [`log_moving_again`]: the
/// server's re-sync after the return can hold it up to a minute, which the report shows), and
/// every record reaches the sink.
async fn the_log_leader_dies_during_a_join(down: Duration) {
    const FLOW: usize = 5_000;
    let s = setup().await;
    s.cli_writes(0..BACKLOG).await;
    let (mut cluster, client) = (s.cluster, &s.client);
    let copying = copying();
    let start =
        |cluster: &LocalCluster, name: &str| Worker::start(&s.example, cluster, name, &copying);
    let mut workers = vec![start(&cluster, "w1"), start(&cluster, "w2")];
    let live: Vec<&Worker> = workers.iter().collect();
    settled_on(client, &live, Duration::from_secs(60)).await;
    let leader = log_leader(client)
        .await
        .expect("the coordination log's leader");
    let replicas = client
        .admin()
        .list_partitions(Some(&coordination_topic(GROUP)))
        .await
        .unwrap()[0]
        .replicas
        .clone();
    let flow = Flow::start(client, SOURCE, BACKLOG, FLOW);
    tokio::time::sleep(Duration::from_secs(3)).await;

    workers.push(start(&cluster, "w3"));
    // Its join record is appended some 100 ms after it starts.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let killed = Instant::now();
    cluster.kill_spu(leader);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let moved_to = log_leader(client).await;
    tokio::time::sleep(down.saturating_sub(killed.elapsed())).await;
    cluster.start_spu(leader);
    let returned = Instant::now();
    let moving = log_moving_again(client);
    let live: Vec<&Worker> = workers.iter().collect();
    let settled = settled_on(client, &live, Duration::from_secs(150)).await;
    let settled_at = Instant::now();
    // Settled means its members read the log after the return: it has moved by then.
    let moved_at = tokio::time::timeout(Duration::from_secs(5), moving)
        .await
        .expect("the coordination log's high watermark did not move though the group settled")
        .expect("the coordination log's high watermark watcher");
    let frozen = moved_at.saturating_duration_since(returned);
    let settle = settled_at.saturating_duration_since(moved_at.max(returned));
    let shares: Vec<(String, Vec<u32>)> = workers
        .iter()
        .map(|w| (w.name.clone(), w.owns(&settled)))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let end = flow.stop().await;
    until_all_committed(client, SOURCE, PARTITIONS, Duration::from_secs(120)).await;
    for w in workers.drain(..) {
        w.stop(&cluster.dir).await;
    }

    let source = read_all(client, SOURCE, PARTITIONS).await;
    let outputs = read_outputs(client, SINK, SINK_PARTITIONS).await;
    let copies = compare(client, &source, &outputs, i64::MIN).await;
    report(
        &cluster,
        &format!(
            "log leader killed during a join: SPU {leader} (replicas {replicas:?}, leader after \
             1 s: {moved_to:?}) down {down:?}; the group settled on {shares:?} (generation {}) \
             {settle:?} after its log's high watermark moved again ({frozen:?} after the \
             SPU's return); leases lost {:?}; {} records (up to {}, {} stored twice by the \
             writer's retries), {} outputs, {} duplicates; settled {:?} after the kill",
            settled.generation,
            leases_lost(&cluster, &["w1", "w2", "w3"]),
            copies.records,
            value(end - 1),
            copies.source_duplicates,
            copies.outputs,
            copies.duplicates,
            settled_at.duration_since(killed),
        ),
    );
    assert!(
        settle <= 2 * SESSION,
        "settled {settle:?} after the log's high watermark moved again (bound {:?})",
        2 * SESSION
    );
    assert!(
        copies.missing.is_empty(),
        "records lost, e.g. {:?}",
        copies.missing
    );
    assert!(
        copies.strangers.is_empty(),
        "outputs of no source record: {:?}",
        copies.strangers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_group_faults -- --ignored --nocapture --test-threads=1"]
async fn the_group_settles_after_its_log_leader_dies_during_a_join() {
    the_log_leader_dies_during_a_join(Duration::from_secs(4)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_group_faults -- --ignored --nocapture --test-threads=1"]
async fn the_group_settles_after_its_log_leader_is_down_past_the_session() {
    the_log_leader_dies_during_a_join(Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_group_faults -- --ignored --nocapture --test-threads=1"]
async fn a_rolling_restart_copies_every_record_within_the_in_flight_windows() {
    /// The pipeline's default records in flight per partition.
    const MAX_IN_FLIGHT: usize = 20_000;
    let s = setup().await;
    let (cluster, client) = (&s.cluster, &s.client);
    s.cli_writes(0..BACKLOG).await;
    let mut workers: Vec<Worker> = ["w1", "w2", "w3"].iter().map(|n| s.start(n)).collect();
    let live: Vec<&Worker> = workers.iter().collect();
    settled_on(client, &live, Duration::from_secs(60)).await;
    let flow = Flow::cli(&s.cli, SOURCE, BACKLOG, RATE);
    tokio::time::sleep(Duration::from_secs(5)).await;

    let mut steps = Vec::new();
    for replacement in ["r1", "r2", "r3"] {
        let old = workers.remove(0);
        let name = old.name.clone();
        let stopping = Instant::now();
        old.stop(&cluster.dir).await;
        let stopped = stopping.elapsed();
        workers.push(s.start(replacement));
        let live: Vec<&Worker> = workers.iter().collect();
        settled_on(client, &live, 2 * SESSION).await;
        steps.push(format!(
            "{name} stopped in {stopped:?}, {replacement} settled {:?} later",
            stopping.elapsed() - stopped
        ));
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let end = flow.stop().await;
    until_all_committed(client, SOURCE, PARTITIONS, Duration::from_secs(120)).await;
    for w in workers.drain(..) {
        w.stop(&cluster.dir).await;
    }

    let source = read_all(client, SOURCE, PARTITIONS).await;
    let outputs = read_outputs(client, SINK, SINK_PARTITIONS).await;
    let copies = compare(client, &source, &outputs, i64::MIN).await;
    let window = PARTITIONS as usize * (MAX_IN_FLIGHT + COMMIT_EVERY);
    report(
        cluster,
        &format!(
            "rolling restart: {}; {} records (up to {}), {} outputs, {} duplicates (bound {window})",
            steps.join("; "),
            copies.records,
            value(end - 1),
            copies.outputs,
            copies.duplicates
        ),
    );
    assert!(
        copies.missing.is_empty(),
        "records lost, e.g. {:?}",
        copies.missing
    );
    assert!(
        copies.strangers.is_empty(),
        "outputs of no source record: {:?}",
        copies.strangers
    );
    assert!(
        copies.duplicates <= window,
        "{} duplicates, more than the in-flight windows of {window}",
        copies.duplicates
    );
}
