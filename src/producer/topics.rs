//! The topics a producer writes to and their partition counts, re-read when the cluster's
//! topics or partitions change (a topic deleted and recreated with another partition count
//! is partitioned by its new count).

use std::sync::{Arc, RwLock};

use foldhash::HashMap;
use tokio::sync::watch;

use crate::cluster::{ClientError, FluvioClient};

/// A topic as the producer last read it.
#[derive(Debug, Clone)]
struct Known {
    name: Arc<str>,
    count: u32,
    /// The client's topology counter when it was read.
    seen: u64,
}

/// How a re-read of a topic came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Read {
    /// First read (its compression still to check), or its partition count changed.
    Changed {
        /// The count known before, if any.
        from: Option<u32>,
        /// The count now.
        to: u32,
    },
    /// As before (or the topic is missing now, and the last count stays: see [`KnownTopics::read`]).
    Same(u32),
}

/// The partition count of each topic written to.
#[derive(Debug)]
pub(crate) struct KnownTopics {
    topics: RwLock<HashMap<String, Known>>,
    topology: watch::Receiver<u64>,
}

impl KnownTopics {
    /// Topics of `client`'s cluster, re-read when its topology changes.
    pub(crate) fn new(client: &FluvioClient) -> Self {
        Self {
            topics: RwLock::new(HashMap::default()),
            topology: client.topology_changes(),
        }
    }

    /// The topic's interned name and partition count, if read since the last topology
    /// change.
    pub(crate) fn current(&self, topic: &str) -> Option<(Arc<str>, u32)> {
        let now = *self.topology.borrow();
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let known = topics.get(topic).filter(|k| k.seen == now)?;
        Some((known.name.clone(), known.count))
    }

    /// Read the topic's partition count from `client` (kept once [`KnownTopics::keep`] is
    /// called with the answer). A topic written to before that is
    /// missing now, or cannot be read for a moment (the SC is away), keeps its last count:
    /// it may be in the middle of being recreated, and its queued records are retried until
    /// their delivery timeout. A topic never seen fails now (the producer tries again until
    /// the delivery timeout when the error is retriable).
    ///
    /// # Errors
    /// [`ClientError::TopicNotFound`] or [`ClientError::MetadataTimeout`] for a topic never
    /// read before.
    pub(crate) async fn read(
        &self,
        client: &FluvioClient,
        topic: &str,
    ) -> Result<Reading, ClientError> {
        let seen = *self.topology.borrow();
        let before = self
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .cloned();
        let count = match (client.partition_count(topic).await, &before) {
            (Ok(count), _) => count,
            (Err(error), Some(known))
                if matches!(error, ClientError::TopicNotFound(_)) || error.is_retriable() =>
            {
                tracing::debug!(topic, %error, count = known.count, "topic not readable now; keeping its partition count");
                known.count
            }
            (Err(error), _) => return Err(error),
        };
        let name = before
            .as_ref()
            .map_or_else(|| Arc::<str>::from(topic), |k| k.name.clone());
        let read = match before.map(|k| k.count) {
            Some(from) if from == count => Read::Same(count),
            from => Read::Changed { from, to: count },
        };
        Ok(Reading { name, read, seen })
    }

    /// Use `reading` for `topic` until the next topology change.
    pub(crate) fn keep(&self, topic: &str, reading: &Reading) {
        let known = Known {
            name: reading.name.clone(),
            count: reading.read.count(),
            seen: reading.seen,
        };
        self.topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_owned(), known);
    }
}

/// A topic just read.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    /// The interned name.
    pub(crate) name: Arc<str>,
    /// The partition count, and whether it changed.
    pub(crate) read: Read,
    /// The topology counter it was read at.
    seen: u64,
}

impl Read {
    /// The partition count read.
    pub(crate) fn count(&self) -> u32 {
        match *self {
            Read::Changed { to, .. } => to,
            Read::Same(count) => count,
        }
    }
}
