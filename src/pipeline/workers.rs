//! A pipeline's workers: each runs on an arbiter (a thread) the pipeline owns, where the
//! user's factory starts it, so that a panic takes down only that worker; a failed worker's
//! arbiter is stopped when it is replaced, and every arbiter when the pipeline ends. A
//! worker that panics once an hour for months costs no thread.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_rt::Arbiter;

use super::relay::Places;
use super::worker::Worker;

/// Builds worker `i` (starting its actor on the current arbiter).
pub(crate) type Factory = Arc<dyn Fn(usize) -> Worker + Send + Sync>;

/// How long a factory may take to start a worker.
const FACTORY_TIMEOUT: Duration = Duration::from_secs(30);

/// The pipeline's workers, by index.
pub(crate) struct Workers {
    factory: Factory,
    slots: Vec<Mutex<Slot>>,
}

/// One worker: its current actor and arbiter, which incarnation that is, how many messages
/// went to it, and the oldest message that failed with its latest failed incarnation.
pub(crate) struct Slot {
    pub(crate) recipient: Worker,
    arbiter: Option<Arbiter>,
    pub(crate) generation: u64,
    /// Messages sent to the worker so far, from every partition (each message's place),
    /// and the highest place of a message the worker answered.
    pub(crate) places: Places,
    /// The oldest message (by place) that failed with each recent generation that failed.
    blame: BTreeMap<u64, u64>,
}

/// Failed generations whose blame is kept (the partitions that saw one fail check it a
/// moment later; by then the worker may have failed again, several times).
const BLAMED_GENERATIONS: usize = 64;

impl Slot {
    /// Message `seq`, sent to incarnation `generation`, failed because the worker stopped
    /// or hung (which fails every message waiting at it).
    pub(crate) fn blame(&mut self, generation: u64, seq: u64) {
        let oldest = self.blame.entry(generation).or_insert(seq);
        *oldest = (*oldest).min(seq);
        while self.blame.len() > BLAMED_GENERATIONS {
            self.blame.pop_first();
        }
    }

    /// Whether the worker answered a message sent after message `seq`: it is not stuck on
    /// it (a message it has not answered is one it awaits, e.g. an answer future that
    /// hangs, while it goes on with others).
    pub(crate) fn answered_after(&self, seq: u64) -> bool {
        self.places.answered.load(Ordering::Relaxed) > seq
    }

    /// The worker's arbiter (none outside an actix `System`).
    pub(crate) fn arbiter(&self) -> Option<actix_rt::ArbiterHandle> {
        self.arbiter.as_ref().map(|arbiter| arbiter.handle())
    }

    /// Whether message `seq` is the oldest reported to have failed with `generation`: the
    /// one the worker was handling when it stopped or hung (it handles its mailbox in order).
    pub(crate) fn blamed(&self, generation: u64, seq: u64) -> bool {
        self.blame.get(&generation) == Some(&seq)
    }
}

impl Workers {
    /// Start `count` workers, each on an arbiter of its own.
    ///
    /// # Errors
    /// The factory panicked or did not return within 30 s.
    pub(crate) fn start(factory: Factory, count: usize) -> Result<Self, String> {
        let slots = (0..count)
            .map(|i| {
                let (recipient, arbiter) = spawn(&factory, i)?;
                Ok(Mutex::new(Slot {
                    recipient,
                    arbiter,
                    generation: 0,
                    places: Places::default(),
                    blame: BTreeMap::new(),
                }))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { factory, slots })
    }

    /// How many workers there are.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Worker `index`'s slot.
    pub(crate) fn slot(&self, index: usize) -> MutexGuard<'_, Slot> {
        self.slots[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace the worker in `slot` (worker `index`) with a new one on a new arbiter, and
    /// stop the old arbiter.
    ///
    /// # Errors
    /// As [`Workers::start`].
    pub(crate) fn replace(&self, slot: &mut Slot, index: usize) -> Result<(), String> {
        let (recipient, arbiter) = spawn(&self.factory, index)?;
        slot.recipient = recipient;
        if let Some(old) = std::mem::replace(&mut slot.arbiter, arbiter) {
            old.stop();
        }
        slot.generation += 1;
        Ok(())
    }

    /// Stop every worker's arbiter (the pipeline has ended).
    pub(crate) fn stop(&self) {
        for index in 0..self.slots.len() {
            if let Some(arbiter) = self.slot(index).arbiter.take() {
                arbiter.stop();
            }
        }
    }
}

/// Worker `index` from `factory`, run on a new arbiter (inside an actix `System`; outside
/// one, on the current thread, with no arbiter to own).
fn spawn(factory: &Factory, index: usize) -> Result<(Worker, Option<Arbiter>), String> {
    if actix_rt::System::try_current().is_none() {
        return Ok((factory(index), None));
    }
    let arbiter = Arbiter::new();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let factory = factory.clone();
    arbiter.spawn_fn(move || {
        let _ = tx.send(factory(index));
    });
    // The factory only starts an actor: a short wait on a fresh thread.
    match rx.recv_timeout(FACTORY_TIMEOUT) {
        Ok(worker) => Ok((worker, Some(arbiter))),
        Err(error) => {
            arbiter.stop();
            Err(format!(
                "the worker factory did not start worker {index}: {error}"
            ))
        }
    }
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("workers", &self.slots.len())
            .finish_non_exhaustive()
    }
}
