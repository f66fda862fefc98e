//! SmartModules on the consumer against a real Fluvio cluster with an online SPU. Ignored
//! by a plain `cargo test` (listed as ignored); run with `FLUVIO_SC_ADDR=127.0.0.1:9003
//! cargo test --all-features --test real_cluster_smartmodules -- --ignored --nocapture`,
//! where a missing `FLUVIO_SC_ADDR`, SPU or wasm32 target fails them.
//!
//! Every topic shape users have (one record per batch from the official producer, as the CLI
//! writes; large batches from ours; every codec; mixes; more than one stream frame; records
//! produced while the stream is open) is read through every kind of SmartModule (filter with
//! and without its parameter, map, filter-map, array-map, aggregate, chains; stored and ad
//! hoc), by our consumer and by the official client in the same test. Both must deliver
//! exactly what the chain makes of the input, record for record; our offsets must never pass
//! the true input offset, and must equal it where the frames tell it (one record per batch,
//! one output per input). The modules are the fixture crates in `tests/fixtures/smartmodules`.
//!
//! (Above 400 lines on purpose: one suite because every test shares one cluster set-up, the
//! official client beside ours and the fixture modules built once per binary; each test is
//! one topic shape.)

mod common;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::admin::{Admin, TopicConfig};
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::{ConsumerError, ConsumerOptions, Offset};
use actix_fluvio::pipeline::{start_pipeline, Output, PipelineConfig, ProcessBatch, WorkerError};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::protocol::record::Compression;
use actix_fluvio::protocol::spu::{
    FetchRequest, Isolation, SmartModuleInvocation, SmartModuleWasm,
};
use actix_fluvio::protocol::ErrorCode;
use futures_util::FutureExt;

use common::shapes::{self, Rec, Step, Write};
use common::smartmodules::Modules;
use common::unique;

/// Bytes per stream frame, for both clients: small, so every shape takes several frames.
const FRAME: i32 = 32 * 1024;

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(180), f)
        .await
        .unwrap_or_else(|_| panic!("real-cluster step timed out: {what}"))
}

/// Our client, the official client and the modules, for the SC `FLUVIO_SC_ADDR` names,
/// which must have an online SPU.
async fn setup() -> (FluvioClient, fluvio::Fluvio, &'static Modules) {
    let addr = common::sc_addr();
    let client = bounded("connect", FluvioClient::connect(ClientConfig::default()))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the SC at {addr}: {e}"));
    let spus = bounded("list SPUs", client.admin().list_spus())
        .await
        .expect("list SPUs");
    assert!(
        spus.iter().any(|s| s.online),
        "the SC at {addr} has no online SPU ({} registered); nothing can run a SmartModule",
        spus.len()
    );
    let official = fluvio::Fluvio::connect_with_config(&fluvio::FluvioClusterConfig::new(&addr))
        .await
        .expect("the official client connects");
    let modules = tokio::task::spawn_blocking(common::smartmodules::modules)
        .await
        .unwrap();
    (client, official, modules)
}

/// What a test created, deleted at the end whether or not the test passed.
#[derive(Clone)]
struct Scope {
    client: FluvioClient,
    official: Arc<fluvio::Fluvio>,
    modules: &'static Modules,
    admin: Admin,
    /// (topics, SmartModules)
    created: Arc<Mutex<(Vec<String>, Vec<String>)>>,
}

impl Scope {
    /// A new topic of `partitions`, waiting until its leaders take records.
    async fn topic(&self, prefix: &str, partitions: u32) -> String {
        let topic = unique(prefix);
        bounded(
            "create topic",
            self.admin
                .create_topic(&topic, TopicConfig::new(partitions)),
        )
        .await
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
        self.created.lock().unwrap().0.push(topic.clone());
        let deadline = Instant::now() + Duration::from_secs(30);
        for p in 0..partitions {
            while let Err(e) = self.client.partition_offsets(&topic, p).await {
                assert!(Instant::now() < deadline, "{topic}-{p} has no leader: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        topic
    }

    /// Write `count` records of [`shapes::value`] from `first` the `how` way; their inputs.
    async fn write(&self, topic: &str, first: i64, count: i64, how: Write) -> Vec<Rec> {
        let values: Vec<String> = (first..first + count).map(shapes::value).collect();
        bounded(
            "write",
            shapes::write(&self.client, &self.official, topic, first, &values, how),
        )
        .await;
        let keyed = how == Write::OfficialPerRecord;
        (first..)
            .zip(values)
            .map(|(o, v)| (o, keyed.then(|| format!("k{o}")), v))
            .collect()
    }

    /// Store `wasm` under a unique name.
    async fn smartmodule(&self, prefix: &str, wasm: &[u8]) -> String {
        let name = unique(prefix);
        bounded(
            "create SmartModule",
            self.admin.create_smartmodule(&name, wasm, None),
        )
        .await
        .unwrap_or_else(|e| panic!("create SmartModule {name}: {e}"));
        self.created.lock().unwrap().1.push(name.clone());
        name
    }

    async fn cleanup(&self) {
        let (topics, smartmodules) = self.created.lock().unwrap().clone();
        for topic in &topics {
            if let Err(e) = bounded("delete topic", self.admin.delete_topic(topic)).await {
                println!("cleanup: delete topic {topic}: {e}");
            }
        }
        // A 0.18 SC that gets a topic created while it still removes another one's replicas
        // can stall the new topic's provisioning: wait until the deleted partitions are gone.
        for _ in 0..100 {
            let left = self
                .admin
                .list_partitions(None)
                .await
                .map(|ps| ps.iter().any(|p| topics.contains(&p.topic)));
            if !matches!(left, Ok(true)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        for name in &smartmodules {
            if let Err(e) = bounded("delete SmartModule", self.admin.delete_smartmodule(name)).await
            {
                println!("cleanup: delete SmartModule {name}: {e}");
            }
        }
    }
}

/// Run `body` with a fresh [`Scope`], clean up, then report the body's outcome.
async fn scoped<F, Fut>(body: F)
where
    F: FnOnce(Scope) -> Fut,
    Fut: Future<Output = ()>,
{
    let (client, official, modules) = setup().await;
    let started = Instant::now();
    let scope = Scope {
        admin: client.admin(),
        client,
        official: Arc::new(official),
        modules,
        created: Arc::default(),
    };
    let outcome = AssertUnwindSafe(body(scope.clone())).catch_unwind().await;
    scope.cleanup().await;
    println!("done in {:.1?}", started.elapsed());
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A chain under test: what it does and how it is invoked.
struct Chain {
    label: &'static str,
    steps: Vec<Step>,
    invocations: Vec<SmartModuleInvocation>,
}

fn predefined(name: &str) -> SmartModuleWasm {
    SmartModuleWasm::predefined(name)
}

fn adhoc(wasm: &[u8]) -> SmartModuleWasm {
    SmartModuleWasm::adhoc(wasm).expect("gzip the wasm")
}

/// Every kind of module, stored and ad hoc, alone and chained, with and without parameters.
async fn chains(scope: &Scope) -> Vec<Chain> {
    let m = scope.modules;
    let filter = scope.smartmodule("sm-filter", &m.filter).await;
    let filter_map = scope.smartmodule("sm-filter-map", &m.filter_map).await;
    let array_map = scope.smartmodule("sm-array-map", &m.array_map).await;
    let aggregate = scope.smartmodule("sm-aggregate", &m.aggregate).await;
    let filter_7 = SmartModuleInvocation::filter(predefined(&filter)).with_param("needle", "7");
    vec![
        Chain {
            label: "stored filter needle=7",
            steps: vec![Step::Filter("7")],
            invocations: vec![filter_7.clone()],
        },
        Chain {
            label: "ad-hoc generic filter, default needle (matches nothing)",
            steps: vec![Step::Filter("a")],
            invocations: vec![SmartModuleInvocation::generic(adhoc(&m.filter))],
        },
        Chain {
            label: "ad-hoc map",
            steps: vec![Step::Map],
            invocations: vec![SmartModuleInvocation::map(adhoc(&m.map))],
        },
        Chain {
            label: "stored generic filter-map",
            steps: vec![Step::FilterMap],
            invocations: vec![SmartModuleInvocation::generic(predefined(&filter_map))],
        },
        Chain {
            label: "stored array-map",
            steps: vec![Step::ArrayMap],
            invocations: vec![SmartModuleInvocation::array_map(predefined(&array_map))],
        },
        Chain {
            label: "stored aggregate from 10",
            steps: vec![Step::Aggregate("10")],
            invocations: vec![SmartModuleInvocation::aggregate(
                predefined(&aggregate),
                "10",
            )],
        },
        Chain {
            label: "stored filter needle=7 | ad-hoc map",
            steps: vec![Step::Filter("7"), Step::Map],
            invocations: vec![filter_7, SmartModuleInvocation::map(adhoc(&m.map))],
        },
        Chain {
            label: "stored array-map | stored filter-map",
            steps: vec![Step::ArrayMap, Step::FilterMap],
            invocations: vec![
                SmartModuleInvocation::array_map(predefined(&array_map)),
                SmartModuleInvocation::filter_map(predefined(&filter_map)),
            ],
        },
        Chain {
            label: "stored filter needle=3 | generic aggregate from 0",
            steps: vec![Step::Filter("3"), Step::Aggregate("0")],
            invocations: vec![
                SmartModuleInvocation::filter(predefined(&filter)).with_param("needle", "3"),
                SmartModuleInvocation::generic_aggregate(predefined(&aggregate), "0"),
            ],
        },
    ]
}

/// Our consumer through `chain`, retrying while a just-stored module is not on the SPU yet.
async fn ours(
    client: &FluvioClient,
    topic: &str,
    chain: &[SmartModuleInvocation],
    options: ConsumerOptions,
) -> (Vec<Rec>, Option<ConsumerError>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let outcome = bounded(
            "our consumer",
            shapes::ours(client, topic, chain, options.clone()),
        )
        .await;
        match &outcome {
            (got, Some(ConsumerError::SmartModule { code, .. }))
                if got.is_empty()
                    && matches!(code, ErrorCode::SmartModuleNotFound { .. })
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => return outcome,
        }
    }
}

fn records(list: &[Rec]) -> Vec<(&Option<String>, &str)> {
    list.iter().map(|(_, k, v)| (k, v.as_str())).collect()
}

/// Fail unless `got` holds the (key, value) records of `want`, in order; say where they part.
fn same_records(label: &str, who: &str, got: &[Rec], want: &[Rec]) {
    let (g, w) = (records(got), records(want));
    if g == w {
        return;
    }
    let at = g.iter().zip(&w).take_while(|(a, b)| a == b).count();
    let window = |list: &[Rec]| {
        list.iter()
            .skip(at.saturating_sub(2))
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
    };
    panic!(
        "{label}: {who}: {} records where {} were expected; they part at #{at}: got {:?}, expected {:?}",
        got.len(),
        want.len(),
        window(got),
        window(want)
    );
}

/// Check the official client's records against `want`: equal, except that with an aggregate
/// it counts a batch twice where the SPU cut a frame at `max_bytes` after running the chain
/// over the next batch (its running totals then jump ahead and keep the surplus). Returns
/// how many such jumps there were.
fn official_matches(label: &str, steps: &[Step], theirs: &[Rec], want: &[Rec]) -> usize {
    let aggregate = steps.iter().any(|s| matches!(s, Step::Aggregate(_)));
    if !aggregate || records(theirs) == records(want) {
        same_records(label, "the official consumer", theirs, want);
        return 0;
    }
    let keys = |list: &[Rec]| list.iter().map(|r| r.1.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(theirs),
        keys(want),
        "{label}: the official client's keys"
    );
    let sums =
        |list: &[Rec]| -> Vec<i64> { list.iter().map(|r| r.2.parse().expect("a sum")).collect() };
    let (theirs, want) = (sums(theirs), sums(want));
    let mut jumps = 0;
    for k in 1..want.len() {
        let (step, expected) = (theirs[k] - theirs[k - 1], want[k] - want[k - 1]);
        if step != expected {
            assert!(
                step > expected,
                "{label}: the official client's total fell at #{k}: {} then {}",
                theirs[k - 1],
                theirs[k]
            );
            jumps += 1;
        }
    }
    assert!(
        jumps > 0,
        "{label}: the official client's first total differs"
    );
    jumps
}

/// The official client's reading of `topic` through `chain`, checked against `want` as
/// [`official_matches`] does; its records and the batches it counted twice.
async fn official_side(
    scope: &Scope,
    label: &str,
    topic: &str,
    chain: &Chain,
    want: &[Rec],
) -> (Vec<Rec>, usize) {
    let read = shapes::official(
        &scope.official,
        topic,
        &chain.invocations,
        FRAME,
        want.len(),
    );
    let (theirs, error) = bounded("official consumer", read).await;
    assert!(
        error.is_none(),
        "{label}: the official consumer failed: {error:?}"
    );
    let recounted = official_matches(label, &chain.steps, &theirs, want);
    (theirs, recounted)
}

/// Check `got` (ours) against `want`: the same records in order, offsets never past the
/// input's, and exact where `exact`.
fn check_ours(label: &str, got: &[Rec], want: &[Rec], exact: bool) {
    same_records(label, "our consumer", got, want);
    for ((offset, _, v), (truth, _, _)) in got.iter().zip(want) {
        assert!(
            offset <= truth,
            "{label}: {v:?} numbered {offset}, past its input's offset {truth}"
        );
        if exact {
            assert_eq!(
                offset, truth,
                "{label}: {v:?} must carry its input's offset"
            );
        }
    }
}

/// Read `topic` (written as `input`) through every chain with both clients and compare.
async fn every_chain(scope: &Scope, shape: &str, topic: &str, input: &[Rec], one_per_batch: bool) {
    let options = ConsumerOptions::builder().max_bytes(FRAME).build();
    for chain in chains(scope).await {
        let label = format!("{shape}, {}", chain.label);
        let want = shapes::expected(&chain.steps, input);
        let started = Instant::now();
        let (got, error) = ours(&scope.client, topic, &chain.invocations, options.clone()).await;
        assert!(error.is_none(), "{label}: our consumer failed: {error:?}");
        let exact = one_per_batch || shapes::one_to_one(&chain.steps);
        check_ours(&label, &got, &want, exact);
        let ours_took = started.elapsed();
        let (theirs, recounted) = official_side(scope, &label, topic, &chain, &want).await;
        let official_offsets_right = theirs.iter().zip(&want).all(|(t, w)| t.0 == w.0);
        println!(
            "{label}: {} records out of {}, {} (ours in {ours_took:.1?}; offsets exact: ours {}, official {})",
            got.len(),
            input.len(),
            match recounted {
                0 => "equal to the official client's".to_string(),
                n => format!("the official client counted {n} batch(es) twice"),
            },
            got.iter().zip(&want).all(|(g, w)| g.0 == w.0),
            official_offsets_right,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Topic shapes.

/// Write a one-partition topic in `parts` (so many records, written some way), read it
/// through every chain, and check its layout with `layout_ok`.
async fn shape(
    prefix: &str,
    label: &'static str,
    parts: &'static [(i64, Write)],
    layout_ok: fn(&[(i64, usize)]) -> bool,
) {
    scoped(|scope| async move {
        let topic = scope.topic(prefix, 1).await;
        let mut input = Vec::new();
        for &(count, how) in parts {
            let first = input.len() as i64;
            input.extend(scope.write(&topic, first, count, how).await);
        }
        let layout = shapes::layout(&scope.client, &topic, 0).await;
        assert!(layout_ok(&layout), "{label}: unexpected layout {layout:?}");
        let one_per_batch = layout.iter().all(|&(_, n)| n == 1);
        every_chain(&scope, label, &topic, &input, one_per_batch).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn the_official_producers_one_record_per_batch() {
    let parts = &[(150, Write::OfficialPerRecord)];
    shape("sm-per-record", "one record per batch", parts, |l| {
        l.iter().all(|&(_, n)| n == 1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn our_producers_large_batches() {
    let parts = &[(4_000, Write::Batched(Compression::None))];
    shape("sm-batched", "large batches", parts, |l| {
        l.iter().any(|&(_, n)| n > 100)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn batches_compressed_with_every_codec() {
    let parts = &[
        (600, Write::Batched(Compression::Gzip)),
        (600, Write::Batched(Compression::Snappy)),
        (600, Write::Batched(Compression::Lz4)),
        (600, Write::Batched(Compression::Zstd)),
    ];
    shape("sm-codecs", "compressed batches", parts, |l| l.len() >= 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn a_mix_of_one_record_batches_and_large_compressed_ones() {
    let parts = &[
        (30, Write::OfficialPerRecord),
        (800, Write::Batched(Compression::Zstd)),
        (30, Write::OfficialPerRecord),
        (800, Write::Batched(Compression::None)),
        (30, Write::OfficialPerRecord),
    ];
    shape("sm-mixed", "mixed", parts, |l| {
        l.iter().filter(|&&(_, n)| n == 1).count() >= 90 && l.iter().any(|&(_, n)| n > 100)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn a_topic_of_many_stream_frames() {
    let parts = &[(30_000, Write::Batched(Compression::Lz4))];
    shape("sm-large", "many frames", parts, |l| l.len() > 10).await;
}

/// Records written while both clients stream continuously: one record per batch and large
/// batches, as they come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn records_produced_while_the_stream_is_open() {
    scoped(|scope| async move {
        let topic = scope.topic("sm-live", 1).await;
        let mut input = scope.write(&topic, 0, 20, Write::OfficialPerRecord).await;
        for chain in chains(&scope).await {
            let label = format!("live, {}", chain.label);
            let options = ConsumerOptions::builder().max_bytes(FRAME).smartmodules(chain.invocations.clone()).offset(Offset::Beginning).build();
            let mut stream = scope
                .client
                .partition_consumer(&topic, 0, options)
                .await
                .unwrap();
            let first = input.len() as i64;
            input.extend(
                scope
                    .write(&topic, first, 500, Write::Batched(Compression::Snappy))
                    .await,
            );
            let first = input.len() as i64;
            input.extend(
                scope
                    .write(&topic, first, 15, Write::OfficialPerRecord)
                    .await,
            );
            let want = shapes::expected(&chain.steps, &input);
            let mut got = Vec::new();
            while got.len() < want.len() {
                let record = bounded(&label, stream.next())
                    .await
                    .expect("the stream goes on")
                    .unwrap_or_else(|e| panic!("{label}: {e}"));
                got.push((
                    record.offset,
                    record.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
                    String::from_utf8_lossy(&record.value).into_owned(),
                ));
            }
            let extra = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
            assert!(
                extra.is_err(),
                "{label}: a record beyond the expected ones: {extra:?}"
            );
            check_ours(&label, &got, &want, shapes::one_to_one(&chain.steps));
            let (_, recounted) = official_side(&scope, &label, &topic, &chain, &want).await;
            println!(
                "{label}: {} records, the official client's equal but for {recounted} batch(es) counted twice",
                got.len()
            );
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Start offsets, errors and pipelines.

/// A stream that starts inside a stored batch: the SPU runs the chain over the whole batch.
/// One output per input: exactly the records from the start. A filter: every record from the
/// start, and possibly some of the same batch before it (never one of an earlier batch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn a_start_inside_a_batch() {
    scoped(|scope| async move {
        let topic = scope.topic("sm-mid-batch", 1).await;
        let input = scope
            .write(&topic, 0, 1_000, Write::Batched(Compression::None))
            .await;
        let layout = shapes::layout(&scope.client, &topic, 0).await;
        let &(base, len) = layout.iter().find(|&&(_, n)| n > 10).expect("a large batch");
        let start = base + len as i64 / 2;
        let options = ConsumerOptions::builder().offset(Offset::Absolute(start)).build();
        let from_start: Vec<Rec> = input.iter().filter(|r| r.0 >= start).cloned().collect();
        let map = vec![SmartModuleInvocation::map(adhoc(&scope.modules.map))];
        let (got, error) = ours(&scope.client, &topic, &map, options.clone()).await;
        assert!(error.is_none(), "{error:?}");
        check_ours("map from mid-batch", &got, &shapes::expected(&[Step::Map], &from_start), true);
        let filter = vec![
            SmartModuleInvocation::filter(adhoc(&scope.modules.filter)).with_param("needle", "7"),
        ];
        let (got, error) = ours(&scope.client, &topic, &filter, options).await;
        assert!(error.is_none(), "{error:?}");
        let want = shapes::expected(&[Step::Filter("7")], &input);
        let skip = want.len() - shapes::expected(&[Step::Filter("7")], &from_start).len();
        let early = (got.len() + skip)
            .checked_sub(want.len())
            .unwrap_or_else(|| panic!("records from the start are missing: {got:?}"));
        check_ours("filter from mid-batch", &got, &want[skip - early..], false);
        assert!(
            want[skip - early..skip].iter().all(|r| r.0 >= base),
            "records before the start come only from the start's batch"
        );
        println!("a filter from {start} (batch {base}+{len}): {early} record(s) of the batch before the start");
    })
    .await;
}

/// A stop-at-end stream ends at the end offset fixed when it started, though frames read
/// later cover records written since: tiny frames, a reader that takes one record at a time,
/// and 40 records written after the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn a_stop_at_end_stream_ends_at_the_end_fixed_at_its_start() {
    scoped(|scope| async move {
        let topic = scope.topic("sm-end", 1).await;
        let input = scope.write(&topic, 0, 60, Write::OfficialPerRecord).await;
        let options = ConsumerOptions::builder()
            .smartmodules(vec![SmartModuleInvocation::map(adhoc(&scope.modules.map))])
            .disable_continuous(true)
            .max_bytes(256)
            .buffer_records(1)
            .build();
        let mut stream = scope
            .client
            .partition_consumer(&topic, 0, options)
            .await
            .unwrap();
        let first = bounded("first record", stream.next())
            .await
            .unwrap()
            .unwrap();
        scope.write(&topic, 60, 40, Write::OfficialPerRecord).await;
        let mut got = vec![first.offset];
        while let Some(record) = bounded("next record", stream.next()).await {
            got.push(record.unwrap().offset);
        }
        let want: Vec<i64> = input.iter().map(|r| r.0).collect();
        assert_eq!(
            got, want,
            "exactly the records up to the end fixed at the start"
        );
    })
    .await;
}

/// An aggregate resumed from a committed offset starts from the accumulator its invocation
/// gives: given the last total, it goes on where the committed stream stopped (committed at
/// the end of a stored batch: the SPU runs a chain over whole batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn a_resumed_aggregate_continues_from_the_accumulator_it_is_given() {
    scoped(|scope| async move {
        let topic = scope.topic("sm-resume", 1).await;
        let input = scope
            .write(&topic, 0, 2_000, Write::Batched(Compression::None))
            .await;
        let want = shapes::expected(&[Step::Aggregate("0")], &input);
        let layout = shapes::layout(&scope.client, &topic, 0).await;
        assert!(layout.len() > 1, "several batches: {layout:?}");
        let resume_at = layout[1].0 as usize;
        let consumer_id = unique("sm-resume");
        let aggregate = |initial: &str| {
            vec![SmartModuleInvocation::aggregate(
                adhoc(&scope.modules.aggregate),
                initial.to_string(),
            )]
        };
        let options = |initial: &str| {
            ConsumerOptions::builder()
                .smartmodules(aggregate(initial))
                .consumer_id(consumer_id.clone())
                .build()
        };
        let mut stream = scope
            .client
            .partition_consumer(&topic, 0, options("0"))
            .await
            .unwrap();
        let mut last = None;
        for _ in 0..resume_at {
            last = Some(bounded("record", stream.next()).await.unwrap().unwrap());
        }
        let last = last.unwrap();
        stream.commit(last.offset).await.expect("commit");
        drop(stream);
        let total = String::from_utf8(last.value.to_vec()).unwrap();
        let (rest, error) = ours(
            &scope.client,
            &topic,
            &aggregate(&total),
            ConsumerOptions::builder()
                .consumer_id(consumer_id.clone())
                .build(),
        )
        .await;
        assert!(error.is_none(), "{error:?}");
        check_ours("resumed aggregate", &rest, &want[resume_at..], true);
    })
    .await;
}

/// A runtime error comes as the typed error with the failing record's offset, after every
/// record before it, whether the input is one batch per record or one batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn a_runtime_error_comes_after_the_records_before_it() {
    scoped(|scope| async move {
        let aggregate = scope
            .smartmodule("sm-aggregate", &scope.modules.aggregate)
            .await;
        let chain = vec![SmartModuleInvocation::generic_aggregate(
            predefined(&aggregate),
            "10",
        )];
        let values: Vec<String> = ["1", "2", "x", "4"].map(String::from).to_vec();
        for how in [Write::OfficialPerRecord, Write::Batched(Compression::Gzip)] {
            let topic = scope.topic("sm-bad-numbers", 1).await;
            bounded(
                "write",
                shapes::write(&scope.client, &scope.official, &topic, 0, &values, how),
            )
            .await;
            let (got, error) =
                ours(&scope.client, &topic, &chain, ConsumerOptions::default()).await;
            let got: Vec<(i64, &str)> = got.iter().map(|(o, _, v)| (*o, v.as_str())).collect();
            assert_eq!(
                got,
                vec![(0, "11"), (1, "13")],
                "{how:?}: the sums before the failure"
            );
            match error {
                Some(ConsumerError::SmartModule {
                    offset,
                    code,
                    message,
                }) => {
                    assert_eq!(offset, 2, "{how:?}: {message}");
                    assert_eq!(code.code(), 6004, "{how:?}: a runtime error: {code:?}");
                    println!("{how:?}: runtime error after {got:?}: {message}");
                }
                other => panic!("{how:?}: expected a runtime error at offset 2, got {other:?}"),
            }
            let (theirs, error) = shapes::official(&scope.official, &topic, &chain, FRAME, 2).await;
            let theirs: Vec<&str> = theirs.iter().map(|(_, _, v)| v.as_str()).collect();
            assert_eq!(theirs, vec!["11", "13"], "{how:?}: the official client");
            assert!(
                error.is_some(),
                "{how:?}: the official client reports the error too"
            );
        }
    })
    .await;
}

/// A pipeline worker that tags each value it gets.
struct Tag;

impl actix::Actor for Tag {
    type Context = actix::Context<Self>;
}

impl actix::Handler<ProcessBatch> for Tag {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: ProcessBatch, _: &mut actix::Context<Self>) -> Self::Result {
        let outputs = msg.records.iter().map(|r| {
            let value = String::from_utf8_lossy(&r.value);
            Output::value(format!("seen:{value}"))
        });
        Ok(outputs.collect())
    }
}

/// 10,000 records, one per batch, on 2 partitions, through a filter and a map on the SPU and
/// then a batch worker, to a zstd-compressed sink (consumer and producer options pass
/// through): the sink holds exactly the transformed records, in zstd batches.
#[actix_rt::test]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster_smartmodules -- --ignored"]
async fn a_pipeline_applies_its_chain_to_one_record_batches_on_two_partitions() {
    scoped(|scope| async move {
        const COUNT: i64 = 10_000;
        let source = scope.topic("sm-pipe-source", 2).await;
        let sink = scope.topic("sm-pipe-sink", 1).await;
        let filter = scope
            .smartmodule("sm-pipe-filter", &scope.modules.filter)
            .await;
        let map = scope.smartmodule("sm-pipe-map", &scope.modules.map).await;
        // Our producer with 1-byte batches: one record per batch.
        let producer = scope
            .client
            .producer(ProducerOptions::builder().batch_size(1).build());
        let values: Vec<String> = (0..COUNT).map(shapes::value).collect();
        let receipts = bounded(
            "produce",
            producer.send_batch(
                &source,
                values.iter().map(|v| (None::<&[u8]>, v.as_bytes())),
            ),
        )
        .await
        .expect("produce");
        producer.close().await.expect("close");
        let mut inputs: [Vec<Rec>; 2] = Default::default();
        for (r, v) in receipts.iter().zip(&values) {
            inputs[r.partition as usize].push((r.offset, None, v.clone()));
        }
        for p in 0..2 {
            let layout = shapes::layout(&scope.client, &source, p).await;
            assert_eq!(
                layout.len(),
                inputs[p as usize].len(),
                "one record per batch on {p}"
            );
        }
        let mut config = PipelineConfig::new(&source, unique("sm-pipe"));
        config.sink = Some(sink.clone());
        config.exit_at_end = true;
        config.consumer.smartmodules = vec![
            SmartModuleInvocation::filter(predefined(&filter)).with_param("needle", "7"),
            SmartModuleInvocation::map(predefined(&map)),
        ];
        // The sink's producer options pass through: its batches are zstd.
        config.producer.compression = Compression::Zstd;
        // (A SmartModule just stored reaches the SPU a moment after the SC confirms it: the
        // stream waits for it.)
        let started = Instant::now();
        let pipeline = start_pipeline(&scope.client, config.clone(), |_| {
            actix::Actor::create(|_| Tag).recipient::<ProcessBatch>()
        })
        .await
        .expect("pipeline");
        if let Err(e) = bounded("pipeline run", pipeline.wait()).await {
            panic!("pipeline through a SmartModule chain: {e}");
        }
        let conn = scope
            .client
            .low_level()
            .leader_connection(&sink, 0)
            .await
            .expect("leader");
        let fetched = conn
            .request(&FetchRequest::single(
                &sink,
                0,
                0,
                1 << 20,
                Isolation::ReadUncommitted,
            ))
            .await
            .expect("fetch");
        let batches = &fetched
            .find_partition(&sink, 0)
            .expect("partition")
            .records
            .batches;
        assert!(!batches.is_empty());
        for batch in batches {
            assert_eq!(batch.compression().expect("attributes"), Compression::Zstd);
        }
        let steps = [Step::Filter("7"), Step::Map];
        let mut want: Vec<String> = inputs
            .iter()
            .flat_map(|input| shapes::expected(&steps, input))
            .map(|(_, _, v)| format!("seen:{v}"))
            .collect();
        let mut copied = common::read_values(&scope.client, &sink, 1).await;
        assert_eq!(copied.len(), want.len(), "every transformed record, once");
        want.sort();
        copied.sort();
        assert_eq!(
            copied, want,
            "the sink holds exactly the transformed records"
        );
        println!(
            "pipeline: {} of {COUNT} records through filter | map | worker in {:.1?}",
            copied.len(),
            started.elapsed()
        );
    })
    .await;
}
