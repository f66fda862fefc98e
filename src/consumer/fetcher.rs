//! The fetcher: one task per partition stream. It resolves the start offset, runs a stream
//! fetch on the leader, acknowledges every frame on the same connection, hands records to the
//! reader within its credits, commits offsets, and reconnects after faults, resuming at the
//! first offset it has not delivered (no gap, no duplicate).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::Instrument;

use super::config::ConsumerOptions;
use super::error::ConsumerError;
use super::record::ConsumerRecord;
use super::stream::fetch_offsets;
use crate::cluster::FluvioClient;
use crate::connection::{Connection, ResponseStream};
use crate::protocol::record::RecordIter;
use crate::protocol::spu::{
    FetchConsumerOffsetsRequest, FetchablePartitionResponse, ReplicaKey, StreamFetchRequest,
    StreamFetchResponse, UpdateConsumerOffsetRequest, UpdateOffsetsRequest,
};
use crate::protocol::{Encode, ErrorCode};
use crate::telemetry;

/// Sent by the reader.
#[derive(Debug)]
pub(crate) enum Control {
    /// Store `offset` (the last processed record) for the consumer id, in the caller's span.
    Commit(
        i64,
        oneshot::Sender<Result<(), ConsumerError>>,
        tracing::Span,
    ),
    /// Commit what was delivered, then stop.
    Stop,
}

/// The most a stream opened for commits asks for: its records are not read, only its id.
const SESSION_MAX_BYTES: i32 = 1;

/// How long a stream opened for commits may take to answer.
const SESSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) type Delivery = Result<Vec<ConsumerRecord>, ConsumerError>;

#[derive(Debug)]
enum Flow {
    Done,
    Restart,
}

pub(crate) struct Fetcher {
    pub(crate) client: FluvioClient,
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    pub(crate) options: ConsumerOptions,
    pub(crate) tx: mpsc::UnboundedSender<Delivery>,
    pub(crate) control: mpsc::UnboundedReceiver<Control>,
    pub(crate) credits: Arc<Semaphore>,
    /// Offset of the last record the reader handed out (-1: none).
    pub(crate) delivered: Arc<AtomicI64>,
    pub(crate) next: i64,
    pub(crate) end: Option<i64>,
    pub(crate) max_bytes: i32,
    pub(crate) committed: i64,
    pub(crate) session: Option<(Connection, u32)>,
    /// A stream opened only for its session id (see [`Fetcher::commit`]).
    pub(crate) session_stream: Option<ResponseStream<StreamFetchResponse>>,
}

impl Fetcher {
    pub(crate) async fn run(mut self) {
        if let Err(error) = self.run_inner().await {
            let _ = self.tx.send(Err(error));
        }
        // End the reader's stream, but keep serving commits (e.g. the final commit of a
        // stop-at-end reader) while the stream's session lives.
        let (closed, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.tx, closed));
        while let Some(command) = self.control.recv().await {
            match command {
                Control::Commit(offset, reply, span) => {
                    let _ = reply.send(self.commit(offset).instrument(span).await);
                }
                Control::Stop => {
                    self.commit_delivered().await;
                    break;
                }
            }
        }
    }

    async fn run_inner(&mut self) -> Result<(), ConsumerError> {
        let mut attempt = 0;
        let mut started = false;
        loop {
            let outcome = async {
                let conn = self
                    .client
                    .leader_connection(&self.topic, self.partition)
                    .await?;
                if !started {
                    self.next = self.start_offset(&conn).await?;
                    started = true;
                }
                self.stream(&conn, &mut attempt).await
            }
            .await;
            match outcome {
                Ok(Flow::Done) => return Ok(()),
                Ok(Flow::Restart) => continue,
                Err(error) if error.is_retriable() && self.options.reconnect.allows(attempt) => {
                    let delay = self.options.reconnect.delay(attempt);
                    tracing::warn!(topic = %self.topic, partition = self.partition, next = self.next, %error, ?delay, "stream lost; resuming");
                    self.session = None;
                    self.client.refresh_metadata();
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The first offset to read: the committed offset + 1 for a known consumer id, else the
    /// configured start resolved against the partition's range.
    async fn start_offset(&mut self, conn: &Connection) -> Result<i64, ConsumerError> {
        let (start, end) = fetch_offsets(conn, &self.topic, self.partition).await?;
        if self.options.disable_continuous {
            self.end = Some(end);
        }
        if let Some(stored) = self.stored_offset().await? {
            self.committed = stored;
            return Ok((stored + 1).max(start));
        }
        Ok(self.options.offset.resolve(start, end))
    }

    async fn stored_offset(&self) -> Result<Option<i64>, ConsumerError> {
        let Some(id) = &self.options.consumer_id else {
            return Ok(None);
        };
        let conn = self.client.consumer_offset_connection().await?;
        let replica = ReplicaKey::new(self.topic.to_string(), self.partition);
        let response = conn
            .request(&FetchConsumerOffsetsRequest::with_opts(
                Some(replica.clone()),
                Some(id.clone()),
            ))
            .await?;
        if response.error_code != ErrorCode::None {
            return Err(self.server(response.error_code));
        }
        Ok(response
            .consumers
            .iter()
            .find(|c| &c.consumer_id == id && c.replica_id == replica)
            .map(|c| c.offset))
    }

    async fn stream(
        &mut self,
        conn: &Connection,
        attempt: &mut u32,
    ) -> Result<Flow, ConsumerError> {
        if self.end.is_some_and(|end| self.next >= end) {
            return Ok(Flow::Done);
        }
        let mut request =
            StreamFetchRequest::new(self.topic.to_string(), self.partition, self.next)
                .with_max_bytes(self.max_bytes)
                .with_isolation(self.options.isolation);
        request.smartmodules = self.options.smartmodules.clone();
        request.consumer_id = self.options.consumer_id.clone();
        let mut stream = conn.stream(&request).await?;
        let mut ticker = self.options.auto_commit.map(tokio::time::interval);
        loop {
            let tick = async {
                match ticker.as_mut() {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                frame = stream.next() => {
                    let frame = match frame {
                        Some(frame) => frame?,
                        None => return Err(ConsumerError::from(crate::connection::ConnectionError::Lost {
                            addr: conn.addr().into(),
                            cause: "stream ended".into(),
                        })),
                    };
                    *attempt = 0;
                    self.session = Some((conn.clone(), frame.stream_id));
                    self.session_stream = None;
                    if let Some(flow) = self.frame(frame.partition, conn, frame.stream_id).await? {
                        return Ok(flow);
                    }
                }
                command = self.control.recv() => match command {
                    Some(Control::Commit(offset, reply, span)) => {
                        let _ = reply.send(self.commit(offset).instrument(span).await);
                    }
                    Some(Control::Stop) | None => {
                        self.commit_delivered().await;
                        return Ok(Flow::Done);
                    }
                },
                () = tick => self.commit_delivered().await,
            }
        }
    }

    /// Handle one frame in a `fluvio.fetch` span; `Some` ends this stream (done, or restart
    /// from `next`).
    async fn frame(
        &mut self,
        p: FetchablePartitionResponse,
        conn: &Connection,
        stream_id: u32,
    ) -> Result<Option<Flow>, ConsumerError> {
        let span = tracing::debug_span!(
            "fluvio.fetch",
            topic = %self.topic,
            partition = self.partition,
            stream_id,
            offset = self.next,
            next = tracing::field::Empty,
            records = tracing::field::Empty,
            bytes = tracing::field::Empty,
            high_watermark = p.high_watermark,
            error_code = %telemetry::code(&p.error_code),
            error = tracing::field::Empty,
        );
        if !span.is_disabled() {
            let bytes: usize = p.records.batches.iter().map(|b| b.encoded_len(0)).sum();
            span.record("bytes", bytes);
        }
        let result = self
            .frame_inner(p, conn, stream_id, &span)
            .instrument(span.clone())
            .await;
        if !span.is_disabled() {
            span.record("next", self.next);
            if let Err(error) = &result {
                span.record("error", tracing::field::display(error));
            }
        }
        result
    }

    async fn frame_inner(
        &mut self,
        p: FetchablePartitionResponse,
        conn: &Connection,
        stream_id: u32,
        span: &tracing::Span,
    ) -> Result<Option<Flow>, ConsumerError> {
        if p.error_code != ErrorCode::None {
            telemetry::count_response_error(
                <StreamFetchRequest as crate::protocol::Request>::API_KEY,
                &p.error_code,
            );
        }
        let failed = match &p.error_code {
            ErrorCode::None => None,
            ErrorCode::OffsetEvicted { next_available, .. } => {
                tracing::warn!(topic = %self.topic, partition = self.partition, from = self.next, to = next_available, "offset evicted by retention; skipping ahead");
                metrics::counter!(telemetry::OFFSET_EVICTED, "topic" => self.topic.to_string())
                    .increment(1);
                self.next = *next_available;
                return Ok(Some(Flow::Restart));
            }
            code if code.code() / 1000 == 6 => Some({
                metrics::counter!(telemetry::SMARTMODULE_ERRORS, "topic" => self.topic.to_string())
                    .increment(1);
                ConsumerError::SmartModule {
                    offset: match code {
                        ErrorCode::SmartModuleRuntimeError(e) => e.offset,
                        _ => self.next,
                    },
                    code: code.clone(),
                    message: code.to_string(),
                }
            }),
            code => return Err(self.server(code.clone())),
        };
        let records = self.collect(&p)?;
        span.record("records", records.len());
        if let Some(error) = failed {
            // A runtime error comes with what the chain produced before the failing record:
            // deliver that first, then the error (as the official client does).
            if !records.is_empty() {
                let permits = records.len().min(self.options.buffer_records.max(1)) as u32;
                if !self.wait_for_credits(permits).await? || self.tx.send(Ok(records)).is_err() {
                    return Ok(Some(Flow::Done));
                }
            }
            return Err(error);
        }
        if p.records.batches.is_empty() && p.records.truncated_bytes > 0 {
            if self.max_bytes >= self.options.max_bytes_ceiling {
                return Err(ConsumerError::BatchTooLarge {
                    offset: self.next,
                    max_bytes: self.max_bytes,
                });
            }
            self.max_bytes = self
                .max_bytes
                .saturating_mul(2)
                .min(self.options.max_bytes_ceiling);
            tracing::info!(topic = %self.topic, partition = self.partition, max_bytes = self.max_bytes, "batch larger than max_bytes; growing the fetch");
            return Ok(Some(Flow::Restart));
        }
        if p.next_filter_offset > self.next {
            self.next = p.next_filter_offset;
        }
        let finished = self.end.is_some_and(|end| self.next >= end);
        if !finished {
            // Acknowledge before delivering: the SPU prepares the next frame while the reader
            // works. At most one frame waits unread, so memory stays bounded. A failed
            // acknowledgement means a dead connection, which the stream reports itself.
            let (conn, next) = (conn.clone(), self.next);
            tokio::spawn(
                async move {
                    let ack = UpdateOffsetsRequest::single(stream_id, next);
                    if let Err(error) = conn.request(&ack).await {
                        tracing::debug!(%error, "stream acknowledgement failed");
                    }
                }
                .instrument(span.clone()),
            );
        }
        let (topic, partition) = (self.topic.to_string(), self.partition.to_string());
        metrics::gauge!(telemetry::CONSUMER_LAG, "topic" => topic.clone(), "partition" => partition.clone())
            .set((p.high_watermark - self.next).max(0) as f64);
        if !records.is_empty() {
            let bytes: usize = records.iter().map(|r| r.value.len()).sum();
            metrics::counter!(telemetry::CONSUMED_RECORDS, "topic" => topic.clone(), "partition" => partition.clone())
                .increment(records.len() as u64);
            metrics::counter!(telemetry::CONSUMED_BYTES, "topic" => topic, "partition" => partition)
                .increment(bytes as u64);
            let permits = records.len().min(self.options.buffer_records.max(1)) as u32;
            if !self.wait_for_credits(permits).await? {
                return Ok(Some(Flow::Done));
            }
            if self.tx.send(Ok(records)).is_err() {
                return Ok(Some(Flow::Done));
            }
        }
        if finished {
            return Ok(Some(Flow::Done));
        }
        Ok(None)
    }

    /// Wait until the reader has room for `permits` records, serving commits meanwhile;
    /// `false` when asked to stop.
    async fn wait_for_credits(&mut self, permits: u32) -> Result<bool, ConsumerError> {
        let credits = self.credits.clone();
        let acquire = credits.acquire_many(permits);
        tokio::pin!(acquire);
        loop {
            tokio::select! {
                permit = &mut acquire => {
                    permit.map_err(|_| ConsumerError::Stopped)?.forget();
                    return Ok(true);
                }
                command = self.control.recv() => match command {
                    Some(Control::Commit(offset, reply, span)) => {
                        let _ = reply.send(self.commit(offset).instrument(span).await);
                    }
                    Some(Control::Stop) | None => {
                        self.commit_delivered().await;
                        return Ok(false);
                    }
                },
            }
        }
    }

    /// The frame's records from `next` on (and below `end`), advancing `next`.
    fn collect(
        &mut self,
        p: &FetchablePartitionResponse,
    ) -> Result<Vec<ConsumerRecord>, ConsumerError> {
        // SmartModule output: the 0.18 SPU reports wrong offset deltas when the output spans
        // several input batches, so the position only moves at the frame's end (by
        // `next_filter_offset`), and records are only dropped when below the frame's start.
        let transformed = !self.options.smartmodules.is_empty();
        let start = self.next;
        let mut out = Vec::new();
        for batch in &p.records.batches {
            if !transformed && batch.last_offset() < self.next {
                continue;
            }
            let corrupt = |cause| ConsumerError::Corrupt {
                offset: batch.base_offset,
                cause,
            };
            let raw: Bytes = batch.raw_records().map_err(corrupt)?;
            for record in RecordIter::new(&raw).map_err(corrupt)? {
                let record = record.map_err(corrupt)?;
                let offset = batch.base_offset + record.offset_delta;
                if offset < if transformed { start } else { self.next } {
                    continue;
                }
                if !transformed && self.end.is_some_and(|end| offset >= end) {
                    break;
                }
                let timestamp = batch.record_timestamp(record.timestamp_delta);
                out.push(ConsumerRecord {
                    topic: self.topic.clone(),
                    partition: self.partition,
                    offset,
                    timestamp,
                    key: record.key.map(|k| raw.slice_ref(k)),
                    value: raw.slice_ref(record.value),
                });
                if !transformed {
                    self.next = offset + 1;
                }
            }
        }
        if transformed {
            if let Some(next) = p.next_offset_for_fetch() {
                self.next = self.next.max(next);
            }
        }
        Ok(out)
    }

    /// Store `offset` for the consumer id. Commits ride on a stream session (the SPU finds
    /// the consumer id through the stream id). When there is none (the stream's connection
    /// was lost while the fetcher was idle, finished or waiting for the reader), open one: a
    /// stream from the last delivered record, kept only for its id.
    async fn commit(&mut self, offset: i64) -> Result<(), ConsumerError> {
        if self.options.consumer_id.is_none() {
            return Err(ConsumerError::NoConsumerId);
        }
        if self.session.is_none() {
            self.open_session().await?;
        }
        match self.update_consumer_offset(offset).await {
            Err(ConsumerError::NoSession) => {
                self.open_session().await?;
                self.update_consumer_offset(offset).await
            }
            result => result,
        }
    }

    async fn update_consumer_offset(&mut self, offset: i64) -> Result<(), ConsumerError> {
        let Some((conn, stream_id)) = &self.session else {
            return Err(ConsumerError::NoSession);
        };
        let response = conn
            .request(&UpdateConsumerOffsetRequest::new(offset, *stream_id))
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                // The stream's connection went away: a new stream brings a new session.
                self.session = None;
                return Err(error.into());
            }
        };
        if response.error_code == ErrorCode::FetchSessionNotFoud {
            self.session = None;
            return Err(ConsumerError::NoSession);
        }
        if response.error_code != ErrorCode::None {
            return Err(self.server(response.error_code));
        }
        self.committed = offset;
        Ok(())
    }

    /// A stream from the record before `next` (the SPU answers only when it has records),
    /// without SmartModules, at most [`SESSION_MAX_BYTES`] per frame, never acknowledged:
    /// the SPU sends one frame, whose stream id is the session, then waits. The stream is
    /// kept so its id stays registered. A frame with an error (e.g. an SPU that does not lead
    /// the partition yet) registers no session: that error is returned.
    async fn open_session(&mut self) -> Result<(), ConsumerError> {
        let conn = self
            .client
            .leader_connection(&self.topic, self.partition)
            .await?;
        let from = (self.next - 1).max(0);
        let mut request = StreamFetchRequest::new(self.topic.to_string(), self.partition, from)
            .with_max_bytes(SESSION_MAX_BYTES)
            .with_isolation(self.options.isolation);
        request.consumer_id = self.options.consumer_id.clone();
        let mut stream = conn.stream(&request).await?;
        let first = tokio::time::timeout(SESSION_TIMEOUT, stream.next()).await;
        match first {
            Ok(Some(Ok(frame))) if frame.partition.error_code != ErrorCode::None => {
                Err(self.server(frame.partition.error_code))
            }
            Ok(Some(Ok(frame))) => {
                tracing::debug!(topic = %self.topic, partition = self.partition, stream_id = frame.stream_id, "opened a stream for commits");
                self.session = Some((conn, frame.stream_id));
                self.session_stream = Some(stream);
                Ok(())
            }
            Ok(Some(Err(error))) => Err(error.into()),
            Ok(None) | Err(_) => Err(ConsumerError::NoSession),
        }
    }

    /// With auto commit: store the last delivered offset (on the interval and on stop).
    async fn commit_delivered(&mut self) {
        if self.options.auto_commit.is_none() {
            return;
        }
        let delivered = self.delivered.load(Ordering::Acquire);
        if self.options.consumer_id.is_some() && delivered > self.committed {
            if let Err(error) = self.commit(delivered).await {
                tracing::warn!(topic = %self.topic, partition = self.partition, %error, "offset commit failed");
            }
        }
    }

    fn server(&self, code: ErrorCode) -> ConsumerError {
        ConsumerError::Server {
            topic: self.topic.to_string(),
            partition: self.partition,
            code,
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::cluster::ClientConfig;
    use crate::protocol::record::{BatchBuilder, Compression, RecordSet};
    use crate::protocol::{SmartModuleErrorKind, SmartModuleRuntimeError};
    use crate::testkit::{TestCluster, TestClusterConfig};

    #[tokio::test]
    async fn smartmodule_runtime_error_comes_after_the_records_before_it() {
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let client = FluvioClient::connect(ClientConfig::new(cluster.sc_addr()))
            .await
            .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_control_tx, control) = mpsc::unbounded_channel();
        let mut fetcher = Fetcher {
            client: client.clone(),
            topic: "numbers".into(),
            partition: 0,
            options: ConsumerOptions::default(),
            tx,
            control,
            credits: Arc::new(Semaphore::new(10)),
            delivered: Arc::new(AtomicI64::new(-1)),
            next: 0,
            end: None,
            max_bytes: 1024,
            committed: -1,
            session: None,
            session_stream: None,
        };
        // An aggregate from "10" over "1", "2", "x": two sums, then the error on offset 2.
        let mut builder = BatchBuilder::new(1_700_000_000_000);
        builder.push(None, b"11", 1_700_000_000_000);
        builder.push(None, b"13", 1_700_000_000_000);
        let error = SmartModuleRuntimeError {
            hint: "invalid digit found in string".into(),
            offset: 2,
            kind: SmartModuleErrorKind::Aggregate,
            ..Default::default()
        };
        let p = FetchablePartitionResponse {
            error_code: ErrorCode::SmartModuleRuntimeError(Box::new(error)),
            next_filter_offset: 2,
            records: RecordSet::new(vec![builder.build(Compression::None).unwrap()]),
            ..Default::default()
        };

        let outcome = fetcher.frame(p, client.sc(), 1).await;

        assert!(
            matches!(outcome, Err(ConsumerError::SmartModule { offset: 2, .. })),
            "{outcome:?}"
        );
        let delivered = rx.try_recv().expect("records before the error").unwrap();
        let got: Vec<_> = delivered
            .iter()
            .map(|r| (r.offset, r.value.clone()))
            .collect();
        assert_eq!(got, vec![(0, "11".into()), (1, "13".into())]);
        assert_eq!(fetcher.next, 2);
        cluster.shutdown().await;
    }
}
