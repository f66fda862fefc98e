//! An SPU: the ApiVersions handshake as the real SPU answers it, and the public data API —
//! produce, fetch, fetch offsets, stream fetch with its offset acknowledgements, and
//! consumer offsets (kept in the shared state, so every SPU sees the same store).

use std::sync::Arc;

use super::conn::{Conn, Service};
use super::data;
use super::sc::versions;
use super::state::Shared;
use super::stream::{self, StreamSpec};
use crate::protocol::spu::{
    DeleteConsumerOffsetRequest, DeleteConsumerOffsetResponse, FetchConsumerOffsetsRequest,
    FetchConsumerOffsetsResponse, FetchOffsetsResponse, FetchablePartitionResponse, Isolation,
    OffsetUpdateStatus, ProduceRequest, ProduceResponse, SpuRequest, SpuResponse,
    StreamFetchRequest, StreamFetchResponse, TopicProduceResponse, UpdateConsumerOffsetRequest,
    UpdateConsumerOffsetResponse, UpdateOffsetsRequest, UpdateOffsetsResponse,
};
use crate::protocol::spu::{
    FETCH_KEY, FETCH_OFFSETS_KEY, PRODUCE_KEY, STREAM_FETCH_KEY, UPDATE_OFFSETS_KEY,
};
use crate::protocol::{
    AnyRequest, ApiVersionsResponse, ErrorCode, RequestKind, RequestMessage, Server,
};

/// The platform version an SPU reports.
pub const SPU_PLATFORM_VERSION: &str = "0.0.0";

/// The ranges a 0.18 SPU advertises (StreamFetch up to 15 for clients without a version).
fn spu_versions(client_version: &str) -> ApiVersionsResponse {
    let stream_max = if client_version.is_empty() { 15 } else { 25 };
    versions(
        &[
            (PRODUCE_KEY, 0, 25),
            (FETCH_KEY, 0, 25),
            (FETCH_OFFSETS_KEY, 25, 25),
            (STREAM_FETCH_KEY, 0, stream_max),
            (UPDATE_OFFSETS_KEY, 0, 0),
        ],
        SPU_PLATFORM_VERSION,
    )
}

/// One SPU of the cluster.
#[derive(Debug)]
pub(crate) struct Spu {
    pub(crate) id: i32,
    pub(crate) shared: Arc<Shared>,
}

/// Every partition of `req` answered with `error`.
fn produce_error(req: &ProduceRequest, error: &ErrorCode) -> ProduceResponse {
    let responses = req.topics.iter().map(|t| TopicProduceResponse {
        name: t.name.clone(),
        partitions: t
            .partitions
            .iter()
            .map(|p| crate::protocol::spu::PartitionProduceResponse {
                partition_index: p.partition_index,
                error_code: error.clone(),
                base_offset: 0,
                ..Default::default()
            })
            .collect(),
    });
    ProduceResponse {
        responses: responses.collect(),
        throttle_time_ms: 0,
    }
}

impl Spu {
    /// Write, then answer: at once, or for read-committed writes the replicas have not
    /// confirmed (replication held), when they do or at the request's timeout with
    /// `RequestTimedOut`, as the SPU's `wait_for_acks` does.
    fn produce(&self, conn: &Arc<Conn>, id: i32, version: i16, req: ProduceRequest) {
        let (isolation, timeout) = (req.isolation, req.timeout);
        let mut state = self.shared.lock();
        let sm_error = data::smartmodule_error(&state, &req.smartmodules);
        let mut responses = Vec::with_capacity(req.topics.len());
        for topic in req.topics {
            let partitions = topic
                .partitions
                .into_iter()
                .map(|p| {
                    let sm_error = sm_error.as_ref();
                    data::produce_partition(&mut state, self.id, &topic.name, p, sm_error)
                })
                .collect();
            responses.push(TopicProduceResponse {
                name: topic.name,
                partitions,
            });
        }
        drop(state);
        self.shared.data_changed();
        let mut response = ProduceResponse {
            responses,
            throttle_time_ms: 0,
        };
        if isolation == Isolation::ReadUncommitted || self.unconfirmed(&response).is_empty() {
            return conn.spawn_reply(id, version, response);
        }
        let spu = Spu {
            id: self.id,
            shared: self.shared.clone(),
        };
        let conn = conn.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            let mut changes = spu.shared.data_events();
            while !spu.unconfirmed(&response).is_empty() {
                if tokio::time::timeout_at(deadline, changes.changed())
                    .await
                    .map_or(true, |changed| changed.is_err())
                {
                    break;
                }
            }
            for (t, p) in spu.unconfirmed(&response) {
                response.responses[t].partitions[p].error_code = ErrorCode::RequestTimedOut {
                    timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    kind: RequestKind::Produce,
                };
            }
            conn.reply(id, version, &response).await;
        });
    }

    /// The (topic, partition) indexes of `response`'s written partitions whose records are
    /// not all below the high watermark yet.
    fn unconfirmed(&self, response: &ProduceResponse) -> Vec<(usize, usize)> {
        let state = self.shared.lock();
        let mut out = Vec::new();
        for (t, topic) in response.responses.iter().enumerate() {
            for (p, part) in topic.partitions.iter().enumerate() {
                if part.error_code != ErrorCode::None {
                    continue;
                }
                let key = (topic.name.clone(), part.partition_index);
                if let Some(entry) = state.partitions.get(&key) {
                    if entry.log.hw() <= part.base_offset && entry.log.hw() < entry.log.leo() {
                        out.push((t, p));
                    }
                }
            }
        }
        out
    }

    fn stream_fetch(&self, conn: &Arc<Conn>, id: i32, version: i16, req: StreamFetchRequest) {
        let mut spec = StreamSpec {
            spu: self.id,
            correlation_id: id,
            version,
            topic: req.topic.clone(),
            partition: req.partition,
            max_bytes: req.max_bytes.max(0) as usize,
            stream_id: 0,
        };
        let conn = conn.clone();
        let (leads, sm_error) = {
            let state = self.shared.lock();
            let mut invocations = req.smartmodules.clone();
            invocations.extend(req.legacy_smartmodule.clone());
            let legacy = !req.legacy_wasm_module.is_empty() || req.legacy_derivedstream.is_some();
            let sm_error = data::smartmodule_error(&state, &invocations).or_else(|| {
                legacy.then(|| ErrorCode::SmartModuleInvalid {
                    error: "the testkit SPU has no SmartModule engine".into(),
                    name: None,
                })
            });
            (state.leads(self.id, &req.topic, req.partition), sm_error)
        };
        if !leads {
            tokio::spawn(async move {
                stream::send_error(&conn, &spec, ErrorCode::NotLeaderForPartition).await;
            });
            return;
        }
        let (stream_id, acks) =
            conn.sessions()
                .open(&req.topic, req.partition, req.consumer_id.clone());
        spec.stream_id = stream_id;
        tokio::spawn(async move {
            match sm_error {
                Some(error) => {
                    stream::send_error(&conn, &spec, error).await;
                }
                None => stream::run(conn, spec, req.fetch_offset, acks).await,
            }
        });
    }

    /// The answer to `req` with `error` injected into its error field(s).
    fn injected(&self, req: &SpuRequest, error: ErrorCode) -> SpuResponse {
        let with_error = |mut body: FetchOffsetsResponse| {
            for p in body.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                p.error_code = error.clone();
            }
            body
        };
        match req {
            SpuRequest::Produce(r) => SpuResponse::Produce(produce_error(r, &error)),
            SpuRequest::Fetch(r) => {
                let mut body = data::fetch(&Default::default(), self.id, r);
                body.error_code = error.clone();
                for p in body.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                    p.error_code = error.clone();
                }
                SpuResponse::Fetch(body)
            }
            SpuRequest::FetchOffsets(r) => SpuResponse::FetchOffsets(with_error(
                data::fetch_offsets(&Default::default(), self.id, r),
            )),
            SpuRequest::StreamFetch(r) => SpuResponse::StreamFetch(StreamFetchResponse {
                topic: r.topic.clone(),
                stream_id: 0,
                partition: FetchablePartitionResponse {
                    partition_index: r.partition,
                    error_code: error,
                    ..Default::default()
                },
            }),
            SpuRequest::UpdateOffsets(r) => {
                let status = r.offsets.iter().map(|o| OffsetUpdateStatus {
                    session_id: o.session_id,
                    error: error.clone(),
                });
                SpuResponse::UpdateOffsets(UpdateOffsetsResponse {
                    status: status.collect(),
                })
            }
            SpuRequest::UpdateConsumerOffset(r) => {
                SpuResponse::UpdateConsumerOffset(UpdateConsumerOffsetResponse {
                    offset: r.offset,
                    error_code: error,
                })
            }
            SpuRequest::DeleteConsumerOffset(_) => {
                SpuResponse::DeleteConsumerOffset(DeleteConsumerOffsetResponse {
                    error_code: error,
                })
            }
            SpuRequest::FetchConsumerOffsets(_) => {
                SpuResponse::FetchConsumerOffsets(FetchConsumerOffsetsResponse {
                    error_code: error,
                    consumers: Vec::new(),
                })
            }
        }
    }

    fn offsets_leader_error(&self) -> Option<ErrorCode> {
        let leader = self.shared.lock().offsets_leader();
        (leader != Some(self.id)).then_some(ErrorCode::PartitionNotLeader)
    }

    fn update_offsets(conn: &Conn, req: &UpdateOffsetsRequest) -> UpdateOffsetsResponse {
        let status = req.offsets.iter().map(|o| OffsetUpdateStatus {
            session_id: o.session_id,
            error: if conn.sessions().ack(o.session_id, o.offset) {
                ErrorCode::None
            } else {
                ErrorCode::FetchSessionNotFoud
            },
        });
        UpdateOffsetsResponse {
            status: status.collect(),
        }
    }

    fn update_consumer_offset(
        &self,
        conn: &Conn,
        req: &UpdateConsumerOffsetRequest,
    ) -> UpdateConsumerOffsetResponse {
        let error_code = match conn.sessions().get(req.session_id) {
            None => ErrorCode::FetchSessionNotFoud,
            Some(s) => match &s.consumer_id {
                None => ErrorCode::Other("stream without consumer id".into()),
                Some(consumer) => {
                    let mut state = self.shared.lock();
                    data::store_offset(&mut state, consumer, &s.topic, s.partition, req.offset);
                    ErrorCode::None
                }
            },
        };
        UpdateConsumerOffsetResponse {
            offset: req.offset,
            error_code,
        }
    }

    fn delete_consumer_offset(
        &self,
        req: DeleteConsumerOffsetRequest,
    ) -> DeleteConsumerOffsetResponse {
        let error_code = self.offsets_leader_error().unwrap_or_else(|| {
            let key = (
                req.consumer_id,
                req.replica_id.topic,
                req.replica_id.partition,
            );
            self.shared.lock().consumer_offsets.remove(&key);
            ErrorCode::None
        });
        DeleteConsumerOffsetResponse { error_code }
    }

    fn fetch_consumer_offsets(
        &self,
        req: &FetchConsumerOffsetsRequest,
    ) -> FetchConsumerOffsetsResponse {
        match self.offsets_leader_error() {
            Some(error_code) => FetchConsumerOffsetsResponse {
                error_code,
                consumers: Vec::new(),
            },
            None => FetchConsumerOffsetsResponse {
                error_code: ErrorCode::None,
                consumers: data::consumer_offsets(&self.shared.lock(), req.filter_opts.as_ref()),
            },
        }
    }

    /// Answer `req` (stream fetches answer from their own task).
    fn handle(&self, conn: &Arc<Conn>, id: i32, version: i16, req: SpuRequest) {
        let body = match req {
            SpuRequest::Produce(r) => return self.produce(conn, id, version, r),
            SpuRequest::Fetch(r) => {
                SpuResponse::Fetch(data::fetch(&self.shared.lock(), self.id, &r))
            }
            SpuRequest::FetchOffsets(r) => {
                SpuResponse::FetchOffsets(data::fetch_offsets(&self.shared.lock(), self.id, &r))
            }
            SpuRequest::StreamFetch(r) => return self.stream_fetch(conn, id, version, r),
            SpuRequest::UpdateOffsets(r) => {
                SpuResponse::UpdateOffsets(Self::update_offsets(conn, &r))
            }
            SpuRequest::UpdateConsumerOffset(r) => {
                SpuResponse::UpdateConsumerOffset(self.update_consumer_offset(conn, &r))
            }
            SpuRequest::DeleteConsumerOffset(r) => {
                SpuResponse::DeleteConsumerOffset(self.delete_consumer_offset(r))
            }
            SpuRequest::FetchConsumerOffsets(r) => {
                SpuResponse::FetchConsumerOffsets(self.fetch_consumer_offsets(&r))
            }
        };
        conn.spawn_reply(id, version, body);
    }
}

impl Service for Spu {
    const SERVER: Server = Server::Spu;

    fn dispatch(self: &Arc<Self>, msg: RequestMessage<AnyRequest>, conn: &Arc<Conn>) -> bool {
        let (id, version) = (msg.header.correlation_id, msg.header.api_version);
        let injected = self.shared.faults.take(Server::Spu, msg.header.api_key);
        match (msg.request, injected) {
            (AnyRequest::ApiVersions(r), error) => {
                let body = ApiVersionsResponse {
                    error_code: error.unwrap_or(ErrorCode::None),
                    ..spu_versions(&r.client_version)
                };
                conn.spawn_reply(id, version, body);
            }
            (AnyRequest::Spu(req), Some(error)) => {
                conn.spawn_reply(id, version, self.injected(&req, error));
            }
            (AnyRequest::Spu(req), None) => self.handle(conn, id, version, req),
            // SC requests cannot reach an SPU (frames decode per server).
            (AnyRequest::Sc(_), _) => return false,
        }
        true
    }
}
