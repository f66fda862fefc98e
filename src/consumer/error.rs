//! Consumer errors.

use thiserror::Error;

use crate::cluster::ClientError;
use crate::connection::ConnectionError;
use crate::protocol::{DecodeError, ErrorCode};

/// Why a consumer stopped or a call failed.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// A SmartModule failed on a record.
    #[error("SmartModule error at offset {offset}: {message}")]
    SmartModule {
        /// The record's offset (or the stream position when the error has none).
        offset: i64,
        /// The SPU's code.
        code: ErrorCode,
        /// What the SmartModule said.
        message: String,
    },
    /// A batch is larger than the largest fetch allowed.
    #[error("the batch at offset {offset} needs more than {max_bytes} bytes per fetch (max_bytes_ceiling)")]
    BatchTooLarge {
        /// Where the batch starts.
        offset: i64,
        /// The ceiling reached.
        max_bytes: i32,
    },
    /// The SPU refused the stream.
    #[error("SPU error on {topic}-{partition}: {code}")]
    Server {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The code.
        code: ErrorCode,
    },
    /// The SPU's answer has no entry for the partition asked about (a broken answer).
    #[error("the SPU's {api} answer has no entry for {topic}-{partition}")]
    MissingPartition {
        /// The request's API name (`fetch`, `fetch_offsets`).
        api: &'static str,
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },
    /// The SPU did not store a commit. The SPU stores it on the leader of the
    /// `consumer-offset` system partition, which may be restarting or moving: retriable as
    /// [`ErrorCode::is_retriable_commit`] says.
    #[error("commit on {topic}-{partition} not stored: {code}")]
    Commit {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The SPU's code.
        code: ErrorCode,
    },
    /// The SPU did not take a stream's acknowledgement (the offset update after a frame,
    /// without which it sends no further frame), after retries, or the connection it went
    /// on is gone: the stream is reopened from `offset`. Retriable.
    #[error("acknowledgement of {topic}-{partition} up to offset {offset} failed: {cause}")]
    Unacknowledged {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The offset acknowledged (the next one wanted).
        offset: i64,
        /// Why it failed.
        cause: String,
    },
    /// A record batch did not decode.
    #[error("corrupt data at offset {offset}: {cause}")]
    Corrupt {
        /// The batch's base offset.
        offset: i64,
        /// The decoder's error.
        cause: DecodeError,
    },
    /// The SPU sent an offset the consumer cannot go on from: one past the range of `i64`,
    /// or a position behind the stream's where it must be ahead.
    #[error("the SPU's {what} {offset} is out of range")]
    OffsetOutOfRange {
        /// Which offset.
        what: &'static str,
        /// Its value.
        offset: i64,
    },
    /// The consumer's options cannot work (e.g. a fetch size that is not positive, or
    /// frames too small for any record).
    #[error("invalid consumer options: {0}")]
    InvalidOptions(String),
    /// The cluster client failed, or reconnecting gave up: the topic or partition does not
    /// exist ([`ClientError::TopicNotFound`], [`ClientError::PartitionNotFound`]), no leader
    /// was online in time ([`ClientError::MetadataTimeout`]), or the connection failed
    /// ([`ClientError::Connection`]).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A commit was asked of a consumer without a consumer id.
    #[error("offset commits need a consumer id")]
    NoConsumerId,
    /// The consumer stopped.
    #[error("the consumer is stopped")]
    Stopped,
    /// No stream session to commit on right now (the stream is reconnecting); retry.
    #[error("no stream session to commit on (reconnecting); retry the commit")]
    NoSession,
    /// A guarded commit ([`crate::consumer::Committer::commit_guarded`]) was refused by its
    /// guard: the caller no longer owns the partition (e.g. a group member's lease ended).
    #[error("commit of offset {offset} refused: the commit guard no longer holds")]
    Fenced {
        /// The offset that was not committed.
        offset: i64,
    },
    /// A guarded commit found a later offset already stored under the consumer id: another
    /// owner moved the partition on, and committing would move it backwards.
    #[error("commit of offset {offset} refused: offset {stored} is already stored")]
    CommitBehind {
        /// The offset that was not committed.
        offset: i64,
        /// The offset already stored.
        stored: i64,
    },
}

impl From<ConnectionError> for ConsumerError {
    fn from(e: ConnectionError) -> Self {
        ConsumerError::Client(e.into())
    }
}

impl ConsumerError {
    /// Whether the SPU does not know a stored SmartModule of the stream (yet).
    pub fn is_missing_smartmodule(&self) -> bool {
        matches!(
            self,
            ConsumerError::SmartModule {
                code: ErrorCode::SmartModuleNotFound { .. },
                ..
            }
        )
    }

    /// Whether retrying (reconnecting and resuming, or committing again) may get past it;
    /// for the SPU's codes, [`ErrorCode::is_retriable`] decides.
    pub fn is_retriable(&self) -> bool {
        match self {
            ConsumerError::NoSession | ConsumerError::Unacknowledged { .. } => true,
            ConsumerError::Commit { code, .. } => code.is_retriable_commit(),
            ConsumerError::Client(e) => e.is_retriable(),
            ConsumerError::Server { code, .. } => code.is_retriable(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_missing_from_the_answer_ends_the_stream() {
        let error = ConsumerError::MissingPartition {
            api: "fetch_offsets",
            topic: "t".into(),
            partition: 2,
        };
        assert!(!error.is_retriable());
        assert_eq!(
            error.to_string(),
            "the SPU's fetch_offsets answer has no entry for t-2"
        );
    }
}
