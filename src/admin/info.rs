//! What admin listings return: partitions and SPUs in plain terms, and topic changes.

use crate::connection::{ConnectionError, ResponseStream};
use crate::protocol::sc::{
    split_partition_name, Metadata, MsgType, PartitionResolution, PartitionSpec, SpuSpec,
    SpuStatusResolution, SpuType, TopicSpec, WatchResponse,
};

/// One partition, as `fluvio partition list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: u32,
    /// The leader SPU's id.
    pub leader: i32,
    /// Every replica's SPU id, leader first.
    pub replicas: Vec<i32>,
    /// The partition's state.
    pub status: PartitionResolution,
    /// The leader's high watermark (offset after the last committed record).
    pub high_watermark: i64,
    /// The leader's log end offset (offset after the last written record).
    pub end_offset: i64,
    /// Bytes stored (-1 when unknown).
    pub size: i64,
}

impl PartitionInfo {
    /// From partition metadata; `None` for a name that is not `<topic>-<n>`.
    pub fn from_metadata(m: Metadata<PartitionSpec>) -> Option<Self> {
        let (topic, partition) = split_partition_name(&m.name)?;
        Some(Self {
            topic: topic.to_owned(),
            partition,
            leader: m.spec.leader,
            replicas: m.spec.replicas,
            status: m.status.resolution,
            high_watermark: m.status.leader.hw,
            end_offset: m.status.leader.leo,
            size: m.status.size,
        })
    }
}

/// One SPU, as `fluvio cluster spu list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpuInfo {
    /// The SPU's id.
    pub id: i32,
    /// Its name.
    pub name: String,
    /// Managed (by an SPU group) or custom.
    pub spu_type: SpuType,
    /// Its public `host:port`, if it advertises one.
    pub public_endpoint: Option<String>,
    /// Its private (SC/SPU-facing) `host:port`.
    pub private_endpoint: String,
    /// Its rack.
    pub rack: Option<String>,
    /// Whether it is online.
    pub online: bool,
}

impl SpuInfo {
    /// From SPU metadata.
    pub fn from_metadata(m: Metadata<SpuSpec>) -> Self {
        Self {
            id: m.spec.id,
            public_endpoint: m.spec.public_address(),
            private_endpoint: format!(
                "{}:{}",
                m.spec.private_endpoint.host, m.spec.private_endpoint.port
            ),
            spu_type: m.spec.spu_type,
            rack: m.spec.rack,
            online: m.status.resolution == SpuStatusResolution::Online,
            name: m.name,
        }
    }
}

/// A change to the set of topics.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicChange {
    /// Every topic (the first event, and after the SC resynchronises).
    Snapshot(Vec<Metadata<TopicSpec>>),
    /// A topic was created or changed.
    Updated(Metadata<TopicSpec>),
    /// A topic was deleted.
    Deleted(Metadata<TopicSpec>),
}

/// The stream of [`TopicChange`]s from [`super::Admin::watch_topics`].
#[derive(Debug)]
pub struct TopicWatch {
    stream: ResponseStream<WatchResponse<TopicSpec>>,
    pending: std::collections::VecDeque<TopicChange>,
    started: bool,
}

impl TopicWatch {
    pub(crate) fn new(stream: ResponseStream<WatchResponse<TopicSpec>>) -> Self {
        Self {
            stream,
            pending: Default::default(),
            started: false,
        }
    }

    /// The next change; `None` when the SC connection dropped the watch.
    pub async fn next(&mut self) -> Option<Result<TopicChange, ConnectionError>> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Some(Ok(change));
            }
            let update = match self.stream.next().await? {
                Ok(frame) => frame.update,
                Err(error) => return Some(Err(error)),
            };
            if !update.all.is_empty() || !self.started {
                self.pending.push_back(TopicChange::Snapshot(update.all));
            }
            self.started = true;
            for change in update.changes {
                self.pending.push_back(match change.header {
                    MsgType::Update => TopicChange::Updated(change.content),
                    MsgType::Delete => TopicChange::Deleted(change.content),
                });
            }
        }
    }
}
