//! Mirror topics as the 0.18 SC provisions them (`controllers/topics/policy.rs`) and their
//! SPUs gate them: one replica per partition, a mirror map beside the replica map, remotes
//! added with AddMirror (`public_api/topic/update/add_mirror.rs`), and produce refused on the
//! side that only receives (`PartitionMirrorConfig::accept_traffic`).
//!
//! A home topic (`MirrorConfig::Home`) has one partition per remote; a remote topic
//! (`MirrorConfig::Remote`, what a remote SC creates from its home's topics) one per home
//! SPU, which is always one in practice. No records cross between clusters.

use super::state::{State, TopicEntry};
use super::topics::{add_partitions_to, online_spus, place};
use crate::protocol::sc::{
    HomePartitionConfig, MirrorConfig, MirrorType, PartitionMirrorConfig, RemotePartitionConfig,
    ReplicaSpec, Status, TopicResolution,
};
use crate::protocol::ErrorCode;

fn status(name: &str, error_code: ErrorCode, message: Option<&str>) -> Status {
    Status {
        name: name.to_owned(),
        error_code,
        error_message: message.map(str::to_owned),
    }
}

/// The mirror of each partition a mirror topic's config asks for, by partition index.
pub(crate) fn partition_mirrors(config: &MirrorConfig) -> Vec<PartitionMirrorConfig> {
    match config {
        MirrorConfig::Home(home) => home
            .partitions
            .iter()
            .cloned()
            .map(PartitionMirrorConfig::Home)
            .collect(),
        MirrorConfig::Remote(remote) => remote
            .home_spus
            .iter()
            .map(|spu| {
                PartitionMirrorConfig::Remote(RemotePartitionConfig {
                    home_cluster: remote.home_cluster.clone(),
                    home_spu_key: spu.key.clone(),
                    home_spu_id: spu.id,
                    home_spu_endpoint: spu.endpoint.clone(),
                    target: remote.target,
                })
            })
            .collect(),
    }
}

/// Place the partitions of mirror topic `name` that have no replica yet (replication 1, on
/// the SPUs that are up, round-robin) and fill its mirror map. With nothing to place (no
/// partitions, or no SPU up) the topic stays `InsufficientResources`, as on the real SC.
pub(crate) fn provision(state: &mut State, name: &str, entry: &mut TopicEntry) {
    let ReplicaSpec::Mirror(config) = &entry.spec.replicas else {
        return;
    };
    let mirrors = partition_mirrors(config);
    let count = mirrors.len() as u32;
    let placed = entry.status.replica_map.len() as u32;
    let spus = online_spus(state);
    if count == 0 || (placed < count && spus.is_empty()) {
        entry.status.resolution = TopicResolution::InsufficientResources;
        return;
    }
    let placement = place(&spus, placed, count, 1);
    add_partitions_to(state, name, entry, placement);
    entry.status.mirror_map = (0..count).zip(mirrors).collect();
    entry.status.resolution = TopicResolution::Provisioned;
}

/// Why an SPU refuses a produce to a partition with mirror `mirror`: a home partition
/// receives from its remote unless it is the source (home to remote), a remote partition
/// receives from its home when it is the target.
pub(crate) fn refuses_produce(mirror: &PartitionMirrorConfig) -> Option<ErrorCode> {
    match mirror {
        PartitionMirrorConfig::Home(home) if !home.source => Some(ErrorCode::MirrorProduceFromHome),
        PartitionMirrorConfig::Remote(remote) if remote.target => {
            Some(ErrorCode::MirrorProduceFromRemoteNotAllowed)
        }
        _ => None,
    }
}

/// Whether deleting topic `entry` must be refused: a remote's copy belongs to its home
/// (checked before `force`, so force does not help).
pub(crate) fn refuses_delete(entry: &TopicEntry) -> bool {
    matches!(
        entry.spec.replicas,
        ReplicaSpec::Mirror(MirrorConfig::Remote(_))
    )
}

/// AddMirror: give home topic `name` one more partition, mirrored to `remote` (a registered
/// Remote Mirror). The new partition takes the topic's `source`; the request's
/// `home_to_mirror` is ignored, as by the real SC. The checks come in the SC's order.
pub(crate) fn add_mirror(state: &mut State, name: &str, remote: &str) -> Status {
    let Some(mut entry) = state.topics.get(name).cloned() else {
        return status(name, ErrorCode::TopicNotFound, Some("not found"));
    };
    match state.mirrors.get(remote).map(|m| &m.spec.mirror_type) {
        None => return status(name, ErrorCode::MirrorNotFound, Some("not found")),
        Some(MirrorType::Home(_)) => {
            let message = Some("remote cluster is not a remote mirror");
            return status(name, ErrorCode::MirrorInvalidType, message);
        }
        Some(MirrorType::Remote(_)) => {}
    }
    let ReplicaSpec::Mirror(config) = &entry.spec.replicas else {
        return status(name, ErrorCode::TopicError, Some("invalid replica type"));
    };
    let assigned = partition_mirrors(config)
        .iter()
        .position(|m| matches!(m, PartitionMirrorConfig::Home(h) if h.remote_cluster == remote));
    if let Some(index) = assigned {
        let message = format!("remote \"{remote}\" is already assigned to partition: \"{index}\"");
        return Status {
            error_message: Some(message),
            ..status(name, ErrorCode::MirrorAlreadyExists, None)
        };
    }
    if entry.spec.system {
        let code = ErrorCode::SystemSpecUpdatingAttempt {
            kind: "topic".into(),
            name: name.into(),
        };
        return status(name, code, None);
    }
    let ReplicaSpec::Mirror(MirrorConfig::Home(home)) = &mut entry.spec.replicas else {
        let message = Some("invalid replica type");
        return status(name, ErrorCode::TopicInvalidReplicaType, message);
    };
    home.partitions.push(HomePartitionConfig {
        remote_cluster: remote.to_owned(),
        remote_replica: format!("{name}-0"),
        source: home.source,
    });
    provision(state, name, &mut entry);
    state.topics.insert(name.to_owned(), entry);
    status(name, ErrorCode::None, None)
}

#[cfg(test)]
mod tests;
