//! Moving the records of batches whose partition is gone (the topic was recreated with fewer
//! partitions) to the partitions the topic has now: each record is placed again by the
//! partitioner (a key by its hash, keyless records round-robin), queued again with its
//! delivery deadline, and its future follows it ([`BatchSlot::forward`]).

use super::accumulator::Sealed;
use super::core::Core;
use super::slot::Moved;
use crate::protocol::record::{BatchBuilder, Compression, Record};

#[cfg(doc)]
use super::slot::BatchSlot;

/// The records of a sealed batch with their timestamps (-1: none); `None` if they cannot be
/// read back.
fn records(sealed: &mut Sealed) -> Option<Vec<(Record, i64)>> {
    let batch = match (sealed.batch.take(), sealed.builder.take()) {
        (Some(batch), _) => batch,
        (None, Some(builder)) => builder.build(Compression::None).ok()?,
        (None, None) => return Some(Vec::new()),
    };
    let records = batch.records().ok()?;
    records
        .into_iter()
        .map(|r| {
            batch
                .record_timestamp(r.timestamp_delta)
                .ok()
                .map(|t| (r, t))
        })
        .collect()
}

impl Core {
    /// Queue the records of `batches` (of one partition that no longer exists) again, over
    /// the `count` partitions the topic has now, and free their old partition (the caller
    /// then sends what is ready). Returns the batches whose records could not be read back
    /// (never, short of a bug), for the caller to fail.
    pub(crate) fn reroute(&self, batches: Vec<Sealed>, count: u32) -> Vec<Sealed> {
        let mut failed = Vec::new();
        let mut acc = self.acc.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(first) = batches.first() {
            acc.complete(&(first.topic.clone(), first.partition));
        }
        for mut sealed in batches {
            let Some(records) = records(&mut sealed) else {
                failed.push(sealed);
                continue;
            };
            let mut moved = Vec::with_capacity(records.len());
            let mut reserved = 0;
            for (record, timestamp) in &records {
                let (key, value) = (record.key.as_deref(), &record.value[..]);
                let partition = self.partitioner.partition(count, key, value);
                let size = BatchBuilder::record_size(key, value, 0);
                reserved += size;
                let pushed = acc.push(
                    &sealed.topic,
                    partition,
                    key,
                    value,
                    *timestamp,
                    size,
                    sealed.created_at,
                    false,
                );
                moved.push(Moved {
                    slot: pushed.slot,
                    partition,
                    index: pushed.index,
                });
            }
            // Each record reserved its encoded size when queued: the same again here.
            self.release(sealed.reserved.saturating_sub(reserved));
            tracing::debug!(topic = %sealed.topic, from = sealed.partition, records = moved.len(), "records of a partition that is gone moved to the topic's partitions");
            sealed.slot.forward(moved);
        }
        failed
    }
}
