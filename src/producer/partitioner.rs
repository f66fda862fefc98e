//! Partitioners: which partition a record goes to.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};

/// Picks a partition for a record.
pub trait Partitioner: Send + Sync {
    /// The partition (below `partition_count`) for a record with `key` and `value`.
    fn partition(&self, partition_count: u32, key: Option<&[u8]>, value: &[u8]) -> u32;
}

/// The official client's partitioner: a keyed record goes to SipHash-2-4 (keys 0, 0) of its
/// key modulo the partition count, so the same key lands on the same partition as with the
/// official client; keyless records go round-robin.
#[derive(Debug, Default)]
pub struct KeyHashRoundRobin {
    next: AtomicU32,
}

impl Partitioner for KeyHashRoundRobin {
    fn partition(&self, partition_count: u32, key: Option<&[u8]>, _: &[u8]) -> u32 {
        let count = partition_count.max(1);
        match key {
            Some(key) => key_partition(key, count),
            None => self.next.fetch_add(1, Ordering::Relaxed) % count,
        }
    }
}

/// The partition of `key` among `partition_count` partitions, as the official client
/// computes it (`<[u8] as Hash>` into `SipHasher`: the length as a `usize`, then the bytes).
pub fn key_partition(key: &[u8], partition_count: u32) -> u32 {
    let mut hasher = siphasher::sip::SipHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % u64::from(partition_count.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyless_records_go_round_robin() {
        let p = KeyHashRoundRobin::default();
        let got: Vec<u32> = (0..6).map(|_| p.partition(3, None, b"v")).collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn a_key_always_lands_on_the_same_partition() {
        let p = KeyHashRoundRobin::default();
        for key in [&b"k1"[..], b"k2", b"user-42", b""] {
            let first = p.partition(7, Some(key), b"a");
            assert!(first < 7);
            assert_eq!(p.partition(7, Some(key), b"b"), first);
        }
    }
}
