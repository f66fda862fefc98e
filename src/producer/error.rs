//! Producer errors.

use std::time::Duration;

use thiserror::Error;

use crate::cluster::ClientError;
use crate::connection::ConnectionError;
use crate::protocol::ErrorCode;

/// Why a record was not (or may not have been) delivered.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ProducerError {
    /// The record alone is larger than `max_request_size`.
    #[error("record of {size} bytes exceeds max_request_size {max}")]
    RecordTooLarge {
        /// The record's encoded size.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The buffer is full (`try_enqueue` only; `send` and `enqueue` wait).
    #[error("producer buffer is full")]
    QueueFull,
    /// The producer's compression is not what the topic accepts.
    #[error("topic '{topic}' accepts {topic_compression} batches, the producer compresses with {producer}")]
    CompressionMismatch {
        /// The topic.
        topic: String,
        /// What the topic accepts.
        topic_compression: String,
        /// What the producer uses.
        producer: String,
    },
    /// The SPU refused the batch.
    #[error("SPU refused records for {topic}-{partition}: {code}")]
    Server {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The SPU's code.
        code: ErrorCode,
    },
    /// The partition belongs to a mirror topic whose records are written on the other side
    /// (`MirrorProduceFromHome`, 11003: a remote-to-home topic at home;
    /// `MirrorProduceFromRemoteNotAllowed`, 11006: a home-to-remote topic on a remote).
    /// Write remote-to-home topics on the remote and home-to-remote topics at home, in the
    /// remote's partition ([`crate::cluster::FluvioClient::mirror_partition`]).
    #[error(
        "{topic}-{partition} is a mirror partition written on the other side of the mirror: {code}"
    )]
    MirrorDirection {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The SPU's code.
        code: ErrorCode,
    },
    /// The SPU answered the produce request without an entry for the partition (a broken
    /// answer): the records may or may not be stored. Not retried.
    #[error("the SPU's produce answer has no entry for {topic}-{partition}")]
    MissingPartition {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },
    /// The SPU acknowledged records at offsets past `i64::MAX` (a broken or hostile
    /// answer): they may be stored, but where is unknown. Not retried.
    #[error("SPU acknowledged {records} records for {topic}-{partition} from base offset {base_offset}: past i64::MAX")]
    OffsetOverflow {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The base offset the SPU sent.
        base_offset: i64,
        /// How many records it acknowledged there.
        records: u64,
    },
    /// The cluster client failed: the topic or partition does not exist
    /// ([`ClientError::TopicNotFound`], [`ClientError::PartitionNotFound`]), no leader was
    /// online in time ([`ClientError::MetadataTimeout`]), or the connection failed
    /// ([`ClientError::Connection`]).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `max_retries` retries failed.
    #[error("gave up after {attempts} attempts in {elapsed:?}: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time since the batch's first record was queued.
        elapsed: Duration,
        /// The last failure.
        last: Box<ProducerError>,
    },
    /// The record was not acknowledged within its delivery timeout
    /// ([`super::RetryPolicy::timeout`]), retries included. It is reported at its own
    /// deadline even while a request carrying it still waits for an answer, so it may yet
    /// be stored: at-least-once callers that resend it may store it twice.
    #[error(
        "not delivered within the delivery timeout of {timeout:?} ({attempts} attempts): {last}"
    )]
    DeliveryTimeout {
        /// The delivery timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
        /// The last failure of an attempt (a leader lookup the deadline cut short is not
        /// one: the failure that made the batch wait for it is reported instead).
        last: Box<ProducerError>,
    },
    /// The producer stopped at its drain deadline before the record was acknowledged: it may
    /// or may not have been stored.
    #[error(
        "the producer stopped at its drain deadline ({0:?}) before the record was acknowledged"
    )]
    DrainDeadline(Duration),
    /// The producer is closed.
    #[error("the producer is closed")]
    Closed,
}

impl From<ConnectionError> for ProducerError {
    fn from(e: ConnectionError) -> Self {
        ProducerError::Client(e.into())
    }
}

impl ProducerError {
    /// The error for a partition the SPU refused with `code`.
    pub(crate) fn refused(topic: &str, partition: u32, code: ErrorCode) -> Self {
        let topic = topic.to_owned();
        match code {
            ErrorCode::MirrorProduceFromHome | ErrorCode::MirrorProduceFromRemoteNotAllowed => {
                ProducerError::MirrorDirection {
                    topic,
                    partition,
                    code,
                }
            }
            code => ProducerError::Server {
                topic,
                partition,
                code,
            },
        }
    }

    /// Whether sending the same batch again may succeed; for the SPU's codes,
    /// [`ErrorCode::is_retriable`] decides.
    pub fn is_retriable(&self) -> bool {
        match self {
            ProducerError::Client(e) => e.is_retriable(),
            ProducerError::Server { code, .. } => code.is_retriable(),
            _ => false,
        }
    }

    /// Whether the records may be stored though no acknowledgement came: the request may
    /// have reached the SPU before the connection died or the answer was late, or the SPU
    /// wrote them and its replicas did not confirm in time (`RequestTimedOut`). Sending
    /// them again may store them twice (counted in
    /// [`crate::telemetry::PRODUCER_POSSIBLY_DUPLICATED`]).
    pub fn possibly_stored(&self) -> bool {
        match self {
            ProducerError::Client(ClientError::Connection(e)) => e.may_have_reached_the_server(),
            ProducerError::Server { code, .. } => {
                matches!(code, ErrorCode::RequestTimedOut { .. })
            }
            _ => false,
        }
    }

    /// Whether a batch already queued, whose delivery failed with this, is retried under
    /// [`super::DeliveryGuarantee::AtLeastOnce`]: a [retriable](ProducerError::is_retriable)
    /// failure, or its topic or partition missing. The topic existed when the records were
    /// queued: it may be in the middle of being deleted and recreated, so the records wait
    /// for it until their delivery timeout (records of a partition the recreated topic does
    /// not have are moved to the ones it has).
    pub(crate) fn retries_when_queued(&self) -> bool {
        self.is_retriable()
            || matches!(
                self,
                ProducerError::Client(
                    ClientError::TopicNotFound(_) | ClientError::PartitionNotFound { .. }
                )
            )
    }

    /// The `code` label of [`crate::telemetry::PRODUCE_ERRORS`]: the server code's name, or
    /// the client's reason.
    pub(crate) fn metric_code(&self) -> &'static str {
        match self {
            ProducerError::Server { code, .. } | ProducerError::MirrorDirection { code, .. } => {
                crate::telemetry::code(code)
            }
            // The label it had when it was reported as a made-up `Other` server code.
            ProducerError::MissingPartition { .. } => "Other",
            ProducerError::RetriesExhausted { .. } => "retries_exhausted",
            ProducerError::DeliveryTimeout { .. } => "delivery_timeout",
            ProducerError::DrainDeadline(_) => "drain_deadline",
            ProducerError::Closed => "closed",
            _ => "client",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_missing_from_the_answer_is_final_and_keeps_its_label() {
        let error = ProducerError::MissingPartition {
            topic: "t".into(),
            partition: 1,
        };
        assert!(!error.is_retriable());
        assert_eq!(error.metric_code(), "Other");
        assert_eq!(
            error.to_string(),
            "the SPU's produce answer has no entry for t-1"
        );
        let refused = ProducerError::Server {
            topic: "t".into(),
            partition: 1,
            code: ErrorCode::SpuOffline,
        };
        assert!(refused.is_retriable());
        assert_eq!(refused.metric_code(), "SpuOffline");
        for code in [
            ErrorCode::MirrorProduceFromHome,
            ErrorCode::MirrorProduceFromRemoteNotAllowed,
        ] {
            let refused = ProducerError::refused("t", 0, code.clone());
            assert!(
                matches!(&refused, ProducerError::MirrorDirection { code: c, .. } if *c == code),
                "{refused:?}"
            );
            assert!(!refused.is_retriable());
            assert!(refused.to_string().contains("other side of the mirror"));
        }
    }
}
