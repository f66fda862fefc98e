//! [`TestCluster`]: starting the SC and SPUs, their addresses, and the fault switches.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::TestClusterConfig;
use super::conn::{listen, Service};
use super::error::TestkitError;
use super::faults::FaultTarget;
use super::sc::Sc;
use super::spu::Spu;
use super::state::{Shared, SpuEntry, State, CONSUMER_OFFSET_TOPIC};
use super::tls::{Authority, ClientIdentity};
use super::topics;
use crate::cluster::{ClientConfig, ClientError, FluvioClient};
use crate::protocol::sc::{PartitionMap, TopicSpec};
use crate::protocol::{ErrorCode, Server};

/// A running server: its address, its stop switch and its listener task.
#[derive(Debug)]
struct Running {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Running {
    async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// An in-process Fluvio cluster on loopback: one SC and `spus` SPUs speaking the real wire
/// protocol, with switches for faults. Dropping it stops every server.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
///
/// let cluster = TestCluster::start(TestClusterConfig::default()).await?;
/// println!("SC at {}, SPUs {:?}", cluster.sc_addr(), cluster.spu_ids());
/// cluster.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TestCluster {
    shared: Arc<Shared>,
    root: CancellationToken,
    sc: tokio::sync::Mutex<Running>,
    sc_addr: SocketAddr,
    spus: tokio::sync::Mutex<BTreeMap<i32, Running>>,
    spu_addrs: BTreeMap<i32, SocketAddr>,
    authority: Option<Arc<Authority>>,
    domain: String,
}

impl TestCluster {
    /// Start the SC (on `127.0.0.1:`[`sc_port`](TestClusterConfig::sc_port)) and the SPUs
    /// on free `127.0.0.1` ports, and create the `consumer-offset`
    /// system topic on the first SPU.
    ///
    /// # Errors
    /// No SPU asked for, a port that cannot be bound, or a TLS setup failure.
    pub async fn start(config: TestClusterConfig) -> Result<Self, TestkitError> {
        if config.spus == 0 {
            return Err(TestkitError::InvalidConfig(
                "at least one SPU is needed".into(),
            ));
        }
        let authority = if config.tls {
            Some(Arc::new(Authority::new()?))
        } else {
            None
        };
        let shared = Shared::new(config.tls);
        let root = CancellationToken::new();
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut spus = BTreeMap::new();
        let mut spu_addrs = BTreeMap::new();
        for i in 0..config.spus {
            let id = config.first_spu_id + i as i32;
            let spu = Arc::new(Spu {
                id,
                shared: shared.clone(),
            });
            let name = format!("{}.{}", State::spu_name(id), config.domain);
            let running = serve(any_port, &authority, &name, &root, &shared, spu).await?;
            spu_addrs.insert(id, running.addr);
            shared.lock().spus.insert(
                id,
                SpuEntry {
                    port: running.addr.port(),
                    online: true,
                },
            );
            spus.insert(id, running);
        }
        create_offsets_topic(&shared, config.first_spu_id);
        let sc = Arc::new(Sc {
            shared: shared.clone(),
        });
        let sc_addr = SocketAddr::from(([127, 0, 0, 1], config.sc_port));
        let sc = serve(sc_addr, &authority, &config.domain, &root, &shared, sc).await?;
        Ok(Self {
            shared,
            root,
            sc_addr: sc.addr,
            sc: tokio::sync::Mutex::new(sc),
            spus: tokio::sync::Mutex::new(spus),
            spu_addrs,
            authority,
            domain: config.domain,
        })
    }

    /// A client of this cluster (plain TCP; a TLS cluster needs a [`ClientConfig`] with
    /// its CA).
    ///
    /// # Errors
    /// As [`FluvioClient::connect`].
    pub async fn client(&self) -> Result<FluvioClient, ClientError> {
        FluvioClient::connect(ClientConfig::new(self.sc_addr())).await
    }

    /// The SC's `host:port`.
    pub fn sc_addr(&self) -> String {
        self.sc_addr.to_string()
    }

    /// SPU `id`'s `host:port` (kept across [`TestCluster::stop_spu`] and restarts).
    pub fn spu_addr(&self, id: i32) -> Option<String> {
        self.spu_addrs.get(&id).map(SocketAddr::to_string)
    }

    /// The SPU ids, in order.
    pub fn spu_ids(&self) -> Vec<i32> {
        self.spu_addrs.keys().copied().collect()
    }

    /// The name clients know SPU `id` by (`custom-spu-<id>`, as a local cluster).
    pub fn spu_name(id: i32) -> String {
        State::spu_name(id)
    }

    /// The CA certificate (PEM) that signed every server certificate, when TLS is on.
    pub fn ca_pem(&self) -> Option<&str> {
        self.authority.as_deref().map(Authority::ca_pem)
    }

    /// A fresh client certificate for `name`, signed by the cluster's CA, when TLS is on.
    ///
    /// # Errors
    /// [`TestkitError::Tls`] if the certificate cannot be made.
    pub fn client_identity(&self, name: &str) -> Result<Option<ClientIdentity>, TestkitError> {
        self.authority
            .as_deref()
            .map(|a| a.client_identity(name))
            .transpose()
    }

    /// The TLS domain (the SC's certificate name; SPUs use `<spu-name>.<domain>`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Close every open client connection, on the SC and every SPU. New connections are
    /// accepted as before.
    pub fn drop_connections(&self) {
        self.shared.faults.drop_connections();
    }

    /// Stall every open client connection to `server` (the SC, or every SPU): its socket
    /// stays open, but what arrives is read and dropped, and nothing is sent — no answers,
    /// no stream frames — until the client closes it. What a client sees of a paused server
    /// or a network drop nobody reported (a half-open connection). Connections accepted
    /// afterwards are served as usual.
    pub fn stall_connections(&self, server: Server) {
        self.shared
            .faults
            .stall_connections(FaultTarget::Only(server));
    }

    /// Delay every response (and every stream frame) by `delay`; `Duration::ZERO` to stop.
    pub fn set_response_delay(&self, delay: Duration) {
        self.shared.faults.set_delay(delay);
    }

    /// Answer the next `count` requests with `api_key`, on whichever server receives them,
    /// with `error` in the response's error field. Responses without an error field (SC
    /// list and watch) close the connection instead. API keys 1002–1006 mean different
    /// requests on the SC and the SPUs: use [`TestCluster::fail_next_on`] to pick one.
    pub fn fail_next(&self, api_key: u16, error: ErrorCode, count: u32) {
        self.shared
            .faults
            .fail_next(FaultTarget::Any, api_key, error, count);
    }

    /// As [`TestCluster::fail_next`], only for requests reaching `server`.
    pub fn fail_next_on(&self, server: Server, api_key: u16, error: ErrorCode, count: u32) {
        self.shared
            .faults
            .fail_next(FaultTarget::Only(server), api_key, error, count);
    }

    /// How many requests with `api_key` `server` has received (all SPUs together).
    pub fn requests_served(&self, server: Server, api_key: u16) -> u64 {
        self.shared.faults.served(server, api_key)
    }

    /// Stop SPU `id`: close its port and connections and mark it offline (its partitions
    /// show `LeaderOffline`). Its data is kept.
    ///
    /// # Errors
    /// [`TestkitError::UnknownSpu`].
    pub async fn stop_spu(&self, id: i32) -> Result<(), TestkitError> {
        let mut spus = self.spus.lock().await;
        let running = spus.get_mut(&id).ok_or(TestkitError::UnknownSpu(id))?;
        running.stop().await;
        self.set_online(id, false);
        Ok(())
    }

    /// Start SPU `id` again on the same port, with the data it had. Restarting a running
    /// SPU stops it first.
    ///
    /// # Errors
    /// [`TestkitError::UnknownSpu`], or the port cannot be bound again.
    pub async fn restart_spu(&self, id: i32) -> Result<(), TestkitError> {
        let mut spus = self.spus.lock().await;
        let running = spus.get_mut(&id).ok_or(TestkitError::UnknownSpu(id))?;
        running.stop().await;
        let spu = Arc::new(Spu {
            id,
            shared: self.shared.clone(),
        });
        let name = format!("{}.{}", State::spu_name(id), self.domain);
        let addr = running.addr;
        *running = serve(addr, &self.authority, &name, &self.root, &self.shared, spu).await?;
        // Registered again if it was removed.
        self.shared.lock().spus.insert(
            id,
            SpuEntry {
                port: addr.port(),
                online: true,
            },
        );
        self.shared.meta_changed();
        Ok(())
    }

    /// Remove SPU `id` from the cluster (as `fluvio cluster spu unregister` after its pod
    /// is gone): it stops, its connections close, and the SC no longer lists it. Partitions
    /// it led keep it as their leader (unknown to clients, so they wait for another).
    /// [`TestCluster::restart_spu`] brings it back, registered again.
    ///
    /// # Errors
    /// [`TestkitError::UnknownSpu`].
    pub async fn remove_spu(&self, id: i32) -> Result<(), TestkitError> {
        let mut spus = self.spus.lock().await;
        let running = spus.get_mut(&id).ok_or(TestkitError::UnknownSpu(id))?;
        running.stop().await;
        self.shared.lock().spus.remove(&id);
        self.shared.meta_changed();
        Ok(())
    }

    /// Stop the SC: close its port and its connections (watches end). SPUs keep serving.
    pub async fn stop_sc(&self) {
        self.sc.lock().await.stop().await;
    }

    /// Start the SC again on the same port (restarting a running SC stops it first).
    ///
    /// # Errors
    /// The port cannot be bound again.
    pub async fn restart_sc(&self) -> Result<(), TestkitError> {
        let mut running = self.sc.lock().await;
        running.stop().await;
        let sc = Arc::new(Sc {
            shared: self.shared.clone(),
        });
        *running = serve(
            self.sc_addr,
            &self.authority,
            &self.domain,
            &self.root,
            &self.shared,
            sc,
        )
        .await?;
        Ok(())
    }

    /// Restart the SC with empty state, as a new SC whose metadata store was lost: it comes
    /// back on the same port knowing no SPU, topic, partition, SmartModule, Mirror or
    /// consumer offset, so its watches start with empty snapshots. The SPUs keep running,
    /// unregistered (their partitions, records included, are gone with the SC's state);
    /// [`TestCluster::restart_spu`] registers one again.
    ///
    /// # Errors
    /// The port cannot be bound again.
    pub async fn restart_sc_empty(&self) -> Result<(), TestkitError> {
        let mut running = self.sc.lock().await;
        running.stop().await;
        *self.shared.lock() = State::default();
        self.shared.data_changed();
        drop(running);
        self.restart_sc().await
    }

    /// Make SPU `to` the leader of `topic`/`partition` (as the SC does when a leader dies and
    /// a follower takes over): watches report the new leader, and the old one answers
    /// `NotLeaderForPartition` from then on, streams included. The records stay.
    ///
    /// # Errors
    /// [`TestkitError::UnknownPartition`] or [`TestkitError::UnknownSpu`].
    pub fn move_leader(&self, topic: &str, partition: u32, to: i32) -> Result<(), TestkitError> {
        let mut state = self.shared.lock();
        if !state.spus.contains_key(&to) {
            return Err(TestkitError::UnknownSpu(to));
        }
        let entry = partition_mut(&mut state, topic, partition)?;
        entry.leader = to;
        if !entry.replicas.contains(&to) {
            entry.replicas.insert(0, to);
        }
        drop(state);
        // Streams re-read their partition on a data signal: the old leader's now fail.
        self.shared.data_changed();
        Ok(())
    }

    fn set_online(&self, id: i32, online: bool) {
        if let Some(spu) = self.shared.lock().spus.get_mut(&id) {
            spu.online = online;
        }
        self.shared.meta_changed();
    }

    /// Hold (`true`) or release (`false`) the replication of `topic`/`partition`, as a
    /// paused follower would: while held its high watermark stays put, read-committed
    /// fetches see nothing newer, and read-committed produce requests are written but
    /// answered `RequestTimedOut` (with their base offset) after their timeout, as the SPU
    /// answers when its replicas do not confirm in time.
    ///
    /// # Errors
    /// [`TestkitError::UnknownPartition`].
    pub fn hold_replication(
        &self,
        topic: &str,
        partition: u32,
        hold: bool,
    ) -> Result<(), TestkitError> {
        let mut state = self.shared.lock();
        let log = &mut partition_mut(&mut state, topic, partition)?.log;
        if hold {
            log.hold_hw();
        } else {
            log.release_hw();
        }
        drop(state);
        self.shared.data_changed();
        Ok(())
    }

    /// Forget the records of `topic`/`partition` in batches that end before `offset`, as
    /// segment retention would: reads below the new start get `OffsetEvicted`.
    ///
    /// # Errors
    /// [`TestkitError::UnknownPartition`].
    pub fn evict_records_before(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
    ) -> Result<(), TestkitError> {
        let mut state = self.shared.lock();
        partition_mut(&mut state, topic, partition)?
            .log
            .evict_before(offset);
        drop(state);
        self.shared.data_changed();
        Ok(())
    }

    /// Make `topic`/`partition`'s log go backwards: the batches that do not end before
    /// `offset` are lost (a batch holding `offset` goes whole) and its end moves back, as a
    /// replica restored from an older copy or a partition recreated under its readers.
    /// Streams past the new end get the SPU's "start offset is greater than leo" error.
    ///
    /// # Errors
    /// [`TestkitError::UnknownPartition`].
    pub fn truncate_partition(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
    ) -> Result<(), TestkitError> {
        let mut state = self.shared.lock();
        partition_mut(&mut state, topic, partition)?
            .log
            .truncate(offset);
        drop(state);
        self.shared.data_changed();
        Ok(())
    }

    /// Stop every server and wait for the listeners to close.
    pub async fn shutdown(self) {
        self.root.cancel();
        self.sc.lock().await.stop().await;
        for running in self.spus.lock().await.values_mut() {
            running.stop().await;
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.root.cancel();
    }
}

fn partition_mut<'a>(
    state: &'a mut State,
    topic: &str,
    partition: u32,
) -> Result<&'a mut super::state::PartitionEntry, TestkitError> {
    state
        .partitions
        .get_mut(&(topic.to_owned(), partition))
        .ok_or_else(|| TestkitError::UnknownPartition {
            topic: topic.into(),
            partition,
        })
}

async fn serve<S: Service>(
    addr: SocketAddr,
    authority: &Option<Arc<Authority>>,
    name: &str,
    root: &CancellationToken,
    shared: &Arc<Shared>,
    service: Arc<S>,
) -> Result<Running, TestkitError> {
    let tls = match authority {
        Some(a) => Some(a.acceptor(name)?),
        None => None,
    };
    let stop = root.child_token();
    let (addr, task) = listen(addr, tls, stop.clone(), shared.clone(), service)
        .await
        .map_err(|source| TestkitError::Bind { addr, source })?;
    Ok(Running {
        addr,
        stop,
        task: Some(task),
    })
}

fn create_offsets_topic(shared: &Shared, leader: i32) {
    let mut spec = TopicSpec::assigned(vec![PartitionMap {
        id: 0,
        replicas: vec![leader],
        mirror: None,
    }]);
    spec.system = true;
    let mut state = shared.lock();
    topics::create(&mut state, CONSUMER_OFFSET_TOPIC, spec, false);
}
