//! A consumer group of `worker` example processes on a [`LocalCluster`] (each output keyed
//! with the worker that wrote it), and its source: numbered records written by the official
//! `fluvio` CLI, or by our producer, at a steady rate. What the tests read back is in
//! `group_watch.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::group::GroupDescription;
use actix_fluvio::producer::{Producer, ProducerOptions};

use super::local_cluster::LocalCluster;

/// The group every test worker joins.
pub const GROUP: &str = "copiers";

/// Milliseconds since the epoch now (the clock record timestamps are on).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Source record `i`'s value.
pub fn value(i: usize) -> String {
    format!("n{i:07}")
}

/// The `worker` example's binary, built with the features the test was built with.
pub fn worker_example() -> PathBuf {
    example("worker")
}

/// Example `name`'s binary, built with all features (as the tests are).
pub fn example(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--all-features", "--example", name])
        .args(["--message-format=short"])
        .status()
        .expect("cannot run cargo");
    assert!(built.success(), "cannot build the {name} example");
    let deps = std::env::current_exe().unwrap();
    let profile_dir = deps.parent().unwrap().parent().unwrap();
    let example = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(example.exists(), "{} was not built", example.display());
    example
}

/// What every worker of a test copies, and how it commits.
#[derive(Debug, Clone)]
pub struct Copying {
    /// The source topic.
    pub source: String,
    /// The sink topic.
    pub sink: String,
    /// `commit_every` of the pipeline.
    pub commit_every: usize,
    /// `commit_interval` of the pipeline.
    pub commit_interval: Duration,
}

/// A worker process named `name`: its member id starts with `name-` (the host name) and
/// each of its outputs is keyed `name` (the example's `tag`).
pub struct Worker {
    /// Its name.
    pub name: String,
    /// When it was started.
    pub started: Instant,
    child: Child,
}

impl Worker {
    /// Start worker `name` of [`GROUP`], copying as `copying` says.
    pub fn start(example: &Path, cluster: &LocalCluster, name: &str, copying: &Copying) -> Self {
        let config = cluster.dir.join(format!("{name}.toml"));
        let Copying {
            source,
            sink,
            commit_every,
            commit_interval,
        } = copying;
        std::fs::write(
            &config,
            format!(
                "[cluster.connection]\nrequest_timeout = \"30s\"\n\n[pipeline]\n\
                 source = \"{source}\"\nsink = \"{sink}\"\n\
                 committer.group = {{ group = \"{GROUP}\" }}\nworkers = 2\ncommit_every = {commit_every}\n\
                 commit_interval = \"{}ms\"\n\n[worker]\ntag = \"{name}\"\n",
                commit_interval.as_millis()
            ),
        )
        .unwrap();
        let child = Command::new(example)
            .arg(&config)
            .env("FLUVIO_SC_ADDR", &cluster.sc_public)
            // The member id starts with the host name.
            .env("HOSTNAME", name)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(cluster.log(&format!("{name}.log")))
            .spawn()
            .expect("cannot start the worker example");
        Self {
            name: name.to_owned(),
            started: Instant::now(),
            child,
        }
    }

    /// Send `signal` (`STOP`, `CONT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// Whether `member` is (an incarnation of) this worker.
    pub fn is(&self, member: &str) -> bool {
        member
            .strip_prefix(&self.name)
            .is_some_and(|rest| rest.starts_with('-'))
    }

    /// Whether an incarnation of this worker is a member of `group`.
    pub fn is_member(&self, group: &GroupDescription) -> bool {
        group.members.iter().any(|m| self.is(&m.id))
    }

    /// The partitions this worker owns in `group`.
    pub fn owns(&self, group: &GroupDescription) -> Vec<u32> {
        group
            .owners
            .iter()
            .filter(|(_, m)| self.is(&m.id))
            .map(|(p, _)| *p)
            .collect()
    }

    /// SIGTERM: the worker drains, commits, leaves the group and exits (within 60 s).
    pub async fn stop(mut self, logs: &Path) {
        self.signal("TERM");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!(
                    "{} did not stop within 60 s; logs in {}",
                    self.name,
                    logs.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(status.success(), "{} exited with {status}", self.name);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // A stopped process dies on SIGKILL too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The official `fluvio` CLI with a profile of its own for the test's cluster: its child
/// processes get a home directory inside the cluster's directory.
#[derive(Debug, Clone)]
pub struct FluvioCli {
    bin: PathBuf,
    home: PathBuf,
    logs: PathBuf,
}

impl FluvioCli {
    /// The CLI named by `FLUVIO_CLI`, or the `fluvio` binary beside `fluvio_run`, with a
    /// profile for `cluster`'s SC.
    pub fn new(cluster: &LocalCluster, fluvio_run: &Path) -> Self {
        let bin = std::env::var_os("FLUVIO_CLI")
            .map(PathBuf::from)
            .unwrap_or_else(|| fluvio_run.with_file_name("fluvio"));
        assert!(
            bin.exists(),
            "no fluvio CLI at {} (set FLUVIO_CLI)",
            bin.display()
        );
        let home = cluster.dir.join("cli-home");
        std::fs::create_dir_all(home.join(".fluvio")).unwrap();
        std::fs::write(
            home.join(".fluvio").join("config"),
            format!(
                "version = \"2.0\"\ncurrent_profile = \"test\"\n\n[profile.test]\n\
                 cluster = \"test\"\n\n[cluster.test]\nendpoint = \"{}\"\n\
                 use_spu_local_address = false\n\n[cluster.test.tls]\ntls_policy = \"disabled\"\n",
                cluster.sc_public
            ),
        )
        .unwrap();
        Self {
            bin,
            home,
            logs: cluster.dir.join("cli.log"),
        }
    }

    /// The CLI with its home and its output appended to `cli.log`.
    fn command(&self) -> Command {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.logs)
            .unwrap();
        let mut command = Command::new(&self.bin);
        command
            .env("HOME", &self.home)
            .env_remove("FLV_PROFILE_PATH")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        command
    }

    /// Run `fluvio ARGS…` to its end: its exit status and standard output (its standard
    /// error goes to `cli.log`).
    pub fn run(&self, args: &[&str]) -> (std::process::ExitStatus, String) {
        let output = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .output()
            .expect("cannot run the fluvio CLI");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status, text)
    }

    /// `fluvio consume TOPIC -p PARTITION -B -d`: the values of the partition up to its end,
    /// one per line, as the official consumer prints them.
    pub fn consume(&self, topic: &str, partition: u32) -> Vec<String> {
        let output = self
            .command()
            .args(["consume", topic, "-p", &partition.to_string(), "-B", "-d"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .output()
            .expect("cannot run the fluvio CLI");
        assert!(
            output.status.success(),
            "fluvio consume {topic} exited with {}; output in {}",
            output.status,
            self.logs.display()
        );
        let text = String::from_utf8(output.stdout).expect("UTF-8 values");
        text.lines().map(str::to_owned).collect()
    }

    /// `fluvio produce TOPIC --key-separator : -f FILE` with records `first..end`
    /// (`kI:VALUE`), which waits for every record's acknowledgement; its run time.
    pub fn produce(&self, topic: &str, records: std::ops::Range<usize>) -> Duration {
        let file = self.home.join(format!("{topic}-{}.txt", records.start));
        let mut lines = String::with_capacity(records.len() * 18);
        for i in records.clone() {
            lines.push_str(&format!("k{i}:{}\n", value(i)));
        }
        std::fs::write(&file, lines).unwrap();
        let started = Instant::now();
        let status = self
            .command()
            .args(["produce", topic, "--key-separator", ":", "-f"])
            .arg(&file)
            .stdin(Stdio::null())
            .status()
            .expect("cannot run the fluvio CLI");
        assert!(
            status.success(),
            "fluvio produce {topic} exited with {status}; output in {}",
            self.logs.display()
        );
        std::fs::remove_file(&file).unwrap();
        started.elapsed()
    }
}

/// Records `i` written to a topic at a steady rate (keys `kI`), from `first` until stopped:
/// the number written so far.
pub struct Flow {
    /// Records `first..written` are acknowledged.
    pub written: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Flow {
    /// Our producer writes `rate` records a second to `topic`, numbered from `first`, every
    /// 10 ms, without waiting for acknowledgements in between (at least once: a partition
    /// whose leader is away holds only its own records back, retried until delivered or
    /// for the delivery timeout); `written` counts the records queued, `stop` waits for
    /// every acknowledgement.
    pub fn start(client: &FluvioClient, topic: &str, first: usize, rate: usize) -> Self {
        let producer: Producer = client.producer(ProducerOptions::default());
        let topic = topic.to_owned();
        let written = Arc::new(AtomicUsize::new(first));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopping) = (written.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut next = first;
            let mut receipts = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                let due = first + (started.elapsed().as_secs_f64() * rate as f64) as usize;
                for i in next..due {
                    let (key, value) = (format!("k{i}"), value(i));
                    let receipt = producer.enqueue(&topic, Some(key.as_bytes()), value.as_bytes());
                    receipts.push(receipt.await.unwrap());
                }
                next = due;
                counter.store(next, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            producer.flush().await.unwrap();
            for receipt in receipts {
                receipt.wait().await.unwrap();
            }
        });
        Self {
            written,
            stop,
            task,
        }
    }

    /// The official CLI writes `rate` records a second to `topic`, numbered from `first`:
    /// one `fluvio produce` reading the lines (`kI:VALUE`) from its stdin as they come due,
    /// every 10 ms. It does not wait for each record's acknowledgement (at-most-once: the
    /// stdin mode waits for each line's otherwise, a few hundred records a second), so the
    /// count of records written is the source's high watermarks, not `written` (the lines
    /// handed to it); it flushes and exits when its stdin closes.
    pub fn cli(cli: &FluvioCli, topic: &str, first: usize, rate: usize) -> Self {
        let mut child = cli
            .command()
            .args(["produce", topic, "--key-separator", ":"])
            .args(["--delivery-semantic", "at-most-once", "--linger", "10ms"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("cannot run the fluvio CLI");
        let mut stdin = child.stdin.take().unwrap();
        let written = Arc::new(AtomicUsize::new(first));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopping, logs) = (written.clone(), stop.clone(), cli.logs.clone());
        let task = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut next = first;
            while !stopping.load(Ordering::Relaxed) {
                let due = first + (started.elapsed().as_secs_f64() * rate as f64) as usize;
                let mut lines = String::with_capacity((due - next) * 18);
                for i in next..due {
                    lines.push_str(&format!("k{i}:{}\n", value(i)));
                }
                stdin.write_all(lines.as_bytes()).unwrap();
                stdin.flush().unwrap();
                next = due;
                counter.store(next, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(stdin);
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "fluvio produce exited with {status}; output in {}",
                logs.display()
            );
        });
        Self {
            written,
            stop,
            task,
        }
    }

    /// Stop writing; the number of the first record not written.
    pub async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        self.written.load(Ordering::Relaxed)
    }
}
