//! Acknowledging a stream frame: the UpdateOffsets request that tells the SPU where the
//! consumer got to, without which it sends no further frame. It goes on a task of its own
//! (the reader works through the frame meanwhile) and is retried with backoff when the SPU
//! answers with an error or not in time. When the connection is gone, the SPU forgot the
//! stream, or the retries run out, the stream is reported lost on `failed` and the fetcher
//! reopens it from the offset it acknowledged: a stream whose acknowledgement never arrived
//! would otherwise wait forever on a live connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::error::ConsumerError;
use crate::connection::{Connection, ConnectionError};
use crate::protocol::spu::{UpdateOffsetsRequest, UpdateOffsetsResponse};
use crate::protocol::ErrorCode;

/// Attempts at one acknowledgement before the stream is reopened instead.
pub(crate) const ACK_ATTEMPTS: u32 = 4;

/// Wait before the first retry, doubled for each next one (100, 200, 400 ms).
const ACK_FIRST_RETRY: Duration = Duration::from_millis(100);

/// What to do after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AckStep {
    /// The SPU took it.
    Done,
    /// Send it again after this long.
    Retry(Duration),
    /// Stop trying; the stream is lost for this reason.
    GiveUp(String),
}

/// The step after attempt `attempt` (0-based) at acknowledging stream `stream_id` ended
/// with `outcome` (pure).
pub(crate) fn next_step(
    outcome: &Result<UpdateOffsetsResponse, ConnectionError>,
    stream_id: u32,
    attempt: u32,
) -> AckStep {
    let retry_or_give_up = |cause: String| {
        if attempt + 1 < ACK_ATTEMPTS {
            AckStep::Retry(ACK_FIRST_RETRY.saturating_mul(1 << attempt.min(16)))
        } else {
            AckStep::GiveUp(format!("{cause} ({ACK_ATTEMPTS} attempts)"))
        }
    };
    match outcome {
        Ok(response) => {
            let code = response
                .status
                .iter()
                .find(|s| s.session_id == stream_id)
                .map_or(&ErrorCode::None, |s| &s.error);
            match code {
                ErrorCode::None => AckStep::Done,
                ErrorCode::FetchSessionNotFoud => {
                    AckStep::GiveUp(format!("the SPU no longer knows stream {stream_id}"))
                }
                code => retry_or_give_up(format!("the SPU answered {code}")),
            }
        }
        Err(error @ ConnectionError::RequestTimeout { .. }) => retry_or_give_up(error.to_string()),
        // The connection is gone (and the stream with it), or the request cannot be sent.
        Err(error) => AckStep::GiveUp(error.to_string()),
    }
}

/// One frame's acknowledgement.
#[derive(Debug)]
pub(crate) struct Ack {
    pub(crate) conn: Connection,
    pub(crate) stream_id: u32,
    /// The offset acknowledged: the next one the consumer wants.
    pub(crate) offset: i64,
    /// How long each attempt waits for its answer.
    pub(crate) timeout: Duration,
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    /// Where a final failure goes (the stream's loop, which then reopens it).
    pub(crate) failed: mpsc::UnboundedSender<ConsumerError>,
}

impl Ack {
    /// Send the acknowledgement, retrying as [`next_step`] says; report a final failure.
    pub(crate) async fn send(self) {
        let request = UpdateOffsetsRequest::single(self.stream_id, self.offset);
        let mut attempt = 0;
        loop {
            let outcome = self.conn.request_within(&request, self.timeout).await;
            match next_step(&outcome, self.stream_id, attempt) {
                AckStep::Done => return,
                AckStep::Retry(delay) => {
                    tracing::debug!(topic = %self.topic, partition = self.partition, offset = self.offset, attempt, ?delay, ?outcome, "stream acknowledgement failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                AckStep::GiveUp(cause) => {
                    tracing::debug!(topic = %self.topic, partition = self.partition, offset = self.offset, %cause, "stream acknowledgement failed");
                    let _ = self.failed.send(ConsumerError::Unacknowledged {
                        topic: self.topic.to_string(),
                        partition: self.partition,
                        offset: self.offset,
                        cause,
                    });
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::spu::OffsetUpdateStatus;

    fn answered(
        stream_id: u32,
        error: ErrorCode,
    ) -> Result<UpdateOffsetsResponse, ConnectionError> {
        Ok(UpdateOffsetsResponse {
            status: vec![OffsetUpdateStatus {
                session_id: stream_id,
                error,
            }],
        })
    }

    fn timed_out() -> Result<UpdateOffsetsResponse, ConnectionError> {
        Err(ConnectionError::RequestTimeout {
            addr: "spu:9010".into(),
            api_key: 1005,
            timeout: Duration::from_secs(10),
        })
    }

    #[test]
    fn a_taken_acknowledgement_is_done() {
        assert_eq!(
            next_step(&answered(7, ErrorCode::None), 7, 0),
            AckStep::Done
        );
        // An answer about other streams only says nothing failed for this one.
        assert_eq!(
            next_step(&answered(8, ErrorCode::StorageError), 7, 0),
            AckStep::Done
        );
    }

    #[test]
    fn errors_and_timeouts_are_retried_with_doubling_waits_then_given_up() {
        for outcome in [answered(7, ErrorCode::StorageError), timed_out()] {
            let steps: Vec<AckStep> = (0..ACK_ATTEMPTS)
                .map(|attempt| next_step(&outcome, 7, attempt))
                .collect();
            assert_eq!(
                steps[..3],
                [100, 200, 400].map(|ms| AckStep::Retry(Duration::from_millis(ms)))
            );
            assert!(
                matches!(&steps[3], AckStep::GiveUp(cause) if cause.ends_with("(4 attempts)")),
                "{steps:?}"
            );
        }
    }

    #[test]
    fn a_forgotten_stream_or_a_gone_connection_is_given_up_at_once() {
        let lost = Err(ConnectionError::Lost {
            addr: "spu:9010".into(),
            cause: "closed by the server".into(),
        });
        let forgotten = answered(7, ErrorCode::FetchSessionNotFoud);
        for outcome in [lost, forgotten] {
            assert!(matches!(next_step(&outcome, 7, 0), AckStep::GiveUp(_)));
        }
    }

    #[test]
    fn an_unacknowledged_stream_is_resumed() {
        let error = ConsumerError::Unacknowledged {
            topic: "t".into(),
            partition: 0,
            offset: 12,
            cause: "the SPU answered StorageError (4 attempts)".into(),
        };
        assert!(error.is_retriable());
    }
}
