//! Stream fetch sessions, as the real SPU runs them: data from the batch holding the fetch
//! offset, cut at `max_bytes` without batch alignment; nothing while there is no data; after
//! each frame with records, wait for the client's UpdateOffsets on the same connection, then
//! resend from the acknowledged offset if it is behind, else wait for new records.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

use super::conn::Conn;
use super::log::ReadError;
use crate::protocol::record::RecordSet;
use crate::protocol::spu::{FetchablePartitionResponse, StreamFetchResponse};
use crate::protocol::{Encode, ErrorCode};

/// One open stream on a connection.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) topic: String,
    pub(crate) partition: u32,
    pub(crate) consumer_id: Option<String>,
    acks: mpsc::UnboundedSender<i64>,
}

/// The streams of one connection, by stream id.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    next: AtomicU32,
    map: Mutex<HashMap<u32, Session>>,
}

impl Sessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Session>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register a stream; returns its id and the receiver of its acknowledgements.
    pub(crate) fn open(
        &self,
        topic: &str,
        partition: u32,
        consumer_id: Option<String>,
    ) -> (u32, mpsc::UnboundedReceiver<i64>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (acks, rx) = mpsc::unbounded_channel();
        let session = Session {
            topic: topic.into(),
            partition,
            consumer_id,
            acks,
        };
        self.map().insert(id, session);
        (id, rx)
    }

    /// The stream with id `id`.
    pub(crate) fn get(&self, id: u32) -> Option<Session> {
        self.map().get(&id).cloned()
    }

    /// Deliver an acknowledgement; `false` if there is no such stream.
    pub(crate) fn ack(&self, id: u32, offset: i64) -> bool {
        self.map()
            .get(&id)
            .is_some_and(|s| s.acks.send(offset).is_ok())
    }

    fn close(&self, id: u32) {
        self.map().remove(&id);
    }
}

/// A stream frame: `partition` with `raw` (batch bytes, possibly cut) as its records.
fn frame(
    correlation_id: i32,
    version: i16,
    topic: &str,
    stream_id: u32,
    partition: FetchablePartitionResponse,
    raw: &[u8],
) -> Option<Bytes> {
    let response = StreamFetchResponse {
        topic: topic.into(),
        stream_id,
        partition,
    };
    let mut buf = BytesMut::with_capacity(8 + response.encoded_len(version) + raw.len());
    buf.put_i32(correlation_id);
    response.encode(&mut buf, version).ok()?;
    // The record set is the last field: replace its empty length with the raw slice.
    buf.truncate(buf.len() - RecordSet::default().encoded_len(version));
    buf.put_i32(i32::try_from(raw.len()).ok()?);
    buf.extend_from_slice(raw);
    Some(buf.freeze())
}

/// What one read of the partition gave.
enum Read {
    Data { raw: Bytes, hw: i64, start: i64 },
    Idle,
    Failed(ErrorCode),
}

/// What a running stream needs to know about itself.
#[derive(Debug, Clone)]
pub(crate) struct StreamSpec {
    pub(crate) spu: i32,
    pub(crate) correlation_id: i32,
    pub(crate) version: i16,
    pub(crate) topic: String,
    pub(crate) partition: u32,
    pub(crate) max_bytes: usize,
    pub(crate) stream_id: u32,
}

fn read(conn: &Conn, spec: &StreamSpec, offset: i64) -> Read {
    let state = conn.shared().lock();
    let Some(p) = state.partitions.get(&(spec.topic.clone(), spec.partition)) else {
        return Read::Failed(ErrorCode::TopicDeleted);
    };
    if p.leader != spec.spu {
        return Read::Failed(ErrorCode::NotLeaderForPartition);
    }
    match p.log.read_raw(offset, spec.max_bytes) {
        Ok(raw) if raw.is_empty() => Read::Idle,
        Ok(raw) => Read::Data {
            raw,
            hw: p.log.hw(),
            start: p.log.start(),
        },
        Err(ReadError::Evicted {
            offset,
            next_available,
        }) => Read::Failed(ErrorCode::OffsetEvicted {
            offset,
            next_available,
        }),
        Err(ReadError::BeyondEnd { offset, leo }) => Read::Failed(ErrorCode::Other(format!(
            "start offset: {offset} is greater than leo: {leo}"
        ))),
    }
}

async fn send(
    conn: &Conn,
    spec: &StreamSpec,
    partition: FetchablePartitionResponse,
    raw: &[u8],
) -> bool {
    let Some(payload) = frame(
        spec.correlation_id,
        spec.version,
        &spec.topic,
        spec.stream_id,
        partition,
        raw,
    ) else {
        conn.close();
        return false;
    };
    conn.send_raw(payload).await
}

/// Send a single error frame for a stream (stream id 0 when the stream never opened).
pub(crate) async fn send_error(conn: &Conn, spec: &StreamSpec, error: ErrorCode) -> bool {
    let partition = FetchablePartitionResponse {
        partition_index: spec.partition,
        error_code: error,
        ..FetchablePartitionResponse::default()
    };
    send(conn, spec, partition, &[]).await
}

/// Serve the stream `spec` from `offset` until the connection closes or it fails.
pub(crate) async fn run(
    conn: Arc<Conn>,
    spec: StreamSpec,
    mut offset: i64,
    mut acks: mpsc::UnboundedReceiver<i64>,
) {
    let mut data = conn.shared().data_events();
    loop {
        data.mark_unchanged();
        match read(&conn, &spec, offset) {
            Read::Failed(error) => {
                send_error(&conn, &spec, error).await;
                break;
            }
            Read::Data { raw, hw, start } => {
                let partition = FetchablePartitionResponse {
                    partition_index: spec.partition,
                    high_watermark: hw,
                    log_start_offset: start,
                    ..FetchablePartitionResponse::default()
                };
                if !send(&conn, &spec, partition, &raw).await {
                    break;
                }
                // Wait for the client to say where it got to, then go on from there.
                tokio::select! {
                    _ = conn.closed().cancelled() => break,
                    ack = acks.recv() => match ack {
                        Some(ack) => offset = ack,
                        None => break,
                    },
                }
            }
            Read::Idle => tokio::select! {
                _ = conn.closed().cancelled() => break,
                changed = data.changed() => if changed.is_err() { break },
                ack = acks.recv() => match ack {
                    // Behind: resend from there. Caught up or ahead: keep waiting.
                    Some(ack) if ack < offset => offset = ack,
                    Some(_) => {}
                    None => break,
                },
            },
        }
    }
    conn.sessions().close(spec.stream_id);
}
