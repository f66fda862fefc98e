//! A partition's failing records: how often each failed on its own, the range whose records
//! go to the worker one at a time (a batch failed without naming its record), and the
//! records given up on (dead-lettered or skipped when next read).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::pipeline::failure::Failure;

/// What the failure policy holds about a partition's records.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    /// Failed attempts of records that failed on their own, by offset.
    failed: BTreeMap<i64, u32>,
    /// Records here go to the worker one at a time.
    suspect: Option<RangeInclusive<i64>>,
    /// Records whose retries are spent, by offset.
    given_up: BTreeMap<i64, GivenUp>,
}

/// A record given up on: its last failure and how many attempts failed.
#[derive(Debug, Clone)]
pub(super) struct GivenUp {
    pub(super) failure: Failure,
    pub(super) attempts: u32,
}

/// What to do after a failure of records `first..=last` (one message to the worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The failure names no record of several: deliver them again one at a time.
    Split,
    /// Try the record at `offset` again: retry number `retry` (from 1).
    Retry { offset: i64, retry: u32 },
    /// The record at `offset` failed `attempts` times (or cannot succeed): give up on it.
    GiveUp { offset: i64, attempts: u32 },
}

/// How a record read goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// With its neighbours, in one message.
    Together,
    /// In a message of its own.
    Alone,
    /// Not to the worker: given up on.
    GivenUp,
}

impl Attempts {
    /// Nothing is failing: every record goes on together.
    pub(super) fn is_clear(&self) -> bool {
        self.failed.is_empty() && self.suspect.is_none() && self.given_up.is_empty()
    }

    /// Records `first..=last`, sent in one message, failed with `failure`; records get
    /// `retries` retries each.
    pub(super) fn failed(
        &mut self,
        first: i64,
        last: i64,
        failure: &Failure,
        retries: u32,
    ) -> Verdict {
        let offset = match failure.offset {
            Some(offset) if (first..=last).contains(&offset) => offset,
            _ if first == last => first,
            _ => {
                let range = match self.suspect.take() {
                    Some(old) => (*old.start()).min(first)..=(*old.end()).max(last),
                    None => first..=last,
                };
                self.suspect = Some(range);
                return Verdict::Split;
            }
        };
        let attempts = self.failed.entry(offset).or_insert(0);
        *attempts += 1;
        let attempts = *attempts;
        if failure.kind.is_retriable() && attempts <= retries {
            return Verdict::Retry {
                offset,
                retry: attempts,
            };
        }
        self.failed.remove(&offset);
        let failure = failure.clone();
        self.given_up.insert(offset, GivenUp { failure, attempts });
        Verdict::GiveUp { offset, attempts }
    }

    /// How the record at `offset` goes on.
    pub(super) fn route(&self, offset: i64) -> Route {
        if self.given_up.contains_key(&offset) {
            Route::GivenUp
        } else if self.failed.contains_key(&offset)
            || self.suspect.as_ref().is_some_and(|r| r.contains(&offset))
        {
            Route::Alone
        } else {
            Route::Together
        }
    }

    /// Whether the record at `offset` failed before and is to be tried again.
    pub(super) fn is_retry(&self, offset: i64) -> bool {
        self.failed.contains_key(&offset)
    }

    /// The record at `offset`, if given up on.
    pub(super) fn given_up(&self, offset: i64) -> Option<&GivenUp> {
        self.given_up.get(&offset)
    }

    /// Every record up to `last` is done with (acknowledged, dead-lettered or skipped).
    pub(super) fn done_through(&mut self, last: i64) {
        if self.is_clear() {
            return;
        }
        self.failed = self.failed.split_off(&(last + 1));
        self.given_up = self.given_up.split_off(&(last + 1));
        if self.suspect.as_ref().is_some_and(|r| *r.end() <= last) {
            self.suspect = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::failure::FailureKind;

    fn worker() -> Failure {
        Failure::new(FailureKind::Worker, "no")
    }

    #[test]
    fn a_batch_failure_splits_then_the_record_is_retried_then_given_up() {
        let mut attempts = Attempts::default();
        assert!(attempts.is_clear());
        assert_eq!(attempts.failed(10, 19, &worker(), 2), Verdict::Split);
        assert_eq!(attempts.route(9), Route::Together);
        assert_eq!(attempts.route(10), Route::Alone);
        assert_eq!(attempts.route(19), Route::Alone);
        assert_eq!(attempts.route(20), Route::Together);
        // 10..=13 went through alone; 14 fails alone three times.
        attempts.done_through(13);
        assert_eq!(attempts.route(14), Route::Alone);
        assert_eq!(
            attempts.failed(14, 14, &worker(), 2),
            Verdict::Retry {
                offset: 14,
                retry: 1
            }
        );
        assert_eq!(
            attempts.failed(14, 14, &worker(), 2),
            Verdict::Retry {
                offset: 14,
                retry: 2
            }
        );
        assert_eq!(
            attempts.failed(14, 14, &worker(), 2),
            Verdict::GiveUp {
                offset: 14,
                attempts: 3
            }
        );
        assert_eq!(attempts.route(14), Route::GivenUp);
        assert_eq!(attempts.given_up(14).unwrap().attempts, 3);
        attempts.done_through(19);
        assert!(attempts.is_clear());
    }

    #[test]
    fn a_named_record_fails_alone_and_its_neighbours_stay_together() {
        let mut attempts = Attempts::default();
        let named = worker().at(15);
        assert_eq!(
            attempts.failed(10, 19, &named, 3),
            Verdict::Retry {
                offset: 15,
                retry: 1
            }
        );
        assert_eq!(attempts.route(14), Route::Together);
        assert_eq!(attempts.route(15), Route::Alone);
        assert_eq!(attempts.route(16), Route::Together);
        // An offset outside the batch names nothing: split.
        assert_eq!(attempts.failed(20, 29, &worker().at(99), 3), Verdict::Split);
    }

    #[test]
    fn a_record_that_cannot_decode_is_given_up_at_once() {
        let mut attempts = Attempts::default();
        let decode = Failure::new(FailureKind::Decode, "EOF").at(7);
        assert_eq!(
            attempts.failed(7, 7, &decode, 3),
            Verdict::GiveUp {
                offset: 7,
                attempts: 1
            }
        );
        // With no retries, any failure gives up at once.
        assert_eq!(
            attempts.failed(8, 8, &worker(), 0),
            Verdict::GiveUp {
                offset: 8,
                attempts: 1
            }
        );
    }

    #[test]
    fn suspect_ranges_merge() {
        let mut attempts = Attempts::default();
        attempts.failed(10, 19, &worker(), 1);
        attempts.failed(15, 30, &worker(), 1);
        assert_eq!(attempts.route(10), Route::Alone);
        assert_eq!(attempts.route(30), Route::Alone);
        attempts.done_through(29);
        assert_eq!(attempts.route(30), Route::Alone);
        attempts.done_through(30);
        assert!(attempts.is_clear());
    }
}
