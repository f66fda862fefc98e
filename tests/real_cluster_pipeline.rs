//! The pipeline example end to end against a real Fluvio cluster, with the SPU killed and
//! restarted once mid-run: the sink must hold every source record, upper-cased, and the
//! committed offsets must sit on the source's last records.
//!
//! Restarting the SPU needs a cluster this test owns, so it starts one itself on loopback
//! (free ports, a fresh directory) from a `fluvio-run` binary: `fluvio-run sc --local` and one
//! custom SPU registered with [`Admin::register_spu`]. It runs only when `FLUVIO_RUN` names
//! that binary, e.g.
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --test real_cluster_pipeline -- --nocapture`,
//! and says so when it skips.
//!
//! [`Admin::register_spu`]: actix_fluvio::admin::Admin::register_spu

mod common;

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::producer::ProducerOptions;

use common::{read_values, unique};

const RECORDS: usize = 60_000;
/// Values of ~1 KB: each source partition (30 MB) is far more than a consumer reads ahead
/// (10,000 buffered records plus one 4 MiB frame), so the SPU restart hits the source streams
/// as well as the sink's producer and the commits.
const PADDING: usize = 990;
const SPU_ID: i32 = 5101;

fn fluvio_run() -> Option<PathBuf> {
    match std::env::var_os("FLUVIO_RUN") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            println!(
                "SKIPPED: FLUVIO_RUN is not set; no fluvio-run binary to start a cluster with"
            );
            None
        }
    }
}

/// A child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An SC and one SPU on loopback, in a directory of their own (kept when the test fails).
struct LocalCluster {
    bin: PathBuf,
    dir: PathBuf,
    sc_public: String,
    sc_private: String,
    spu_public: String,
    spu_private: String,
    spu: Option<Process>,
    sc: Option<Process>,
}

impl LocalCluster {
    fn start(bin: PathBuf) -> Self {
        let dir = std::env::temp_dir().join(unique("actix-fluvio-e2e"));
        std::fs::create_dir_all(dir.join("spu")).unwrap();
        let [sc_public, sc_private, spu_public, spu_private] = free_ports();
        let mut cluster = Self {
            bin,
            dir,
            sc_public,
            sc_private,
            spu_public,
            spu_private,
            spu: None,
            sc: None,
        };
        let sc = Command::new(&cluster.bin)
            .args(["sc", "--local"])
            .arg(cluster.dir.join("metadata"))
            .args(["--bind-public", &cluster.sc_public])
            .args(["--bind-private", &cluster.sc_private])
            .stdout(cluster.log("sc.log"))
            .stderr(cluster.log("sc.log"))
            .spawn()
            .expect("cannot start fluvio-run sc");
        cluster.sc = Some(Process(sc));
        wait_for_port(&cluster.sc_public, &cluster.dir);
        cluster
    }

    fn start_spu(&mut self) {
        let spu = Command::new(&self.bin)
            .args(["spu", "-i", &SPU_ID.to_string()])
            .args(["-p", &self.spu_public, "-v", &self.spu_private])
            .args(["--sc-addr", &self.sc_private])
            .arg("--log-base-dir")
            .arg(self.dir.join("spu"))
            .env("FLUVIO_METRIC_SPU", self.dir.join("spu-metrics.sock"))
            .env("RUST_LOG", "info")
            .stdout(self.log("spu.log"))
            .stderr(self.log("spu.log"))
            .spawn()
            .expect("cannot start fluvio-run spu");
        self.spu = Some(Process(spu));
        wait_for_port(&self.spu_public, &self.dir);
    }

    /// SIGKILL: no clean shutdown, like a crash.
    fn kill_spu(&mut self) {
        self.spu.take();
    }

    fn log(&self, name: &str) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(name))
            .unwrap()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.spu.take();
        self.sc.take();
        if std::thread::panicking() || std::env::var_os("KEEP_CLUSTER_LOGS").is_some() {
            eprintln!("cluster logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_ports() -> [String; 4] {
    let listeners: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addr = |i: usize| listeners[i].local_addr().unwrap().to_string();
    [addr(0), addr(1), addr(2), addr(3)]
}

fn wait_for_port(addr: &str, logs: &Path) {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing listens on {addr} after 60 s; logs in {}",
            logs.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < timeout, "{what}: not after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pipeline example's binary, built the way `cargo test` built this test.
fn pipeline_example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--example", "pipeline", "--message-format=short"])
        .status()
        .expect("cannot run cargo");
    assert!(built.success(), "cannot build the pipeline example");
    let deps = std::env::current_exe().unwrap();
    let profile_dir = deps.parent().unwrap().parent().unwrap();
    let example = profile_dir
        .join("examples")
        .join(format!("pipeline{}", std::env::consts::EXE_SUFFIX));
    assert!(example.exists(), "{} was not built", example.display());
    example
}

fn run_example(example: &Path, cluster: &LocalCluster, source: &str, sink: &str) -> Child {
    Command::new(example)
        .args([source, sink, "--consumer-id", "e2e", "--exit-at-end"])
        .env("FLUVIO_SC_ADDR", &cluster.sc_public)
        .env(
            "RUST_LOG",
            "info,actix_fluvio::pipeline=debug,actix_fluvio::consumer=debug",
        )
        .stdout(Stdio::piped())
        .stderr(cluster.log("pipeline.log"))
        .spawn()
        .expect("cannot start the pipeline example")
}

/// Wait for the example to exit (at most `timeout`); its stdout.
async fn finished(mut child: Child, timeout: Duration, logs: &Path) -> String {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!(
                "the pipeline example did not finish within {timeout:?}; logs in {}",
                logs.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let Output { status, stdout, .. } = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "the pipeline example failed ({status}); logs in {}",
        logs.display()
    );
    String::from_utf8(stdout).unwrap()
}

fn value(i: usize) -> String {
    format!("rec-{i:06}-{}", "x".repeat(PADDING))
}

#[tokio::test]
async fn the_pipeline_example_copies_everything_across_an_spu_restart() {
    let Some(bin) = fluvio_run() else { return };
    let example = pipeline_example();
    let mut cluster = LocalCluster::start(bin);
    let client = FluvioClient::connect(ClientConfig::new(cluster.sc_public.clone()))
        .await
        .unwrap();
    let admin = client.admin();
    let (public, private) = (cluster.spu_public.clone(), cluster.spu_private.clone());
    until("custom SPU registered", Duration::from_secs(30), || {
        let admin = admin.clone();
        let (public, private) = (public.clone(), private.clone());
        async move { admin.register_spu(SPU_ID, &public, &private).await.is_ok() }
    })
    .await;
    cluster.start_spu();
    let spu_online = || {
        let admin = admin.clone();
        async move {
            admin
                .list_spus()
                .await
                .is_ok_and(|spus| spus.iter().any(|s| s.id == SPU_ID && s.online))
        }
    };
    until("SPU online", Duration::from_secs(60), spu_online).await;
    println!(
        "cluster: SC {} (private {}), SPU {SPU_ID} {} (private {}), logs {}",
        cluster.sc_public,
        cluster.sc_private,
        cluster.spu_public,
        cluster.spu_private,
        cluster.dir.display()
    );

    admin
        .create_topic("e2e-source", TopicConfig::new(2))
        .await
        .unwrap();
    admin
        .create_topic("e2e-sink", TopicConfig::new(1))
        .await
        .unwrap();
    let producer = client.producer(ProducerOptions::default());
    producer
        .send_batch(
            "e2e-source",
            (0..RECORDS).map(|i| (Some(format!("k{i}")), value(i))),
        )
        .await
        .unwrap();
    producer.close().await.unwrap();

    let run = run_example(&example, &cluster, "e2e-source", "e2e-sink");
    let copied_some = || {
        let client = client.clone();
        async move {
            client
                .partition_offsets("e2e-sink", 0)
                .await
                .is_ok_and(|(_, end)| end >= RECORDS as i64 / 10)
        }
    };
    until("a tenth copied", Duration::from_secs(120), copied_some).await;
    cluster.kill_spu();
    println!("SPU {SPU_ID} killed mid-run; restarting it in 2 s");
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.start_spu();
    let stdout = finished(run, Duration::from_secs(300), &cluster.dir).await;
    println!("first run: {}", stdout.trim());
    let log = std::fs::read_to_string(cluster.dir.join("pipeline.log")).unwrap();
    let count = |what: &str| log.lines().filter(|l| l.contains(what)).count();
    println!(
        "pipeline log: {} connection losses, {} resumed streams, {} produce retries",
        count("connection lost"),
        count("stream lost; resuming"),
        count("produce failed; retrying")
    );
    // The sink's producer retries only if it had a request out at the kill; the source
    // streams are always cut, since the source is far larger than a consumer reads ahead.
    assert!(
        count("stream lost; resuming") > 0,
        "the SPU restart did not reach the source streams"
    );

    let sink = read_values(&client, "e2e-sink", 1).await;
    let distinct: HashSet<&String> = sink.iter().collect();
    let expected: HashSet<String> = (0..RECORDS).map(|i| value(i).to_uppercase()).collect();
    let missing = expected.iter().filter(|e| !distinct.contains(e)).count();
    assert_eq!(missing, 0, "records lost across the SPU restart");
    assert_eq!(distinct.len(), RECORDS, "only transformed source records");
    println!(
        "sink: {} records, {} distinct, {} duplicates",
        sink.len(),
        distinct.len(),
        sink.len() - distinct.len()
    );

    let offsets = admin.list_consumer_offsets().await.unwrap();
    for p in 0..2u32 {
        let (_, end) = client.partition_offsets("e2e-source", p).await.unwrap();
        let committed = offsets
            .iter()
            .find(|o| o.consumer_id == "e2e" && o.replica_id.partition == p)
            .map(|o| o.offset);
        assert_eq!(
            committed,
            Some(end - 1),
            "source partition {p} fully committed"
        );
    }

    // The same consumer id again: nothing left to copy.
    let rerun = run_example(&example, &cluster, "e2e-source", "e2e-sink");
    let stdout = finished(rerun, Duration::from_secs(120), &cluster.dir).await;
    assert!(stdout.contains("copied 0 records"), "rerun: {stdout}");
    let (_, end) = client.partition_offsets("e2e-sink", 0).await.unwrap();
    assert_eq!(end as usize, sink.len(), "the rerun wrote nothing");
}
