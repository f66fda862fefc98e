//! The fetcher: one task per partition stream. It resolves the start offset, runs a stream
//! fetch on the leader, hands records to the reader within its read-ahead
//! ([`super::read_ahead`]), acknowledges every frame on the same connection once the reader
//! has room for it ([`super::ack`]), probes a stream with nothing arriving
//! ([`super::probe`]), commits offsets, and reconnects after faults, resuming at the first
//! offset it has not delivered (no gap, no duplicate).
//!
//! With SmartModules the position after a frame is where the SPU's chain stopped
//! (`next_filter_offset`), whatever the chain kept; output records are numbered as
//! [`super::transformed`] explains. An aggregate at the end of the chain carries its
//! accumulator into every stream the fetcher opens, and a stop-at-end stream whose remaining
//! input gives no output ends after a silence ([`super::tail`]).

use std::sync::Arc;

use tokio::sync::mpsc;

use super::config::ConsumerOptions;
use super::error::ConsumerError;
use super::fetch_size::FetchSize;
use super::partition_metrics::PartitionMetrics;
use super::probe::{probe_timeout, IdleProbe};
use super::read_ahead::{held_bytes, ReadAhead};
use super::record::ConsumerRecord;
use super::status::{StreamState, StreamStatus};
use super::stream::fetch_offsets;
use super::tail::silence_without_output;
use crate::cluster::FluvioClient;
use crate::connection::{Connection, ResponseStream};
use crate::protocol::spu::{
    SmartModuleContextData, SmartModuleKind, StreamFetchRequest, StreamFetchResponse,
};
use crate::protocol::ErrorCode;
use crate::telemetry;

pub(crate) use super::commit::CommitRequest;

/// Sent by the reader.
#[derive(Debug)]
pub(crate) enum Control {
    /// Store an offset for the consumer id, in the caller's span.
    Commit(CommitRequest),
    /// Commit what was delivered, then stop.
    Stop,
}

/// The most a stream opened for commits asks for: its records are not read, only its id.
pub(crate) const SESSION_MAX_BYTES: i32 = 1;

/// How long a stream opened for commits may take to answer.
pub(crate) const SESSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) type Delivery = Result<Vec<ConsumerRecord>, ConsumerError>;

#[derive(Debug)]
pub(crate) enum Flow {
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
    /// What the open stream asked for: the fitted size, or more for a batch larger than it.
    pub(crate) max_bytes: i32,
    /// The fetch size fitted to the records (see [`super::fetch_size`]).
    pub(crate) fetch_size: FetchSize,
    pub(crate) committed: i64,
    /// Auto-commits have been failing since the last that succeeded (warned once).
    pub(crate) commits_failing: bool,
    pub(crate) session: Option<(Connection, u32)>,
    /// A stream opened only for its session id (see [`Fetcher::commit`]).
    pub(crate) session_stream: Option<ResponseStream<StreamFetchResponse>>,
    pub(crate) status: StreamStatus,
    pub(crate) metrics: PartitionMetrics,
    /// Where the open stream's acknowledgements report a final failure (see [`super::ack::Ack`]).
    pub(crate) ack_failed: mpsc::UnboundedSender<ConsumerError>,
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
        let fetch_size = FetchSize::new(options.max_bytes, options.buffer_records);
        Self {
            metrics: PartitionMetrics::new(
                options.consumer_id.as_deref(),
                topic,
                partition,
                !options.smartmodules.is_empty(),
            ),
            client,
            topic: topic.into(),
            partition,
            max_bytes: fetch_size.fitted(),
            fetch_size,
            options,
            tx: reader.tx,
            control: reader.control,
            read_ahead: reader.read_ahead,
            next: 0,
            end: None,
            committed: -1,
            commits_failing: false,
            session: None,
            session_stream: None,
            status: reader.status,
            ack_failed: mpsc::unbounded_channel().0,
        }
    }

    pub(crate) fn transformed(&self) -> bool {
        !self.options.smartmodules.is_empty()
    }

    /// Whether the chain ends with an aggregate whose accumulator the fetcher carries from
    /// stream to stream (its output value is the accumulator).
    pub(crate) fn carries_accumulator(&self) -> bool {
        matches!(
            self.options.smartmodules.last().map(|m| &m.kind),
            Some(
                SmartModuleKind::Aggregate { .. }
                    | SmartModuleKind::Generic(SmartModuleContextData::Aggregate { .. })
            )
        )
    }

    /// The next stream of a chain ending with an aggregate starts from `value`.
    pub(crate) fn carry_accumulator(&mut self, value: bytes::Bytes) {
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
                Control::Commit(request) => self.serve_commit(request).await,
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
                } else if attempt > 0 {
                    // Resumed after a failure: the log may have gone backwards meanwhile.
                    self.check_position(&conn).await?;
                }
                self.stream(&conn, leader_id, &mut attempt).await
            }
            .await;
            let outcome = match outcome {
                Err(error) if self.resume_if_rewound(&error).await => Ok(Flow::Restart),
                other => other,
            };
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
    /// configured start resolved against the partition's range. The stored offset is read
    /// first: a stream that stops at the end reads it after the point it starts from (an
    /// end read first could be passed by an offset stored in between, and the stream would
    /// skip what is past its start).
    async fn start_offset(&mut self, conn: &Connection) -> Result<i64, ConsumerError> {
        let stored = self.stored_offset().await?;
        let (start, end) = fetch_offsets(conn, &self.topic, self.partition).await?;
        if self.options.disable_continuous {
            self.end = Some(end);
        }
        if let Some(stored) = stored {
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
        let timeout = probe_timeout(self.client.config().connection.request_timeout);
        let (topic, partition) = (self.topic.clone(), self.partition);
        let mut idle = IdleProbe::new(self.options.idle_probe, timeout, conn, topic, partition);
        let mut stream = conn.stream(&request).await?;
        self.status.set(StreamState::Streaming);
        let (ack_failed, mut unacknowledged) = mpsc::unbounded_channel();
        self.ack_failed = ack_failed;
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
                    // Counted from the acknowledgement: the SPU sends nothing before it.
                    idle.heard();
                }
                error = idle.lost() => return Err(error),
                Some(error) = unacknowledged.recv() => return Err(error),
                command = self.control.recv() => match command {
                    Some(Control::Commit(request)) => self.serve_commit(request).await,
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

    /// Wait until the reader has room for a frame of `records` (see [`ReadAhead`]), serving
    /// commits meanwhile; `false` when asked to stop.
    pub(crate) async fn wait_for_room(
        &mut self,
        records: &[ConsumerRecord],
    ) -> Result<bool, ConsumerError> {
        let read_ahead = self.read_ahead.clone();
        let reserve = read_ahead.reserve(records.len(), held_bytes(records));
        tokio::pin!(reserve);
        loop {
            tokio::select! {
                reserved = &mut reserve => {
                    reserved.map_err(|_| ConsumerError::Stopped)?;
                    return Ok(true);
                }
                command = self.control.recv() => match command {
                    Some(Control::Commit(request)) => self.serve_commit(request).await,
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
mod tests;
