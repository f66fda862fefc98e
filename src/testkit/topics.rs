//! Topic administration as the SC does it: name and config validation with the SC's error
//! codes and messages, replica placement over the SPUs, creation, deletion and added
//! partitions. Mirror topics are placed by `mirror_topics`.

use super::log::PartitionLog;
use super::mirror_topics;
use super::state::{PartitionEntry, State, TopicEntry};
use crate::protocol::sc::{
    CleanupPolicy, PartitionMap, ReplicaSpec, Status, TopicResolution, TopicSpec, TopicStatus,
};
use crate::protocol::ErrorCode;

/// SC minimums (fluvio-types defaults).
const RETENTION_SECONDS_MIN: u32 = 10;
const SEGMENT_SIZE_MIN: u32 = 1024;
const PARTITION_SIZE_MIN: u64 = 2 * SEGMENT_SIZE_MIN as u64;
const DEFAULT_SEGMENT_SIZE: u32 = 1_073_741_824;
/// Most partitions one topic may have here: a request for billions would exhaust memory
/// (the real SC has no such limit, but spreads them over real SPUs).
pub(crate) const MAX_PARTITIONS: u32 = 10_000;

fn too_many(count: u64) -> String {
    format!("{count} partitions exceed the testkit limit of {MAX_PARTITIONS}")
}

fn status(name: &str, error_code: ErrorCode, message: Option<String>) -> Status {
    Status {
        name: name.to_owned(),
        error_code,
        error_message: message,
    }
}

/// The SC's resource-name rule: lowercase ASCII letters, digits and `-`, not at either end.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    use crate::admin::MAX_NAME_LEN;
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "Name exceeds max characters allowed {MAX_NAME_LEN}"
        ));
    }
    if crate::admin::has_valid_chars(name) {
        Ok(())
    } else {
        Err("Contain only lowercase alphanumeric characters or '-'".into())
    }
}

/// The storage and retention checks of `TopicSpec::validate_config`.
fn validate_config(spec: &TopicSpec) -> Option<String> {
    if let Some(CleanupPolicy::Segment(policy)) = &spec.cleanup_policy {
        if policy.time_in_seconds < RETENTION_SECONDS_MIN {
            return Some(format!(
                "retention_secs {} is less than minimum {RETENTION_SECONDS_MIN}",
                policy.time_in_seconds
            ));
        }
    }
    let storage = spec.storage.as_ref()?;
    if let Some(segment) = storage.segment_size {
        if segment < SEGMENT_SIZE_MIN {
            return Some(format!(
                "segment_size {segment} is less than minimum {SEGMENT_SIZE_MIN}"
            ));
        }
    }
    let max = storage.max_partition_size?;
    if max < PARTITION_SIZE_MIN {
        return Some(format!(
            "max_partition_size {max} is less than minimum {PARTITION_SIZE_MIN}"
        ));
    }
    let segment = storage.segment_size.unwrap_or(DEFAULT_SEGMENT_SIZE);
    if max < u64::from(segment) {
        return Some(format!(
            "max_partition_size {max} is less than segment size {segment}"
        ));
    }
    None
}

/// The checks of an assigned partition map, with the SC's reasons.
fn validate_assigned(maps: &[PartitionMap], state: &State) -> Result<(), String> {
    if maps.is_empty() {
        return Err("no assigned partitions found".into());
    }
    for (index, map) in maps.iter().enumerate() {
        if map.id as usize != index {
            return Err("assigned partitions must start with id 0".into());
        }
        if map.replicas.is_empty() {
            return Err("assigned replicas must have at least one spu id".into());
        }
        let mut seen = map.replicas.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != map.replicas.len() {
            return Err("duplicate spu ids found in assigned replicas".into());
        }
        if let Some(spu) = map.replicas.iter().find(|s| !state.spus.contains_key(s)) {
            return Err(format!("invalid spu id: {spu}"));
        }
    }
    Ok(())
}

/// Replicas of partitions `from..to` over the SPUs in id order, `factor` each, leaders
/// spread round-robin.
pub(crate) fn place(spus: &[i32], from: u32, to: u32, factor: u32) -> Vec<(u32, Vec<i32>)> {
    let n = spus.len();
    if n == 0 {
        return Vec::new();
    }
    (from..to)
        .map(|p| {
            let replicas = (0..factor as usize)
                .map(|r| spus[(p as usize + r) % n])
                .collect();
            (p, replicas)
        })
        .collect()
}

/// The ids of the SPUs that are up, in order: computed placement uses only those.
pub(crate) fn online_spus(state: &State) -> Vec<i32> {
    state
        .spus
        .iter()
        .filter(|(_, s)| s.online)
        .map(|(&id, _)| id)
        .collect()
}

/// Validate `spec` for `name` the way the SC does before creating anything.
fn validate(state: &State, name: &str, spec: &TopicSpec) -> Result<(), Status> {
    if let Err(err) = validate_name(name) {
        let message = format!("Invalid topic name: '{name}'. {err}");
        return Err(status(name, ErrorCode::TopicInvalidName, Some(message)));
    }
    if state.topics.contains_key(name) {
        let message = format!("Topic '{name}' already exists");
        return Err(status(name, ErrorCode::TopicAlreadyExists, Some(message)));
    }
    if let Some(reason) = validate_config(spec) {
        return Err(status(
            name,
            ErrorCode::TopicInvalidConfiguration,
            Some(reason),
        ));
    }
    if let Some(dedup) = &spec.deduplication {
        let uses = &dedup.filter.transform.uses;
        if !state.smartmodules.contains_key(&smartmodule_store_id(uses)) {
            return Err(status(
                uses,
                ErrorCode::DeduplicationSmartModuleNotLoaded,
                Some(ErrorCode::DeduplicationSmartModuleNotLoaded.to_string()),
            ));
        }
    }
    let reason = match &spec.replicas {
        ReplicaSpec::Computed(p) if p.partitions == 0 => "partition must be greater than 0",
        ReplicaSpec::Computed(p) if p.partitions > MAX_PARTITIONS => {
            let reason = too_many(p.partitions.into());
            return Err(status(name, ErrorCode::TopicError, Some(reason)));
        }
        ReplicaSpec::Computed(p) if p.replication_factor == 0 => {
            "replication factor must be greater than 0"
        }
        ReplicaSpec::Computed(_) => return Ok(()),
        ReplicaSpec::Assigned(maps) => {
            return validate_assigned(maps, state)
                .map_err(|reason| status(name, ErrorCode::TopicError, Some(reason)))
        }
        ReplicaSpec::Mirror(m) => {
            let count = mirror_topics::partition_mirrors(m).len() as u64;
            if count > u64::from(MAX_PARTITIONS) {
                return Err(status(name, ErrorCode::TopicError, Some(too_many(count))));
            }
            // The SC accepts any mirror config (it does not check that the remotes of a
            // home config are registered: only the CLI does).
            return Ok(());
        }
    };
    Err(status(name, ErrorCode::TopicError, Some(reason.into())))
}

/// Create topic `name` (or only validate it when `dry_run`).
pub(crate) fn create(state: &mut State, name: &str, spec: TopicSpec, dry_run: bool) -> Status {
    if let Err(status) = validate(state, name, &spec) {
        return status;
    }
    if dry_run {
        return status(name, ErrorCode::None, None);
    }
    let placement = match &spec.replicas {
        ReplicaSpec::Assigned(maps) => maps.iter().map(|m| (m.id, m.replicas.clone())).collect(),
        ReplicaSpec::Computed(p) => {
            let p = p.clone();
            let spus = online_spus(state);
            if p.replication_factor as usize > spus.len() {
                let reason = format!(
                    "need {} more SPU",
                    p.replication_factor as usize - spus.len()
                );
                let status_ = TopicStatus {
                    resolution: TopicResolution::InsufficientResources,
                    reason,
                    ..TopicStatus::default()
                };
                state.topics.insert(
                    name.into(),
                    TopicEntry {
                        spec,
                        status: status_,
                    },
                );
                let message = format!("only 0 out of {} provisioned", p.partitions);
                return status(name, ErrorCode::TopicNotProvisioned, Some(message));
            }
            place(&spus, 0, p.partitions, p.replication_factor)
        }
        ReplicaSpec::Mirror(_) => {
            // The SC answers a mirror topic at once, provisioned or not.
            let mut entry = TopicEntry {
                spec,
                status: TopicStatus::default(),
            };
            mirror_topics::provision(state, name, &mut entry);
            state.topics.insert(name.into(), entry);
            return status(name, ErrorCode::None, None);
        }
    };
    let mut entry = TopicEntry {
        spec,
        status: TopicStatus {
            resolution: TopicResolution::Provisioned,
            ..TopicStatus::default()
        },
    };
    add_partitions_to(state, name, &mut entry, placement);
    state.topics.insert(name.into(), entry);
    status(name, ErrorCode::None, None)
}

/// Record `placement` (partition → replicas) in `entry` and create the partitions' logs.
pub(crate) fn add_partitions_to(
    state: &mut State,
    name: &str,
    entry: &mut TopicEntry,
    placement: Vec<(u32, Vec<i32>)>,
) {
    for (partition, replicas) in placement {
        entry.status.replica_map.insert(partition, replicas.clone());
        let leader = replicas.first().copied().unwrap_or(-1);
        state.partitions.insert(
            (name.to_owned(), partition),
            PartitionEntry {
                leader,
                replicas,
                log: PartitionLog::default(),
            },
        );
    }
}

/// Delete topic `name` and its partitions.
pub(crate) fn delete(state: &mut State, name: &str, force: bool) -> Status {
    let Some(entry) = state.topics.get(name) else {
        return status(name, ErrorCode::TopicNotFound, Some("not found".into()));
    };
    if mirror_topics::refuses_delete(entry) {
        let message = Some("cannot delete mirrored topic from remote".into());
        return status(name, ErrorCode::MirrorDeleteFromRemote, message);
    }
    if entry.spec.system && !force {
        let code = ErrorCode::SystemSpecDeletionAttempt {
            kind: "topic".into(),
            name: name.into(),
        };
        return status(name, code, None);
    }
    state.topics.remove(name);
    state.partitions.retain(|(topic, _), _| topic != name);
    status(name, ErrorCode::None, None)
}

/// Add `count` partitions to a computed topic.
pub(crate) fn add_partitions(state: &mut State, name: &str, count: u32) -> Status {
    let Some(mut entry) = state.topics.get(name).cloned() else {
        return status(name, ErrorCode::TopicNotFound, Some("not found".into()));
    };
    if entry.spec.system {
        let code = ErrorCode::SystemSpecUpdatingAttempt {
            kind: "topic".into(),
            name: name.into(),
        };
        return status(name, code, None);
    }
    let ReplicaSpec::Computed(param) = &mut entry.spec.replicas else {
        let message = Some("invalid replica type".into());
        return status(name, ErrorCode::TopicInvalidReplicaType, message);
    };
    let from = param.partitions;
    let total = u64::from(from) + u64::from(count);
    if total > u64::from(MAX_PARTITIONS) {
        return status(name, ErrorCode::TopicError, Some(too_many(total)));
    }
    param.partitions += count;
    let spus = online_spus(state);
    if spus.is_empty() {
        let reason = Some("no online SPU to place partitions on".to_owned());
        return status(name, ErrorCode::TopicError, reason);
    }
    let factor = (param.replication_factor as usize).min(spus.len()) as u32;
    let placement = place(&spus, from, from + count, factor);
    add_partitions_to(state, name, &mut entry, placement);
    state.topics.insert(name.into(), entry);
    status(name, ErrorCode::None, None)
}

/// The key the SC files a SmartModule under: `name[-group][-version]` for a qualified
/// `group/name@version`, else the name itself.
pub(crate) fn smartmodule_store_id(qualified: &str) -> String {
    match qualified.split_once('/') {
        None => qualified.to_owned(),
        Some((group, rest)) => match rest.split_once('@') {
            Some((name, version)) => format!("{name}-{group}-{version}"),
            None => format!("{rest}-{group}"),
        },
    }
}

/// The replica map of a topic, for tests.
#[cfg(test)]
fn replica_map(state: &State, name: &str) -> std::collections::BTreeMap<u32, Vec<i32>> {
    state.topics[name].status.replica_map.clone()
}

#[cfg(test)]
mod tests;
