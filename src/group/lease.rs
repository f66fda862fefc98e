//! A member's own lease, on the suspend-aware [`clock`](super::clock): it runs
//! `session_timeout` from the moment the member *sent* its latest join or heartbeat that it
//! has since *read back* from the log as a live member's. Reading it back proves both that
//! the append went through and that the member's view is current up to that record.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::clock;

/// Send times of the heartbeats not read back yet, and the lease they renewed.
#[derive(Debug)]
pub(crate) struct Lease {
    session: Duration,
    sent: BTreeMap<u64, Duration>,
    next_seq: u64,
    fence: Fence,
}

impl Lease {
    /// No lease yet; the next record sent is sequence 0 (the join).
    pub(crate) fn new(session: Duration, fence: Fence) -> Self {
        fence.set(None);
        Self {
            session,
            sent: BTreeMap::new(),
            next_seq: 0,
            fence,
        }
    }

    /// A record of sequence `seq` is sent at `now` (a [`clock`] time).
    pub(crate) fn sending(&mut self, now: Duration) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.sent.insert(seq, now);
        seq
    }

    /// The record of sequence `seq` was read back as a live member's: the lease runs from
    /// its send time (earlier ones, never read back, are forgotten).
    pub(crate) fn read_back(&mut self, seq: u64) {
        if let Some(sent) = self.sent.get(&seq).copied() {
            self.sent = self.sent.split_off(&(seq + 1));
            let until = sent + self.session;
            if self.fence.until_stamp().is_none_or(|u| u < until) {
                self.fence.set(Some(until));
            }
        }
    }

    /// Whether the lease is valid at `now` (a [`clock`] time).
    pub(crate) fn valid(&self, now: Duration) -> bool {
        self.fence.until_stamp().is_some_and(|u| now < u)
    }

    /// When the lease ends (a [`clock`] time), if there is one.
    pub(crate) fn until(&self) -> Option<Duration> {
        self.fence.until_stamp()
    }
}

/// The member's lease as the application sees it: check [`Fence::is_valid`] before
/// processing or committing each record, and stop when it is not. Cheap to clone and to
/// check (one atomic load and a clock read); valid only while the member's lease runs,
/// which ends before any other member may take its partitions over (see the
/// [module docs](super)). Its clock counts time the machine spent suspended.
#[derive(Debug, Clone, Default)]
pub struct Fence {
    /// The [`clock`] time the lease ends at, in nanoseconds; 0 when there is none.
    until: Arc<AtomicU64>,
}

impl Fence {
    /// Whether the member's lease is valid now.
    pub fn is_valid(&self) -> bool {
        self.until_stamp().is_some_and(|u| clock::now() < u)
    }

    /// When the lease ends, as an `Instant` of this process, if there is one.
    pub fn until(&self) -> Option<Instant> {
        let until = self.until_stamp()?;
        let now = clock::now();
        let now_instant = Instant::now();
        Some(match until.checked_sub(now) {
            Some(left) => now_instant + left,
            None => now_instant.checked_sub(now - until).unwrap_or(now_instant),
        })
    }

    fn until_stamp(&self) -> Option<Duration> {
        match self.until.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    pub(crate) fn set(&self, until: Option<Duration>) {
        let nanos = until.map_or(0, |u| {
            u64::try_from(u.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        self.until.store(nanos, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_runs_from_the_send_time_of_the_latest_record_read_back() {
        let fence = Fence::default();
        let mut lease = Lease::new(Duration::from_secs(10), fence.clone());
        let t0 = clock::now();
        let s = Duration::from_secs;
        assert!(!lease.valid(t0));
        let join = lease.sending(t0);
        let first = lease.sending(t0 + s(1));
        let second = lease.sending(t0 + s(2));
        assert_eq!((join, first, second), (0, 1, 2));
        // Nothing read back: no lease, however recent the sends.
        assert!(!lease.valid(t0 + s(2)));
        lease.read_back(first);
        assert_eq!(lease.until(), Some(t0 + s(11)));
        // The join, sent before, was forgotten: reading it back later does not shorten it.
        lease.read_back(join);
        assert!(lease.valid(t0 + Duration::from_millis(10_999)));
        assert!(!lease.valid(t0 + s(11)));
        assert!(fence.is_valid());
        let left = fence.until().unwrap() - Instant::now();
        assert!(left > s(9) && left <= s(11), "{left:?}");
        lease.read_back(second);
        assert!(lease.valid(t0 + s(11)));
    }

    #[test]
    fn a_lease_that_ended_is_invalid_and_its_end_is_in_the_past() {
        let fence = Fence::default();
        let mut lease = Lease::new(Duration::from_millis(1), fence.clone());
        let seq = lease.sending(clock::now() - Duration::from_secs(1).min(clock::now()));
        lease.read_back(seq);
        assert!(!fence.is_valid());
        assert!(fence.until().unwrap() <= Instant::now());
    }
}
