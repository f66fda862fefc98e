//! The cluster's shared state: topics, partitions with their logs, SPUs, SmartModules,
//! Mirror objects and consumer offsets, behind one lock, with change signals for watches and
//! streams.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::faults::Faults;
use super::log::PartitionLog;
use crate::protocol::sc::{MirrorSpec, MirrorStatus, SmartModuleSpec, TopicSpec, TopicStatus};

/// The system topic holding consumer offsets (as in the real cluster).
pub(crate) const CONSUMER_OFFSET_TOPIC: &str = "consumer-offset";

/// A topic: what the client asked for and what the SC made of it.
#[derive(Debug, Clone)]
pub(crate) struct TopicEntry {
    pub(crate) spec: TopicSpec,
    pub(crate) status: TopicStatus,
}

/// A Mirror object (one end of a mirroring pair) and its pairing status.
#[derive(Debug, Clone, Default)]
pub(crate) struct MirrorEntry {
    pub(crate) spec: MirrorSpec,
    pub(crate) status: MirrorStatus,
}

/// A partition: its placement and its records.
#[derive(Debug, Clone)]
pub(crate) struct PartitionEntry {
    pub(crate) leader: i32,
    pub(crate) replicas: Vec<i32>,
    pub(crate) log: PartitionLog,
}

/// An SPU as the SC knows it.
#[derive(Debug, Clone)]
pub(crate) struct SpuEntry {
    pub(crate) port: u16,
    pub(crate) online: bool,
}

/// A stored consumer offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredOffset {
    pub(crate) offset: i64,
    pub(crate) modified_ms: u64,
}

/// Everything the SC and SPUs share.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) topics: BTreeMap<String, TopicEntry>,
    pub(crate) partitions: BTreeMap<(String, u32), PartitionEntry>,
    pub(crate) spus: BTreeMap<i32, SpuEntry>,
    pub(crate) smartmodules: BTreeMap<String, SmartModuleSpec>,
    /// Mirror objects by name (= the id inside their spec).
    pub(crate) mirrors: BTreeMap<String, MirrorEntry>,
    /// Keyed by consumer id, topic, partition.
    pub(crate) consumer_offsets: BTreeMap<(String, String, u32), StoredOffset>,
}

impl State {
    /// The name clients know SPU `id` by.
    pub(crate) fn spu_name(id: i32) -> String {
        format!("custom-spu-{id}")
    }

    /// Whether SPU `spu` leads `topic`/`partition`.
    pub(crate) fn leads(&self, spu: i32, topic: &str, partition: u32) -> bool {
        self.partitions
            .get(&(topic.to_owned(), partition))
            .is_some_and(|p| p.leader == spu)
    }

    /// The partition `topic`/`partition` if SPU `spu` leads it.
    pub(crate) fn led_mut(
        &mut self,
        spu: i32,
        topic: &str,
        partition: u32,
    ) -> Option<&mut PartitionEntry> {
        self.partitions
            .get_mut(&(topic.to_owned(), partition))
            .filter(|p| p.leader == spu)
    }

    /// The SPU leading partition 0 of the consumer-offset topic.
    pub(crate) fn offsets_leader(&self) -> Option<i32> {
        self.partitions
            .get(&(CONSUMER_OFFSET_TOPIC.to_owned(), 0))
            .map(|p| p.leader)
    }
}

/// The state and its change signals, shared by every server of one cluster.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Bumped on every metadata change (watches diff against their last frame).
    meta: watch::Sender<u64>,
    /// Bumped on every write to any partition (stream fetches re-check their partition).
    data: watch::Sender<u64>,
    /// The epoch each running watch has sent its frames for, by watch id.
    watchers: Mutex<HashMap<u64, i64>>,
    /// Bumped whenever a watch makes progress or ends.
    watch_progress: watch::Sender<u64>,
    next_watcher: AtomicU64,
    /// Injected faults.
    pub(crate) faults: Faults,
    /// Whether the cluster speaks TLS (SPU endpoints say so).
    pub(crate) tls: bool,
}

impl Shared {
    /// Empty state.
    pub(crate) fn new(tls: bool) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            meta: watch::channel(0).0,
            data: watch::channel(0).0,
            watchers: Mutex::new(HashMap::new()),
            watch_progress: watch::channel(0).0,
            next_watcher: AtomicU64::new(0),
            faults: Faults::default(),
            tls,
        })
    }

    /// Lock the state (a poisoned lock is recovered: the state stays usable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Signal a metadata change.
    pub(crate) fn meta_changed(&self) {
        self.meta.send_modify(|e| *e += 1);
    }

    /// Signal a write (also a metadata change: partition offsets moved).
    pub(crate) fn data_changed(&self) {
        self.data.send_modify(|e| *e += 1);
        self.meta_changed();
    }

    /// A receiver of metadata changes.
    pub(crate) fn meta_events(&self) -> watch::Receiver<u64> {
        self.meta.subscribe()
    }

    /// A receiver of data changes.
    pub(crate) fn data_events(&self) -> watch::Receiver<u64> {
        self.data.subscribe()
    }

    /// The current metadata epoch.
    pub(crate) fn epoch(&self) -> i64 {
        *self.meta.borrow() as i64
    }

    fn watchers(&self) -> MutexGuard<'_, HashMap<u64, i64>> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register a running watch; it reports its progress with [`Shared::watch_sent`].
    pub(crate) fn watch_started(&self, epoch: i64) -> u64 {
        let id = self.next_watcher.fetch_add(1, Ordering::Relaxed);
        self.watchers().insert(id, epoch);
        id
    }

    /// Watch `id` has queued its frames up to `epoch`.
    pub(crate) fn watch_sent(&self, id: u64, epoch: i64) {
        if let Some(e) = self.watchers().get_mut(&id) {
            *e = epoch;
        }
        self.watch_progress.send_modify(|n| *n += 1);
    }

    /// Watch `id` ended.
    pub(crate) fn watch_ended(&self, id: u64) {
        self.watchers().remove(&id);
        self.watch_progress.send_modify(|n| *n += 1);
    }

    /// Wait (at most `limit`) until every running watch has queued its frames for `epoch`.
    /// The real SC answers a create only once the new partitions are online, by which time
    /// watchers have long been told; waiting here keeps that order on the wire.
    pub(crate) async fn watches_reached(&self, epoch: i64, limit: Duration) {
        let mut progress = self.watch_progress.subscribe();
        let wait = async {
            loop {
                progress.mark_unchanged();
                if self.watchers().values().all(|&e| e >= epoch) {
                    return;
                }
                if progress.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}
