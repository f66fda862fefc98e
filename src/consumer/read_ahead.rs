//! Read-ahead between a partition's fetcher and its reader: room for records fetched but not
//! yet handed out, counted in records and in bytes (keys and values), and the offset of the
//! last record handed out.
//!
//! The fetcher reserves room for a frame's records before it sends them; the reader gives
//! the room back as it hands records out. Each measure is bounded on its own: a frame of at
//! most `capacity` (records, or bytes) waits until it fits beside what is buffered; a larger
//! frame waits until none is buffered; a frame with none of a measure (records with empty keys
//! and values hold no bytes) never waits for it. So at most `max(capacity, the largest frame)` records,
//! and at most `max(byte capacity, bytes of the largest frame)` bytes, are buffered, however
//! frames and reads interleave: the room held in each measure is always
//! `min(buffered, capacity)`. Reserving is cancel-safe: dropped before it completes, it has
//! reserved nothing in either measure.
//!
//! Records count as buffered until they are handed out to the user, wherever they wait (the
//! stream's own buffer, a [`super::TopicStream`]'s, a message to a user actor); only records
//! handed out are delivered, and only delivered records are auto-committed.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use tokio::sync::{AcquireError, Semaphore, SemaphorePermit};

use super::record::ConsumerRecord;

/// One measure of the read-ahead (records or bytes): a capacity, what is buffered, and a
/// semaphore holding the room left.
#[derive(Debug)]
struct Room {
    capacity: usize,
    /// `capacity - min(buffered, capacity)` permits.
    free: Semaphore,
    buffered: AtomicUsize,
}

impl Room {
    /// Room for `capacity` (at least 1, at most `u32::MAX`: one frame takes at most
    /// `capacity` permits, and a semaphore grants at most `u32::MAX` at once).
    fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, (u32::MAX as usize).min(Semaphore::MAX_PERMITS));
        Self {
            capacity,
            free: Semaphore::new(capacity),
            buffered: AtomicUsize::new(0),
        }
    }

    /// Wait for room for `amount` (all the room when `amount` is larger); the permits go
    /// back when the returned guard is dropped, unless it is forgotten.
    async fn acquire(&self, amount: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        // `capacity` fits a u32 (see `new`), so the cast is exact.
        self.free
            .acquire_many(amount.min(self.capacity) as u32)
            .await
    }

    /// `amount` left the buffer: free the room it held.
    fn release(&self, amount: usize) {
        let before = match self
            .buffered
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some(b.saturating_sub(amount))
            }) {
            Ok(before) | Err(before) => before,
        };
        let after = before.saturating_sub(amount);
        let freed = before.min(self.capacity) - after.min(self.capacity);
        if freed > 0 {
            self.free.add_permits(freed);
        }
    }

    fn buffered(&self) -> usize {
        self.buffered.load(Ordering::Acquire)
    }
}

/// The read-ahead of one partition stream, shared by its fetcher and its reader.
#[derive(Debug)]
pub(crate) struct ReadAhead {
    records: Room,
    bytes: Room,
    /// Offset of the last record handed out (-1: none).
    delivered: AtomicI64,
}

/// Bytes a record holds in the read-ahead: its key and value.
pub(crate) fn held_bytes(records: &[ConsumerRecord]) -> usize {
    records.iter().map(ConsumerRecord::payload_len).sum()
}

impl ReadAhead {
    /// Room for `records` records and `bytes` bytes (each at least 1, at most `u32::MAX`).
    pub(crate) fn new(records: usize, bytes: usize) -> Self {
        Self {
            records: Room::new(records),
            bytes: Room::new(bytes),
            delivered: AtomicI64::new(-1),
        }
    }

    /// Wait until a frame of `records` records and `bytes` bytes may be buffered, then count
    /// them as buffered. Cancel-safe: dropped before it completes, it has reserved nothing.
    ///
    /// # Errors
    /// Never in practice: the room is never closed.
    pub(crate) async fn reserve(&self, records: usize, bytes: usize) -> Result<(), AcquireError> {
        // One reserver (the fetcher) at a time: holding the records' room while waiting for
        // the bytes' starves nobody, and dropping the guard gives it back.
        let records_room = self.records.acquire(records).await?;
        let bytes_room = self.bytes.acquire(bytes).await?;
        records_room.forget();
        bytes_room.forget();
        self.records.buffered.fetch_add(records, Ordering::AcqRel);
        self.bytes.buffered.fetch_add(bytes, Ordering::AcqRel);
        Ok(())
    }

    /// The reader handed out `records` records of `bytes` bytes (see [`held_bytes`]), the
    /// last of them at `last_offset`: they are delivered, and their room is free again.
    pub(crate) fn handed_out(&self, records: usize, bytes: usize, last_offset: i64) {
        if records == 0 {
            return;
        }
        self.delivered.store(last_offset, Ordering::Release);
        self.records.release(records);
        self.bytes.release(bytes);
    }

    /// As [`ReadAhead::handed_out`], for `records` (not empty).
    pub(crate) fn handed_out_all(&self, records: &[ConsumerRecord]) {
        if let Some(last) = records.last() {
            self.handed_out(records.len(), held_bytes(records), last.offset);
        }
    }

    /// Records reserved and not yet handed out.
    pub(crate) fn buffered(&self) -> usize {
        self.records.buffered()
    }

    /// Bytes (keys and values) of the records reserved and not yet handed out.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.bytes.buffered()
    }

    /// Offset of the last record handed out (-1: none).
    pub(crate) fn delivered(&self) -> i64 {
        self.delivered.load(Ordering::Acquire)
    }

    /// Whether a frame of `records` records and `bytes` bytes could be reserved right now
    /// (for tests).
    #[cfg(test)]
    fn fits(&self, records: usize, bytes: usize) -> bool {
        let fits = |room: &Room, n: usize| room.free.available_permits() >= n.min(room.capacity);
        fits(&self.records, records) && fits(&self.bytes, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Room that never binds, to test the other measure alone.
    const PLENTY: usize = 1 << 30;

    #[tokio::test]
    async fn a_frame_larger_than_the_capacity_waits_until_nothing_is_buffered() {
        let ahead = ReadAhead::new(10, PLENTY);
        ahead.reserve(25, 25).await.unwrap();
        assert_eq!(ahead.buffered(), 25);
        assert!(!ahead.fits(1, 1));
        ahead.handed_out(15, 15, 14);
        assert!(!ahead.fits(1, 1), "10 records still buffered: no room");
        ahead.handed_out(4, 4, 18);
        assert!(ahead.fits(4, 4) && !ahead.fits(5, 5));
        ahead.handed_out(6, 6, 24);
        assert_eq!((ahead.buffered(), ahead.delivered()), (0, 24));
        assert!(ahead.fits(25, 25));
        // The leak this type replaced: the room never grows past the capacity.
        assert_eq!(ahead.records.free.available_permits(), 10);
    }

    #[tokio::test]
    async fn large_records_are_bounded_by_their_bytes() {
        // Room for 10,000 records but 4 MiB: four 1 MiB records fill it.
        let mib = 1 << 20;
        let ahead = ReadAhead::new(10_000, 4 * mib);
        ahead.reserve(3, 3 * mib).await.unwrap();
        assert!(ahead.fits(1, mib) && !ahead.fits(2, 2 * mib));
        ahead.reserve(1, mib).await.unwrap();
        assert!(!ahead.fits(1, 1), "4 MiB buffered: no room for a byte more");
        assert_eq!((ahead.buffered(), ahead.buffered_bytes()), (4, 4 * mib));
        ahead.handed_out(2, 2 * mib, 1);
        // A frame larger than the byte room waits until nothing is buffered.
        assert!(!ahead.fits(1, 5 * mib));
        ahead.handed_out(2, 2 * mib, 3);
        assert!(ahead.fits(1, 5 * mib));
        ahead.reserve(1, 5 * mib).await.unwrap();
        assert_eq!(
            ahead.buffered_bytes(),
            5 * mib,
            "the real figure, not the room held"
        );
        assert_eq!(ahead.bytes.free.available_permits(), 0);
        ahead.handed_out(1, 5 * mib, 4);
        assert_eq!(ahead.bytes.free.available_permits(), 4 * mib);
    }

    #[tokio::test]
    async fn reserving_waits_for_room_and_a_dropped_reservation_takes_none() {
        let ahead = std::sync::Arc::new(ReadAhead::new(4, 100));
        ahead.reserve(3, 30).await.unwrap();
        let short = std::time::Duration::from_millis(20);
        let waiting = tokio::time::timeout(short, ahead.reserve(2, 20)).await;
        assert!(waiting.is_err(), "2 more do not fit beside 3 of 4");
        assert_eq!(ahead.buffered(), 3);
        // Room for the records but not the bytes: the records' room it took while waiting
        // for the bytes' goes back when the reservation is dropped.
        let waiting = tokio::time::timeout(short, ahead.reserve(1, 80)).await;
        assert!(waiting.is_err(), "80 bytes do not fit beside 30 of 100");
        assert_eq!((ahead.buffered(), ahead.buffered_bytes()), (3, 30));
        assert!(ahead.fits(1, 70));
        ahead.handed_out(1, 10, 0);
        ahead.reserve(2, 20).await.unwrap();
        assert_eq!((ahead.buffered(), ahead.buffered_bytes()), (4, 40));
    }

    /// One step of a reader/fetcher run: reserve a frame (records, bytes), or hand out some
    /// records.
    #[derive(Debug, Clone)]
    enum Step {
        Frame(usize, usize),
        Read(usize),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            prop_oneof![
                (1usize..60, 0usize..600).prop_map(|(r, b)| Step::Frame(r, b)),
                (1usize..40).prop_map(Step::Read)
            ],
            1..200,
        )
    }

    proptest! {
        /// Whatever the frames and reads, the buffer never holds more records than the
        /// capacity or the largest frame, nor more bytes than the byte capacity or the
        /// largest frame's; the room held in each measure is `min(buffered, capacity)`, and
        /// a frame is refused only when it does not fit in one of them.
        #[test]
        fn buffered_stays_within_the_capacity_or_one_frame(
            capacity in 1usize..30,
            byte_capacity in 1usize..300,
            steps in steps(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let ahead = ReadAhead::new(capacity, byte_capacity);
                // The frames buffered, oldest first, as (records, bytes) left to hand out.
                let mut frames = std::collections::VecDeque::<(usize, usize)>::new();
                let (mut largest, mut largest_bytes, mut offset) = (0, 0, 0i64);
                // A frame takes no room in a measure it has none of (records with empty
                // keys and values take no bytes), so it fits there whatever is buffered.
                let fits = |buffered: usize, n: usize, cap: usize| {
                    if n == 0 {
                        true
                    } else if n > cap {
                        buffered == 0
                    } else {
                        buffered + n <= cap
                    }
                };
                for step in steps {
                    match step {
                        Step::Frame(n, bytes) => {
                            let fit = fits(ahead.buffered(), n, capacity)
                                && fits(ahead.buffered_bytes(), bytes, byte_capacity);
                            prop_assert_eq!(ahead.fits(n, bytes), fit);
                            if fit {
                                ahead.reserve(n, bytes).await.unwrap();
                                frames.push_back((n, bytes));
                                largest = largest.max(n);
                                largest_bytes = largest_bytes.max(bytes);
                            }
                        }
                        Step::Read(n) => {
                            // Hand out up to `n` records of the oldest frame, its bytes
                            // spread over them as the reader would count them.
                            let Some((records, bytes)) = frames.front_mut() else { continue };
                            let n = n.min(*records);
                            let share = if n == *records { *bytes } else { *bytes * n / *records };
                            *records -= n;
                            *bytes -= share;
                            if *records == 0 {
                                frames.pop_front();
                            }
                            offset += n as i64;
                            ahead.handed_out(n, share, offset);
                        }
                    }
                    let (buffered, buffered_bytes) = (ahead.buffered(), ahead.buffered_bytes());
                    prop_assert_eq!(buffered, frames.iter().map(|f| f.0).sum::<usize>());
                    prop_assert_eq!(buffered_bytes, frames.iter().map(|f| f.1).sum::<usize>());
                    prop_assert!(buffered <= capacity.max(largest));
                    prop_assert!(buffered_bytes <= byte_capacity.max(largest_bytes));
                    prop_assert_eq!(
                        ahead.records.free.available_permits(),
                        capacity - buffered.min(capacity)
                    );
                    prop_assert_eq!(
                        ahead.bytes.free.available_permits(),
                        byte_capacity - buffered_bytes.min(byte_capacity)
                    );
                }
                Ok(())
            })?;
        }
    }
}
