//! A real Fluvio cluster a test owns: an SC and custom SPUs started from a `fluvio-run`
//! binary (`FLUVIO_RUN`) on free loopback ports, in a directory of their own (kept when the
//! test fails), which the test can kill (SIGKILL, like a crash) and start again.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use actix_fluvio::cluster::{ClientConfig, FluvioClient};

/// The `fluvio-run` binary named by `FLUVIO_RUN`. The tests that call it are `#[ignore]`d
/// (skipped, and shown as such, by a plain `cargo test`); run with `--ignored`, they fail
/// when it is not set.
pub fn fluvio_run() -> PathBuf {
    match std::env::var_os("FLUVIO_RUN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "FLUVIO_RUN is not set: this test starts its own cluster from a fluvio-run binary \
             (FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test NAME -- --ignored)"
        ),
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

/// Where an SPU listens.
#[derive(Debug, Clone)]
pub struct SpuPorts {
    /// Its public (client) address.
    pub public: String,
    /// Its private (cluster) address.
    pub private: String,
}

/// An SC and custom SPUs on loopback.
pub struct LocalCluster {
    bin: PathBuf,
    /// The cluster's directory (metadata, logs, SPU data).
    pub dir: PathBuf,
    /// The SC's public address (what clients use).
    pub sc_public: String,
    sc_private: String,
    /// The SPUs' addresses by id.
    pub spus: BTreeMap<i32, SpuPorts>,
    running: BTreeMap<i32, Process>,
    sc: Option<Process>,
}

impl LocalCluster {
    /// Start the SC and `spus` SPUs (ids 5101, 5102, ...), registered and online.
    pub async fn start(bin: PathBuf, spus: usize) -> Self {
        Self::start_with_ids(bin, spus, 5101).await
    }

    /// Start the SC and `spus` SPUs with ids from `first_id` (clusters that talk to each
    /// other, as mirroring ones, keep their SPU ids apart).
    pub async fn start_with_ids(bin: PathBuf, spus: usize, first_id: i32) -> Self {
        let dir = std::env::temp_dir().join(super::unique("actix-fluvio-cluster"));
        std::fs::create_dir_all(&dir).unwrap();
        let ports = free_ports(2 + 2 * spus);
        let spus = (0..spus)
            .map(|i| {
                let ports = SpuPorts {
                    public: ports[2 + 2 * i].clone(),
                    private: ports[3 + 2 * i].clone(),
                };
                (first_id + i as i32, ports)
            })
            .collect();
        let mut cluster = Self {
            bin,
            dir,
            sc_public: ports[0].clone(),
            sc_private: ports[1].clone(),
            spus,
            running: BTreeMap::new(),
            sc: None,
        };
        cluster.start_sc();
        let client = cluster.client().await;
        cluster.register_spus(&client).await;
        for id in cluster.spus.keys().copied().collect::<Vec<_>>() {
            cluster.start_spu(id);
        }
        cluster.wait_online(&client).await;
        println!(
            "cluster: SC {} (private {}), SPUs {:?}, logs {}",
            cluster.sc_public,
            cluster.sc_private,
            cluster.spus,
            cluster.dir.display()
        );
        cluster
    }

    /// A client of this cluster.
    pub async fn client(&self) -> FluvioClient {
        FluvioClient::connect(ClientConfig::new(self.sc_public.clone()))
            .await
            .expect("a client of the local cluster")
    }

    /// (Re)start the SC on its ports, with the metadata it had.
    pub fn start_sc(&mut self) {
        let sc = Command::new(&self.bin)
            .args(["sc", "--local"])
            .arg(self.dir.join("metadata"))
            .args(["--bind-public", &self.sc_public])
            .args(["--bind-private", &self.sc_private])
            .stdout(self.log("sc.log"))
            .stderr(self.log("sc.log"))
            .spawn()
            .expect("cannot start fluvio-run sc");
        self.sc = Some(Process(sc));
        wait_for_port(&self.sc_public, &self.dir);
    }

    /// SIGKILL the SC.
    pub fn kill_sc(&mut self) {
        self.sc.take();
    }

    /// Register every SPU of the cluster with the SC as a custom SPU.
    async fn register_spus(&self, client: &FluvioClient) {
        let admin = client.admin();
        for (id, ports) in self.spus.clone() {
            until("custom SPU registered", Duration::from_secs(60), || {
                let admin = admin.clone();
                let ports = ports.clone();
                async move {
                    admin
                        .register_spu(id, &ports.public, &ports.private)
                        .await
                        .is_ok()
                }
            })
            .await;
        }
    }

    /// SIGKILL the SC and start it again on an empty metadata directory, as a wiped or
    /// reinstalled SC: its topics are gone; the SPUs keep running with their data and are
    /// registered again (through `client`, which reconnects).
    pub async fn restart_sc_empty(&mut self, client: &FluvioClient) {
        self.kill_sc();
        std::fs::remove_dir_all(self.dir.join("metadata")).expect("the SC's metadata removed");
        self.start_sc();
        self.register_spus(client).await;
    }

    /// (Re)start SPU `id` with the data it had.
    pub fn start_spu(&mut self, id: i32) {
        let ports = self.spus[&id].clone();
        let log = format!("spu-{id}.log");
        let spu = Command::new(&self.bin)
            .args(["spu", "-i", &id.to_string()])
            .args(["-p", &ports.public, "-v", &ports.private])
            .args(["--sc-addr", &self.sc_private])
            .arg("--log-base-dir")
            .arg(self.dir.join(format!("spu-{id}")))
            .env("FLUVIO_METRIC_SPU", self.dir.join(format!("spu-{id}.sock")))
            .env("RUST_LOG", "info")
            .stdout(self.log(&log))
            .stderr(self.log(&log))
            .spawn()
            .expect("cannot start fluvio-run spu");
        self.running.insert(id, Process(spu));
        wait_for_port(&ports.public, &self.dir);
    }

    /// SIGKILL SPU `id`: no clean shutdown, like a crash.
    pub fn kill_spu(&mut self, id: i32) {
        self.running.remove(&id);
    }

    /// Send `signal` (`STOP`, `CONT`, ...) to SPU `id`: `STOP` pauses it with its sockets
    /// open, as a hung process or a frozen VM would.
    pub fn signal_spu(&self, id: i32, signal: &str) {
        send_signal(&self.running[&id], signal);
    }

    /// Send `signal` to the SC (see [`LocalCluster::signal_spu`]).
    #[allow(dead_code)] // not every suite pauses the SC
    pub fn signal_sc(&self, signal: &str) {
        send_signal(self.sc.as_ref().expect("the SC runs"), signal);
    }

    /// Reset every client connection to the SC (`ss -K`), as a load balancer or NAT that
    /// dropped them would: the clients get a reset, also while the SC is paused.
    #[allow(dead_code)] // not every suite resets connections
    pub fn reset_sc_connections(&self) {
        let port = self.sc_public.rsplit(':').next().expect("a port");
        let status = Command::new("ss")
            .args(["-K", "dst", "127.0.0.1", "sport", "=", &format!(":{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("ss runs");
        assert!(status.success(), "ss -K sport = :{port}");
    }

    /// Wait until every running SPU is online.
    pub async fn wait_online(&self, client: &FluvioClient) {
        let admin = client.admin();
        let want: Vec<i32> = self.running.keys().copied().collect();
        until("SPUs online", Duration::from_secs(60), || {
            let admin = admin.clone();
            let want = want.clone();
            async move {
                admin.list_spus().await.is_ok_and(|spus| {
                    want.iter()
                        .all(|id| spus.iter().any(|s| s.id == *id && s.online))
                })
            }
        })
        .await;
    }

    /// Append-mode log file `name` in the cluster's directory.
    pub fn log(&self, name: &str) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(name))
            .unwrap()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.running.clear();
        self.sc.take();
        if std::thread::panicking() || std::env::var_os("KEEP_CLUSTER_LOGS").is_some() {
            eprintln!("cluster logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_ports(n: usize) -> Vec<String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect()
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

/// Poll `check` every 100 ms until it holds; fail after `timeout`.
pub async fn until<F, Fut>(what: &str, timeout: Duration, mut check: F)
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

/// Send `signal` to `process` with kill(1).
fn send_signal(process: &Process, signal: &str) {
    let pid = process.0.id().to_string();
    let status = Command::new("kill")
        .args(["-s", signal, &pid])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal} {pid}");
}
