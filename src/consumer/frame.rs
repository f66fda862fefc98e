//! One frame of a partition stream: its error code, its records (or a SmartModule chain's
//! output, numbered), the position after it, and handing the records to the reader.

use super::fetcher::{Fetcher, Flow};

use tracing::Instrument;

use super::ack::Ack;
use super::collect;
use super::error::ConsumerError;
use super::probe::probe_timeout;
use super::record::ConsumerRecord;
use crate::connection::Connection;
use crate::protocol::spu::{FetchablePartitionResponse, StreamFetchRequest};
use crate::protocol::{Encode, ErrorCode};
use crate::telemetry;

impl Fetcher {
    /// Handle one frame in a `fluvio.fetch` span; `Some` ends this stream (done, or restart
    /// from `next`).
    pub(crate) async fn frame(
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
        let start = self.next;
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
                && (!self.wait_for_room(&records).await? || self.tx.send(Ok(records)).is_err())
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
        let restart = restart || self.shrink_fetch(start) || self.grow_fetch(&p, records.len());
        let finished = self.end.is_some_and(|end| self.next >= end);
        let bytes: usize = records.iter().map(|r| r.value.len()).sum();
        let lag = p.high_watermark.saturating_sub(self.next);
        self.metrics.frame(lag, records.len(), bytes);
        if !records.is_empty() {
            // The SPU sends the next frame only once this one is acknowledged: waiting for
            // room first keeps at most this frame outside the reader's buffer.
            if !self.wait_for_room(&records).await? {
                return Ok(Some(Flow::Done));
            }
        }
        if !finished && !restart {
            // Acknowledge before handing the records over: the SPU prepares the next frame
            // while the reader works through these. A failed acknowledgement is retried,
            // then reported to the stream's loop, which reopens the stream.
            let ack = Ack {
                conn: conn.clone(),
                stream_id,
                offset: self.next,
                timeout: probe_timeout(self.client.config().connection.request_timeout),
                topic: self.topic.clone(),
                partition: self.partition,
                failed: self.ack_failed.clone(),
            };
            tokio::spawn(ack.send().instrument(span.clone()));
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

    /// `true` asks for a new stream at the fitted size: this frame, fetched with `max_bytes`
    /// grown for a batch larger than it, moved past `start`, so that batch is in (a stream
    /// keeps the size it was opened with; left grown, every later frame would be as large,
    /// and so would the read-ahead that holds one).
    fn shrink_fetch(&mut self, start: i64) -> bool {
        let fitted = self.fetch_size.fitted();
        if self.max_bytes <= fitted || self.next <= start {
            return false;
        }
        tracing::debug!(topic = %self.topic, partition = self.partition, from = self.max_bytes, to = fitted, next = self.next, "large batch received; fetching at the fitted size again");
        self.max_bytes = fitted;
        true
    }

    /// `true` asks for a new stream at a larger fitted size: a full frame of stored records
    /// held few of them (see [`super::fetch_size`]).
    fn grow_fetch(&mut self, p: &FetchablePartitionResponse, records: usize) -> bool {
        if self.transformed() || self.max_bytes != self.fetch_size.fitted() {
            return false;
        }
        let frame_bytes = p.records.batches.iter().map(|b| b.encoded_len(0)).sum();
        if !self.fetch_size.after_frame(frame_bytes, records) {
            return false;
        }
        self.max_bytes = self.fetch_size.fitted();
        tracing::debug!(topic = %self.topic, partition = self.partition, max_bytes = self.max_bytes, next = self.next, "full frames of few records; fetching more per frame");
        true
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
}
