//! Examples as a user runs them, against the embedded cluster:
//! - `consume`: records show up as they arrive (not once 8 KiB of output accumulated), and
//!   Ctrl-C loses nothing it printed;
//! - `pipeline --metrics-addr`, `worker` (its `[metrics] addr`) and `actix_web` (in its
//!   app): `/healthz`, `/readyz` (503 while the SC is away) and `/metrics` answer as such,
//!   any other path is a 404;
//! - `worker` with a misspelt key, in its file or in an `ACTIX_FLUVIO_` override: exit
//!   status 2 and an error naming the key (and the file).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix_fluvio::producer::ProducerOptions;
use common::embedded::cluster_with_topics;

/// A child process, killed when the test ends early (a failed assertion).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The examples these tests run.
const EXAMPLES: [&str; 4] = ["consume", "pipeline", "worker", "actix_web"];

/// An example's binary (one of [`EXAMPLES`]), built with every feature, all at once.
fn example(name: &str) -> PathBuf {
    common::examples::example(&EXAMPLES, name)
}

// Multi-threaded: the test waits for output lines on a blocking channel while the embedded
// cluster serves the example.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_show_as_they_arrive_and_ctrl_c_loses_nothing_printed() {
    let (cluster, client) = cluster_with_topics(1, &[("watched", 1)]).await;
    let mut child = Killed(
        Command::new(example("consume"))
            .arg("watched")
            .env("FLUVIO_SC_ADDR", cluster.sc_addr())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap() > 0 && line.ends_with('\n') {
            let _ = lines_tx.send(std::mem::take(&mut line));
        }
        // What is left: a line cut short, if any.
        let mut rest = line;
        stdout.read_to_string(&mut rest).unwrap();
        rest
    });
    // Once the consumer shows a first record, it streams: the next ones must show as they
    // come.
    let producer = client.producer(ProducerOptions::default());
    producer
        .send("watched", None, b"ready".as_slice())
        .await
        .unwrap();
    producer.flush().await.unwrap();
    assert_eq!(
        lines.recv_timeout(Duration::from_secs(30)).unwrap(),
        "ready\n"
    );
    for value in ["apple", "banana", "cherry"] {
        producer
            .send("watched", None, value.as_bytes())
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    let produced = Instant::now();
    let mut shown = Vec::new();
    while shown.len() < 3 {
        let left = Duration::from_secs(1).saturating_sub(produced.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) => shown.push(line),
            Err(_) => panic!("only {shown:?} shown within 1 s of the records' arrival"),
        }
    }
    assert_eq!(shown, ["apple\n", "banana\n", "cherry\n"]);

    // A burst, then Ctrl-C while it is being printed: the output ends on a whole line, and
    // every line printed is a record of the burst, in order, none missing before it.
    let burst: Vec<String> = (0..200_000).map(|i| format!("record-{i:06}")).collect();
    let sending = {
        let records: Vec<(Option<String>, String)> =
            burst.iter().map(|v| (None, v.clone())).collect();
        tokio::spawn(async move {
            for chunk in records.chunks(1_000) {
                producer
                    .send_batch("watched", chunk.to_vec())
                    .await
                    .unwrap();
            }
            producer.flush().await.unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "consume exited with {status}");
    let rest = reader.join().unwrap();
    assert!(rest.is_empty(), "the output ends with a cut line: {rest:?}");
    let printed: Vec<String> = lines.try_iter().collect();
    for (i, line) in printed.iter().enumerate() {
        assert_eq!(line.trim_end(), burst[i], "line {i} of the burst");
    }
    println!(
        "{} of {} burst records printed before Ctrl-C",
        printed.len(),
        burst.len()
    );
    sending.await.unwrap();
}

/// `GET path` on `addr`: the status and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Poll `GET path` until it answers `status`; its body.
async fn until_status(addr: &str, path: &str, status: u16) -> String {
    let started = Instant::now();
    loop {
        let (got, body) = get(addr, path);
        if got == status {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{path} answered {got} {body:?}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A free local address for an example to listen on.
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Start example `name` with `args` against `cluster`, then check what it serves on `addr`:
/// `/readyz` and `/healthz` 200; `/nope` 404; `/metrics` with the client's metrics;
/// `/readyz` 503 naming the SC while it is stopped (`/healthz` still 200), 200 once it is
/// back. Then SIGTERM: the example exits 0.
async fn serves_health_and_metrics_and_nothing_else(
    cluster: &actix_fluvio::testkit::TestCluster,
    name: &str,
    args: &[&str],
    addr: &str,
) {
    let mut child = Killed(
        Command::new(example(name))
            .args(args)
            .env("FLUVIO_SC_ADDR", cluster.sc_addr())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert_eq!(until_status(addr, "/readyz", 200).await, "ok\n");
    assert_eq!(get(addr, "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(get(addr, "/nope").0, 404);
    let (status, metrics) = get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("fluvio_"), "{metrics}");

    cluster.stop_sc().await;
    let reasons = until_status(addr, "/readyz", 503).await;
    assert!(reasons.contains("SC connection"), "{reasons}");
    assert_eq!(get(addr, "/healthz"), (200, "ok\n".to_owned()));
    cluster.restart_sc().await.unwrap();
    until_status(addr, "/readyz", 200).await;

    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{name} exited with {status}");
}

#[tokio::test]
async fn the_pipeline_example_serves_health_and_metrics_and_nothing_else() {
    let (cluster, _client) = cluster_with_topics(1, &[("in", 2), ("out", 1)]).await;
    let addr = free_addr();
    let args = [
        "in",
        "out",
        "--consumer-id",
        "example",
        "--metrics-addr",
        &addr,
    ];
    serves_health_and_metrics_and_nothing_else(&cluster, "pipeline", &args, &addr).await;
}

#[tokio::test]
async fn the_worker_example_serves_health_and_metrics_and_nothing_else() {
    let (cluster, _client) = cluster_with_topics(1, &[("in", 2), ("out", 1)]).await;
    let addr = free_addr();
    let dir = std::env::temp_dir().join(format!("actix-fluvio-worker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("worker.toml");
    std::fs::write(
        &config,
        format!(
            "[cluster]\nsc_endpoint = \"{}\"\n\n\
             [pipeline]\nsource = \"in\"\nsink = \"out\"\ncommitter.consumer_id = \"worker\"\n\n\
             [metrics]\naddr = \"{addr}\"\n",
            cluster.sc_addr()
        ),
    )
    .unwrap();
    let args = [config.to_str().unwrap()];
    serves_health_and_metrics_and_nothing_else(&cluster, "worker", &args, &addr).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run the worker on `config` with `env` set, which must fail at once: its exit status and
/// what it wrote to stderr.
fn worker_refusing(config: &std::path::Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Killed(
        Command::new(example("worker"))
            .arg(config)
            .envs(env.iter().copied())
            // Nothing to connect to: a worker that got past its configuration would hang.
            .env("FLUVIO_SC_ADDR", "127.0.0.1:1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status.code(), stderr);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker did not refuse its configuration"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_worker_refuses_a_misspelt_key_naming_it() {
    let dir = std::env::temp_dir().join(format!("actix-fluvio-typo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = "[pipeline]\nsource = \"in\"\nsink = \"out\"\ncommitter.consumer_id = \"worker\"\n";
    let config = dir.join("worker.toml");

    std::fs::write(&config, format!("{good}commit_intervall = \"5s\"\n")).unwrap();
    let (code, stderr) = worker_refusing(&config, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("commit_intervall"), "{stderr}");
    assert!(stderr.contains(config.to_str().unwrap()), "{stderr}");

    // Deeper: a key of the producer's options.
    std::fs::write(
        &config,
        format!("{good}[pipeline.producer]\nlingr = \"5ms\"\n"),
    )
    .unwrap();
    let (code, stderr) = worker_refusing(&config, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("lingr"), "{stderr}");

    // A bad duration names the key too.
    std::fs::write(&config, format!("{good}commit_interval = \"5 parsecs\"\n")).unwrap();
    let (code, stderr) = worker_refusing(&config, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("commit_interval"), "{stderr}");

    // An override from the environment is checked as the file is.
    std::fs::write(&config, good).unwrap();
    let (code, stderr) = worker_refusing(&config, &[("ACTIX_FLUVIO_PIPELINE__WORKRES", "3")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("workres"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_actix_web_example_serves_health_and_metrics_and_nothing_else() {
    let (cluster, _client) = cluster_with_topics(1, &[("orders", 1)]).await;
    let addr = free_addr();
    serves_health_and_metrics_and_nothing_else(&cluster, "actix_web", &[&addr], &addr).await;
}
