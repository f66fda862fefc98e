//! Offset commits of a partition stream. Commits ride on a stream session (the SPU finds
//! the consumer id through the stream id): the live stream's, or one opened for commits.
//! A guarded commit checks its [`CommitGuard`] and the stored offset first.

use std::fmt;
use std::sync::Arc;

use tokio::sync::oneshot;
use tracing::Instrument;

use super::error::ConsumerError;
use super::fetcher::{Fetcher, SESSION_MAX_BYTES, SESSION_TIMEOUT};
use crate::protocol::spu::{
    FetchConsumerOffsetsRequest, ReplicaKey, StreamFetchRequest, UpdateConsumerOffsetRequest,
};
use crate::protocol::ErrorCode;

/// A condition a guarded commit must meet right before it is stored (see
/// [`Committer::commit_guarded`](super::Committer::commit_guarded)): for example that a
/// group member's lease still runs. Cheap to clone.
#[derive(Clone)]
pub struct CommitGuard(Arc<dyn Fn() -> bool + Send + Sync>);

impl CommitGuard {
    /// A guard that holds while `holds` returns true.
    pub fn new(holds: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(holds))
    }

    /// Whether the guard holds now.
    pub fn holds(&self) -> bool {
        (self.0)()
    }
}

impl fmt::Debug for CommitGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CommitGuard").field(&self.holds()).finish()
    }
}

/// A commit asked of the fetcher: the offset (the last processed record), its guard, where
/// to answer, and the caller's span.
#[derive(Debug)]
pub(crate) struct CommitRequest {
    pub(crate) offset: i64,
    pub(crate) guard: Option<CommitGuard>,
    pub(crate) reply: oneshot::Sender<Result<(), ConsumerError>>,
    pub(crate) span: tracing::Span,
}

impl Fetcher {
    /// Store the offset `request` asks for, and answer it.
    pub(crate) async fn serve_commit(&mut self, request: CommitRequest) {
        let CommitRequest {
            offset,
            guard,
            reply,
            span,
        } = request;
        let result = async {
            match guard {
                None => self.commit(offset).await,
                Some(guard) => self.commit_guarded(offset, &guard).await,
            }
        }
        .instrument(span)
        .await;
        let _ = reply.send(result);
    }

    /// Check the guard, read the stored offset, check the guard again, then commit: a
    /// commit behind the stored offset, or after the guard stopped holding, is refused.
    async fn commit_guarded(
        &mut self,
        offset: i64,
        guard: &CommitGuard,
    ) -> Result<(), ConsumerError> {
        if !guard.holds() {
            return Err(ConsumerError::Fenced { offset });
        }
        if let Some(stored) = self.stored_offset().await? {
            if stored > offset {
                return Err(ConsumerError::CommitBehind { offset, stored });
            }
        }
        if !guard.holds() {
            return Err(ConsumerError::Fenced { offset });
        }
        self.commit(offset).await
    }

    pub(crate) async fn stored_offset(&self) -> Result<Option<i64>, ConsumerError> {
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

    /// Store `offset` for the consumer id. Commits ride on a stream session (the SPU finds
    /// the consumer id through the stream id). When there is none (the stream's connection
    /// was lost while the fetcher was idle, finished or waiting for the reader), open one: a
    /// stream from the last delivered record, kept only for its id.
    pub(crate) async fn commit(&mut self, offset: i64) -> Result<(), ConsumerError> {
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
            return Err(ConsumerError::Commit {
                topic: self.topic.to_string(),
                partition: self.partition,
                code: response.error_code,
            });
        }
        self.committed = offset;
        self.metrics.committed();
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
        let from = self.next.saturating_sub(1).max(0);
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
    pub(crate) async fn commit_delivered(&mut self) {
        if self.options.auto_commit.is_none() {
            return;
        }
        let delivered = self.read_ahead.delivered();
        if self.options.consumer_id.is_some() && delivered > self.committed {
            match self.commit(delivered).await {
                // Once per outage; the failures in between are debug.
                Err(error) if !self.commits_failing => {
                    self.commits_failing = true;
                    tracing::warn!(topic = %self.topic, partition = self.partition, %error, "offset commits failing; retrying on each tick");
                }
                Err(error) => {
                    tracing::debug!(topic = %self.topic, partition = self.partition, %error, "offset commit failed again");
                }
                Ok(()) if self.commits_failing => {
                    self.commits_failing = false;
                    tracing::info!(topic = %self.topic, partition = self.partition, offset = delivered, "offset commits resumed");
                }
                Ok(()) => {}
            }
        }
    }
}
