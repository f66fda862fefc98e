//! SmartModule output: which input offset each output record stands for.
//!
//! The SPU runs the chain over every stored batch it reads and sends the output of one read
//! as a single batch (`fluvio-spu/src/smartengine/batch.rs`, `process_batch`):
//!
//! - its base offset `S` is the base of the first input batch that produced output;
//! - `next_filter_offset` `N` is one past the last input record the chain processed, whether
//!   or not that record produced output; that is where the stream goes on;
//! - a record keeps the offset delta `d` it had in its own input batch `B`, plus `S - B`. For
//!   a record from a later batch that is `d - (B - S)` where `d + (B - S)` was meant (0.18),
//!   and records made by an array-map start from delta 0.
//!
//! So `S + delta` is right only for records of the first input batch. The official client
//! numbers records `S + index`, which is right only when every input record gave exactly one
//! output. [`output_offsets`] combines what the frame does tell:
//!
//! - `S + |delta|` never exceeds the true offset, and for `d = 0` (the official CLI's one
//!   record per batch, and every array-map output) it is the input batch's base;
//! - outputs come in input order: an output whose `S + |delta|` is below the previous
//!   output's offset must come from a later input (a later batch), so it gets at least one
//!   more; an equal one is taken for another output of the same input (array-map).
//!
//! The result is exact for map and aggregate chains on every topic shape, for every chain on
//! topics of one record per batch, and for every chain once the SPU numbers its output
//! right. Otherwise (a filter or an array-map over batches of several records) each offset is
//! a lower bound of the true one, never above it: committing it can only cause redelivery,
//! never a gap. Offsets never decrease; several outputs of one input share its offset.

/// The offsets given to the records of one SmartModule output batch, with how far each may
/// really be from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputOffsets {
    /// For each record: its offset (the true one or a lower bound of it).
    pub(crate) offsets: Vec<i64>,
    /// For each record: the highest offset its input record can have.
    pub(crate) upper: Vec<i64>,
}

impl OutputOffsets {
    /// Whether record `i` may come from an input at or past `start` and before `end`: records
    /// are only dropped when they surely lie outside the range.
    pub(crate) fn may_lie_in(&self, i: usize, start: i64, end: Option<i64>) -> bool {
        self.upper[i] >= start && end.is_none_or(|end| self.offsets[i] < end)
    }
}

/// Offsets for the `deltas` of an output batch based at `base`, whose inputs all lie below
/// `limit` (`next_filter_offset`, or a runtime error's offset when lower). Values come from
/// the network: nothing here overflows or panics, whatever they are.
pub(crate) fn output_offsets(base: i64, limit: i64, deltas: &[i64]) -> OutputOffsets {
    let n = i64::try_from(deltas.len()).unwrap_or(i64::MAX);
    // A limit at or below the base is malformed; fall back to one input per output.
    let limit = if limit > base {
        limit
    } else {
        base.saturating_add(n)
    };
    let highest = limit.saturating_sub(1);
    let mut offsets = Vec::with_capacity(deltas.len());
    let mut previous = base.saturating_sub(1);
    // Whether two outputs may share an input (an equal lower bound twice in a row).
    let mut shared = false;
    for &delta in deltas {
        let lower = base.saturating_add(i64::try_from(delta.unsigned_abs()).unwrap_or(i64::MAX));
        let offset = match lower.cmp(&previous) {
            std::cmp::Ordering::Greater => lower,
            std::cmp::Ordering::Equal => {
                shared = true;
                previous
            }
            std::cmp::Ordering::Less => previous.saturating_add(1),
        };
        previous = offset.min(highest);
        offsets.push(previous);
    }
    // With distinct inputs, output k comes after k inputs and before n - 1 - k others.
    let upper = (0..n)
        .map(|k| {
            if shared {
                highest
            } else {
                limit.saturating_sub(n).saturating_add(k)
            }
        })
        .collect();
    OutputOffsets { offsets, upper }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the 0.18 SPU sends for `layout` (input batch lengths, the first at `first`) when
    /// the chain turns input offset `o` into `outputs(o)` records: the output base, the
    /// records' deltas and their true input offsets, and `next_filter_offset`.
    fn spu_018(
        first: i64,
        layout: &[i64],
        outputs: impl Fn(i64) -> usize,
        array_map: bool,
    ) -> Option<(i64, Vec<i64>, Vec<i64>, i64)> {
        let (mut base, mut deltas, mut truth) = (None, Vec::new(), Vec::new());
        let mut b = first;
        let mut next = first;
        for &len in layout {
            for d in 0..len {
                for _ in 0..outputs(b + d) {
                    let s = *base.get_or_insert(b);
                    let kept = if array_map { 0 } else { d };
                    deltas.push(kept + s - b);
                    truth.push(b + d);
                }
            }
            b += len;
            if base.is_some() {
                next = b;
            }
        }
        base.map(|s| (s, deltas, truth, next))
    }

    #[test]
    fn one_record_batches_filtered_get_their_true_offsets() {
        // The official CLI: one batch per record; a filter keeps 1, 3 and 5 of 0..6.
        let (base, deltas, truth, next) =
            spu_018(0, &[1; 6], |o| usize::from(o % 2 == 1), false).unwrap();
        assert_eq!((base, deltas.clone(), next), (1, vec![0, -2, -4], 6));
        assert_eq!(output_offsets(base, next, &deltas).offsets, truth);
    }

    #[test]
    fn a_map_over_large_batches_counts_from_the_base() {
        let (base, deltas, truth, next) = spu_018(10, &[3, 5, 2], |_| 1, false).unwrap();
        let got = output_offsets(base, next, &deltas);
        assert_eq!(got.offsets, truth);
        assert_eq!(got.upper, truth, "one output per input: exact");
    }

    #[test]
    fn an_array_map_over_one_record_batches_repeats_the_input_offset() {
        let (base, deltas, truth, next) =
            spu_018(0, &[1; 4], |o| (o % 3) as usize + 1, true).unwrap();
        assert_eq!(output_offsets(base, next, &deltas).offsets, truth);
    }

    #[test]
    fn malformed_numbers_do_not_overflow() {
        let got = output_offsets(i64::MAX - 1, i64::MIN, &[i64::MIN, i64::MAX, 0]);
        assert_eq!(got.offsets.len(), 3);
        let got = output_offsets(i64::MIN, i64::MAX, &[i64::MIN, -1, i64::MAX]);
        assert!(got.offsets.windows(2).all(|w| w[0] <= w[1]));
    }

    fn layouts() -> impl Strategy<Value = (i64, Vec<i64>, Vec<u8>, bool)> {
        (
            0i64..1_000,
            proptest::collection::vec(1i64..20, 1..12),
            proptest::collection::vec(0u8..4, 240),
            any::<bool>(),
        )
    }

    proptest! {
        /// Filters, maps and filter-maps on any layout: never above the true offset,
        /// strictly increasing, exact when every input gave one output or every batch holds
        /// one record, and the upper bound holds.
        #[test]
        fn never_above_the_true_offset(
            (first, layout, keep, one_per_batch) in layouts()
        ) {
            let layout = if one_per_batch { vec![1; layout.len()] } else { layout };
            let kept = |o: i64| usize::from(keep[(o - first) as usize % keep.len()] != 0);
            let Some((base, deltas, truth, next)) = spu_018(first, &layout, kept, false) else {
                return Ok(());
            };
            let got = output_offsets(base, next, &deltas);
            for (i, (&o, &t)) in got.offsets.iter().zip(&truth).enumerate() {
                prop_assert!(o <= t, "record {i}: {o} above its true offset {t}");
                prop_assert!(got.upper[i] >= t, "record {i}: upper {} below {t}", got.upper[i]);
                prop_assert!(o >= base);
            }
            prop_assert!(got.offsets.windows(2).all(|w| w[0] <= w[1]));
            if one_per_batch || truth.len() as i64 == next - base {
                prop_assert_eq!(&got.offsets, &truth);
            }
        }

        /// Once the SPU numbers its output right (delta = true offset - base), every chain
        /// without multiple outputs per input gets its true offsets.
        #[test]
        fn exact_when_the_spu_numbers_right((first, layout, keep, _) in layouts()) {
            let kept = |o: i64| keep[(o - first) as usize % keep.len()] != 0;
            let end: i64 = first + layout.iter().sum::<i64>();
            let truth: Vec<i64> = (first..end).filter(|&o| kept(o)).collect();
            let Some(&base) = truth.first() else { return Ok(()) };
            // The output's base is the base of the first batch with output.
            let mut b = first;
            let mut batch_base = first;
            for &len in &layout {
                if (b..b + len).contains(&base) { batch_base = b; }
                b += len;
            }
            let deltas: Vec<i64> = truth.iter().map(|t| t - batch_base).collect();
            prop_assert_eq!(output_offsets(batch_base, end, &deltas).offsets, truth);
        }

        /// An array-map: offsets never decrease and never pass their input's offset.
        #[test]
        fn array_map_offsets_stay_at_or_below_their_input(
            (first, layout, counts, one_per_batch) in layouts()
        ) {
            let layout = if one_per_batch { vec![1; layout.len()] } else { layout };
            let outputs = |o: i64| counts[(o - first) as usize % counts.len()] as usize;
            let Some((base, deltas, truth, next)) = spu_018(first, &layout, outputs, true) else {
                return Ok(());
            };
            let got = output_offsets(base, next, &deltas);
            prop_assert!(got.offsets.windows(2).all(|w| w[0] <= w[1]));
            for (i, (&o, &t)) in got.offsets.iter().zip(&truth).enumerate() {
                prop_assert!(o <= t, "record {i}: {o} above its input's offset {t}");
                prop_assert!(got.upper[i] >= t, "record {i}: upper {} below {t}", got.upper[i]);
            }
            if one_per_batch {
                prop_assert_eq!(&got.offsets, &truth);
            }
        }
    }
}
