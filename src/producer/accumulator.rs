//! The accumulator: per-partition batches filling up, sealed batches waiting to be sent, and
//! which partitions have a request in flight. Pure state; the producer's handle pushes
//! records into it and its actor drains it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use foldhash::HashMap;

use super::config::RetryPolicy;
use super::slot::BatchSlot;
use crate::protocol::record::{Batch, BatchBuilder, BATCH_OVERHEAD};
use crate::protocol::Encode;

/// The longest a batch takes records for (at least its linger): its records' delivery
/// deadlines are its own, counted from its first record.
const MAX_SPAN: Duration = Duration::from_secs(1);

/// Bytes a batch opens with (or its first record's size, when larger); it grows with its
/// records up to `batch_size`. Opened at `batch_size`, a batch held that much from its first
/// record on: a batch sealed early (linger 0 seals when the partition is idle) or a large
/// `batch_size` on a trickle kept the configured maximum per partition and per batch in
/// flight.
const OPEN_BATCH_BYTES: usize = 1024;

/// A partition of a topic.
pub(crate) type PartitionKey = (Arc<str>, u32);

/// A batch no longer accepting records.
#[derive(Debug)]
pub(crate) struct Sealed {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    pub(crate) builder: Option<BatchBuilder>,
    /// The encoded (compressed) batch, built once and kept for retries.
    pub(crate) batch: Option<Batch>,
    pub(crate) slot: Arc<BatchSlot>,
    pub(crate) records: u32,
    pub(crate) reserved: usize,
    /// When its first record came: its delivery timeout counts from here.
    pub(crate) created_at: Instant,
    pub(crate) attempts: u32,
    /// Its records were sent to this partition explicitly (not by the partitioner): they
    /// are not moved elsewhere when the partition is gone.
    pub(crate) pinned: bool,
    /// Its deadline timer is set (see `ProducerActor::expire_while_waiting`).
    pub(crate) armed: bool,
}

#[derive(Debug)]
struct Open {
    builder: BatchBuilder,
    slot: Arc<BatchSlot>,
    reserved: usize,
    opened_at: Instant,
    pinned: bool,
}

#[derive(Debug, Default)]
struct Queue {
    open: Option<Open>,
    sealed: VecDeque<Sealed>,
    in_flight: bool,
}

/// Where a pushed record went.
#[derive(Debug)]
pub(crate) struct Pushed {
    pub(crate) slot: Arc<BatchSlot>,
    pub(crate) index: u32,
    /// A batch was opened or sealed: the actor should look.
    pub(crate) wake: bool,
}

/// Batches by partition.
#[derive(Debug)]
pub(crate) struct Accumulator {
    batch_size: usize,
    linger: Duration,
    max_request_size: usize,
    queues: HashMap<PartitionKey, Queue>,
    /// The producer is closing or closed: the handle queues no new records.
    closed: bool,
}

impl Accumulator {
    pub(crate) fn new(batch_size: usize, linger: Duration, max_request_size: usize) -> Self {
        Self {
            batch_size,
            linger,
            max_request_size,
            queues: HashMap::default(),
            closed: false,
        }
    }

    /// Refuse new records from now on (the actor still sends what is buffered). Set under
    /// the same lock the handle pushes under: a record is either in before, and seen by the
    /// actor's drain, or refused.
    pub(crate) fn close(&mut self) {
        self.closed = true;
    }

    /// Whether [`Accumulator::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Add a record; `reserved` buffer bytes are released when its batch settles. Records
    /// `pinned` to their partition and records the partitioner placed never share a batch.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        topic: &Arc<str>,
        partition: u32,
        key: Option<&[u8]>,
        value: &[u8],
        timestamp: i64,
        reserved: usize,
        now: Instant,
        pinned: bool,
    ) -> Pushed {
        // `reserved` is the record's encoded size (the buffer bytes it holds).
        let size = reserved;
        let queue = self.queues.entry((topic.clone(), partition)).or_default();
        let mut wake = false;
        if let Some(open) = &queue.open {
            let full = open.builder.payload_len() + size > self.batch_size;
            // A batch's records share its delivery deadline: one that keeps filling while
            // its partition waits (an outage) is closed after a second (or its linger), so
            // no record fails more than that before its own deadline.
            let spans = now.duration_since(open.opened_at) >= self.linger.max(MAX_SPAN);
            if !open.builder.is_empty() && (full || spans || open.pinned != pinned) {
                seal(queue, topic, partition);
                wake = true;
            }
        }
        let open = queue.open.get_or_insert_with(|| {
            wake = true;
            Open {
                builder: BatchBuilder::with_capacity(
                    timestamp,
                    size.max(self.batch_size.min(OPEN_BATCH_BYTES)),
                ),
                slot: Arc::new(BatchSlot::default()),
                reserved: 0,
                opened_at: now,
                pinned,
            }
        });
        let index = open.builder.len() as u32;
        open.builder.push(key, value, timestamp);
        open.reserved += reserved;
        let slot = open.slot.clone();
        if open.builder.payload_len() >= self.batch_size {
            seal(queue, topic, partition);
            wake = true;
        }
        Pushed { slot, index, wake }
    }

    /// Take what is ready to send from partitions with nothing in flight, marking them in
    /// flight. An open batch is sealed when it waited `linger`, or always with `force`.
    pub(crate) fn drain(&mut self, now: Instant, force: bool) -> Vec<Vec<Sealed>> {
        let mut out = Vec::new();
        for ((topic, partition), queue) in self.queues.iter_mut() {
            if queue.in_flight {
                continue;
            }
            let lingered = queue
                .open
                .as_ref()
                .is_some_and(|o| now.duration_since(o.opened_at) >= self.linger);
            if force || lingered {
                seal(queue, topic, *partition);
            }
            let mut taken = Vec::new();
            let mut bytes = 0;
            while let Some(next) = queue.sealed.front() {
                let size = next.encoded_len();
                if !taken.is_empty() && bytes + size > self.max_request_size {
                    break;
                }
                bytes += size;
                taken.extend(queue.sealed.pop_front());
            }
            if !taken.is_empty() {
                queue.in_flight = true;
                out.push(taken);
            }
        }
        out
    }

    /// The partition's request finished: it may send again.
    pub(crate) fn complete(&mut self, key: &PartitionKey) {
        if let Some(queue) = self.queues.get_mut(key) {
            queue.in_flight = false;
        }
    }

    /// Put batches back at the front of their partition's queue, in order, to retry.
    pub(crate) fn requeue(&mut self, batches: Vec<Sealed>) {
        for batch in batches.into_iter().rev() {
            let queue = self
                .queues
                .entry((batch.topic.clone(), batch.partition))
                .or_default();
            queue.in_flight = false;
            queue.sealed.push_front(batch);
        }
    }

    /// When the oldest open batch of an idle partition reaches its linger time.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queues
            .values()
            .filter(|q| !q.in_flight)
            .filter_map(|q| q.open.as_ref().map(|o| o.opened_at + self.linger))
            .min()
    }

    /// Every batch not yet handed to the actor's senders (open or sealed).
    pub(crate) fn pending_slots(&self) -> Vec<Arc<BatchSlot>> {
        self.queues
            .values()
            .flat_map(|q| {
                q.open
                    .iter()
                    .map(|o| o.slot.clone())
                    .chain(q.sealed.iter().map(|s| s.slot.clone()))
            })
            .collect()
    }

    /// Whether nothing is buffered or in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.queues
            .values()
            .all(|q| q.open.is_none() && q.sealed.is_empty() && !q.in_flight)
    }

    /// Remove every buffered batch (to fail them when the producer closes).
    pub(crate) fn take_all(&mut self) -> Vec<Sealed> {
        let mut out = Vec::new();
        for ((topic, partition), queue) in self.queues.iter_mut() {
            seal(queue, topic, *partition);
            out.extend(queue.sealed.drain(..));
        }
        out
    }
}

fn seal(queue: &mut Queue, topic: &Arc<str>, partition: u32) {
    if let Some(open) = queue.open.take() {
        let records = open.builder.len() as u32;
        queue.sealed.push_back(Sealed {
            topic: topic.clone(),
            partition,
            builder: Some(open.builder),
            batch: None,
            slot: open.slot,
            records,
            reserved: open.reserved,
            created_at: open.opened_at,
            attempts: 0,
            pinned: open.pinned,
            armed: false,
        });
    }
}

impl Sealed {
    /// How long the batch may still take to be acknowledged under `policy` (zero once its
    /// delivery timeout passed).
    pub(crate) fn time_left(&self, policy: &RetryPolicy) -> Duration {
        policy.timeout.saturating_sub(self.created_at.elapsed())
    }

    /// Approximate wire size (uncompressed payload plus batch header).
    pub(crate) fn encoded_len(&self) -> usize {
        match (&self.batch, &self.builder) {
            (Some(batch), _) => batch.encoded_len(0),
            (None, Some(builder)) => builder.payload_len() + BATCH_OVERHEAD,
            (None, None) => BATCH_OVERHEAD,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> Arc<str> {
        "t".into()
    }

    #[test]
    fn a_full_batch_is_sealed_and_the_next_record_opens_another() {
        let mut acc = Accumulator::new(110, Duration::from_secs(10), 1 << 20);
        let now = Instant::now();
        let first = acc.push(&topic(), 0, None, &[0; 40], 0, 40, now, false);
        assert!(first.wake);
        let second = acc.push(&topic(), 0, None, &[0; 40], 0, 40, now, false);
        assert!(!second.wake);
        assert!(Arc::ptr_eq(&first.slot, &second.slot));
        assert_eq!(second.index, 1);
        let third = acc.push(&topic(), 0, None, &[0; 40], 0, 40, now, false);
        assert!(third.wake && !Arc::ptr_eq(&first.slot, &third.slot));
        assert_eq!(third.index, 0);
        // Only the sealed batch is ready before the linger passes.
        let ready = acc.drain(now, false);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].len(), 1);
        assert_eq!(ready[0][0].records, 2);
        assert_eq!(ready[0][0].reserved, 80);
    }

    #[test]
    fn one_request_in_flight_per_partition_and_linger_seals() {
        let mut acc = Accumulator::new(1 << 20, Duration::from_millis(5), 1 << 20);
        let now = Instant::now();
        acc.push(&topic(), 0, Some(b"k"), b"v", 0, 10, now, false);
        assert!(acc.drain(now, false).is_empty());
        assert_eq!(acc.next_deadline(), Some(now + Duration::from_millis(5)));
        let later = now + Duration::from_millis(5);
        let ready = acc.drain(later, false);
        assert_eq!(ready.len(), 1);
        acc.push(&topic(), 0, None, b"v", 0, 10, later, false);
        assert!(acc.drain(later, true).is_empty(), "partition is in flight");
        acc.complete(&(topic(), 0));
        assert_eq!(acc.drain(later, true).len(), 1);
    }

    #[test]
    fn requeued_batches_go_first_in_order() {
        let mut acc = Accumulator::new(10, Duration::ZERO, 1 << 20);
        let now = Instant::now();
        for _ in 0..3 {
            acc.push(&topic(), 0, None, &[1; 20], 0, 20, now, false);
        }
        let first = acc.drain(now, true).pop().unwrap();
        assert_eq!(first.len(), 3);
        let slots: Vec<_> = first.iter().map(|s| s.slot.clone()).collect();
        acc.push(&topic(), 0, None, &[1; 20], 0, 20, now, false);
        acc.requeue(first);
        let again = acc.drain(now, true).pop().unwrap();
        assert_eq!(again.len(), 4);
        for (batch, slot) in again.iter().zip(&slots) {
            assert!(Arc::ptr_eq(&batch.slot, slot));
        }
    }

    #[test]
    fn a_batch_takes_records_for_a_second_at_most_while_its_partition_waits() {
        let mut acc = Accumulator::new(1 << 20, Duration::ZERO, 1 << 20);
        let now = Instant::now();
        let first = acc.push(&topic(), 0, None, b"v", 0, 10, now, false);
        acc.drain(now, true); // in flight: later records wait in an open batch
        let second = acc.push(&topic(), 0, None, b"v", 0, 10, now, false);
        let soon = acc.push(
            &topic(),
            0,
            None,
            b"v",
            0,
            10,
            now + Duration::from_millis(999),
            false,
        );
        assert!(Arc::ptr_eq(&second.slot, &soon.slot));
        let later = acc.push(
            &topic(),
            0,
            None,
            b"v",
            0,
            10,
            now + Duration::from_secs(1),
            false,
        );
        assert!(
            !Arc::ptr_eq(&soon.slot, &later.slot),
            "a new batch, a new deadline"
        );
        assert!(!Arc::ptr_eq(&first.slot, &second.slot));
    }

    #[test]
    fn a_request_never_grows_past_max_request_size() {
        let mut acc = Accumulator::new(100, Duration::ZERO, 250);
        let now = Instant::now();
        for _ in 0..10 {
            acc.push(&topic(), 0, None, &[1; 90], 0, 90, now, false);
        }
        let ready = acc.drain(now, true);
        assert!(ready[0].len() < 10);
        assert!(ready[0].iter().map(Sealed::encoded_len).sum::<usize>() <= 250);
    }

    #[test]
    fn pinned_records_and_placed_records_never_share_a_batch() {
        let mut acc = Accumulator::new(1 << 20, Duration::ZERO, 1 << 20);
        let now = Instant::now();
        let placed = acc.push(&topic(), 0, None, b"a", 0, 10, now, false);
        let pinned = acc.push(&topic(), 0, None, b"b", 0, 10, now, true);
        let pinned_too = acc.push(&topic(), 0, None, b"c", 0, 10, now, true);
        assert!(!Arc::ptr_eq(&placed.slot, &pinned.slot));
        assert!(Arc::ptr_eq(&pinned.slot, &pinned_too.slot));
        let ready = acc.drain(now, true).pop().unwrap();
        let flags: Vec<_> = ready.iter().map(|s| (s.pinned, s.records)).collect();
        assert_eq!(flags, vec![(false, 1), (true, 2)]);
    }
}
