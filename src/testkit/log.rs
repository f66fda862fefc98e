//! One partition's log, kept in memory: batches with SPU-assigned offsets, each also kept in
//! its encoded form so stream fetches can serve a raw slice the way the SPU serves a file.

use bytes::{Bytes, BytesMut};

use crate::protocol::record::Batch;
use crate::protocol::Encode;

/// A stored batch: the decoded header and payload, and its encoded bytes.
#[derive(Debug, Clone)]
struct Stored {
    batch: Batch,
    encoded: Bytes,
}

/// The records of one partition.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartitionLog {
    batches: Vec<Stored>,
    /// First offset still in the log (the SPU's log start offset).
    start: i64,
    /// Log end offset: the next offset to assign.
    leo: i64,
    /// Bytes stored.
    size: i64,
    /// While the followers do not confirm writes: the high watermark, frozen.
    held_hw: Option<i64>,
}

/// Why a read could not start at the asked offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The offset is below the log start.
    Evicted {
        /// The offset asked for.
        offset: i64,
        /// The log start offset.
        next_available: i64,
    },
    /// The offset is beyond the log end.
    BeyondEnd {
        /// The offset asked for.
        offset: i64,
        /// The log end offset.
        leo: i64,
    },
}

impl PartitionLog {
    /// The log start offset.
    pub(crate) fn start(&self) -> i64 {
        self.start
    }

    /// The log end offset.
    pub(crate) fn leo(&self) -> i64 {
        self.leo
    }

    /// The high watermark: every write is replicated at once here, so it equals the LEO,
    /// unless replication is held ([`PartitionLog::hold_hw`]).
    pub(crate) fn hw(&self) -> i64 {
        self.held_hw.unwrap_or(self.leo)
    }

    /// Followers stop confirming: the high watermark stays where it is.
    pub(crate) fn hold_hw(&mut self) {
        self.held_hw.get_or_insert(self.leo);
    }

    /// Followers catch up: the high watermark is the LEO again.
    pub(crate) fn release_hw(&mut self) {
        self.held_hw = None;
    }

    /// Bytes stored.
    pub(crate) fn size(&self) -> i64 {
        self.size
    }

    /// Append `batch`, rewriting its base offset; returns the base offset it got.
    pub(crate) fn append(&mut self, mut batch: Batch) -> Result<i64, crate::protocol::EncodeError> {
        let base = self.leo;
        batch.base_offset = base;
        let encoded = batch.to_bytes(0)?.freeze();
        self.leo = base + batch.records_len() as i64;
        self.size += encoded.len() as i64;
        self.batches.push(Stored { batch, encoded });
        Ok(base)
    }

    /// Forget every batch that ends before `offset` (simulates segment eviction).
    pub(crate) fn evict_before(&mut self, offset: i64) {
        self.batches.retain(|s| ends_at_or_after(&s.batch, offset));
        let first = self.batches.first().map(|s| s.batch.base_offset);
        self.start = first.unwrap_or(self.leo).max(self.start);
    }

    /// Forget every batch that does not end before `offset` (a batch holding `offset` goes
    /// whole): the log end moves back, as in a replica restored from an older copy.
    pub(crate) fn truncate(&mut self, offset: i64) {
        self.batches.retain(|s| !ends_at_or_after(&s.batch, offset));
        self.leo = match self.batches.last() {
            Some(last) => last.batch.base_offset + last.batch.records_len() as i64,
            None => self.start.min(self.leo),
        };
        self.start = self.start.min(self.leo);
        self.size = self.batches.iter().map(|s| s.encoded.len() as i64).sum();
    }

    fn check(&self, offset: i64) -> Result<Option<usize>, ReadError> {
        if offset < self.start {
            return Err(ReadError::Evicted {
                offset,
                next_available: self.start,
            });
        }
        if offset > self.leo {
            return Err(ReadError::BeyondEnd {
                offset,
                leo: self.leo,
            });
        }
        Ok(self
            .batches
            .iter()
            .position(|s| ends_at_or_after(&s.batch, offset)))
    }

    /// The raw bytes from the batch holding `offset`, cut at `max_bytes` without regard for
    /// batch boundaries (empty at the end of the log).
    pub(crate) fn read_raw(&self, offset: i64, max_bytes: usize) -> Result<Bytes, ReadError> {
        let Some(first) = self.check(offset)? else {
            return Ok(Bytes::new());
        };
        let mut out = BytesMut::new();
        for stored in &self.batches[first..] {
            let room = max_bytes.saturating_sub(out.len());
            if room == 0 {
                break;
            }
            let take = room.min(stored.encoded.len());
            out.extend_from_slice(&stored.encoded[..take]);
        }
        Ok(out.freeze())
    }

    /// Whole batches from the one holding `offset`, up to `max_bytes` (at least one batch).
    pub(crate) fn read_batches(
        &self,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Vec<Batch>, ReadError> {
        let Some(first) = self.check(offset)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut used = 0;
        for stored in &self.batches[first..] {
            if !out.is_empty() && used + stored.encoded.len() > max_bytes {
                break;
            }
            used += stored.encoded.len();
            out.push(stored.batch.clone());
        }
        Ok(out)
    }
}

/// Whether `batch` holds `offset` or later ones. The log numbers batches from 0, so the sum
/// fits; a batch whose end did not would end past every offset.
fn ends_at_or_after(batch: &Batch, offset: i64) -> bool {
    batch.last_offset().map_or(true, |last| last >= offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::record::{Compression, Record};

    fn batch(n: usize) -> Batch {
        let records: Vec<_> = (0..n)
            .map(|i| Record::new(i as i64, vec![b'x'; 10]))
            .collect();
        Batch::from_records(&records, 1, Compression::None).unwrap()
    }

    #[test]
    fn offsets_are_assigned_in_order() {
        let mut log = PartitionLog::default();
        assert_eq!(log.append(batch(3)).unwrap(), 0);
        assert_eq!(log.append(batch(2)).unwrap(), 3);
        assert_eq!(log.leo(), 5);
        let batches = log.read_batches(4, 1 << 20).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].base_offset, 3);
    }

    #[test]
    fn raw_reads_start_at_the_batch_and_cut_at_max_bytes() {
        let mut log = PartitionLog::default();
        log.append(batch(3)).unwrap();
        log.append(batch(2)).unwrap();
        let all = log.read_raw(1, 1 << 20).unwrap();
        let cut = log.read_raw(1, all.len() - 5).unwrap();
        assert_eq!(&all[..all.len() - 5], &cut[..]);
        assert!(log.read_raw(5, 100).unwrap().is_empty());
        assert_eq!(
            log.read_raw(6, 100),
            Err(ReadError::BeyondEnd { offset: 6, leo: 5 })
        );
    }

    #[test]
    fn evicted_offsets_are_refused() {
        let mut log = PartitionLog::default();
        log.append(batch(3)).unwrap();
        log.append(batch(2)).unwrap();
        log.evict_before(3);
        assert_eq!(log.start(), 3);
        assert_eq!(
            log.read_raw(1, 100),
            Err(ReadError::Evicted {
                offset: 1,
                next_available: 3
            })
        );
    }
}
