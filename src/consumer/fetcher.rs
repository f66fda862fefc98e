//! The fetcher: one task per partition stream. It resolves the start offset, runs a stream
//! fetch on the leader, hands records to the reader within its read-ahead
//! ([`super::read_ahead`]), acknowledges every frame on the same connection once the reader
//! has room for it, commits offsets, and reconnects after faults, resuming at the first
//! offset it has not delivered (no gap, no duplicate).
//!
//! With SmartModules the position after a frame is where the SPU's chain stopped
//! (`next_filter_offset`), whatever the chain kept; output records are numbered as
//! [`super::transformed`] explains. An aggregate at the end of the chain carries its
//! accumulator into every stream the fetcher opens, and a stop-at-end stream whose remaining
//! input gives no output ends after a silence ([`super::tail`]).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::collect;
use super::config::ConsumerOptions;
use super::error::ConsumerError;
use super::partition_metrics::PartitionMetrics;
use super::read_ahead::ReadAhead;
use super::record::ConsumerRecord;
use super::status::{StreamState, StreamStatus};
use super::stream::fetch_offsets;
use super::tail::silence_without_output;
use crate::cluster::FluvioClient;
use crate::connection::{Connection, ResponseStream};
use crate::protocol::spu::{
    FetchablePartitionResponse, SmartModuleContextData, SmartModuleKind, StreamFetchRequest,
    StreamFetchResponse, UpdateOffsetsRequest,
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
pub(crate) const SESSION_MAX_BYTES: i32 = 1;

/// How long a stream opened for commits may take to answer.
pub(crate) const SESSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) type Delivery = Result<Vec<ConsumerRecord>, ConsumerError>;

#[derive(Debug)]
enum Flow {
    Done,
    Restart,
}

/// The fetcher's ends of what it shares with its reader.
pub(crate) struct ReaderLink {
    /// Where records go.
    pub(crate) tx: mpsc::UnboundedSender<Delivery>,
    /// Commits and stops.
    pub(crate) control: mpsc::UnboundedReceiver<Control>,
    /// Room in the reader's buffer, and what it handed out.
    pub(crate) read_ahead: Arc<ReadAhead>,
    /// Where the stream is, for the reader's [`StreamStatus`].
    pub(crate) status: StreamStatus,
}

/// How long a stream waits for a stored SmartModule the SPU does not know yet before it
/// reports [`ErrorCode::SmartModuleNotFound`]: the SC hands new SmartModules to the SPUs
/// asynchronously, so one created just before the stream may arrive a moment later.
pub(crate) const SMARTMODULE_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) struct Fetcher {
    pub(crate) client: FluvioClient,
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    /// The reader's options; an aggregate's accumulator in `smartmodules` follows the output.
    pub(crate) options: ConsumerOptions,
    pub(crate) tx: mpsc::UnboundedSender<Delivery>,
    pub(crate) control: mpsc::UnboundedReceiver<Control>,
    /// Room in the reader's buffer, and the offset of the last record it handed out.
    pub(crate) read_ahead: Arc<ReadAhead>,
    pub(crate) next: i64,
    pub(crate) end: Option<i64>,
    pub(crate) max_bytes: i32,
    pub(crate) committed: i64,
    pub(crate) session: Option<(Connection, u32)>,
    /// A stream opened only for its session id (see [`Fetcher::commit`]).
    pub(crate) session_stream: Option<ResponseStream<StreamFetchResponse>>,
    pub(crate) status: StreamStatus,
    pub(crate) metrics: PartitionMetrics,
}

impl Fetcher {
    /// A fetcher of `topic`/`partition` that delivers to `reader`.
    pub(crate) fn new(
        client: FluvioClient,
        topic: &str,
        partition: u32,
        options: ConsumerOptions,
        reader: ReaderLink,
    ) -> Self {
        Self {
            metrics: PartitionMetrics::new(options.consumer_id.as_deref(), topic, partition),
            client,
            topic: topic.into(),
            partition,
            max_bytes: options.max_bytes,
            options,
            tx: reader.tx,
            control: reader.control,
            read_ahead: reader.read_ahead,
            next: 0,
            end: None,
            committed: -1,
            session: None,
            session_stream: None,
            status: reader.status,
        }
    }

    fn transformed(&self) -> bool {
        !self.options.smartmodules.is_empty()
    }

    /// Whether the chain ends with an aggregate whose accumulator the fetcher carries from
    /// stream to stream (its output value is the accumulator).
    fn carries_accumulator(&self) -> bool {
        matches!(
            self.options.smartmodules.last().map(|m| &m.kind),
            Some(
                SmartModuleKind::Aggregate { .. }
                    | SmartModuleKind::Generic(SmartModuleContextData::Aggregate { .. })
            )
        )
    }

    /// The next stream of a chain ending with an aggregate starts from `value`.
    fn carry_accumulator(&mut self, value: bytes::Bytes) {
        if let Some(
            SmartModuleKind::Aggregate { accumulator }
            | SmartModuleKind::Generic(SmartModuleContextData::Aggregate { accumulator }),
        ) = self.options.smartmodules.last_mut().map(|m| &mut m.kind)
        {
            *accumulator = value;
        }
    }

    pub(crate) async fn run(mut self) {
        let result = self.run_inner().await;
        self.status.set(StreamState::Ended);
        if let Err(error) = result {
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
        let mut module_missing_since = None;
        loop {
            let outcome = async {
                // After a failure the cached leader may be gone: ask the SC.
                let leader = if attempt == 0 {
                    self.client
                        .partition_leader(&self.topic, self.partition)
                        .await?
                } else {
                    self.client
                        .fresh_partition_leader(&self.topic, self.partition)
                        .await?
                };
                // A stream restarted to reset an aggregate must not leave the old one running
                // on the SPU, which ends streams only with their connection.
                let leader_id = leader.id;
                let conn = if self.carries_accumulator() {
                    self.client.private_spu_connection(leader).await?
                } else {
                    self.client.spu_connection(leader).await?
                };
                if !started {
                    self.next = self.start_offset(&conn).await?;
                    started = true;
                }
                self.stream(&conn, leader_id, &mut attempt).await
            }
            .await;
            match outcome {
                Ok(Flow::Done) => return Ok(()),
                Ok(Flow::Restart) => continue,
                // A stored SmartModule created a moment ago may not have reached the SPU yet
                // (the SC pushes it there on its own time): ask again for a while.
                Err(error)
                    if error.is_missing_smartmodule()
                        && module_missing_since
                            .get_or_insert_with(std::time::Instant::now)
                            .elapsed()
                            < SMARTMODULE_PROPAGATION =>
                {
                    tracing::debug!(topic = %self.topic, partition = self.partition, %error, "SmartModule not on the SPU yet; asking again");
                    self.session = None;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(error) if error.is_retriable() && self.options.reconnect.allows(attempt) => {
                    let delay = self.options.reconnect.delay(attempt);
                    // Once per outage; the attempts in between are debug.
                    if attempt == 0 {
                        tracing::warn!(topic = %self.topic, partition = self.partition, next = self.next, %error, "stream lost; resuming");
                    } else {
                        tracing::debug!(topic = %self.topic, partition = self.partition, next = self.next, attempt, %error, ?delay, "stream not resumed yet");
                    }
                    self.session = None;
                    self.status.set(StreamState::Resuming);
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
            let after = stored
                .checked_add(1)
                .ok_or(ConsumerError::OffsetOutOfRange {
                    what: "stored consumer offset",
                    offset: stored,
                })?;
            return Ok(after.max(start));
        }
        Ok(self.options.offset.resolve(start, end))
    }

    /// Stream from `next` on `conn` to the leader `leader_id` until the end, a stop, a
    /// failure, or the SC reporting another leader (then [`Flow::Restart`] there).
    async fn stream(
        &mut self,
        conn: &Connection,
        leader_id: i32,
        attempt: &mut u32,
    ) -> Result<Flow, ConsumerError> {
        if self.end.is_some_and(|end| self.next >= end) {
            return Ok(Flow::Done);
        }
        let request = self.request(self.next);
        let mut stream = conn.stream(&request).await?;
        self.status.set(StreamState::Streaming);
        let mut ticker = self.options.auto_commit.map(tokio::time::interval);
        // A stop-at-end SmartModule stream ends after a silence when the rest gives no output.
        let silence = |fetcher: &Self| match fetcher.end {
            Some(end) if fetcher.transformed() => Some(
                tokio::time::Instant::now()
                    + silence_without_output(end.saturating_sub(fetcher.next)),
            ),
            _ => None,
        };
        let mut quiet_until = silence(self);
        let mut changes = self.client.metadata_changes();
        changes.borrow_and_update();
        let mut watching = true;
        loop {
            let tick = async {
                match ticker.as_mut() {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let quiet = async {
                match quiet_until {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
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
                    // A frame that only carries an error (e.g. a restarted SPU that does not
                    // lead the partition yet) is not a resumed stream: the backoff goes on.
                    if *attempt > 0 && frame.partition.error_code == ErrorCode::None {
                        tracing::info!(topic = %self.topic, partition = self.partition, next = self.next, attempts = *attempt, "stream resumed");
                        *attempt = 0;
                    }
                    self.session = Some((conn.clone(), frame.stream_id));
                    self.session_stream = None;
                    if let Some(flow) = self.frame(frame.partition, conn, frame.stream_id).await? {
                        return Ok(flow);
                    }
                    quiet_until = silence(self);
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
                changed = changes.changed(), if watching => {
                    watching = changed.is_ok();
                    let leader = self.client.cached_leader(&self.topic, self.partition).await?;
                    if let Some(leader) = leader.filter(|l| l.id != leader_id) {
                        tracing::info!(topic = %self.topic, partition = self.partition, from = leader_id, to = leader.id, next = self.next, "leader moved; following it");
                        metrics::counter!(telemetry::LEADER_CHANGES, "topic" => self.topic.to_string())
                            .increment(1);
                        self.status.set(StreamState::Resuming);
                        self.session = None;
                        return Ok(Flow::Restart);
                    }
                }
                () = quiet => {
                    tracing::info!(topic = %self.topic, partition = self.partition, next = self.next, end = ?self.end, "no SmartModule output up to the end; done");
                    return Ok(Flow::Done);
                }
            }
        }
    }

    /// A stream fetch from `offset` with the reader's options (and the carried accumulator).
    fn request(&self, offset: i64) -> StreamFetchRequest {
        let mut request = StreamFetchRequest::new(self.topic.to_string(), self.partition, offset)
            .with_max_bytes(self.max_bytes)
            .with_isolation(self.options.isolation);
        request.smartmodules = self.options.smartmodules.clone();
        request.consumer_id = self.options.consumer_id.clone();
        request
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
                <StreamFetchRequest as crate::protocol::Request>::API_NAME,
                &p.error_code,
            );
        }
        let failed = match &p.error_code {
            ErrorCode::None => None,
            ErrorCode::OffsetEvicted { next_available, .. } => {
                // Going back would deliver records again; staying would ask again forever.
                if *next_available <= self.next {
                    return Err(ConsumerError::OffsetOutOfRange {
                        what: "next available offset after an eviction",
                        offset: *next_available,
                    });
                }
                tracing::warn!(topic = %self.topic, partition = self.partition, from = self.next, to = next_available, "offset evicted by retention; skipping ahead");
                metrics::counter!(telemetry::OFFSET_EVICTED, "topic" => self.topic.to_string())
                    .increment(1);
                self.next = *next_available;
                return Ok(Some(Flow::Restart));
            }
            code if code.is_smartmodule() => Some({
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
        let (records, restart) = if self.transformed() {
            self.take_output(&p, failed.as_ref())?
        } else {
            let (records, next) =
                collect::stored(&self.topic, self.partition, &p.records, self.next, self.end)?;
            self.next = next;
            (records, false)
        };
        span.record("records", records.len());
        if let Some(error) = failed {
            // A runtime error comes with what the chain produced before the failing record:
            // deliver that first, then the error (as the official client does).
            if !records.is_empty()
                && (!self.wait_for_room(records.len()).await? || self.tx.send(Ok(records)).is_err())
            {
                return Ok(Some(Flow::Done));
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
        let finished = self.end.is_some_and(|end| self.next >= end);
        let bytes: usize = records.iter().map(|r| r.value.len()).sum();
        let lag = p.high_watermark.saturating_sub(self.next);
        self.metrics.frame(lag, records.len(), bytes);
        if !records.is_empty() {
            // The SPU sends the next frame only once this one is acknowledged: waiting for
            // room first keeps at most this frame outside the reader's buffer.
            if !self.wait_for_room(records.len()).await? {
                return Ok(Some(Flow::Done));
            }
        }
        if !finished && !restart {
            // Acknowledge before handing the records over: the SPU prepares the next frame
            // while the reader works through these. A failed acknowledgement means a dead
            // connection, which the stream reports itself.
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
        if !records.is_empty() && self.tx.send(Ok(records)).is_err() {
            return Ok(Some(Flow::Done));
        }
        if finished {
            return Ok(Some(Flow::Done));
        }
        if restart {
            return Ok(Some(Flow::Restart));
        }
        Ok(None)
    }

    /// The SmartModule output of a frame, numbered (see [`super::transformed`]); moves `next`
    /// to where the chain stopped and carries an aggregate's accumulator. `true` asks for a
    /// new stream: the SPU cut the frame at `max_bytes` after its chain had already run over
    /// the next batch, which an aggregate would count twice on the next frame.
    fn take_output(
        &mut self,
        p: &FetchablePartitionResponse,
        failed: Option<&ConsumerError>,
    ) -> Result<(Vec<ConsumerRecord>, bool), ConsumerError> {
        let frame_next = p
            .next_offset_for_fetch()
            .map_err(|cause| ConsumerError::Corrupt {
                offset: self.next,
                cause,
            })?
            .unwrap_or(self.next);
        let limit = match failed {
            Some(ConsumerError::SmartModule { offset, .. }) => frame_next.min(*offset),
            _ => frame_next,
        };
        let output = collect::transformed(
            &self.topic,
            self.partition,
            &p.records,
            self.next,
            self.end,
            limit,
        )?;
        let carried = self.carries_accumulator() && output.last_value.is_some();
        if let Some(value) = output.last_value.filter(|_| carried) {
            self.carry_accumulator(value);
        }
        self.next = self.next.max(frame_next);
        let cut = carried && frame_next < p.high_watermark;
        Ok((output.records, cut))
    }

    /// Wait until the reader has room for a frame of `records` records (see
    /// [`ReadAhead`]), serving commits meanwhile; `false` when asked to stop.
    async fn wait_for_room(&mut self, records: usize) -> Result<bool, ConsumerError> {
        let read_ahead = self.read_ahead.clone();
        let reserve = read_ahead.reserve(records);
        tokio::pin!(reserve);
        loop {
            tokio::select! {
                reserved = &mut reserve => {
                    reserved.map_err(|_| ConsumerError::Stopped)?;
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

    pub(crate) fn server(&self, code: ErrorCode) -> ConsumerError {
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
    use crate::protocol::spu::{SmartModuleInvocation, SmartModuleWasm};
    use crate::protocol::{SmartModuleErrorKind, SmartModuleRuntimeError};
    use crate::testkit::{TestCluster, TestClusterConfig};

    /// A fetcher of "numbers"/0 with `options` on a client of `cluster`; the ends of its
    /// records and of its control channel.
    async fn fetcher(
        cluster: &TestCluster,
        options: ConsumerOptions,
    ) -> (
        Fetcher,
        mpsc::UnboundedReceiver<Delivery>,
        mpsc::UnboundedSender<Control>,
    ) {
        let client = FluvioClient::connect(ClientConfig::new(cluster.sc_addr()))
            .await
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (control_tx, control) = mpsc::unbounded_channel();
        let reader = ReaderLink {
            tx,
            control,
            read_ahead: Arc::new(ReadAhead::new(10)),
            status: StreamStatus::default(),
        };
        let fetcher = Fetcher::new(client, "numbers", 0, options, reader);
        (fetcher, rx, control_tx)
    }

    #[tokio::test]
    async fn smartmodule_runtime_error_comes_after_the_records_before_it() {
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let options = ConsumerOptions {
            smartmodules: vec![SmartModuleInvocation::aggregate(
                SmartModuleWasm::predefined("sum"),
                "10",
            )],
            ..ConsumerOptions::default()
        };
        let (mut fetcher, mut rx, _control) = fetcher(&cluster, options).await;
        let client = fetcher.client.clone();
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
        let carried = &fetcher.options.smartmodules[0].kind;
        assert!(
            matches!(carried, SmartModuleKind::Aggregate { accumulator } if accumulator.as_ref() == b"13"),
            "the next stream continues from the last sum: {carried:?}"
        );
        cluster.shutdown().await;
    }

    #[tokio::test]
    async fn hostile_numbers_in_a_frame_are_clear_errors() {
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let (mut fetcher, mut rx, _control) = fetcher(&cluster, ConsumerOptions::default()).await;
        let conn = fetcher.client.sc().clone();
        let batch = |base: i64, records: usize| {
            let mut builder = BatchBuilder::new(1_700_000_000_000);
            for _ in 0..records {
                builder.push(None, b"v", 1_700_000_000_000);
            }
            let mut batch = builder.build(Compression::None).unwrap();
            batch.base_offset = base;
            RecordSet::new(vec![batch])
        };

        // Records numbered past i64::MAX.
        fetcher.next = i64::MAX - 1;
        let p = FetchablePartitionResponse {
            records: batch(i64::MAX - 1, 3),
            ..Default::default()
        };
        let outcome = fetcher.frame(p, &conn, 1).await;
        assert!(
            matches!(
                outcome,
                Err(ConsumerError::Corrupt {
                    cause: crate::protocol::DecodeError::Overflow { .. },
                    ..
                })
            ),
            "{outcome:?}"
        );

        // An eviction that would send the stream back (or nowhere).
        fetcher.next = 100;
        for next_available in [100, 5, i64::MIN] {
            let p = FetchablePartitionResponse {
                error_code: ErrorCode::OffsetEvicted {
                    offset: 100,
                    next_available,
                },
                ..Default::default()
            };
            let outcome = fetcher.frame(p, &conn, 1).await;
            assert!(
                matches!(outcome, Err(ConsumerError::OffsetOutOfRange { offset, .. }) if offset == next_available),
                "{outcome:?}"
            );
        }
        assert_eq!(fetcher.next, 100);

        // A high watermark far below the position: the lag is 0, the records are delivered.
        fetcher.next = 1;
        let p = FetchablePartitionResponse {
            high_watermark: i64::MIN,
            records: batch(0, 3),
            ..Default::default()
        };
        assert!(fetcher.frame(p, &conn, 1).await.unwrap().is_none());
        assert_eq!(rx.try_recv().unwrap().unwrap().len(), 2);
        cluster.shutdown().await;
    }
}
