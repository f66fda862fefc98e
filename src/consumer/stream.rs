//! `PartitionStream`: a partition's records as an async stream, with offset commits.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::collect;
use super::commit::{CommitGuard, CommitRequest};
use super::config::ConsumerOptions;
use super::error::ConsumerError;
use super::fetcher::{Control, Delivery, Fetcher, ReaderLink};
use super::read_ahead::ReadAhead;
use super::record::ConsumerRecord;
use super::status::StreamStatus;
use crate::cluster::FluvioClient;
use crate::protocol::spu::FetchRequest;
use crate::protocol::ErrorCode;

/// The records of one partition, in offset order, with no gap and no duplicate across
/// reconnects. At most `buffer_records` records and `buffer_bytes` bytes wait between the
/// SPU and the reader, or one fetch frame's when a frame holds more (see
/// [`ConsumerOptions::buffer_records`] and [`ConsumerOptions::buffer_bytes`]).
///
/// ```no_run
/// # async fn demo(client: actix_fluvio::cluster::FluvioClient) -> Result<(), actix_fluvio::consumer::ConsumerError> {
/// use actix_fluvio::consumer::{ConsumerOptions, Offset};
///
/// let options = ConsumerOptions::builder()
///     .offset(Offset::Beginning)
///     .disable_continuous(true)
///     .build();
/// let mut stream = client.partition_consumer("orders", 0, options).await?;
/// while let Some(record) = stream.next().await {
///     let record = record?;
///     println!("{} {:?}", record.offset, record.value);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PartitionStream {
    rx: mpsc::UnboundedReceiver<Delivery>,
    buffer: VecDeque<ConsumerRecord>,
    read_ahead: Arc<ReadAhead>,
    control: mpsc::UnboundedSender<Control>,
    consumer_id: Option<String>,
    status: StreamStatus,
}

impl FluvioClient {
    /// Consume `topic`/`partition` with `options`, its fetch sizes fitted to this client's
    /// `max_frame_len` (see [`ConsumerOptions::max_bytes_ceiling`]).
    ///
    /// # Errors
    /// [`ConsumerError::InvalidOptions`] at once; connection and offset errors arrive
    /// through the stream.
    pub async fn partition_consumer(
        &self,
        topic: &str,
        partition: u32,
        options: ConsumerOptions,
    ) -> Result<PartitionStream, ConsumerError> {
        let options = options.fitted_to_frames(self.config().connection.max_frame_len)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let read_ahead = Arc::new(ReadAhead::new(options.buffer_records, options.buffer_bytes));
        let consumer_id = options.consumer_id.clone();
        let status = StreamStatus::default();
        let fetcher = Fetcher::new(
            self.clone(),
            topic,
            partition,
            options,
            ReaderLink {
                tx,
                control: control_rx,
                read_ahead: read_ahead.clone(),
                status: status.clone(),
            },
        );
        // The fetcher's spans (`fluvio.fetch`, its requests) are children of the caller's.
        tokio::spawn(tracing::Instrument::in_current_span(fetcher.run()));
        Ok(PartitionStream {
            rx,
            buffer: VecDeque::new(),
            read_ahead,
            control: control_tx,
            consumer_id,
            status,
        })
    }

    /// The first available offset and the end (high watermark) of `topic`/`partition`.
    ///
    /// # Errors
    /// Connection or server errors.
    pub async fn partition_offsets(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<(i64, i64), ConsumerError> {
        let conn = self.leader_connection(topic, partition).await?;
        fetch_offsets(&conn, topic, partition).await
    }

    /// Read one batch of records of `topic`/`partition` from `offset` (one fetch request,
    /// at most `max_bytes`).
    ///
    /// # Errors
    /// Connection, server or decoding errors.
    pub async fn fetch_batch(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: i32,
    ) -> Result<Vec<ConsumerRecord>, ConsumerError> {
        let conn = self.leader_connection(topic, partition).await?;
        let request = FetchRequest::single(
            topic,
            partition,
            offset,
            max_bytes,
            crate::protocol::spu::Isolation::ReadCommitted,
        );
        let response = conn.request(&request).await?;
        let p = response.find_partition(topic, partition).ok_or_else(|| {
            ConsumerError::MissingPartition {
                api: <FetchRequest as crate::protocol::Request>::API_NAME,
                topic: topic.into(),
                partition,
            }
        })?;
        if p.error_code != ErrorCode::None {
            return Err(ConsumerError::Server {
                topic: topic.into(),
                partition,
                code: p.error_code.clone(),
            });
        }
        let (records, _) = collect::stored(&topic.into(), partition, &p.records, offset, None)?;
        Ok(records)
    }
}

/// The first available offset and the high watermark of `topic`/`partition`, asked of its
/// leader `conn`.
pub(crate) async fn fetch_offsets(
    conn: &crate::connection::Connection,
    topic: &str,
    partition: u32,
) -> Result<(i64, i64), ConsumerError> {
    use crate::protocol::spu::FetchOffsetsRequest;
    let response = conn
        .request(&FetchOffsetsRequest::new(topic, partition))
        .await?;
    offsets_in(&response, topic, partition)
}

/// The first available offset and the high watermark of `topic`/`partition` in a
/// FetchOffsets answer; the partition's error code (`PartitionNotLeader` from an SPU that
/// does not lead it) as [`ConsumerError::Server`].
pub(crate) fn offsets_in(
    response: &crate::protocol::spu::FetchOffsetsResponse,
    topic: &str,
    partition: u32,
) -> Result<(i64, i64), ConsumerError> {
    use crate::protocol::spu::FetchOffsetsRequest;
    let replica = crate::protocol::spu::ReplicaKey::new(topic, partition);
    let p = response
        .find_partition(&replica)
        .ok_or_else(|| ConsumerError::MissingPartition {
            api: <FetchOffsetsRequest as crate::protocol::Request>::API_NAME,
            topic: topic.into(),
            partition,
        })?;
    if p.error_code != ErrorCode::None {
        return Err(ConsumerError::Server {
            topic: topic.into(),
            partition,
            code: p.error_code.clone(),
        });
    }
    Ok((p.start_offset, p.last_stable_offset))
}

impl PartitionStream {
    /// Whether the stream is streaming, starting, resuming after a fault, or ended; the
    /// view stays current as long as it is held.
    pub fn status(&self) -> StreamStatus {
        self.status.clone()
    }

    /// The next record; `None` at the end (stop-at-end consumers) or after a fatal error.
    pub async fn next(&mut self) -> Option<Result<ConsumerRecord, ConsumerError>> {
        std::future::poll_fn(|cx| self.poll_record(cx)).await
    }

    /// The next records as they arrived (one fetch frame's worth), for batch processing.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<ConsumerRecord>, ConsumerError>> {
        let batch = self.next_held().await;
        if let Some(Ok(records)) = &batch {
            self.read_ahead.handed_out_all(records);
        }
        batch
    }

    /// As [`PartitionStream::next_batch`], at most `max` records (at least 1); the rest of
    /// a larger frame stays buffered for the next call.
    pub async fn next_batch_up_to(
        &mut self,
        max: usize,
    ) -> Option<Result<Vec<ConsumerRecord>, ConsumerError>> {
        let max = max.max(1);
        let records = if self.buffer.is_empty() {
            match self.rx.recv().await? {
                Ok(batch) if batch.len() <= max => batch,
                Ok(mut batch) => {
                    // The buffer is empty: it takes the rest's allocation (no copy), and
                    // lets go of the last frame's.
                    self.buffer = batch.split_off(max).into();
                    // The first `max` records keep the whole frame's capacity otherwise, for
                    // as long as the caller holds them.
                    batch.shrink_to_fit();
                    batch
                }
                Err(error) => return Some(Err(error)),
            }
        } else {
            let n = max.min(self.buffer.len());
            self.buffer.drain(..n).collect()
        };
        self.read_ahead.handed_out_all(&records);
        Some(Ok(records))
    }

    /// Like [`PartitionStream::next_batch`], but the records are not handed out yet: they
    /// stay buffered and undelivered (auto-commit does not cover them) until the caller
    /// reports them to [`PartitionStream::read_ahead`] as it hands them on to the user.
    pub(crate) async fn next_held(&mut self) -> Option<Result<Vec<ConsumerRecord>, ConsumerError>> {
        if !self.buffer.is_empty() {
            return Some(Ok(self.buffer.drain(..).collect()));
        }
        self.rx.recv().await
    }

    /// The stream's read-ahead, to report records taken with [`PartitionStream::next_held`].
    pub(crate) fn read_ahead(&self) -> Arc<ReadAhead> {
        self.read_ahead.clone()
    }

    fn poll_record(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ConsumerRecord, ConsumerError>>> {
        loop {
            if let Some(record) = self.buffer.pop_front() {
                self.read_ahead
                    .handed_out(1, record.payload_len(), record.offset);
                return Poll::Ready(Some(Ok(record)));
            }
            match self.rx.poll_recv(cx) {
                // The buffer is empty: it takes the frame's allocation (no copy), and lets
                // go of the last frame's.
                Poll::Ready(Some(Ok(batch))) => self.buffer = batch.into(),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Store `offset` (the last processed record) for this consumer id.
    ///
    /// # Errors
    /// [`ConsumerError::NoConsumerId`], or the server's refusal.
    pub async fn commit(&self, offset: i64) -> Result<(), ConsumerError> {
        self.committer().commit(offset).await
    }

    /// Commit the last record handed out.
    ///
    /// # Errors
    /// As [`PartitionStream::commit`].
    pub async fn commit_delivered(&self) -> Result<(), ConsumerError> {
        match self.read_ahead.delivered() {
            -1 => Ok(()),
            offset => self.commit(offset).await,
        }
    }

    /// Records fetched and passed to this stream but not yet handed out: at most
    /// `buffer_records`, or the records of one fetch frame when a frame holds more.
    pub fn buffered(&self) -> usize {
        self.read_ahead.buffered()
    }

    /// Bytes (keys and values) of the records fetched and passed to this stream but not
    /// yet handed out: at most `buffer_bytes`, or those of one fetch frame when a frame
    /// holds more.
    pub fn buffered_bytes(&self) -> usize {
        self.read_ahead.buffered_bytes()
    }

    /// The offset of the last record handed out (-1 before the first).
    pub fn last_delivered(&self) -> i64 {
        self.read_ahead.delivered()
    }

    /// A cloneable handle that commits offsets for this stream (for actors that process
    /// records elsewhere).
    pub fn committer(&self) -> Committer {
        Committer {
            control: self.control.clone(),
            consumer_id: self.consumer_id.clone(),
        }
    }

    /// Commit what was handed out and stop the fetcher.
    pub fn stop(&self) {
        let _ = self.control.send(Control::Stop);
    }
}

/// Commits offsets of one partition stream; cheap to clone.
#[derive(Debug, Clone)]
pub struct Committer {
    control: mpsc::UnboundedSender<Control>,
    consumer_id: Option<String>,
}

impl Committer {
    /// Store `offset` (the last processed record) for the stream's consumer id.
    ///
    /// # Errors
    /// [`ConsumerError::NoConsumerId`], a stopped stream, or the server's refusal.
    pub async fn commit(&self, offset: i64) -> Result<(), ConsumerError> {
        self.send(offset, None).await
    }

    /// Store `offset` only while `guard` holds and no later offset is stored under the
    /// consumer id: the guard is checked right before the offset is stored (and before the
    /// stored offset is read), so a caller that lost the partition (a paused group member
    /// whose lease ended, say) commits nothing, and a commit never moves the partition's
    /// stored offset backwards. It costs one more request (reading the stored offset).
    ///
    /// # Errors
    /// [`ConsumerError::Fenced`] when the guard no longer holds, [`ConsumerError::CommitBehind`]
    /// when a later offset is stored; otherwise as [`Committer::commit`].
    pub async fn commit_guarded(
        &self,
        offset: i64,
        guard: &CommitGuard,
    ) -> Result<(), ConsumerError> {
        self.send(offset, Some(guard.clone())).await
    }

    async fn send(&self, offset: i64, guard: Option<CommitGuard>) -> Result<(), ConsumerError> {
        if self.consumer_id.is_none() {
            return Err(ConsumerError::NoConsumerId);
        }
        let (reply, rx) = oneshot::channel();
        let request = CommitRequest {
            offset,
            guard,
            reply,
            span: tracing::Span::current(),
        };
        self.control
            .send(Control::Commit(request))
            .map_err(|_| ConsumerError::Stopped)?;
        rx.await.map_err(|_| ConsumerError::Stopped)?
    }
}

impl futures_core::Stream for PartitionStream {
    type Item = Result<ConsumerRecord, ConsumerError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_record(cx)
    }
}

impl Drop for PartitionStream {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
    }
}
