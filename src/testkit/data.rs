//! The SPU's data path over the shared state: produce (offsets, mirror and compression
//! checks), one-shot fetch, fetch offsets, consumer offsets, and the SmartModule check.

use std::time::{SystemTime, UNIX_EPOCH};

use super::log::ReadError;
use super::mirror_topics::refuses_produce;
use super::state::{State, StoredOffset};
use super::topics::smartmodule_store_id;
use crate::protocol::record::{Compression, RecordSet};
use crate::protocol::sc::CompressionAlgorithm;
use crate::protocol::spu::{
    ConsumerOffset, FetchOffsetPartitionResponse, FetchOffsetTopicResponse, FetchOffsetsRequest,
    FetchOffsetsResponse, FetchPartition, FetchRequest, FetchResponse, FetchablePartitionResponse,
    FetchableTopicResponse, FilterOpts, PartitionProduceData, PartitionProduceResponse, ReplicaKey,
    SmartModuleInvocation, SmartModuleWasm,
};
use crate::protocol::ErrorCode;

/// Whether a topic with compression `topic` accepts a batch compressed with `batch`.
pub(crate) fn accepts(topic: CompressionAlgorithm, batch: Compression) -> bool {
    matches!(
        (topic, batch),
        (CompressionAlgorithm::Any, _)
            | (CompressionAlgorithm::None, Compression::None)
            | (CompressionAlgorithm::Gzip, Compression::Gzip)
            | (CompressionAlgorithm::Snappy, Compression::Snappy)
            | (CompressionAlgorithm::Lz4, Compression::Lz4)
            | (CompressionAlgorithm::Zstd, Compression::Zstd)
    )
}

/// Write one partition's batches on SPU `spu`. In the real SPU's order: a partition it does
/// not lead, a mirror partition that only receives, then `smartmodule_error` (the request's
/// SmartModules cannot run here), then the batches' compression.
pub(crate) fn produce_partition(
    state: &mut State,
    spu: i32,
    topic: &str,
    data: PartitionProduceData,
    smartmodule_error: Option<&ErrorCode>,
) -> PartitionProduceResponse {
    let index = data.partition_index;
    let failed = |error_code| PartitionProduceResponse {
        partition_index: index,
        error_code,
        base_offset: 0,
        ..PartitionProduceResponse::default()
    };
    let Some(entry) = state.topics.get(topic) else {
        return failed(ErrorCode::NotLeaderForPartition);
    };
    let compression = entry.spec.compression_type;
    let mirror = entry
        .status
        .mirror_map
        .get(&index)
        .and_then(refuses_produce);
    let Some(partition) = state.led_mut(spu, topic, index) else {
        return failed(ErrorCode::NotLeaderForPartition);
    };
    if let Some(error) = mirror.or_else(|| smartmodule_error.cloned()) {
        return failed(error);
    }
    let valid = data
        .records
        .batches
        .iter()
        .all(|b| b.compression().is_ok_and(|c| accepts(compression, c)));
    if !valid {
        return failed(ErrorCode::CompressionError);
    }
    let mut base = partition.log.leo();
    for (i, batch) in data.records.batches.into_iter().enumerate() {
        match partition.log.append(batch) {
            Ok(offset) if i == 0 => base = offset,
            Ok(_) => {}
            Err(_) => return failed(ErrorCode::StorageError),
        }
    }
    PartitionProduceResponse {
        partition_index: index,
        base_offset: base,
        ..PartitionProduceResponse::default()
    }
}

fn read_error(err: ReadError) -> ErrorCode {
    match err {
        ReadError::Evicted {
            offset,
            next_available,
        } => ErrorCode::OffsetEvicted {
            offset,
            next_available,
        },
        ReadError::BeyondEnd { offset, leo } => {
            ErrorCode::Other(format!("start offset: {offset} is greater than leo: {leo}"))
        }
    }
}

fn fetch_partition(
    state: &State,
    spu: i32,
    topic: &str,
    req: &FetchPartition,
    max: i32,
) -> FetchablePartitionResponse {
    let mut out = FetchablePartitionResponse {
        partition_index: req.partition_index,
        ..FetchablePartitionResponse::default()
    };
    let Some(p) = state
        .partitions
        .get(&(topic.to_owned(), req.partition_index))
        .filter(|p| p.leader == spu)
    else {
        out.error_code = ErrorCode::NotLeaderForPartition;
        return out;
    };
    out.high_watermark = p.log.hw();
    out.log_start_offset = p.log.start();
    let max_bytes = match (req.max_bytes, max) {
        (a, b) if a > 0 && b > 0 => a.min(b),
        (a, b) => a.max(b).max(0),
    };
    match p.log.read_batches(req.fetch_offset, max_bytes as usize) {
        Ok(batches) => out.records = RecordSet::new(batches),
        Err(err) => out.error_code = read_error(err),
    }
    out
}

/// A one-shot fetch on SPU `spu` (whole batches, up to `max_bytes`, at least one).
pub(crate) fn fetch(state: &State, spu: i32, req: &FetchRequest) -> FetchResponse {
    FetchResponse {
        topics: req
            .topics
            .iter()
            .map(|t| FetchableTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .fetch_partitions
                    .iter()
                    .map(|p| fetch_partition(state, spu, &t.name, p, req.max_bytes))
                    .collect(),
            })
            .collect(),
        ..FetchResponse::default()
    }
}

/// Start offsets and high watermarks on SPU `spu`.
pub(crate) fn fetch_offsets(
    state: &State,
    spu: i32,
    req: &FetchOffsetsRequest,
) -> FetchOffsetsResponse {
    let topics = req.topics.iter().map(|t| {
        let partitions = t.partitions.iter().map(|p| {
            let index = p.partition_index;
            let mut out = FetchOffsetPartitionResponse {
                partition_index: index,
                ..FetchOffsetPartitionResponse::default()
            };
            match state
                .partitions
                .get(&(t.name.clone(), index))
                .filter(|p| p.leader == spu)
            {
                None => out.error_code = ErrorCode::PartitionNotLeader,
                Some(part) => {
                    out.start_offset = part.log.start();
                    out.last_stable_offset = part.log.hw();
                    // v23 clients ask for their stored offset here.
                    let key = req.consumer_id.clone().map(|c| (c, t.name.clone(), index));
                    if let Some(stored) = key.and_then(|k| state.consumer_offsets.get(&k)) {
                        out.start_offset = stored.offset.saturating_add(1);
                    }
                }
            }
            out
        });
        FetchOffsetTopicResponse {
            name: t.name.clone(),
            partitions: partitions.collect(),
        }
    });
    FetchOffsetsResponse {
        topics: topics.collect(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Store `consumer`'s offset for `topic`/`partition`.
pub(crate) fn store_offset(
    state: &mut State,
    consumer: &str,
    topic: &str,
    partition: u32,
    offset: i64,
) {
    let key = (consumer.to_owned(), topic.to_owned(), partition);
    let stored = StoredOffset {
        offset,
        modified_ms: now_ms(),
    };
    state.consumer_offsets.insert(key, stored);
}

/// The stored consumer offsets that pass `filter`.
pub(crate) fn consumer_offsets(state: &State, filter: Option<&FilterOpts>) -> Vec<ConsumerOffset> {
    let matches = |consumer: &str, replica: &ReplicaKey| {
        filter.is_none_or(|f| {
            f.consumer_id.as_deref().is_none_or(|c| c == consumer)
                && f.replica_id.as_ref().is_none_or(|r| r == replica)
        })
    };
    state
        .consumer_offsets
        .iter()
        .map(|((consumer, topic, partition), stored)| {
            (consumer, ReplicaKey::new(topic.clone(), *partition), stored)
        })
        .filter(|(consumer, replica, _)| matches(consumer, replica))
        .map(|(consumer, replica_id, stored)| ConsumerOffset {
            consumer_id: consumer.clone(),
            replica_id,
            offset: stored.offset,
            modified_time: stored.modified_ms,
        })
        .collect()
}

/// The answer to SmartModule invocations on this engine-less SPU: a stored module that does
/// not exist is `SmartModuleNotFound` (as on every SPU); any module that would run is
/// `SmartModuleInvalid`, because the testkit cannot run WebAssembly.
pub(crate) fn smartmodule_error(
    state: &State,
    invocations: &[SmartModuleInvocation],
) -> Option<ErrorCode> {
    let first = invocations.first()?;
    for invocation in invocations {
        if let SmartModuleWasm::Predefined(name) = &invocation.wasm {
            let known = state.smartmodules.contains_key(name)
                || state.smartmodules.contains_key(&smartmodule_store_id(name));
            if !known {
                return Some(ErrorCode::SmartModuleNotFound { name: name.clone() });
            }
        }
    }
    let name = match &first.wasm {
        SmartModuleWasm::Predefined(name) => Some(name.clone()),
        SmartModuleWasm::AdHoc(_) => first.name.clone(),
    };
    Some(ErrorCode::SmartModuleInvalid {
        error: "the testkit SPU has no SmartModule engine".into(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_compression_gates_batch_codecs() {
        assert!(accepts(CompressionAlgorithm::Any, Compression::Zstd));
        assert!(accepts(CompressionAlgorithm::Gzip, Compression::Gzip));
        assert!(!accepts(CompressionAlgorithm::Gzip, Compression::None));
        assert!(!accepts(CompressionAlgorithm::None, Compression::Lz4));
    }

    #[test]
    fn produce_checks_leadership_then_mirrors_then_smartmodules() {
        use crate::protocol::sc::{HomePartitionConfig, PartitionMirrorConfig, TopicSpec};
        use crate::testkit::state::{PartitionEntry, TopicEntry};
        let mut state = State::default();
        let mut entry = TopicEntry {
            spec: TopicSpec::default(),
            status: Default::default(),
        };
        let home = |source| {
            PartitionMirrorConfig::Home(HomePartitionConfig {
                source,
                ..Default::default()
            })
        };
        entry.status.mirror_map.insert(0, home(false));
        entry.status.mirror_map.insert(1, home(true));
        state.topics.insert("m".into(), entry);
        for index in 0..2 {
            let partition = PartitionEntry {
                leader: 1,
                replicas: vec![1],
                log: Default::default(),
            };
            state.partitions.insert(("m".into(), index), partition);
        }
        let sm = ErrorCode::SmartModuleError;
        let produce = |state: &mut State, spu, index, sm: Option<&ErrorCode>| {
            let data = PartitionProduceData {
                partition_index: index,
                records: RecordSet::default(),
            };
            produce_partition(state, spu, "m", data, sm).error_code
        };
        let from_home = ErrorCode::MirrorProduceFromHome;
        assert_eq!(produce(&mut state, 1, 0, None), from_home);
        assert_eq!(produce(&mut state, 1, 0, Some(&sm)), from_home);
        assert_eq!(
            produce(&mut state, 2, 0, None),
            ErrorCode::NotLeaderForPartition
        );
        assert_eq!(produce(&mut state, 1, 1, Some(&sm)), sm);
        assert_eq!(produce(&mut state, 1, 1, None), ErrorCode::None);
    }

    #[test]
    fn unknown_stored_modules_are_not_found_and_others_cannot_run() {
        let mut state = State::default();
        let missing = [SmartModuleInvocation::filter(SmartModuleWasm::predefined(
            "nope",
        ))];
        assert_eq!(
            smartmodule_error(&state, &missing),
            Some(ErrorCode::SmartModuleNotFound {
                name: "nope".into()
            })
        );
        state.smartmodules.insert("nope".into(), Default::default());
        assert!(matches!(
            smartmodule_error(&state, &missing),
            Some(ErrorCode::SmartModuleInvalid { .. })
        ));
        assert_eq!(smartmodule_error(&state, &[]), None);
    }
}
