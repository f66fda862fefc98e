//! Consumer groups against the embedded cluster: three members in one process sharing a
//! six-partition topic through join, graceful leave, new partitions, a crash and a member
//! cut off from the cluster. Every start and stop of a partition is recorded in one
//! in-process log, in causal order: no partition may ever be started by a member while
//! another still processes it.
//!
//! (Above 400 lines on purpose: the in-process ledger and member harness at the top serve
//! every test; each test is one membership scenario.)

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::group::{
    coordination_topic, describe_group, list_groups, Assignment, Fence, GroupConfig, GroupMember,
    GroupRecord,
};
use actix_fluvio::testkit::TestCluster;
use common::embedded::cluster_with_topics;
use common::within;
use tokio::sync::mpsc;

const TOPIC: &str = "orders";
const GROUP: &str = "billing";
const SESSION: Duration = Duration::from_secs(2);

/// Who processes which partition, checked as it changes.
#[derive(Default)]
struct Ledger {
    holders: BTreeMap<u32, String>,
    /// (member, partition, started) in the order they happened.
    history: Vec<(String, u32, bool)>,
}

type Shared = Arc<Mutex<Ledger>>;

impl Ledger {
    fn start(&mut self, member: &str, partition: u32) {
        if let Some(other) = self.holders.insert(partition, member.to_owned()) {
            panic!("{member} started partition {partition} while {other} still processes it");
        }
        self.history.push((member.to_owned(), partition, true));
    }

    fn stop(&mut self, member: &str, partition: u32) {
        let holder = self.holders.remove(&partition);
        assert_eq!(
            holder.as_deref(),
            Some(member),
            "{member} stopped {partition}"
        );
        self.history.push((member.to_owned(), partition, false));
    }

    /// The partitions each member processes.
    fn shares(&self) -> BTreeMap<String, BTreeSet<u32>> {
        let mut out: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for (p, m) in &self.holders {
            out.entry(m.clone()).or_default().insert(*p);
        }
        out
    }
}

enum Control {
    Leave,
    Crash,
    CutOff(Duration),
    StallReads(Duration),
}

/// Where a member's application processes records, when it does: every value it
/// processed, in order.
type Processed = Arc<Mutex<Vec<String>>>;

/// A partition being processed: stop it (it commits as it goes) or abort it.
struct Reader {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// Read `partition` from the group's committed offset, committing each record processed,
/// until told to stop or the member's lease is gone.
fn read(client: &FluvioClient, partition: u32, fence: Fence, processed: Processed) -> Reader {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let client = client.clone();
    let task = tokio::spawn(async move {
        let options = ConsumerOptions::builder().consumer_id(GROUP).build();
        let mut stream = client
            .partition_consumer(TOPIC, partition, options)
            .await
            .unwrap();
        loop {
            tokio::select! {
                biased;
                _ = &mut stopped => return,
                record = stream.next() => {
                    let record = record.unwrap().unwrap();
                    if !fence.is_valid() {
                        return;
                    }
                    let value = String::from_utf8(record.value.to_vec()).unwrap();
                    processed.lock().unwrap().push(value);
                    stream.commit(record.offset).await.unwrap();
                }
            }
        }
    });
    Reader { stop, task }
}

/// The partitions a member's application has started, with their readers when it
/// processes records.
#[derive(Default)]
struct Started(BTreeMap<u32, Option<Reader>>);

impl Started {
    /// Stop `partitions`: gracefully (each reader finishes its record and commit) or at once.
    async fn stop(&mut self, partitions: &BTreeSet<u32>, graceful: bool) {
        for p in partitions {
            if let Some(Some(reader)) = self.0.remove(p) {
                if graceful {
                    let _ = reader.stop.send(());
                    reader.task.await.unwrap();
                } else {
                    reader.task.abort();
                    let _ = reader.task.await;
                }
            }
        }
    }
}

/// A member named `name` whose application records its partitions in `ledger`, and reads
/// them into `processed` when given (a 2 s session, 200 ms heartbeats).
async fn spawn_member(
    client: &FluvioClient,
    name: &str,
    ledger: Shared,
    processed: Option<Processed>,
) -> Member {
    spawn_member_with(client, name, ledger, processed, SESSION).await
}

/// As [`spawn_member`], with a session timeout of `session` (heartbeats a tenth of it).
async fn spawn_member_with(
    client: &FluvioClient,
    name: &str,
    ledger: Shared,
    processed: Option<Processed>,
    session: Duration,
) -> Member {
    let config = GroupConfig {
        member_id: Some(name.to_owned()),
        session_timeout: session,
        heartbeat: session / 10,
        takeover_margin: Duration::from_millis(500),
        snapshot_every: 20,
        ..GroupConfig::new(GROUP, TOPIC)
    };
    let mut member = GroupMember::join(client, config).await.unwrap();
    let (tx, mut control) = mpsc::unbounded_channel();
    let (name, client) = (name.to_owned(), client.clone());
    let app = tokio::spawn(async move {
        let mut started = Started::default();
        let mut leaving: Option<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>> =
            None;
        loop {
            tokio::select! {
                event = member.next() => {
                    let Some(event) = event else { break };
                    match event.unwrap() {
                        Assignment::Assigned { partitions, .. } => {
                            assert!(member.fence().is_valid(), "{name} assigned without a lease");
                            for &p in &partitions {
                                ledger.lock().unwrap().start(&name, p);
                                let reader = processed.clone().map(|out| read(&client, p, member.fence(), out));
                                started.0.insert(p, reader);
                            }
                        }
                        Assignment::Revoked { partitions, release, .. } => {
                            started.stop(&partitions, true).await;
                            // Stopped in the ledger before the release lets another start.
                            let mut ledger = ledger.lock().unwrap();
                            for &p in &partitions {
                                ledger.stop(&name, p);
                            }
                            release.released();
                        }
                        Assignment::Lost { partitions, .. } => {
                            // Sent once the lease has lapsed; a heartbeat read back late may
                            // renew it before this is taken (the member then assigns them
                            // again), so the fence is not checked here: the ledger checks
                            // that no partition is ever run by two members.
                            // Those revoked and stopped already, whose release was not
                            // written yet, are among them.
                            let partitions: BTreeSet<u32> = partitions
                                .into_iter()
                                .filter(|p| started.0.contains_key(p))
                                .collect();
                            // Their readers process nothing more while the fence is invalid
                            // (each record checks it). Stopped in the ledger before they are
                            // awaited: after the takeover margin another member may start
                            // them.
                            {
                                let mut ledger = ledger.lock().unwrap();
                                for &p in &partitions {
                                    ledger.stop(&name, p);
                                }
                            }
                            started.stop(&partitions, false).await;
                        }
                    }
                }
                Some(command) = control.recv(), if leaving.is_none() => match command {
                    Control::Leave => leaving = Some(Box::pin(member.start_leaving())),
                    Control::CutOff(d) => member.cut_off(d),
                    Control::StallReads(d) => member.stall_reads(d),
                    Control::Crash => {
                        let all: BTreeSet<u32> = started.0.keys().copied().collect();
                        started.stop(&all, false).await;
                        let mut ledger = ledger.lock().unwrap();
                        for p in all {
                            ledger.stop(&name, p);
                        }
                        return;
                    }
                },
            }
        }
        if let Some(leaving) = leaving {
            leaving.await.unwrap();
        }
        assert!(
            started.0.is_empty(),
            "{name} ended still holding partitions"
        );
    });
    (tx, app)
}

/// Wait until the members process exactly `expected` partitions each.
async fn wait_for_shares(ledger: &Shared, expected: &[(&str, usize)]) {
    let expected: BTreeMap<String, usize> =
        expected.iter().map(|(m, n)| (m.to_string(), *n)).collect();
    loop {
        let shares: BTreeMap<String, usize> = ledger
            .lock()
            .unwrap()
            .shares()
            .into_iter()
            .map(|(m, s)| (m, s.len()))
            .collect();
        if shares == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn setup(partitions: u32) -> (TestCluster, FluvioClient, Shared) {
    let (cluster, client) = cluster_with_topics(2, &[(TOPIC, partitions)]).await;
    (cluster, client, Shared::default())
}

type Member = (mpsc::UnboundedSender<Control>, tokio::task::JoinHandle<()>);

/// Members a, b and c, once they process two partitions each.
async fn three_members(client: &FluvioClient, ledger: &Shared) -> BTreeMap<&'static str, Member> {
    let mut members = BTreeMap::new();
    for name in ["a", "b", "c"] {
        members.insert(name, spawn_member(client, name, ledger.clone(), None).await);
    }
    wait_for_shares(ledger, &[("a", 2), ("b", 2), ("c", 2)]).await;
    members
}

/// Every record of the coordination log, decoded.
async fn coordination_log(client: &FluvioClient) -> Vec<GroupRecord> {
    let options = ConsumerOptions::builder().disable_continuous(true).build();
    let mut stream = client
        .partition_consumer(&coordination_topic(GROUP), 0, options)
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(record) = stream.next().await {
        out.extend(GroupRecord::decode(&record.unwrap().value));
    }
    out
}

#[tokio::test]
async fn three_members_share_six_partitions_and_a_leaver_releases_before_the_others_start() {
    within(60, "the test", async {
        let (_cluster, client, ledger) = setup(6).await;
        let mut members = three_members(&client, &ledger).await;
        let (b_had, before) = {
            let ledger = ledger.lock().unwrap();
            (ledger.shares()["b"].clone(), ledger.history.len())
        };
        let (control, app) = members.remove("b").unwrap();
        control.send(Control::Leave).unwrap();
        app.await.unwrap();
        wait_for_shares(&ledger, &[("a", 3), ("c", 3)]).await;
        // The others kept theirs: only b's partitions moved.
        let history = ledger.lock().unwrap().history.clone();
        let moved: BTreeSet<u32> = history[before..]
            .iter()
            .filter(|(m, _, started)| m != "b" && *started)
            .map(|(_, p, _)| *p)
            .collect();
        assert_eq!(moved, b_had);

        // In the log: b's last records release each of its partitions, then leave.
        let log = coordination_log(&client).await;
        let b_last: Vec<&GroupRecord> = log
            .iter()
            .filter(|r| r.author().is_some_and(|a| a.id == "b"))
            .filter(|r| !matches!(r, GroupRecord::Heartbeat { .. }))
            .collect();
        let (releases, leave) = b_last[b_last.len() - b_had.len() - 1..].split_at(b_had.len());
        let released: BTreeSet<u32> = releases
            .iter()
            .map(|r| match r {
                GroupRecord::Released { partition, .. } => *partition,
                other => panic!("{other:?} among b's releases"),
            })
            .collect();
        assert_eq!(released, b_had);
        assert!(matches!(leave, [GroupRecord::Leave { .. }]));

        let description = describe_group(&client, GROUP).await.unwrap();
        let ids: Vec<&str> = description.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(description.topic.as_deref(), Some(TOPIC));
        assert_eq!(description.owners.len(), 6);
        assert!(description.releasing.is_empty());
        assert_eq!(list_groups(&client).await.unwrap(), [GROUP]);

        // New partitions are shared out too.
        client.admin().add_partitions(TOPIC, 2).await.unwrap();
        wait_for_shares(&ledger, &[("a", 4), ("c", 4)]).await;
    })
    .await;
}

#[tokio::test]
async fn a_crashed_members_partitions_move_within_the_session_timeout_and_two_seconds() {
    within(60, "the test", async {
        let (_cluster, client, ledger) = setup(6).await;
        let mut members = three_members(&client, &ledger).await;
        let (control, app) = members.remove("c").unwrap();
        control.send(Control::Crash).unwrap();
        app.await.unwrap();
        let crashed = Instant::now();
        wait_for_shares(&ledger, &[("a", 3), ("b", 3)]).await;
        let moved = crashed.elapsed();
        assert!(
            moved < SESSION + Duration::from_secs(2),
            "the partitions moved after {moved:?}"
        );
        // Nothing was released by c: its partitions moved by expiry.
        let log = coordination_log(&client).await;
        assert!(log
            .iter()
            .any(|r| matches!(r, GroupRecord::Expire { member, .. } if member.id == "c")));
        assert!(!log
            .iter()
            .any(|r| matches!(r, GroupRecord::Released { member, .. } if member.id == "c")));
    })
    .await;
}

#[tokio::test]
async fn a_member_cut_off_from_the_cluster_stops_before_the_others_take_over_and_rejoins() {
    within(60, "the test", async {
        let (_cluster, client, ledger) = setup(6).await;
        let members = three_members(&client, &ledger).await;
        let (a_had, before) = {
            let ledger = ledger.lock().unwrap();
            (ledger.shares()["a"].clone(), ledger.history.len())
        };
        members["a"]
            .0
            .send(Control::CutOff(Duration::from_secs(5)))
            .unwrap();
        // The ledger panics if b or c starts one of a's partitions before a stopped it.
        wait_for_shares(&ledger, &[("b", 3), ("c", 3)]).await;
        // Since the cut-off: a stopped each of its partitions before another member
        // started it.
        let history = ledger.lock().unwrap().history[before..].to_vec();
        for p in &a_had {
            let stopped = history
                .iter()
                .position(|(m, q, started)| m == "a" && q == p && !started)
                .unwrap_or_else(|| panic!("a never stopped {p}: {history:?}"));
            let taken = history
                .iter()
                .position(|(m, q, started)| m != "a" && q == p && *started)
                .unwrap_or_else(|| panic!("{p} never taken over: {history:?}"));
            assert!(stopped < taken, "{p}: {history:?}");
        }
        // Once it can write again it rejoins as a new incarnation and gets its share back.
        wait_for_shares(&ledger, &[("a", 2), ("b", 2), ("c", 2)]).await;
        let description = describe_group(&client, GROUP).await.unwrap();
        let ids: Vec<&str> = description.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    })
    .await;
}

/// Records written all along while members join, one leaves and one crashes: every record
/// is processed, each new owner resumes at the group's committed offset, graceful
/// handovers repeat nothing, and the crash repeats at most the record in flight on each of
/// the crashed member's partitions.
#[tokio::test]
async fn every_record_is_processed_and_only_the_crash_repeats_records_in_flight() {
    within(60, "the test", async {
        let (_cluster, client, ledger) = setup(6).await;
        let processed = Processed::default();
        let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let writer = {
            let (producer, writing) = (client.producer(Default::default()), writing.clone());
            tokio::spawn(async move {
                let mut sent = Vec::new();
                while writing.load(std::sync::atomic::Ordering::Relaxed) {
                    let value = format!("r{}", sent.len());
                    producer.send(TOPIC, None, value.as_bytes()).await.unwrap();
                    sent.push(value);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                sent
            })
        };
        let spawn = |name| spawn_member(&client, name, ledger.clone(), Some(processed.clone()));
        let a = spawn("a").await;
        wait_for_shares(&ledger, &[("a", 6)]).await;
        let b = spawn("b").await;
        wait_for_shares(&ledger, &[("a", 3), ("b", 3)]).await;
        let c = spawn("c").await;
        wait_for_shares(&ledger, &[("a", 2), ("b", 2), ("c", 2)]).await;
        b.0.send(Control::Leave).unwrap();
        b.1.await.unwrap();
        wait_for_shares(&ledger, &[("a", 3), ("c", 3)]).await;
        let c_had = ledger.lock().unwrap().shares()["c"].len();
        c.0.send(Control::Crash).unwrap();
        c.1.await.unwrap();
        wait_for_shares(&ledger, &[("a", 6)]).await;
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        let sent = writer.await.unwrap();
        let expected: BTreeSet<String> = sent.iter().cloned().collect();
        loop {
            let seen: BTreeSet<String> = processed.lock().unwrap().iter().cloned().collect();
            assert!(seen.is_subset(&expected));
            if seen == expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let all = processed.lock().unwrap().clone();
        let repeated = all.len() - expected.len();
        println!("{} records, {repeated} processed twice", sent.len());
        assert!(repeated <= c_had, "{repeated} records processed twice");
        a.0.send(Control::Leave).unwrap();
        a.1.await.unwrap();
    })
    .await;
}

/// A member that joins after retention removed the start of the coordination log (with
/// every join in it) takes the group's state from a snapshot: it sees the others, gets its
/// share, and starts nothing they hold.
#[tokio::test]
async fn a_member_joining_after_retention_starts_from_a_snapshot() {
    within(60, "the test", async {
        let (cluster, client, ledger) = setup(6).await;
        let mut members = BTreeMap::new();
        for name in ["a", "b"] {
            members.insert(
                name,
                spawn_member(&client, name, ledger.clone(), None).await,
            );
        }
        wait_for_shares(&ledger, &[("a", 3), ("b", 3)]).await;
        let log = coordination_topic(GROUP);
        let snapshot_at = loop {
            let records = coordination_log(&client).await;
            if let Some(i) = records
                .iter()
                .rposition(|r| matches!(r, GroupRecord::Snapshot { .. }))
            {
                break i as i64;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        cluster
            .evict_records_before(&log, 0, snapshot_at - 1)
            .unwrap();
        let (start, _) = client.partition_offsets(&log, 0).await.unwrap();
        assert!(start > 0, "nothing was removed");
        members.insert("c", spawn_member(&client, "c", ledger.clone(), None).await);
        wait_for_shares(&ledger, &[("a", 2), ("b", 2), ("c", 2)]).await;
        let description = describe_group(&client, GROUP).await.unwrap();
        let ids: Vec<&str> = description.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    })
    .await;
}

/// Wait until every one of `partitions` is processed, by exactly the `live` members, each
/// with its fair share (the assignment has settled); how long it took.
async fn wait_for_balance(ledger: &Shared, live: &BTreeSet<String>, partitions: u32) -> Duration {
    let started = Instant::now();
    let fair = partitions as usize / live.len();
    loop {
        {
            let ledger = ledger.lock().unwrap();
            let shares = ledger.shares();
            let members: BTreeSet<String> = shares.keys().cloned().collect();
            if ledger.holders.len() == partitions as usize
                && members == *live
                && shares
                    .values()
                    .all(|s| s.len() == fair || s.len() == fair + 1)
            {
                return started.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The storm's session timeout: the group default. 50 members, 600 partition readers that
/// commit every record, and the embedded cluster itself share this process (and two cores,
/// in a debug build).
const STORM_SESSION: Duration = Duration::from_secs(10);

/// 50 members on 600 partitions in one process, through a join storm, a leave storm, a
/// crash of several at once and a second join storm: no partition is ever processed by two
/// members (the ledger checks each start), each storm settles within twice the session
/// timeout, and every record is processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_members_on_six_hundred_partitions_through_join_and_leave_storms() {
    within(300, "the test", async {
        const PARTITIONS: u32 = 600;
        let (_cluster, client, ledger) = setup(PARTITIONS).await;
        let processed = Processed::default();
        let producer = client.producer(Default::default());
        let sent: Vec<String> = (0..6_000).map(|i| format!("r{i}")).collect();
        producer
            .send_batch(TOPIC, sent.iter().map(|v| (None::<String>, v.clone())))
            .await
            .unwrap();
        producer.flush().await.unwrap();
        let mut members: BTreeMap<String, Member> = BTreeMap::new();
        let mut live = BTreeSet::new();
        let mut settle_times = Vec::new();
        let mut crashed_shares = 0;
        let join = |names: Vec<String>| {
            let (client, ledger, processed) = (client.clone(), ledger.clone(), processed.clone());
            async move {
                let joins = names.iter().map(|name| {
                    let out = Some(processed.clone());
                    spawn_member_with(&client, name, ledger.clone(), out, STORM_SESSION)
                });
                names
                    .clone()
                    .into_iter()
                    .zip(futures_util::future::join_all(joins).await)
                    .collect::<Vec<_>>()
            }
        };
        // A join storm of 50.
        for (name, member) in join((0..50).map(|i| format!("m{i:02}")).collect()).await {
            live.insert(name.clone());
            members.insert(name, member);
        }
        settle_times.push((
            "50 joined",
            wait_for_balance(&ledger, &live, PARTITIONS).await,
        ));
        // 10 leave at once.
        let leavers: Vec<String> = live.iter().take(10).cloned().collect();
        let mut leaving = Vec::new();
        for name in &leavers {
            let (control, app) = members.remove(name).unwrap();
            control.send(Control::Leave).unwrap();
            leaving.push(app);
            live.remove(name);
        }
        for app in leaving {
            app.await.unwrap();
        }
        settle_times.push((
            "10 left",
            wait_for_balance(&ledger, &live, PARTITIONS).await,
        ));
        // 5 crash at once.
        let crashed: Vec<String> = live.iter().take(5).cloned().collect();
        for name in &crashed {
            crashed_shares += ledger.lock().unwrap().shares()[name].len();
            let (control, app) = members.remove(name).unwrap();
            control.send(Control::Crash).unwrap();
            app.await.unwrap();
            live.remove(name);
        }
        settle_times.push((
            "5 crashed",
            wait_for_balance(&ledger, &live, PARTITIONS).await,
        ));
        // 15 join at once: 50 again.
        for (name, member) in join((50..65).map(|i| format!("m{i:02}")).collect()).await {
            live.insert(name.clone());
            members.insert(name, member);
        }
        settle_times.push((
            "15 joined",
            wait_for_balance(&ledger, &live, PARTITIONS).await,
        ));
        println!("settled: {settle_times:?}");
        for (what, took) in &settle_times {
            // A crash settles once the crashed members are expired (a session and the
            // takeover margin after their last heartbeat) and their partitions started.
            assert!(*took < 2 * STORM_SESSION, "{what}: settled in {took:?}");
        }
        let expected: BTreeSet<String> = sent.iter().cloned().collect();
        loop {
            let seen: BTreeSet<String> = processed.lock().unwrap().iter().cloned().collect();
            assert!(seen.is_subset(&expected));
            if seen == expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let repeated = processed.lock().unwrap().len() - expected.len();
        println!("{} records, {repeated} processed twice", sent.len());
        // Only a crashed member's record in flight (one per partition) is processed again.
        assert!(
            repeated <= crashed_shares,
            "{repeated} records processed twice"
        );
        for (_, (control, app)) in members {
            control.send(Control::Leave).unwrap();
            app.await.unwrap();
        }
    })
    .await;
}

/// The members with a Join record in the log, by id: their incarnations in log order, and
/// whether each incarnation's leave came before the next one's join.
fn joins(log: &[GroupRecord], id: &str) -> (Vec<u64>, bool) {
    let mut incarnations = Vec::new();
    let mut left_before_rejoin = true;
    let mut left: BTreeSet<u64> = BTreeSet::new();
    for record in log {
        match record {
            GroupRecord::Join { member } if member.id == id => {
                if let Some(previous) = incarnations.last() {
                    left_before_rejoin &= left.contains(previous);
                }
                incarnations.push(member.incarnation);
            }
            GroupRecord::Leave { member } if member.id == id => {
                left.insert(member.incarnation);
            }
            _ => {}
        }
    }
    (incarnations, left_before_rejoin)
}

/// A member whose reads of the log stall (its appends still work) loses its lease and is
/// expired; it does not rejoin, again and again, as incarnations that would hold partitions
/// they never start: the other member runs every partition for the whole stall. Once it
/// reads again it rejoins once, after a leave of its old incarnation.
#[tokio::test]
async fn a_member_whose_reads_stall_rejoins_once_it_reads_and_orphans_nothing_meanwhile() {
    within(60, "the test", async {
        let (_cluster, client, ledger) = setup(6).await;
        let a = spawn_member(&client, "a", ledger.clone(), None).await;
        let b = spawn_member(&client, "b", ledger.clone(), None).await;
        wait_for_shares(&ledger, &[("a", 3), ("b", 3)]).await;
        let stall = SESSION * 5;
        let stalled = Instant::now();
        a.0.send(Control::StallReads(stall)).unwrap();
        wait_for_shares(&ledger, &[("b", 6)]).await;
        let took_over = stalled.elapsed();
        assert!(took_over < SESSION * 2, "b took over after {took_over:?}");
        // b keeps every partition until the stall ends: nobody joins to hold some.
        while stalled.elapsed() < stall {
            let shares = ledger.lock().unwrap().shares();
            assert_eq!(shares.get("b").map(BTreeSet::len), Some(6), "{shares:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        wait_for_shares(&ledger, &[("a", 3), ("b", 3)]).await;
        let (incarnations, left_before_rejoin) = joins(&coordination_log(&client).await, "a");
        assert_eq!(incarnations.len(), 2, "a joined as {incarnations:?}");
        assert!(left_before_rejoin, "a rejoined without leaving first");
        for (control, app) in [a, b] {
            control.send(Control::Leave).unwrap();
            app.await.unwrap();
        }
    })
    .await;
}

/// While the coordination log cannot commit (its replication held, as while the SPU leading
/// it is down and its replicas wait), every member loses its lease and writes a leave; none
/// joins again before its leave is stored. Once the log commits, each member rejoins once,
/// not once per session timeout of the outage (records that would land together and put the
/// group through a rebalance each), and the three share the partitions again.
#[tokio::test]
async fn members_of_a_log_that_cannot_commit_rejoin_once_when_it_does() {
    within(90, "the test", async {
        let (cluster, client, ledger) = setup(6).await;
        let members = three_members(&client, &ledger).await;
        let log = coordination_topic(GROUP);
        cluster.hold_replication(&log, 0, true).unwrap();
        let held = Instant::now();
        wait_for_shares(&ledger, &[]).await;
        // Six session timeouts: long enough for a member to join and leave again and again.
        let outage = SESSION * 6;
        tokio::time::sleep(outage.saturating_sub(held.elapsed())).await;
        cluster.hold_replication(&log, 0, false).unwrap();
        wait_for_shares(&ledger, &[("a", 2), ("b", 2), ("c", 2)]).await;
        let log = coordination_log(&client).await;
        for id in ["a", "b", "c"] {
            let (incarnations, left_before_rejoin) = joins(&log, id);
            assert_eq!(incarnations.len(), 2, "{id} joined as {incarnations:?}");
            assert!(left_before_rejoin, "{id} rejoined without leaving first");
        }
        for (_, (control, app)) in members {
            control.send(Control::Leave).unwrap();
            app.await.unwrap();
        }
    })
    .await;
}

/// The expiry of a crashed member that the expirer failed to append (it was cut off at that
/// moment) is appended again: the crashed member's partitions do not stay its own for good.
#[tokio::test]
async fn an_expiry_lost_on_its_way_to_the_log_is_written_again() {
    within(60, "the test", async {
        let (_cluster, client, ledger) = setup(6).await;
        let a = spawn_member(&client, "a", ledger.clone(), None).await;
        let b = spawn_member(&client, "b", ledger.clone(), None).await;
        wait_for_shares(&ledger, &[("a", 3), ("b", 3)]).await;
        a.0.send(Control::Crash).unwrap();
        a.1.await.unwrap();
        let crashed = Instant::now();
        // b would append a's expiry a session and the takeover margin after it last read a
        // record of a: drop b's appends around that moment (not long enough to cost b its
        // own lease).
        tokio::time::sleep(SESSION - Duration::from_millis(300)).await;
        b.0.send(Control::CutOff(Duration::from_millis(1_300)))
            .unwrap();
        wait_for_shares(&ledger, &[("b", 6)]).await;
        let took = crashed.elapsed();
        println!("a's partitions moved {took:?} after its crash");
        assert!(took < SESSION * 4, "{took:?}");
        let expiries = coordination_log(&client)
            .await
            .into_iter()
            .filter(|r| matches!(r, GroupRecord::Expire { member, .. } if member.id == "a"))
            .count();
        assert_eq!(expiries, 1, "the dropped expiry was not the one stored");
        b.0.send(Control::Leave).unwrap();
        b.1.await.unwrap();
    })
    .await;
}

/// A member whose reads stalled while retention removed log records it had not read yet
/// (among them a third member's join) does not go on with a view that misses them: it
/// reloads from the next snapshot, and the three share the partitions with no partition
/// ever processed by two.
#[tokio::test]
async fn a_member_that_missed_removed_log_records_reloads_from_a_snapshot() {
    within(90, "the test", async {
        let (cluster, client, ledger) = setup(6).await;
        let a = spawn_member(&client, "a", ledger.clone(), None).await;
        let b = spawn_member(&client, "b", ledger.clone(), None).await;
        wait_for_shares(&ledger, &[("a", 3), ("b", 3)]).await;
        a.0.send(Control::StallReads(SESSION * 4)).unwrap();
        // Before a's lease lapses (so that a rejoins only once it read past them): more
        // records than a's stream reads ahead, then c joins; once b and c share everything,
        // all but the last records are removed: a's stream will find its next records gone.
        let log = coordination_topic(GROUP);
        let producer = client.producer(Default::default());
        let filler = (0..30_000).map(|i| (None::<String>, format!("not a group record {i}")));
        producer.send_batch(&log, filler).await.unwrap();
        producer.flush().await.unwrap();
        let c = spawn_member(&client, "c", ledger.clone(), None).await;
        wait_for_shares(&ledger, &[("b", 3), ("c", 3)]).await;
        let (_, end) = client.partition_offsets(&log, 0).await.unwrap();
        cluster.evict_records_before(&log, 0, end - 5).unwrap();
        wait_for_shares(&ledger, &[("a", 2), ("b", 2), ("c", 2)]).await;
        for (control, app) in [a, b, c] {
            control.send(Control::Leave).unwrap();
            app.await.unwrap();
        }
    })
    .await;
}
