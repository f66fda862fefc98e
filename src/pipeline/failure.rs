//! Why a record failed: a typed cause, so that the failure policy, the metrics and the
//! dead-letter envelope can tell a worker's error from a panic, a timeout, a sink refusal or
//! a record that could not be decoded.

use actix::MailboxError;

use super::worker::WorkerError;

/// What kind of failure a record met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The worker answered an error ([`WorkerError`]).
    Worker,
    /// The worker stopped without answering: it panicked (or stopped itself).
    Panic,
    /// The worker left the record unanswered longer than
    /// [`PipelineConfig::worker_timeout`](super::PipelineConfig::worker_timeout) (it was
    /// replaced if it answered nothing after it either).
    Timeout,
    /// The sink refused an output or did not acknowledge it (the producer gave up after its
    /// retries and delivery timeout), or the dead-letter topic could not be written.
    Sink,
    /// The record's key or value could not be decoded for a typed worker: it never reached
    /// the worker. Not retried (decoding again gives the same answer).
    Decode,
    /// A typed worker's output could not be encoded. Not retried.
    Encode,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: [FailureKind; 6] = [
        FailureKind::Worker,
        FailureKind::Panic,
        FailureKind::Timeout,
        FailureKind::Sink,
        FailureKind::Decode,
        FailureKind::Encode,
    ];

    /// The kind's name, as metric labels and dead-letter envelopes carry it: `worker`,
    /// `panic`, `timeout`, `sink`, `decode` or `encode`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Worker => "worker",
            FailureKind::Panic => "panic",
            FailureKind::Timeout => "timeout",
            FailureKind::Sink => "sink",
            FailureKind::Decode => "decode",
            FailureKind::Encode => "encode",
        }
    }

    /// The kind named `name` (as [`FailureKind::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether trying again can give another answer: a record that cannot be decoded or
    /// whose output cannot be encoded fails the same way every time.
    pub fn is_retriable(self) -> bool {
        !matches!(self, FailureKind::Decode | FailureKind::Encode)
    }

    /// Whether a worker's answer of this kind means the worker is gone (it must be replaced).
    pub(crate) fn replaces_worker(self) -> bool {
        matches!(self, FailureKind::Panic | FailureKind::Timeout)
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed attempt at a record (or a batch of them): its kind, what was said, and the
/// record it names when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} failure: {message}")]
pub struct Failure {
    /// The kind.
    pub kind: FailureKind,
    /// The error text.
    pub message: String,
    /// The offset of the record that failed, when the failure names one (a batch worker's
    /// [`WorkerError::at`], a record that could not be decoded).
    pub offset: Option<i64>,
}

impl Failure {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            offset: None,
        }
    }

    /// This failure, naming the record at `offset`.
    pub fn at(mut self, offset: i64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The failure a worker's answer means: its error, or the mailbox's.
    pub(crate) fn from_answer<T>(
        answer: Result<Result<T, WorkerError>, MailboxError>,
    ) -> Result<T, Failure> {
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Failure {
                kind: FailureKind::Worker,
                message: error.message,
                offset: error.offset,
            }),
            Err(MailboxError::Closed) => Err(Failure::new(
                FailureKind::Panic,
                "the worker stopped without answering (panicked?)",
            )),
            Err(MailboxError::Timeout) => {
                Err(Failure::new(FailureKind::Timeout, "the worker timed out"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(FailureKind::from_name("other"), None);
    }

    #[test]
    fn answers_become_typed_failures() {
        let error = WorkerError::at(7, "bad");
        let failure = Failure::from_answer::<()>(Ok(Err(error))).unwrap_err();
        assert_eq!(
            (failure.kind, failure.offset),
            (FailureKind::Worker, Some(7))
        );
        let closed = Failure::from_answer::<()>(Err(MailboxError::Closed)).unwrap_err();
        assert_eq!(closed.kind, FailureKind::Panic);
        let timeout = Failure::from_answer::<()>(Err(MailboxError::Timeout)).unwrap_err();
        assert_eq!(timeout.kind, FailureKind::Timeout);
    }
}
