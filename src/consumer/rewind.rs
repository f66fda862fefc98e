//! A partition log that went backwards: its high watermark is below the stream's next
//! offset (the topic was recreated, or a replica restored from an older copy). Waiting for
//! the log to reach the old position again would skip what is written meanwhile, or wait
//! forever; the stream says so once and resumes where its offset policy
//! ([`ConsumerOptions::offset`](super::ConsumerOptions::offset)) points in the new range.
//!
//! ```text
//!  stream refused past the end / resumed after a failure
//!      ──FetchOffsets──▶ high watermark < next ─▶ warn, next = policy(start, hw), reopen
//!                      └ otherwise            ─▶ as before (the error stands)
//! ```

use super::error::ConsumerError;
use super::fetcher::Fetcher;
use super::stream::fetch_offsets;
use crate::connection::Connection;
use crate::protocol::ErrorCode;

/// Whether `error` may mean the log went backwards: the SPU refused to read past its end
/// (a 0.18 SPU says so with `Other`: "start offset: N is greater than leo: M";
/// `OffsetOutOfRange` elsewhere), or the topic was deleted under the stream.
pub(crate) fn may_have_rewound(error: &ConsumerError) -> bool {
    matches!(
        error,
        ConsumerError::Server {
            code: ErrorCode::Other(_) | ErrorCode::OffsetOutOfRange | ErrorCode::TopicDeleted,
            ..
        }
    )
}

/// Where a consumer at `next` resumes in a log now spanning `start..end`, if the log went
/// backwards past it: `policy` resolved in the new range (an absolute offset clamped to it).
pub(crate) fn resume_at(policy: super::Offset, next: i64, start: i64, end: i64) -> Option<i64> {
    (end < next).then(|| policy.resolve(start, end).clamp(start, end.max(start)))
}

impl Fetcher {
    /// After `error` ended the stream: if the log went backwards, move to where the offset
    /// policy says and return `true` (reopen there); else `false` (the error stands).
    pub(crate) async fn resume_if_rewound(&mut self, error: &ConsumerError) -> bool {
        if !may_have_rewound(error) {
            return false;
        }
        let leader = match self
            .client
            .fresh_partition_leader(&self.topic, self.partition)
            .await
        {
            Ok(leader) => leader,
            Err(_) => return false,
        };
        match self.client.spu_connection(leader).await {
            Ok(conn) => self.check_position(&conn).await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Compare the stream's position with the partition's range on `conn` (a stream being
    /// resumed after a failure); `true` when the log went backwards and the position moved.
    ///
    /// # Errors
    /// The offsets request failing.
    pub(crate) async fn check_position(
        &mut self,
        conn: &Connection,
    ) -> Result<bool, ConsumerError> {
        let (start, end) = fetch_offsets(conn, &self.topic, self.partition).await?;
        let Some(to) = resume_at(self.options.offset, self.next, start, end) else {
            return Ok(false);
        };
        tracing::warn!(
            topic = %self.topic,
            partition = self.partition,
            next = self.next,
            high_watermark = end,
            resume_at = to,
            policy = ?self.options.offset,
            "partition log went backwards (high watermark below the next offset: recreated or truncated); resuming by the offset policy"
        );
        self.next = to;
        self.committed = self.committed.min(to - 1);
        if self.options.disable_continuous {
            self.end = Some(end);
        }
        self.session = None;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::Offset;

    #[test]
    fn only_a_high_watermark_below_the_next_offset_moves_the_stream() {
        assert_eq!(resume_at(Offset::Beginning, 10, 0, 10), None);
        assert_eq!(resume_at(Offset::Beginning, 10, 0, 4), Some(0));
        assert_eq!(resume_at(Offset::End, 10, 0, 4), Some(4));
        assert_eq!(resume_at(Offset::FromEnd(1), 10, 2, 4), Some(3));
        // An absolute start past the new end would be refused again: clamped.
        assert_eq!(resume_at(Offset::Absolute(8), 10, 0, 4), Some(4));
    }

    #[test]
    fn reads_refused_past_the_end_and_deleted_topics_may_mean_a_rewind() {
        let server = |code| ConsumerError::Server {
            topic: "t".into(),
            partition: 0,
            code,
        };
        let beyond = ErrorCode::Other("start offset: 9 is greater than leo: 3".into());
        assert!(may_have_rewound(&server(beyond)));
        assert!(may_have_rewound(&server(ErrorCode::TopicDeleted)));
        assert!(!may_have_rewound(&server(ErrorCode::NotLeaderForPartition)));
        assert!(!may_have_rewound(&ConsumerError::Stopped));
    }
}
