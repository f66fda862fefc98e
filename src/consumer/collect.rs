//! Records out of a frame's record set: stored batches from a position on, and SmartModule
//! output, numbered by [`output_offsets`].

use std::sync::Arc;

use bytes::Bytes;

use super::error::ConsumerError;
use super::record::ConsumerRecord;
use super::transformed::output_offsets;
use crate::protocol::record::{Batch, RecordIter, RecordRef, RecordSet};
use crate::protocol::DecodeError;

/// A decoded batch: its uncompressed records and the records read from them.
fn decode(batch: &Batch) -> Result<Bytes, ConsumerError> {
    batch.raw_records().map_err(|cause| corrupt(batch, cause))
}

fn corrupt(batch: &Batch, cause: DecodeError) -> ConsumerError {
    ConsumerError::Corrupt {
        offset: batch.base_offset,
        cause,
    }
}

fn record(
    topic: &Arc<str>,
    partition: u32,
    batch: &Batch,
    raw: &Bytes,
    r: &RecordRef<'_>,
    offset: i64,
) -> Result<ConsumerRecord, ConsumerError> {
    Ok(ConsumerRecord {
        topic: topic.clone(),
        partition,
        offset,
        timestamp: batch
            .record_timestamp(r.timestamp_delta)
            .map_err(|e| corrupt(batch, e))?,
        key: r.key.map(|k| raw.slice_ref(k)),
        value: raw.slice_ref(r.value),
    })
}

/// The stored records of `set` from `from` on and below `end`, and the offset after the last
/// one taken (`from` when none was).
///
/// # Errors
/// [`ConsumerError::Corrupt`] for a batch that does not decode, or whose offsets or
/// timestamps pass the range of `i64`.
pub(crate) fn stored(
    topic: &Arc<str>,
    partition: u32,
    set: &RecordSet,
    from: i64,
    end: Option<i64>,
) -> Result<(Vec<ConsumerRecord>, i64), ConsumerError> {
    // Decoded first, so that the records are counted and reserved once: a vector grown by
    // pushing holds up to twice a frame's records (a 4 MiB frame of 100 B records is
    // 36,000 records of ~100 B each), for as long as the frame waits in the read-ahead.
    let mut decoded = Vec::with_capacity(set.batches.len());
    for batch in &set.batches {
        let wanted = batch.last_offset().map_err(|e| corrupt(batch, e))? >= from
            && end.is_none_or(|end| batch.base_offset < end);
        if wanted {
            decoded.push((batch, decode(batch)?));
        }
    }
    let mut count = 0;
    for (batch, raw) in &decoded {
        count += RecordIter::new(raw)
            .map_err(|e| corrupt(batch, e))?
            .remaining();
    }
    let mut out = Vec::with_capacity(count);
    let mut next = from;
    for (batch, raw) in decoded {
        if batch.last_offset().map_err(|e| corrupt(batch, e))? < next {
            continue;
        }
        for r in RecordIter::new(&raw).map_err(|e| corrupt(batch, e))? {
            let r = r.map_err(|e| corrupt(batch, e))?;
            let offset =
                DecodeError::checked_sum("record offset", batch.base_offset, r.offset_delta)
                    .map_err(|e| corrupt(batch, e))?;
            if offset < next {
                continue;
            }
            if end.is_some_and(|end| offset >= end) {
                return Ok((out, next));
            }
            out.push(record(topic, partition, batch, &raw, &r, offset)?);
            next = DecodeError::checked_sum("next offset", offset, 1)
                .map_err(|e| corrupt(batch, e))?;
        }
    }
    Ok((out, next))
}

/// What one frame of SmartModule output held.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// The records whose input may lie in the range asked for.
    pub(crate) records: Vec<ConsumerRecord>,
    /// The value of the frame's last output record (an aggregate's accumulator).
    pub(crate) last_value: Option<Bytes>,
}

/// The SmartModule output in `set`, whose inputs all lie below `limit`: every record whose
/// input may lie in `[start, end)` (see [`super::transformed`] for how offsets are known).
pub(crate) fn transformed(
    topic: &Arc<str>,
    partition: u32,
    set: &RecordSet,
    start: i64,
    end: Option<i64>,
    limit: i64,
) -> Result<Output, ConsumerError> {
    let mut out = Output::default();
    for (i, batch) in set.batches.iter().enumerate() {
        let raw = decode(batch)?;
        let records = RecordIter::new(&raw)
            .map_err(|e| corrupt(batch, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(batch, e))?;
        // The SPU sends one output batch per frame; were there more, each would end where
        // the next begins.
        let batch_limit = set
            .batches
            .get(i + 1)
            .map_or(limit, |next| next.base_offset.min(limit));
        let deltas: Vec<i64> = records.iter().map(|r| r.offset_delta).collect();
        // Offsets are worked out from `base + |delta|` (see `output_offsets`): it must fit.
        for &delta in &deltas {
            let magnitude = i64::try_from(delta.unsigned_abs()).unwrap_or(i64::MAX);
            DecodeError::checked_sum("output record offset", batch.base_offset, magnitude)
                .map_err(|e| corrupt(batch, e))?;
        }
        let offsets = output_offsets(batch.base_offset, batch_limit, &deltas);
        for (k, r) in records.iter().enumerate() {
            if offsets.may_lie_in(k, start, end) {
                let offset = offsets.offsets[k];
                out.records
                    .push(record(topic, partition, batch, &raw, r, offset)?);
            }
        }
        if let Some(last) = records.last() {
            out.last_value = Some(raw.slice_ref(last.value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::record::{BatchBuilder, Compression, Record};

    fn topic() -> Arc<str> {
        "t".into()
    }

    /// One output batch at `base` with records of `deltas`, values "v<delta>".
    fn output(base: i64, deltas: &[i64]) -> RecordSet {
        let records = deltas
            .iter()
            .map(|&d| Record::new(d, format!("v{d}")))
            .collect::<Vec<_>>();
        let mut batch = Batch::from_records(&records, -1, Compression::None).unwrap();
        batch.base_offset = base;
        RecordSet::new(vec![batch])
    }

    #[test]
    fn stored_records_start_at_from_and_stop_before_end() {
        let mut builder = BatchBuilder::new(1);
        for v in 0..10 {
            builder.push(None, format!("{v}").as_bytes(), 1);
        }
        let mut batch = builder.build(Compression::Gzip).unwrap();
        batch.base_offset = 100;
        let set = RecordSet::new(vec![batch]);
        let (records, next) = stored(&topic(), 0, &set, 103, Some(107)).unwrap();
        let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, vec![103, 104, 105, 106]);
        assert_eq!(next, 107);
        let (records, next) = stored(&topic(), 0, &set, 200, None).unwrap();
        assert!(records.is_empty());
        assert_eq!(next, 200);
    }

    /// One stored batch at `base` with records at `deltas`, timestamps from `first`.
    fn hostile(base: i64, first: i64, deltas: &[(i64, i64)]) -> RecordSet {
        let records = deltas
            .iter()
            .map(|&(offset_delta, timestamp_delta)| Record {
                timestamp_delta,
                ..Record::new(offset_delta, "v")
            })
            .collect::<Vec<_>>();
        let mut batch = Batch::from_records(&records, -1, Compression::None).unwrap();
        (batch.base_offset, batch.first_timestamp) = (base, first);
        RecordSet::new(vec![batch])
    }

    fn overflows(result: Result<impl std::fmt::Debug, ConsumerError>) -> bool {
        matches!(
            result,
            Err(ConsumerError::Corrupt {
                cause: DecodeError::Overflow { .. },
                ..
            })
        )
    }

    #[test]
    fn offsets_and_timestamps_past_i64_are_corrupt_data() {
        // An offset delta past i64::MAX, a last record at i64::MAX (no offset after it),
        // a timestamp delta past i64::MAX, and a batch whose header ends past i64::MAX.
        let cases = [
            hostile(i64::MAX - 1, -1, &[(0, 0), (2, 0)]),
            hostile(i64::MAX - 1, -1, &[(0, 0), (1, 0)]),
            hostile(0, i64::MAX - 1, &[(0, 0), (1, 5)]),
            hostile(i64::MAX, -1, &[(0, 0), (1, 0)]),
        ];
        for set in &cases {
            assert!(overflows(stored(&topic(), 0, set, 0, None)), "{set:?}");
        }
        let set = hostile(10, i64::MIN, &[(i64::MIN, i64::MIN)]);
        assert!(
            overflows(transformed(&topic(), 0, &set, 0, None, 20)),
            "|i64::MIN| does not fit past the base"
        );
        let set = hostile(0, i64::MAX - 1, &[(0, 9)]);
        assert!(overflows(transformed(&topic(), 0, &set, 0, None, 1)));
    }

    proptest::proptest! {
        /// Any base offset, deltas and first timestamp: offsets and timestamps are exact
        /// sums, or the batch is corrupt because one of them leaves i64; never a panic.
        #[test]
        fn stored_offsets_are_exact_sums_or_corrupt(
            base in proptest::num::i64::ANY,
            first in proptest::num::i64::ANY,
            deltas in proptest::collection::vec((proptest::num::i64::ANY, proptest::num::i64::ANY), 1..8),
        ) {
            let set = hostile(base, first, &deltas);
            match stored(&topic(), 0, &set, i64::MIN, None) {
                Ok((records, _)) => {
                    for r in &records {
                        let exact = deltas.iter().any(|&(offset_delta, timestamp_delta)| {
                            let timestamp = if first <= 0 { -1 } else { i128::from(first) + i128::from(timestamp_delta) };
                            i128::from(base) + i128::from(offset_delta) == i128::from(r.offset)
                                && timestamp == i128::from(r.timestamp)
                        });
                        proptest::prop_assert!(exact, "{r:?} is no base + delta");
                    }
                }
                Err(error) => proptest::prop_assert!(overflows(Err::<(), _>(error))),
            }
            let _ = transformed(&topic(), 0, &set, i64::MIN, None, i64::MAX);
        }
    }

    #[test]
    fn filtered_one_record_batches_keep_every_record_with_its_offset() {
        // The CLI's shape, filtered to 1, 3, 5 of 0..6: the SPU says deltas 0, -2, -4.
        let set = output(1, &[0, -2, -4]);
        let out = transformed(&topic(), 0, &set, 0, None, 6).unwrap();
        let got: Vec<(i64, &[u8])> = out
            .records
            .iter()
            .map(|r| (r.offset, r.value.as_ref()))
            .collect();
        assert_eq!(
            got,
            vec![(1, &b"v0"[..]), (3, &b"v-2"[..]), (5, &b"v-4"[..])]
        );
        assert_eq!(out.last_value.as_deref(), Some(&b"v-4"[..]));
    }

    #[test]
    fn records_surely_outside_the_range_are_dropped() {
        // A map over one batch 10..20 read from 13: one output per input, so offsets are
        // exact and 10..13 lie before the start; with an end of 17, 17.. lie past it.
        let set = output(10, &(0..10).collect::<Vec<_>>());
        let out = transformed(&topic(), 0, &set, 13, Some(17), 20).unwrap();
        let offsets: Vec<i64> = out.records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, vec![13, 14, 15, 16]);
    }

    #[test]
    fn records_that_may_lie_in_the_range_are_kept() {
        // A filter kept 3 of 10 inputs of a batch read from 5: their inputs cannot be told
        // from the deltas alone past the first batch, so none that may be at 5.. is dropped.
        let set = output(0, &[1, 2, -3]);
        let out = transformed(&topic(), 0, &set, 5, None, 10).unwrap();
        assert_eq!(out.records.len(), 3, "{:?}", out.records);
    }
}
