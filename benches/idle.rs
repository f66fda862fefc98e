//! The idle footprint of a worker: the `worker` example (release build, `config/worker.toml`:
//! 2 workers, metrics and health served) copying a 2-partition topic, measured once its
//! pipeline is caught up and nothing arrives: resident memory (`VmRSS`, and `VmHWM` since it
//! started) and CPU over a window, from outside the process.
//!
//! `cargo bench --bench idle [-- SECONDS]` (default a 60 s window). The cluster is
//! `FLUVIO_SC_ADDR` when set, else the `test_cluster` example in a process of its own (the
//! worker's figures never include a cluster). The bench builds both examples itself.
//!
//! Before measuring it checks the worker works: 1,000 records produced to the source must
//! all come out upper-cased in the sink. Goals (issue 25): ≤ 10 MB resident, ≤ 0.1 % of a
//! core; the bench reports them and fails when they are missed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::ProducerOptions;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::{cpu_seconds_of, status_kib_of};

const RECORDS: usize = 1_000;
const MAX_RSS_BYTES: u64 = 10_000_000;
const MAX_CORE_SHARE: f64 = 0.001;

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// The release builds of the examples, built now (`cargo build --release`, into the bench's
/// own target directory, `--target-dir` included).
fn examples() -> std::path::PathBuf {
    // target/release/deps/idle-HASH -> target/release
    let exe = std::env::current_exe().expect("bench path");
    let release = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/release");
    let target = release.parent().expect("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--features", "web,testkit"])
        .args(["--example", "worker", "--example", "test_cluster"])
        .arg("--target-dir")
        .arg(target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the examples failed");
    release.join("examples")
}

/// The embedded cluster in a process of its own, and its SC address.
fn test_cluster(examples: &std::path::Path) -> (Killed, String) {
    let mut child = Command::new(examples.join("test_cluster"))
        .args(["--port", &free_port().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("test_cluster starts");
    let stdout = child.stdout.take().expect("stdout");
    let child = Killed(child);
    let mut lines = BufReader::new(stdout).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| Some(line.strip_prefix("FLUVIO_SC_ADDR=")?.trim().to_owned()))
        .expect("test_cluster printed no FLUVIO_SC_ADDR");
    // Whatever it prints later is read, so it never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

fn main() {
    let window = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs);
    let examples = examples();
    let (_cluster, addr) = match std::env::var("FLUVIO_SC_ADDR") {
        Ok(addr) => (None, addr),
        Err(_) => {
            let (child, addr) = test_cluster(&examples);
            (Some(child), addr)
        }
    };
    let stamp = std::process::id();
    let (source, sink) = (format!("idle-source-{stamp}"), format!("idle-sink-{stamp}"));
    let dir = std::env::temp_dir().join(format!("idle-bench-{stamp}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/worker.toml"))
            .expect("config/worker.toml");
    let config = shipped
        .replace("\"orders-upper\"", &format!("{sink:?}"))
        .replace("\"orders\"", &format!("{source:?}"))
        .replace("orders-worker", &format!("idle-{stamp}"))
        .replace("127.0.0.1:9898", &format!("127.0.0.1:{}", free_port()));
    assert!(
        config.contains(&source) && config.contains(&sink),
        "config/worker.toml changed shape"
    );
    let config_path = dir.join("worker.toml");
    std::fs::write(&config_path, config).expect("worker config");

    actix_rt::System::new().block_on(async {
        let client = FluvioClient::connect(ClientConfig::builder().sc_endpoint(&addr).build())
            .await
            .expect("client connects");
        let admin = client.admin();
        admin
            .create_topic(&source, TopicConfig::new(2))
            .await
            .expect("source topic");
        admin
            .create_topic(&sink, TopicConfig::new(1))
            .await
            .expect("sink topic");
        let worker = Killed(
            Command::new(examples.join("worker"))
                .arg(&config_path)
                .env("FLUVIO_SC_ADDR", &addr)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("worker starts"),
        );
        let pid = worker.0.id();

        // The worker works: every record comes out upper-cased.
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch(
                &source,
                (0..RECORDS).map(|i| (Some(i.to_string()), format!("record-{i}"))),
            )
            .await
            .expect("source records");
        producer.close().await.expect("flush");
        let options = ConsumerOptions::default();
        let mut stream = client
            .partition_consumer(&sink, 0, options)
            .await
            .expect("sink stream");
        let mut seen = std::collections::HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while seen.len() < RECORDS {
            let left = deadline.saturating_duration_since(Instant::now());
            let batch = tokio::time::timeout(left, stream.next_batch())
                .await
                .unwrap_or_else(|_| panic!("{} of {RECORDS} records copied in 120 s", seen.len()))
                .expect("sink stream ended")
                .expect("sink records");
            for record in &batch {
                let value = std::str::from_utf8(&record.value).expect("utf-8");
                assert!(value.starts_with("RECORD-"), "not upper-cased: {value}");
                seen.insert(value.to_owned());
            }
        }
        assert_eq!(seen.len(), RECORDS, "every record copied once");
        drop(stream);
        drop(client);

        // Caught up: let the commits and the last metadata frames settle, then measure.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let cpu_before = cpu_seconds_of(pid);
        let started = Instant::now();
        tokio::time::sleep(window).await;
        let cpu = cpu_seconds_of(pid) - cpu_before;
        let elapsed = started.elapsed().as_secs_f64();
        let rss = status_kib_of(pid, "VmRSS").expect("worker alive") * 1024;
        let hwm = status_kib_of(pid, "VmHWM").expect("worker alive") * 1024;
        let share = cpu / elapsed;
        println!("worker idle on {addr}, after copying {RECORDS} records, {elapsed:.0} s window");
        println!("| resident now | peak resident | CPU in window | share of a core |");
        println!("|---|---|---|---|");
        println!(
            "| {:.2} MB ({:.2} MiB) | {:.2} MB | {cpu:.2} s | {:.3} % |",
            rss as f64 / 1e6,
            rss as f64 / 1048576.0,
            hwm as f64 / 1e6,
            share * 100.0
        );
        drop(worker);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            rss <= MAX_RSS_BYTES,
            "idle worker holds {rss} B, above {MAX_RSS_BYTES}"
        );
        assert!(
            share <= MAX_CORE_SHARE,
            "idle worker uses {:.3} % of a core, above {:.1} %",
            share * 100.0,
            MAX_CORE_SHARE * 100.0
        );
    });
}
