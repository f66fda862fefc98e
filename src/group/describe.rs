//! Groups as an administrator sees them: read from their coordination logs.

use std::collections::BTreeMap;

use super::config::{coordination_topic, snapshot_consumer, COORDINATION_PREFIX};
use super::error::GroupError;
use super::record::{GroupRecord, MemberKey};
use super::replay::Replay;
use crate::cluster::FluvioClient;
use crate::consumer::ConsumerOptions;
use crate::protocol::spu::Isolation;

/// A group as its coordination log has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group's name.
    pub group: String,
    /// The topic it consumes, once a member has said.
    pub topic: Option<String>,
    /// The topic's partition count as the group knows it.
    pub partitions: u32,
    /// The generation.
    pub generation: u64,
    /// The members not known to have left or expired. (A member that died recently is
    /// listed until a live member writes its expiry, a session timeout after its last
    /// record.)
    pub members: Vec<MemberKey>,
    /// The owner of each partition.
    pub owners: BTreeMap<u32, MemberKey>,
    /// Partitions whose previous owner has not released them yet, and that owner.
    pub releasing: BTreeMap<u32, MemberKey>,
    /// The offset committed under the group's consumer id, per partition of its topic.
    pub committed: BTreeMap<u32, i64>,
}

/// The groups of the cluster: the names of their coordination topics.
///
/// # Errors
/// A connection failure.
pub async fn list_groups(client: &FluvioClient) -> Result<Vec<String>, GroupError> {
    let mut groups: Vec<String> = client
        .admin()
        .list_topics()
        .await?
        .into_iter()
        .filter_map(|t| t.name.strip_prefix(COORDINATION_PREFIX).map(str::to_owned))
        .collect();
    groups.sort();
    Ok(groups)
}

/// Group `group`: members, generation, assignment and committed offsets, from its
/// coordination log (read from the point of its latest snapshot, like a joining member).
///
/// # Errors
/// [`GroupError::NotFound`], or a failure reading the log or the offsets.
pub async fn describe_group(
    client: &FluvioClient,
    group: &str,
) -> Result<GroupDescription, GroupError> {
    let log = coordination_topic(group);
    if client.admin().get_topic(&log).await?.is_none() {
        return Err(GroupError::NotFound(group.to_owned()));
    }
    let options = ConsumerOptions {
        disable_continuous: true,
        isolation: Isolation::ReadCommitted,
        consumer_id: Some(snapshot_consumer(group)),
        ..ConsumerOptions::default()
    };
    let mut stream = client.partition_consumer(&log, 0, options).await?;
    let mut replay = Replay::default();
    while let Some(record) = stream.next().await {
        let record = record?;
        replay.apply(record.offset, GroupRecord::decode(&record.value));
    }
    replay.anchor_anyway();
    let view = replay.view();
    let mut committed = BTreeMap::new();
    if let Some(topic) = view.topic() {
        for offset in client.admin().list_consumer_offsets().await? {
            if offset.consumer_id == group && offset.replica_id.topic == topic {
                committed.insert(offset.replica_id.partition, offset.offset);
            }
        }
    }
    let owners = view.owners().clone();
    Ok(GroupDescription {
        group: group.to_owned(),
        topic: view.topic().map(str::to_owned),
        partitions: view.partitions(),
        generation: view.generation(),
        members: view.members().keys().cloned().collect(),
        releasing: view
            .holders()
            .iter()
            .filter(|(p, h)| owners.get(p) != Some(h))
            .map(|(p, h)| (*p, h.clone()))
            .collect(),
        owners,
        committed,
    })
}
