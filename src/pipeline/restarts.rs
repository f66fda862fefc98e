//! The restart window: how many times a worker failed within the last `restart_window`.
//! A worker that fails more than `max_restarts` times in it fails its pipeline.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A worker's recent failures.
#[derive(Debug, Default)]
pub(crate) struct Failures(VecDeque<Instant>);

impl Failures {
    /// A failure at `now`: the failures within `window` up to it, this one included.
    pub(crate) fn record(&mut self, now: Instant, window: Duration) -> usize {
        self.0.push_back(now);
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            self.0.pop_front();
        }
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_within_the_window_count() {
        let window = Duration::from_secs(60);
        let t0 = Instant::now();
        let mut failures = Failures::default();
        assert_eq!(failures.record(t0, window), 1);
        assert_eq!(failures.record(t0 + Duration::from_secs(30), window), 2);
        // Exactly a window after the first: it still counts.
        assert_eq!(failures.record(t0 + window, window), 3);
        // The first two are now older than the window.
        assert_eq!(failures.record(t0 + Duration::from_secs(91), window), 2);
        assert_eq!(failures.record(t0 + Duration::from_secs(200), window), 1);
    }
}
