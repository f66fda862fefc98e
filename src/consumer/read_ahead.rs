//! Read-ahead between a partition's fetcher and its reader: room for records fetched but not
//! yet handed out, and the offset of the last record handed out.
//!
//! The fetcher reserves room for a frame's records before it sends them; the reader gives
//! the room back as it hands records out. A frame of at most `capacity` records waits until
//! it fits beside the records buffered; a larger frame waits until none is buffered. So at
//! most `max(capacity, records of the largest frame)` records are buffered, however frames
//! and reads interleave: the room held is always `min(buffered, capacity)`.
//!
//! Records count as buffered until they are handed out to the user, wherever they wait (the
//! stream's own buffer, a [`super::TopicStream`]'s, a message to a user actor); only records
//! handed out are delivered, and only delivered records are auto-committed.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use tokio::sync::{AcquireError, Semaphore};

/// The read-ahead of one partition stream, shared by its fetcher and its reader.
#[derive(Debug)]
pub(crate) struct ReadAhead {
    capacity: usize,
    /// `capacity - min(buffered, capacity)` permits.
    room: Semaphore,
    buffered: AtomicUsize,
    /// Offset of the last record handed out (-1: none).
    delivered: AtomicI64,
}

impl ReadAhead {
    /// Room for `capacity` records (at least 1, at most `u32::MAX`).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, (u32::MAX as usize).min(Semaphore::MAX_PERMITS));
        Self {
            capacity,
            room: Semaphore::new(capacity),
            buffered: AtomicUsize::new(0),
            delivered: AtomicI64::new(-1),
        }
    }

    /// Wait until a frame of `records` records may be buffered, then count them as buffered.
    /// Cancel-safe: dropped before it completes, it has reserved nothing.
    ///
    /// # Errors
    /// Never in practice: the room is never closed.
    pub(crate) async fn reserve(&self, records: usize) -> Result<(), AcquireError> {
        // `capacity` fits a u32 (see `new`), so the cast is exact.
        let permits = records.min(self.capacity) as u32;
        self.room.acquire_many(permits).await?.forget();
        self.buffered.fetch_add(records, Ordering::AcqRel);
        Ok(())
    }

    /// The reader handed out `records` records, the last of them at `last_offset`: they are
    /// delivered, and their room is free again.
    pub(crate) fn handed_out(&self, records: usize, last_offset: i64) {
        if records == 0 {
            return;
        }
        self.delivered.store(last_offset, Ordering::Release);
        let before = match self
            .buffered
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some(b.saturating_sub(records))
            }) {
            Ok(before) | Err(before) => before,
        };
        let after = before.saturating_sub(records);
        let freed = before.min(self.capacity) - after.min(self.capacity);
        if freed > 0 {
            self.room.add_permits(freed);
        }
    }

    /// Records reserved and not yet handed out.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered.load(Ordering::Acquire)
    }

    /// Offset of the last record handed out (-1: none).
    pub(crate) fn delivered(&self) -> i64 {
        self.delivered.load(Ordering::Acquire)
    }

    /// Whether a frame of `records` records could be reserved right now (for tests).
    #[cfg(test)]
    fn fits(&self, records: usize) -> bool {
        self.room.available_permits() >= records.min(self.capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test]
    async fn a_frame_larger_than_the_capacity_waits_until_nothing_is_buffered() {
        let ahead = ReadAhead::new(10);
        ahead.reserve(25).await.unwrap();
        assert_eq!(ahead.buffered(), 25);
        assert!(!ahead.fits(1));
        ahead.handed_out(15, 14);
        assert!(!ahead.fits(1), "10 records still buffered: no room");
        ahead.handed_out(4, 18);
        assert!(ahead.fits(4) && !ahead.fits(5));
        ahead.handed_out(6, 24);
        assert_eq!((ahead.buffered(), ahead.delivered()), (0, 24));
        assert!(ahead.fits(25));
        // The leak this type replaced: the room never grows past the capacity.
        assert_eq!(ahead.room.available_permits(), 10);
    }

    #[tokio::test]
    async fn reserving_waits_for_room_and_a_dropped_reservation_takes_none() {
        let ahead = std::sync::Arc::new(ReadAhead::new(4));
        ahead.reserve(3).await.unwrap();
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(20), ahead.reserve(2)).await;
        assert!(waiting.is_err(), "2 more do not fit beside 3 of 4");
        assert_eq!(ahead.buffered(), 3);
        ahead.handed_out(1, 0);
        ahead.reserve(2).await.unwrap();
        assert_eq!(ahead.buffered(), 4);
    }

    /// One step of a reader/fetcher run: reserve a frame, or hand out some records.
    #[derive(Debug, Clone)]
    enum Step {
        Frame(usize),
        Read(usize),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            prop_oneof![
                (1usize..60).prop_map(Step::Frame),
                (1usize..40).prop_map(Step::Read)
            ],
            1..200,
        )
    }

    proptest! {
        /// Whatever the frames and reads, the buffer never holds more than the capacity or
        /// the largest frame, the room held is `min(buffered, capacity)`, and a frame is
        /// refused only when it does not fit.
        #[test]
        fn buffered_stays_within_the_capacity_or_one_frame(capacity in 1usize..30, steps in steps()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let ahead = ReadAhead::new(capacity);
                let (mut largest, mut offset) = (0, 0i64);
                for step in steps {
                    match step {
                        Step::Frame(n) => {
                            let buffered = ahead.buffered();
                            let fits = if n > capacity { buffered == 0 } else { buffered + n <= capacity };
                            prop_assert_eq!(ahead.fits(n), fits);
                            if fits {
                                ahead.reserve(n).await.unwrap();
                                largest = largest.max(n);
                            }
                        }
                        Step::Read(n) => {
                            let n = n.min(ahead.buffered());
                            offset += n as i64;
                            ahead.handed_out(n, offset);
                        }
                    }
                    prop_assert!(ahead.buffered() <= capacity.max(largest));
                    prop_assert_eq!(
                        ahead.room.available_permits(),
                        capacity - ahead.buffered().min(capacity)
                    );
                }
                Ok(())
            })?;
        }
    }
}
