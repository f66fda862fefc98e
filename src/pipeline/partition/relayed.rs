//! A per-record worker's records, handed in batches to the session's relay on the worker's
//! thread (see [`crate::pipeline::relay`]), and its answers taken as they come: each chunk
//! of records answered is sent on and acknowledged as a message of its own would be.

use std::collections::VecDeque;
use std::task::{Context, Poll};

use super::read::Read;
use super::{Acked, Flight, PartitionTask, Pending, Stop};
use crate::pipeline::failure::{Failure, FailureKind};
use crate::pipeline::relay::{self, Chunk, Link};
use crate::pipeline::worker::{Answer, Output, WorkerKind};

/// What a message handed on waits for.
pub(super) enum Awaited {
    /// The worker's answer (or a record given up on: its dead-letter write).
    Answer(Answer),
    /// The session's relay's answers, chunk by chunk.
    Relayed,
    /// Nothing: records answered and taken (a chunk's).
    Taken,
}

/// What came for the oldest message.
pub(super) enum Reply {
    Answer(Result<Vec<Output>, Failure>),
    Chunk(Chunk),
}

/// A session's relay, to the worker incarnation it was started for.
pub(super) struct SessionRelay {
    link: Link,
    generation: u64,
}

/// Poll for what comes next for the oldest of `answers` (a [`Flight`]'s).
pub(super) fn poll_reply(
    answers: &mut VecDeque<Pending>,
    relay: &mut Option<SessionRelay>,
    cx: &mut Context<'_>,
) -> Poll<Reply> {
    let Some(front) = answers.front_mut() else {
        return Poll::Pending;
    };
    match (&mut front.awaited, relay) {
        (Awaited::Answer(answer), _) => answer.as_mut().poll(cx).map(Reply::Answer),
        (Awaited::Relayed, Some(relay)) => match relay.link.chunks.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(chunk)) => Poll::Ready(Reply::Chunk(chunk)),
            // The relay ended without a last word: its arbiter was stopped (the worker
            // replaced, or the system stopping).
            Poll::Ready(None) => Poll::Ready(Reply::Chunk(Chunk {
                outputs: Vec::new(),
                records: 0,
                last: 0,
                next: 0,
                bytes: 0,
                failed: Some((
                    Failure::new(FailureKind::Panic, "the worker's arbiter stopped"),
                    relay.link.front.seq().unwrap_or(u64::MAX),
                )),
            })),
        },
        (Awaited::Relayed | Awaited::Taken, _) => Poll::Pending,
    }
}

impl Flight {
    /// The oldest record (or records, in one message) of `pending` not answered yet, and
    /// its place at the worker (`None`: a relay has not sent it yet).
    pub(super) fn waiting_for(&self, pending: &Pending) -> (Acked, Option<u64>) {
        match (&pending.awaited, &self.relay) {
            (Awaited::Relayed, Some(relay)) => {
                let seq = relay.link.front.seq();
                (single(pending.unit, pending.unit.first), seq)
            }
            _ => (pending.unit, Some(pending.seq)),
        }
    }
}

/// The record at `offset` (the first not answered of `unit`, a relayed message's), alone.
fn single(unit: Acked, offset: i64) -> Acked {
    Acked {
        units: 1,
        first: offset,
        last: offset,
        records: 1,
        bytes: 0,
        ..unit
    }
}

impl PartitionTask {
    /// Whether records for worker `index` go through the session's relay: it runs already,
    /// or the worker is a per-record worker (the relay is started now).
    pub(super) fn relays(&self, index: usize, flight: &mut Flight) -> bool {
        if flight.relay.is_some() {
            return true;
        }
        let slot = self.workers.slot(index);
        let WorkerKind::Records(worker) = &slot.recipient.kind else {
            return false;
        };
        let link = relay::start(worker.clone(), slot.places.clone(), slot.arbiter().as_ref());
        let generation = slot.generation;
        flight.relay = Some(SessionRelay { link, generation });
        true
    }

    /// Hand `read` to the session's relay (see [`PartitionTask::relays`]); the worker
    /// incarnation it goes to.
    pub(super) fn relay(&self, read: Read, flight: &Flight) -> u64 {
        let relay = flight.relay.as_ref().expect("started by `relays`");
        let records = match read {
            Read::One(record) => vec![record],
            Read::Batch(records) => records,
        };
        // A relay that ended (its arbiter stopped) fails the batch: its link reads the end.
        let _ = relay.link.batches.send(records);
        relay.generation
    }

    /// Take a relay's `chunk` for the oldest message: the records answered go to the sink
    /// as one message's; a failure of the record after them stops the session as its own
    /// message's would.
    pub(super) async fn take_chunk(
        &self,
        chunk: Chunk,
        flight: &mut Flight,
        worker_index: usize,
    ) -> Result<(), Stop> {
        let Chunk {
            outputs,
            records,
            last,
            next,
            bytes,
            failed,
        } = chunk;
        let front = flight
            .answers
            .front_mut()
            .expect("a chunk is the oldest message's");
        if failed.is_none() && records >= front.unit.records {
            let pending = flight.answers.pop_front().expect("checked");
            return self
                .take_answer(pending, Ok(outputs), flight, worker_index)
                .await;
        }
        if records > 0 {
            let unit = front.unit;
            let answered = Acked {
                units: records as u64,
                last,
                records,
                bytes,
                ..unit
            };
            front.unit = Acked {
                id: unit.id.nth(records as u64),
                units: unit.units - records as u64,
                first: next,
                records: unit.records - records,
                bytes: unit.bytes - bytes,
                ..unit
            };
            let piece = Pending {
                unit: answered,
                generation: front.generation,
                seq: front.seq,
                awaited: Awaited::Taken,
                sender: None,
                span: front.span.clone(),
                retry: false,
            };
            self.take_answer(piece, Ok(outputs), flight, worker_index)
                .await?;
        }
        let Some((failure, seq)) = failed else {
            return Ok(());
        };
        let mut pending = flight.answers.pop_front().expect("checked");
        let offset = failure.offset.unwrap_or(pending.unit.first);
        pending.unit = single(pending.unit, offset);
        pending.seq = seq;
        pending.awaited = Awaited::Taken;
        self.take_answer(pending, Err(failure.at(offset)), flight, worker_index)
            .await
    }
}
