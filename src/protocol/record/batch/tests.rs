//! Unit tests of `batch.rs`.

use super::*;
use proptest::prelude::*;

#[test]
fn hostile_offsets_and_timestamps_are_errors_not_overflows() {
    let batch = Batch {
        base_offset: i64::MAX,
        last_offset_delta: 1,
        first_timestamp: i64::MAX - 1,
        ..Batch::default()
    };
    assert!(matches!(
        batch.last_offset(),
        Err(DecodeError::Overflow {
            base: i64::MAX,
            delta: 1,
            ..
        })
    ));
    assert_eq!(batch.record_timestamp(1), Ok(i64::MAX));
    assert!(matches!(
        batch.record_timestamp(2),
        Err(DecodeError::Overflow { .. })
    ));
    let low = Batch {
        base_offset: i64::MIN,
        last_offset_delta: -1,
        ..Batch::default()
    };
    assert!(low.last_offset().is_err());
    // A batch without timestamps has none, whatever the delta.
    assert_eq!(Batch::default().record_timestamp(i64::MIN), Ok(-1));
}

#[test]
fn a_timestamp_delta_past_i64_is_refused_when_building() {
    let records = [Record {
        timestamp_delta: i64::MAX,
        ..Record::new(0, "v")
    }];
    assert!(matches!(
        Batch::from_records(&records, 2, Compression::None),
        Err(EncodeError::Overflow { .. })
    ));
}

proptest! {
    /// Any header numbers: the sums are exact when they fit and errors when they do not.
    #[test]
    fn sums_are_exact_or_errors(base in any::<i64>(), delta in any::<i32>(), first in any::<i64>(), ts in any::<i64>()) {
        let batch = Batch { base_offset: base, last_offset_delta: delta, first_timestamp: first, ..Batch::default() };
        let exact = i128::from(base) + i128::from(delta);
        match batch.last_offset() {
            Ok(last) => prop_assert_eq!(i128::from(last), exact),
            Err(_) => prop_assert!(i64::try_from(exact).is_err()),
        }
        let exact = i128::from(first) + i128::from(ts);
        match batch.record_timestamp(ts) {
            Ok(-1) if first <= 0 => {}
            Ok(t) => prop_assert_eq!(i128::from(t), exact),
            Err(_) => prop_assert!(first > 0 && i64::try_from(exact).is_err()),
        }
    }
}
