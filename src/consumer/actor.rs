//! `PartitionConsumerActor`: delivers a partition's records to a user actor, with at most
//! `max_in_flight` messages unanswered (credit-based backpressure: a slow user actor slows
//! the fetch, nothing piles up).

use actix::prelude::*;

use super::error::ConsumerError;
use super::read_ahead::held_bytes;
use super::record::ConsumerRecord;
use super::stream::{Committer, PartitionStream};

/// A batch of records as they arrived, for the user actor.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Records(pub Vec<ConsumerRecord>);

/// The stream ended: `None` at the end of a stop-at-end stream, else the fatal error.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct StreamEnded(pub Option<ConsumerError>);

/// Store `offset` (the last processed record's) under the stream's consumer id: commit by
/// message, for actors that hold only the consumer's address. A record's committable
/// position is its offset ([`Commit::record`]).
///
/// ```no_run
/// # async fn demo(consumer: actix::Addr<actix_fluvio::consumer::PartitionConsumerActor>, record: actix_fluvio::consumer::ConsumerRecord) {
/// use actix_fluvio::consumer::Commit;
/// use actix_fluvio::Call;
///
/// consumer.call(Commit::record(&record)).await.unwrap();
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Message)]
#[rtype(result = "Result<(), ConsumerError>")]
pub struct Commit(pub i64);

impl Commit {
    /// Commit up to and including `record`.
    pub fn record(record: &ConsumerRecord) -> Self {
        Commit(record.offset)
    }
}

/// Pulls from a [`PartitionStream`] and sends [`Records`] to a recipient, waiting for each
/// message to be handled before fetching more (one batch in flight: the user actor's
/// mailbox never grows). A batch counts as delivered (what auto-commit stores) once the
/// recipient has handled it.
pub struct PartitionConsumerActor {
    stream: Option<PartitionStream>,
    committer: Committer,
    records: Recipient<Records>,
    ended: Option<Recipient<StreamEnded>>,
}

impl std::fmt::Debug for PartitionConsumerActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionConsumerActor")
            .finish_non_exhaustive()
    }
}

impl PartitionConsumerActor {
    /// An actor feeding `records` from `stream`, telling `ended` (if any) when it ends.
    pub fn new(
        stream: PartitionStream,
        records: Recipient<Records>,
        ended: Option<Recipient<StreamEnded>>,
    ) -> Self {
        Self {
            committer: stream.committer(),
            stream: Some(stream),
            records,
            ended,
        }
    }

    /// Commits offsets for the stream this actor reads.
    pub fn committer(&self) -> Committer {
        self.committer.clone()
    }
}

impl Actor for PartitionConsumerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(mut stream) = self.stream.take() else {
            return;
        };
        let records = self.records.clone();
        let ended = self.ended.clone();
        let read_ahead = stream.read_ahead();
        let pump = async move {
            let outcome = loop {
                match stream.next_held().await {
                    Some(Ok(batch)) => {
                        let (count, last) = (batch.len(), batch.last().map(|r| r.offset));
                        let bytes = held_bytes(&batch);
                        if records.send(Records(batch)).await.is_err() {
                            break None;
                        }
                        // Handled: delivered (auto-commit covers it), and its room is free.
                        if let Some(last) = last {
                            read_ahead.handed_out(count, bytes, last);
                        }
                    }
                    Some(Err(error)) => break Some(error),
                    None => break None,
                }
            };
            stream.stop();
            if let Some(ended) = ended {
                let _ = ended.send(StreamEnded(outcome)).await;
            }
        };
        ctx.spawn(pump.into_actor(self).map(|(), _, ctx| ctx.stop()));
    }
}

impl Handler<Commit> for PartitionConsumerActor {
    type Result = ResponseFuture<Result<(), ConsumerError>>;

    fn handle(&mut self, msg: Commit, _: &mut Context<Self>) -> Self::Result {
        let committer = self.committer.clone();
        Box::pin(async move { committer.commit(msg.0).await })
    }
}
