//! The SC's view of the state as metadata objects: what list and watch send for topics,
//! partitions, SPUs, custom SPUs and SmartModules, and what list sends for Mirrors. Mirror
//! topics carry their configs as on the real SC: `spec.replicas` is the `Mirror` config,
//! `status.mirror_map` holds each partition's mirror, and each partition's `spec.mirror` is
//! its entry of that map.

use super::state::State;
use crate::protocol::sc::{
    partition_name, CustomSpuSpec, EncryptionType, Endpoint, IngressAddr, IngressPort, Metadata,
    MirrorSpec, ObjectSpec, PartitionResolution, PartitionSpec, PartitionStatus, ReplicaStatus,
    SmartModuleSpec, SmartModuleStatus, SmartModuleWasmSummary, SpuSpec, SpuStatus,
    SpuStatusResolution, SpuType, TopicSpec, DEFAULT_ENDPOINT_HOST,
};

/// An object type the testkit SC serves through list and watch.
pub(crate) trait View: ObjectSpec {
    /// Whether a list applies its name filters (the SC ignores them for Mirrors).
    const NAME_FILTERS: bool = true;

    /// Every object of this type. `summary` asks for SmartModules without their wasm;
    /// `system` selects system objects (topics and partitions) instead of ordinary ones,
    /// `None` selects both (watches).
    fn objects(
        state: &State,
        tls: bool,
        summary: bool,
        system: Option<bool>,
    ) -> Vec<Metadata<Self>>;
}

fn keep(system: Option<bool>, is_system: bool) -> bool {
    system.is_none_or(|s| s == is_system)
}

impl View for TopicSpec {
    fn objects(state: &State, _: bool, _: bool, system: Option<bool>) -> Vec<Metadata<Self>> {
        state
            .topics
            .iter()
            .filter(|(_, t)| keep(system, t.spec.system))
            .map(|(name, t)| Metadata {
                name: name.clone(),
                spec: t.spec.clone(),
                status: t.status.clone(),
            })
            .collect()
    }
}

impl View for PartitionSpec {
    fn objects(state: &State, _: bool, _: bool, system: Option<bool>) -> Vec<Metadata<Self>> {
        let mut out = Vec::new();
        for ((topic, index), p) in &state.partitions {
            let Some(t) = state.topics.get(topic) else {
                continue;
            };
            if !keep(system, t.spec.system) {
                continue;
            }
            let online = state.spus.get(&p.leader).is_some_and(|s| s.online);
            let (hw, leo) = (p.log.hw(), p.log.leo());
            let replica = |spu| ReplicaStatus { spu, hw, leo };
            out.push(Metadata {
                name: partition_name(topic, *index),
                spec: PartitionSpec {
                    leader: p.leader,
                    replicas: p.replicas.clone(),
                    cleanup_policy: t.spec.cleanup_policy.clone(),
                    storage: t.spec.storage.clone(),
                    compression_type: t.spec.compression_type,
                    deduplication: t.spec.deduplication.clone(),
                    system: t.spec.system,
                    mirror: t.status.mirror_map.get(index).cloned(),
                },
                status: PartitionStatus {
                    resolution: if online {
                        PartitionResolution::Online
                    } else {
                        PartitionResolution::LeaderOffline
                    },
                    leader: replica(p.leader),
                    lsr: p.replicas.len().saturating_sub(1) as u32,
                    replicas: p.replicas.iter().skip(1).map(|&s| replica(s)).collect(),
                    size: p.log.size(),
                    is_being_deleted: false,
                    base_offset: p.log.start(),
                },
            });
        }
        out
    }
}

fn endpoints(port: u16, tls: bool) -> (IngressPort, Endpoint) {
    let encryption = if tls {
        EncryptionType::Ssl
    } else {
        EncryptionType::Plaintext
    };
    let public = IngressPort {
        port,
        ingress: vec![IngressAddr {
            hostname: None,
            ip: Some(DEFAULT_ENDPOINT_HOST.into()),
        }],
        encryption,
    };
    let private = Endpoint {
        port,
        host: DEFAULT_ENDPOINT_HOST.into(),
        encryption,
    };
    (public, private)
}

impl View for SpuSpec {
    fn objects(state: &State, tls: bool, _: bool, _: Option<bool>) -> Vec<Metadata<Self>> {
        state
            .spus
            .iter()
            .map(|(&id, spu)| {
                let (public_endpoint, private_endpoint) = endpoints(spu.port, tls);
                Metadata {
                    name: State::spu_name(id),
                    spec: SpuSpec {
                        id,
                        spu_type: SpuType::Custom,
                        public_endpoint,
                        private_endpoint,
                        rack: None,
                        public_endpoint_local: None,
                    },
                    status: SpuStatus {
                        resolution: if spu.online {
                            SpuStatusResolution::Online
                        } else {
                            SpuStatusResolution::Offline
                        },
                    },
                }
            })
            .collect()
    }
}

impl View for CustomSpuSpec {
    fn objects(
        state: &State,
        tls: bool,
        summary: bool,
        system: Option<bool>,
    ) -> Vec<Metadata<Self>> {
        SpuSpec::objects(state, tls, summary, system)
            .into_iter()
            .map(|m| Metadata {
                name: m.name,
                spec: CustomSpuSpec {
                    id: m.spec.id,
                    public_endpoint: m.spec.public_endpoint,
                    private_endpoint: m.spec.private_endpoint,
                    rack: None,
                    public_endpoint_local: None,
                },
                status: m.status,
            })
            .collect()
    }
}

impl View for SmartModuleSpec {
    fn objects(state: &State, _: bool, summary: bool, _: Option<bool>) -> Vec<Metadata<Self>> {
        state
            .smartmodules
            .iter()
            .map(|(name, spec)| {
                let mut spec = spec.clone();
                if summary {
                    spec.summary = Some(SmartModuleWasmSummary {
                        wasm_length: spec.wasm.payload.len() as u32,
                    });
                    spec.wasm.payload = Default::default();
                }
                Metadata {
                    name: name.clone(),
                    spec,
                    status: SmartModuleStatus::default(),
                }
            })
            .collect()
    }
}

impl View for MirrorSpec {
    const NAME_FILTERS: bool = false;

    fn objects(state: &State, _: bool, _: bool, _: Option<bool>) -> Vec<Metadata<Self>> {
        state
            .mirrors
            .iter()
            .map(|(name, m)| Metadata {
                name: name.clone(),
                spec: m.spec.clone(),
                status: m.status.clone(),
            })
            .collect()
    }
}
