//! The idle probe: a stream with nothing arriving for
//! [`ConsumerOptions::idle_probe`](super::ConsumerOptions::idle_probe) asks the SPU for the
//! partition's offsets on the stream's own connection. An answer means the SPU is there and
//! leads the partition: the stream stays, however long it stays quiet. No answer within the
//! probe timeout means the socket is half open (a paused SPU, a silent network drop): the
//! socket is dropped, so the next request on the connection reconnects instead of waiting on
//! it, and the stream is lost (retriable), so the fetcher resumes on whichever SPU leads
//! now. An answer saying this SPU no longer leads loses the stream the same way.
//!
//! ```text
//!  frame ──heard──▶ deadline = now + idle_probe
//!  deadline passed ──FetchOffsets (probe timeout)──▶ answered, leads ─▶ deadline = now + idle_probe
//!                                                  ├ no answer       ─▶ drop socket, stream lost
//!                                                  └ not the leader  ─▶ stream lost
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::error::ConsumerError;
use super::stream::offsets_in;
use crate::connection::{Connection, ConnectionError};
use crate::protocol::spu::FetchOffsetsRequest;
use crate::protocol::spu::FetchOffsetsResponse;
use crate::protocol::ErrorCode;

/// The longest a probe (or a stream acknowledgement) waits for its answer, whatever the
/// request timeout: the probe asks for little, so an SPU that takes longer is not serving
/// the stream either.
pub(crate) const PROBE_TIMEOUT_CAP: Duration = Duration::from_secs(10);

/// How long a probe waits: the request timeout, at most [`PROBE_TIMEOUT_CAP`].
pub(crate) fn probe_timeout(request_timeout: Duration) -> Duration {
    request_timeout.min(PROBE_TIMEOUT_CAP)
}

/// What a probe's answer says about the stream.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The SPU answered and leads the partition: the stream is alive.
    Alive,
    /// No answer in time: the socket is half open and must not be used again.
    Silent,
    /// The stream cannot go on here (not the leader, the connection failed, ...).
    Lost(ConsumerError),
}

/// Judge a probe's outcome (pure).
pub(crate) fn verdict(
    answer: Result<FetchOffsetsResponse, ConnectionError>,
    topic: &str,
    partition: u32,
) -> Verdict {
    match answer {
        Ok(response) => match offsets_in(&response, topic, partition) {
            Ok(_) => Verdict::Alive,
            Err(error) => Verdict::Lost(error),
        },
        Err(ConnectionError::RequestTimeout { .. }) => Verdict::Silent,
        Err(error) => Verdict::Lost(error.into()),
    }
}

/// Whether `error` (from a probe) says the SPU no longer leads the partition.
fn not_leader(error: &ConsumerError) -> bool {
    matches!(
        error,
        ConsumerError::Server {
            code: ErrorCode::NotLeaderForPartition | ErrorCode::PartitionNotLeader,
            ..
        }
    )
}

type Probe = Pin<Box<dyn Future<Output = Result<(), ConsumerError>> + Send>>;

/// The idle probe of one open stream.
pub(crate) struct IdleProbe {
    /// Quiet time before a probe; `None`: never probe.
    every: Option<Duration>,
    timeout: Duration,
    deadline: Instant,
    conn: Connection,
    /// [`Connection::reconnects`] when the stream opened: only that socket is dropped.
    generation: u64,
    topic: Arc<str>,
    partition: u32,
    /// A probe under way; it survives the select loop's other branches firing.
    in_flight: Option<Probe>,
}

impl IdleProbe {
    /// The probe of a stream about to open on `conn` (its current socket is the one
    /// dropped when a probe goes unanswered).
    pub(crate) fn new(
        every: Option<Duration>,
        timeout: Duration,
        conn: &Connection,
        topic: Arc<str>,
        partition: u32,
    ) -> Self {
        Self {
            every,
            timeout,
            deadline: Instant::now() + every.unwrap_or_default(),
            conn: conn.clone(),
            generation: conn.reconnects(),
            topic,
            partition,
            in_flight: None,
        }
    }

    /// Something arrived: the next probe waits a full `idle_probe` from now.
    pub(crate) fn heard(&mut self) {
        if let Some(every) = self.every {
            self.deadline = Instant::now() + every;
        }
    }

    /// Probe whenever the stream has been quiet for `idle_probe`; resolves only when a
    /// probe finds the stream lost. Cancel-safe: a probe under way when the caller stops
    /// waiting goes on at the next call.
    pub(crate) async fn lost(&mut self) -> ConsumerError {
        let Some(every) = self.every else {
            return std::future::pending().await;
        };
        loop {
            if self.in_flight.is_none() {
                tokio::time::sleep_until(self.deadline).await;
                self.in_flight = Some(self.start());
            }
            let Some(probe) = self.in_flight.as_mut() else {
                continue;
            };
            let outcome = probe.await;
            self.in_flight = None;
            match outcome {
                Ok(()) => self.deadline = Instant::now() + every,
                Err(error) => return error,
            }
        }
    }

    fn start(&self) -> Probe {
        let (conn, topic, partition) = (self.conn.clone(), self.topic.clone(), self.partition);
        let (timeout, generation) = (self.timeout, self.generation);
        Box::pin(async move {
            let request = FetchOffsetsRequest::new(&*topic, partition);
            let answer = conn.request_within(&request, timeout).await;
            match verdict(answer, &topic, partition) {
                Verdict::Alive => {
                    tracing::trace!(%topic, partition, "idle stream probed: the SPU answers");
                    Ok(())
                }
                Verdict::Silent => {
                    let cause = format!("no answer to an idle stream's probe within {timeout:?}");
                    tracing::debug!(%topic, partition, addr = conn.addr(), %cause, "dropping the socket");
                    conn.abandon_socket(generation, cause.clone());
                    Err(ConnectionError::Lost {
                        addr: conn.addr().into(),
                        cause: cause.into(),
                    }
                    .into())
                }
                Verdict::Lost(error) => {
                    if not_leader(&error) {
                        tracing::debug!(%topic, partition, addr = conn.addr(), "idle stream probed: the SPU no longer leads");
                    }
                    Err(error)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::spu::{FetchOffsetPartitionResponse, FetchOffsetTopicResponse};

    fn answer(code: ErrorCode) -> FetchOffsetsResponse {
        FetchOffsetsResponse {
            topics: vec![FetchOffsetTopicResponse {
                name: "t".into(),
                partitions: vec![FetchOffsetPartitionResponse {
                    error_code: code,
                    partition_index: 3,
                    start_offset: 0,
                    last_stable_offset: 10,
                }],
            }],
        }
    }

    #[test]
    fn an_answer_from_the_leader_keeps_the_stream() {
        assert!(matches!(
            verdict(Ok(answer(ErrorCode::None)), "t", 3),
            Verdict::Alive
        ));
    }

    #[test]
    fn no_answer_in_time_means_a_half_open_socket() {
        let timeout = ConnectionError::RequestTimeout {
            addr: "spu:9010".into(),
            api_key: 1002,
            timeout: Duration::from_secs(10),
        };
        assert!(matches!(verdict(Err(timeout), "t", 3), Verdict::Silent));
    }

    #[test]
    fn an_spu_that_no_longer_leads_loses_the_stream_retriably() {
        for code in [
            ErrorCode::PartitionNotLeader,
            ErrorCode::NotLeaderForPartition,
        ] {
            let Verdict::Lost(error) = verdict(Ok(answer(code)), "t", 3) else {
                panic!("a stream on a follower is lost");
            };
            assert!(not_leader(&error) && error.is_retriable(), "{error:?}");
        }
    }

    #[test]
    fn a_dropped_connection_loses_the_stream_retriably() {
        let lost = ConnectionError::Lost {
            addr: "spu:9010".into(),
            cause: "closed by the server".into(),
        };
        let Verdict::Lost(error) = verdict(Err(lost), "t", 3) else {
            panic!("a dropped connection loses the stream");
        };
        assert!(error.is_retriable() && !not_leader(&error));
    }

    #[test]
    fn probes_wait_at_most_ten_seconds() {
        assert_eq!(
            probe_timeout(Duration::from_secs(60)),
            Duration::from_secs(10)
        );
        assert_eq!(
            probe_timeout(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }
}
