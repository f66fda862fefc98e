//! SmartModules on the consumer, against a real Fluvio cluster: runs only when
//! `FLUVIO_SC_ADDR` is set and the SC has an online SPU (e.g.
//! `FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --test real_cluster_smartmodules -- --nocapture`),
//! and says so when it skips.
//!
//! The three SmartModules (a filter with a `needle` parameter, an upper-casing map and a
//! summing aggregate) are built from source at test time with `fluvio-smartmodule` for
//! `wasm32-unknown-unknown`, in a generated Cargo project under `<target>/smartmodules/`; the
//! `.wasm` files are cached there, keyed by a hash of the sources, so reruns do not rebuild.

mod common;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_fluvio::admin::{Admin, TopicConfig};
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::{ConsumerError, ConsumerOptions};
use actix_fluvio::pipeline::{
    start_pipeline, Output, PipelineConfig, PipelineError, Process, WorkerError,
};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::protocol::spu::{SmartModuleInvocation, SmartModuleWasm};
use actix_fluvio::protocol::ErrorCode;
use futures_util::FutureExt;

use common::unique;

// ---------------------------------------------------------------------------------------------
// The SmartModule sources (a generated workspace of three cdylib crates).

const SMARTMODULE_CRATE: &str = "fluvio-smartmodule = \"=0.50.1\"";

const WORKSPACE_TOML: &str = r#"[workspace]
resolver = "2"
members = ["filter", "map", "aggregate"]

[profile.release]
lto = true
opt-level = "s"
"#;

const FILTER_RS: &str = r#"use std::sync::{Arc, Mutex, OnceLock};

use fluvio_smartmodule::dataplane::smartmodule::SmartModuleExtraParams;
use fluvio_smartmodule::{smartmodule, Result, SmartModuleRecord};

static NEEDLE: OnceLock<String> = OnceLock::new();

#[smartmodule(init)]
fn init(params: SmartModuleExtraParams) -> Result<()> {
    let needle = params.get("needle").cloned().unwrap_or_else(|| "a".to_string());
    let _ = NEEDLE.set(needle);
    Ok(())
}

/// Keeps the values that contain the `needle` parameter (default "a").
#[smartmodule(filter)]
pub fn filter(record: &SmartModuleRecord) -> Result<bool> {
    let value = std::str::from_utf8(record.value.as_ref())?;
    Ok(value.contains(NEEDLE.get().map(String::as_str).unwrap_or("a")))
}
"#;

const MAP_RS: &str = r#"use fluvio_smartmodule::{smartmodule, RecordData, Result, SmartModuleRecord};

/// Upper-cases the value.
#[smartmodule(map)]
pub fn map(record: &SmartModuleRecord) -> Result<(Option<RecordData>, RecordData)> {
    let value = std::str::from_utf8(record.value.as_ref())?;
    Ok((record.key.clone(), value.to_uppercase().into()))
}
"#;

const AGGREGATE_RS: &str = r#"use fluvio_smartmodule::{smartmodule, RecordData, Result, SmartModuleRecord};

/// Sums integer values; the accumulator is decimal text (empty = 0).
#[smartmodule(aggregate)]
pub fn aggregate(accumulator: RecordData, current: &SmartModuleRecord) -> Result<RecordData> {
    let acc = std::str::from_utf8(accumulator.as_ref())?.trim();
    let acc: i64 = if acc.is_empty() { 0 } else { acc.parse()? };
    let value: i64 = std::str::from_utf8(current.value.as_ref())?.trim().parse()?;
    Ok((acc + value).to_string().into())
}
"#;

const MODULES: [(&str, &str); 3] = [
    ("filter", FILTER_RS),
    ("map", MAP_RS),
    ("aggregate", AGGREGATE_RS),
];

fn member_toml(name: &str) -> String {
    format!(
        "[package]\nname = \"sm_{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n{SMARTMODULE_CRATE}\n"
    )
}

/// FNV-1a 64 over everything that determines the build: stable across Rust releases.
fn source_hash() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes.iter().chain([0xffu8].iter()) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(WORKSPACE_TOML.as_bytes());
    for (name, source) in MODULES {
        feed(name.as_bytes());
        feed(member_toml(name).as_bytes());
        feed(source.as_bytes());
    }
    format!("{hash:016x}")
}

/// The built modules (raw wasm).
struct Modules {
    filter: Vec<u8>,
    map: Vec<u8>,
    aggregate: Vec<u8>,
}

/// Why the modules are not there.
enum Unavailable {
    /// A missing prerequisite: the test skips.
    Skip(String),
    /// A broken build: the test fails.
    Fail(String),
}

/// `<target dir>/smartmodules` (the target dir of this build, as cargo reports it to tests).
fn cache_root() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("smartmodules")
}

fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|e| format!("{shown}: cannot run: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{shown}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Make sure rustc can build for wasm32-unknown-unknown, adding the target once if needed.
fn ensure_wasm_target() -> Result<(), Unavailable> {
    const TARGET: &str = "wasm32-unknown-unknown";
    let installed = |_: ()| {
        run(Command::new("rustup").args(["target", "list", "--installed"]))
            .map(|out| out.lines().any(|l| l.trim() == TARGET))
    };
    match installed(()) {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => {
            return Err(Unavailable::Skip(format!(
                "wasm32 target unavailable (rustup not usable: {e})"
            )))
        }
    }
    println!("adding the {TARGET} target with rustup (once)");
    match run(Command::new("rustup").args(["target", "add", TARGET])) {
        Ok(_) if installed(()) == Ok(true) => Ok(()),
        Ok(_) => Err(Unavailable::Skip(
            "wasm32 target unavailable (rustup target add did not install it)".into(),
        )),
        Err(e) => Err(Unavailable::Skip(format!("wasm32 target unavailable: {e}"))),
    }
}

fn build_modules() -> Result<Modules, Unavailable> {
    let root = cache_root();
    let cached = root.join(source_hash());
    let wasm_path = |name: &str| cached.join(format!("sm_{name}.wasm"));
    let read = || -> std::io::Result<Modules> {
        Ok(Modules {
            filter: std::fs::read(wasm_path("filter"))?,
            map: std::fs::read(wasm_path("map"))?,
            aggregate: std::fs::read(wasm_path("aggregate"))?,
        })
    };
    if let Ok(modules) = read() {
        println!("SmartModules from the cache {}", cached.display());
        return Ok(modules);
    }
    ensure_wasm_target()?;

    let fail = |what: &str, e: &dyn std::fmt::Display| Unavailable::Fail(format!("{what}: {e}"));
    let project = cached.join("project");
    for (name, source) in MODULES {
        let dir = project.join(name);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| fail("create project", &e))?;
        std::fs::write(dir.join("Cargo.toml"), member_toml(name))
            .map_err(|e| fail("write Cargo.toml", &e))?;
        std::fs::write(dir.join("src/lib.rs"), source).map_err(|e| fail("write lib.rs", &e))?;
    }
    std::fs::write(project.join("Cargo.toml"), WORKSPACE_TOML)
        .map_err(|e| fail("write workspace", &e))?;

    // One target dir for every source version, so dependencies stay built across edits.
    let target_dir = root.join("build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    println!(
        "building the SmartModules in {} (first run only)",
        project.display()
    );
    let mut command = Command::new(cargo);
    command
        .current_dir(&project)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .arg("--target-dir")
        .arg(&target_dir)
        // This test's own build settings must not leak into the wasm build.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS");
    run(&mut command).map_err(|e| Unavailable::Fail(format!("SmartModule build failed: {e}")))?;
    println!("SmartModules built in {:.1?}", started.elapsed());
    let release = target_dir.join("wasm32-unknown-unknown/release");
    for (name, _) in MODULES {
        std::fs::copy(release.join(format!("sm_{name}.wasm")), wasm_path(name))
            .map_err(|e| fail("copy the wasm", &e))?;
    }
    read().map_err(|e| fail("read the wasm", &e))
}

/// The modules, built once per test binary; `None` (after printing why) when the wasm32
/// target is unavailable.
fn modules() -> Option<&'static Modules> {
    static MODULES: OnceLock<Result<Modules, Unavailable>> = OnceLock::new();
    match MODULES.get_or_init(build_modules) {
        Ok(modules) => Some(modules),
        Err(Unavailable::Skip(why)) => {
            println!("SKIPPED: {why}");
            None
        }
        Err(Unavailable::Fail(why)) => panic!("{why}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The cluster.

const FRUITS: [&str; 4] = ["apple", "banana", "cherry", "date"];

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .unwrap_or_else(|_| panic!("real-cluster step timed out: {what}"))
}

/// A connected client when `FLUVIO_SC_ADDR` names an SC with an online SPU and the
/// SmartModules are built; else `None`, after printing why.
async fn setup() -> Option<(FluvioClient, &'static Modules)> {
    let addr = match std::env::var("FLUVIO_SC_ADDR") {
        Ok(addr) if !addr.is_empty() => addr,
        _ => {
            println!("SKIPPED: FLUVIO_SC_ADDR is not set; no real Fluvio cluster to test against");
            return None;
        }
    };
    let client = bounded("connect", FluvioClient::connect(ClientConfig::default()))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the SC at {addr}: {e}"));
    let spus = bounded("list SPUs", client.admin().list_spus())
        .await
        .expect("list SPUs");
    if !spus.iter().any(|s| s.online) {
        println!(
            "SKIPPED: the SC at {addr} has no online SPU ({} registered); nothing can run a SmartModule",
            spus.len()
        );
        return None;
    }
    let modules = tokio::task::spawn_blocking(modules).await.unwrap()?;
    Some((client, modules))
}

/// What a test created, deleted at the end whether or not the test passed.
#[derive(Clone)]
struct Scope {
    client: FluvioClient,
    admin: Admin,
    /// (topics, SmartModules)
    created: Arc<Mutex<(Vec<String>, Vec<String>)>>,
}

impl Scope {
    fn new(client: &FluvioClient) -> Self {
        Self {
            client: client.clone(),
            admin: client.admin(),
            created: Arc::default(),
        }
    }

    /// A new one-partition topic holding `values` (offsets 0..).
    async fn topic(&self, prefix: &str, values: &[&str]) -> String {
        let topic = unique(prefix);
        bounded(
            "create topic",
            self.admin.create_topic(&topic, TopicConfig::new(1)),
        )
        .await
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
        self.created.lock().unwrap().0.push(topic.clone());
        // One batch: an SPU 0.18 gives wrong offsets to SmartModule output that spans
        // several stored batches (stored delta d of a record in a later batch B comes back as d + S - B instead of d + B - S, S the output's base), which is not
        // what these tests are about.
        let producer = self.client.producer(ProducerOptions {
            linger: Duration::from_millis(200),
            ..ProducerOptions::default()
        });
        let records = values.iter().map(|v| (None::<&[u8]>, v.as_bytes()));
        let deadline = Instant::now() + Duration::from_secs(30);
        let receipts = loop {
            // A new partition may take a moment to get its leader.
            match bounded("produce", producer.send_batch(&topic, records.clone())).await {
                Ok(receipts) => break receipts,
                Err(e) if Instant::now() < deadline => {
                    println!("produce to {topic} not ready yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("produce to {topic}: {e}"),
            }
        };
        let offsets: Vec<i64> = receipts.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (0..values.len() as i64).collect::<Vec<_>>());
        topic
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
    F: FnOnce(&'static Modules, Scope) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some((client, modules)) = setup().await else {
        return;
    };
    let started = Instant::now();
    let scope = Scope::new(&client);
    let outcome = AssertUnwindSafe(body(modules, scope.clone()))
        .catch_unwind()
        .await;
    scope.cleanup().await;
    println!("done in {:.1?}", started.elapsed());
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Every record of partition 0 (up to the end when the stream starts) through `chain`.
async fn consume(
    client: &FluvioClient,
    topic: &str,
    chain: Vec<SmartModuleInvocation>,
) -> (Vec<(i64, String)>, Option<ConsumerError>) {
    let options = ConsumerOptions {
        smartmodules: chain,
        disable_continuous: true,
        ..Default::default()
    };
    let read = || async {
        let options = options.clone();
        let mut stream = client
            .partition_consumer(topic, 0, options)
            .await
            .expect("partition consumer");
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(record) => out.push((
                    record.offset,
                    String::from_utf8_lossy(&record.value).into_owned(),
                )),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    };
    // A SmartModule just stored reaches the SPU a moment after the SC confirms it.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let outcome = tokio::time::timeout(Duration::from_secs(60), read())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "consuming {topic} through SmartModules gave no end within 60 s \
                     (the SPU sends no frame when a SmartModule leaves nothing)"
                )
            });
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

/// Consume `topic` through `chain` and check the output is exactly `want`, telling apart an
/// SPU without a SmartModule engine (records come back unchanged) and SmartModule errors.
async fn expect(
    client: &FluvioClient,
    label: &str,
    topic: &str,
    input: &[&str],
    chain: Vec<SmartModuleInvocation>,
    want: &[(i64, &str)],
) {
    let started = Instant::now();
    let (got, error) = consume(client, topic, chain).await;
    if let Some(error) = error {
        panic!(
            "{label}: the SPU answered with an error after {} record(s) {got:?}: {error} \
             ({error:?}); if every SmartModule fails, the SPU may lack a SmartModule engine",
            got.len()
        );
    }
    let unchanged: Vec<(i64, String)> = input
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, v.to_string()))
        .collect();
    let want: Vec<(i64, String)> = want.iter().map(|(o, v)| (*o, v.to_string())).collect();
    if got == unchanged && want != unchanged {
        panic!(
            "{label}: records came back unchanged: the SPU did not apply the SmartModule \
             (an SPU built without its SmartModule engine passes records through)"
        );
    }
    assert_eq!(got, want, "{label}: (offset, value) out of the SmartModule");
    println!("{label}: {got:?} in {:.1?}", started.elapsed());
}

fn predefined(name: &str) -> SmartModuleWasm {
    SmartModuleWasm::predefined(name)
}

fn adhoc(wasm: &[u8]) -> SmartModuleWasm {
    SmartModuleWasm::adhoc(wasm).expect("gzip the wasm")
}

const NUMBERS: [&str; 10] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

/// Running sums of 1..=10 starting from 10, at offsets 0..=9.
const SUMS: [(i64, &str); 10] = [
    (0, "11"),
    (1, "13"),
    (2, "16"),
    (3, "20"),
    (4, "25"),
    (5, "31"),
    (6, "38"),
    (7, "46"),
    (8, "55"),
    (9, "65"),
];

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test]
async fn predefined_filter_with_and_without_its_parameter() {
    scoped(|modules, scope| async move {
        let topic = scope.topic("sm-fruits", &FRUITS).await;
        let filter = scope.smartmodule("sm-filter", &modules.filter).await;
        let c = &scope.client;
        let an = [(1, "banana")];
        let with_a = [(0, "apple"), (1, "banana"), (3, "date")];
        let kinds = [
            ("filter", SmartModuleInvocation::filter(predefined(&filter))),
            (
                "generic",
                SmartModuleInvocation::generic(predefined(&filter)),
            ),
        ];
        for (kind, invocation) in kinds {
            let label = format!("predefined {kind} needle=an");
            let chain = vec![invocation.clone().with_param("needle", "an")];
            expect(c, &label, &topic, &FRUITS, chain, &an).await;
            let label = format!("predefined {kind} default needle");
            expect(c, &label, &topic, &FRUITS, vec![invocation], &with_a).await;
        }
    })
    .await;
}

#[tokio::test]
async fn predefined_map_upper_cases() {
    scoped(|modules, scope| async move {
        let topic = scope.topic("sm-fruits", &FRUITS).await;
        let map = scope.smartmodule("sm-map", &modules.map).await;
        let c = &scope.client;
        let want = [(0, "APPLE"), (1, "BANANA"), (2, "CHERRY"), (3, "DATE")];
        let kinds = [
            ("map", SmartModuleInvocation::map(predefined(&map))),
            ("generic", SmartModuleInvocation::generic(predefined(&map))),
        ];
        for (kind, invocation) in kinds {
            let label = format!("predefined {kind}");
            expect(c, &label, &topic, &FRUITS, vec![invocation], &want).await;
        }
    })
    .await;
}

#[tokio::test]
async fn predefined_aggregate_sums_from_the_initial_accumulator() {
    scoped(|modules, scope| async move {
        let topic = scope.topic("sm-numbers", &NUMBERS).await;
        let aggregate = scope.smartmodule("sm-aggregate", &modules.aggregate).await;
        let c = &scope.client;
        let kinds = [
            (
                "aggregate",
                SmartModuleInvocation::aggregate(predefined(&aggregate), "10"),
            ),
            (
                "generic aggregate",
                SmartModuleInvocation::generic_aggregate(predefined(&aggregate), "10"),
            ),
        ];
        for (kind, invocation) in kinds {
            let label = format!("predefined {kind} from 10");
            expect(c, &label, &topic, &NUMBERS, vec![invocation], &SUMS).await;
        }
    })
    .await;
}

#[tokio::test]
async fn adhoc_filter_map_and_aggregate() {
    scoped(|modules, scope| async move {
        let fruits = scope.topic("sm-fruits", &FRUITS).await;
        let numbers = scope.topic("sm-numbers", &NUMBERS).await;
        let c = &scope.client;
        let filter =
            SmartModuleInvocation::generic(adhoc(&modules.filter)).with_param("needle", "an");
        expect(
            c,
            "ad-hoc filter needle=an",
            &fruits,
            &FRUITS,
            vec![filter],
            &[(1, "banana")],
        )
        .await;
        let map = SmartModuleInvocation::map(adhoc(&modules.map));
        let want = [(0, "APPLE"), (1, "BANANA"), (2, "CHERRY"), (3, "DATE")];
        expect(c, "ad-hoc map", &fruits, &FRUITS, vec![map], &want).await;
        let aggregate = SmartModuleInvocation::generic_aggregate(adhoc(&modules.aggregate), "10");
        expect(
            c,
            "ad-hoc aggregate from 10",
            &numbers,
            &NUMBERS,
            vec![aggregate],
            &SUMS,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn chain_filter_then_map() {
    scoped(|modules, scope| async move {
        let topic = scope.topic("sm-fruits", &FRUITS).await;
        let filter = scope.smartmodule("sm-filter", &modules.filter).await;
        let map = scope.smartmodule("sm-map", &modules.map).await;
        let c = &scope.client;
        let chain = vec![
            SmartModuleInvocation::filter(predefined(&filter)).with_param("needle", "an"),
            SmartModuleInvocation::map(predefined(&map)),
        ];
        expect(
            c,
            "predefined chain filter(an) | map",
            &topic,
            &FRUITS,
            chain,
            &[(1, "BANANA")],
        )
        .await;
        let chain = vec![
            SmartModuleInvocation::generic(adhoc(&modules.filter)),
            SmartModuleInvocation::generic(adhoc(&modules.map)),
        ];
        let want = [(0, "APPLE"), (1, "BANANA"), (3, "DATE")];
        expect(
            c,
            "ad-hoc chain filter(a) | map",
            &topic,
            &FRUITS,
            chain,
            &want,
        )
        .await;
    })
    .await;
}

/// The build alone (no SPU needed): the modules are wasm and export their entry points.
#[tokio::test]
async fn smartmodules_build_for_wasm32() {
    if std::env::var("FLUVIO_SC_ADDR").map_or(true, |a| a.is_empty()) {
        println!("SKIPPED: FLUVIO_SC_ADDR is not set; the SmartModules are built only for a real cluster");
        return;
    }
    let started = Instant::now();
    let Some(modules) = tokio::task::spawn_blocking(modules).await.unwrap() else {
        return;
    };
    let exports = |wasm: &[u8], names: &[&str]| {
        assert!(wasm.starts_with(b"\0asm"), "not a wasm module");
        for name in names {
            assert!(
                wasm.windows(name.len()).any(|w| w == name.as_bytes()),
                "no {name} export"
            );
        }
    };
    exports(&modules.filter, &["filter", "init"]);
    exports(&modules.map, &["map"]);
    exports(&modules.aggregate, &["aggregate"]);
    println!(
        "filter {} B, map {} B, aggregate {} B, ready in {:.1?}",
        modules.filter.len(),
        modules.map.len(),
        modules.aggregate.len(),
        started.elapsed()
    );
}

#[tokio::test]
async fn runtime_error_comes_after_the_records_before_it() {
    scoped(|modules, scope| async move {
        let input = ["1", "2", "x", "4"];
        let topic = scope.topic("sm-bad-numbers", &input).await;
        let aggregate = scope.smartmodule("sm-aggregate", &modules.aggregate).await;
        let chain = vec![SmartModuleInvocation::generic_aggregate(
            predefined(&aggregate),
            "10",
        )];
        let (got, error) = consume(&scope.client, &topic, chain).await;
        let want = vec![(0, "11".to_string()), (1, "13".to_string())];
        if got.len() == input.len() && error.is_none() {
            panic!(
                "records came back without the SmartModule error ({got:?}): the SPU did not \
                 apply the SmartModule (an SPU built without its SmartModule engine passes \
                 records through)"
            );
        }
        assert_eq!(got, want, "the sums before the failing record");
        match error {
            Some(ConsumerError::SmartModule {
                offset,
                code,
                message,
            }) => {
                assert_eq!(offset, 2, "{message}");
                assert_eq!(code.code(), 6004, "a runtime error: {code:?}");
                println!("runtime error after {got:?}: {message}");
            }
            other => panic!("expected a SmartModule runtime error at offset 2, got {other:?}"),
        }
    })
    .await;
}

/// A pipeline worker that tags each value it gets.
struct Tag;

impl actix::Actor for Tag {
    type Context = actix::Context<Self>;
}

impl actix::Handler<Process> for Tag {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut actix::Context<Self>) -> Self::Result {
        let value = String::from_utf8_lossy(&msg.0.value).into_owned();
        Ok(vec![Output::value(format!("seen:{value}"))])
    }
}

#[actix_rt::test]
async fn a_pipeline_applies_its_smartmodules_on_the_spu_before_its_worker() {
    scoped(|modules, scope| async move {
        let source = scope.topic("sm-pipe-source", &FRUITS).await;
        let sink = scope.topic("sm-pipe-sink", &[]).await;
        let map = scope.smartmodule("sm-pipe-map", &modules.map).await;
        let mut config = PipelineConfig::new(&source, unique("sm-pipe"));
        config.sink = Some(sink.clone());
        config.exit_at_end = true;
        config.smartmodules = vec![SmartModuleInvocation::map(predefined(&map))];
        // A SmartModule just stored reaches the SPU a moment after the SC confirms it.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let pipeline = start_pipeline(&scope.client, config.clone(), |_| {
                actix::Actor::start_in_arbiter(&actix::Arbiter::new().handle(), |_| Tag).recipient()
            })
            .await
            .expect("pipeline");
            match bounded("pipeline run", pipeline.wait()).await {
                Ok(_) => break,
                Err(PipelineError::Consumer(ConsumerError::SmartModule { code, .. }))
                    if matches!(code, ErrorCode::SmartModuleNotFound { .. })
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("pipeline through a SmartModule: {e}"),
            }
        }
        let (copied, error) = consume(&scope.client, &sink, vec![]).await;
        assert!(error.is_none(), "{error:?}");
        let want: Vec<(i64, String)> = ["APPLE", "BANANA", "CHERRY", "DATE"]
            .iter()
            .enumerate()
            .map(|(i, v)| (i as i64, format!("seen:{v}")))
            .collect();
        assert_eq!(copied, want, "mapped on the SPU, then tagged by the worker");
    })
    .await;
}
