//! Reconnect policy: exponential backoff with jitter, bounded or unbounded.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When and how often a dropped connection is re-established.
///
/// ```
/// use std::time::Duration;
/// use actix_fluvio::connection::ReconnectPolicy;
///
/// let policy = ReconnectPolicy { jitter: 0.0, ..ReconnectPolicy::default() };
/// assert_eq!(policy.delay(0), Duration::from_millis(250));
/// assert_eq!(policy.delay(1), Duration::from_millis(500));
/// assert_eq!(policy.delay(10), Duration::from_secs(10));
/// assert!(policy.allows(1_000_000), "a long-running client never gives up");
///
/// let bounded = ReconnectPolicy { max_attempts: Some(5), ..ReconnectPolicy::default() };
/// assert!(bounded.allows(4) && !bounded.allows(5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectPolicy {
    /// Reconnect at all (when false, a dropped connection is closed for good).
    pub enabled: bool,
    /// Attempts after a drop before giving up; `None` retries forever.
    pub max_attempts: Option<u32>,
    /// Delay before the first attempt.
    #[serde(with = "crate::config_serde::duration")]
    pub initial_delay: Duration,
    /// Largest delay between attempts.
    #[serde(with = "crate::config_serde::duration")]
    pub max_delay: Duration,
    /// Growth factor of the delay per attempt.
    pub multiplier: f64,
    /// Random spread of each delay, as a fraction (0.2 = ±20 %).
    pub jitter: f64,
}

impl Default for ReconnectPolicy {
    /// Enabled, forever, 250 ms doubling up to 10 s, ±20 % jitter.
    fn default() -> Self {
        Self {
            enabled: true,
            max_attempts: None,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl ReconnectPolicy {
    /// Never reconnect.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Whether attempt number `attempt` (0-based) may be made.
    pub fn allows(&self, attempt: u32) -> bool {
        self.enabled && self.max_attempts.is_none_or(|max| attempt < max)
    }

    /// The delay before attempt `attempt` (0-based), jitter applied.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.initial_delay.as_secs_f64() * self.multiplier.powi(attempt.min(64) as i32);
        let capped = base.min(self.max_delay.as_secs_f64());
        let spread = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + spread * (fastrand::f64() * 2.0 - 1.0);
        Duration::from_secs_f64((capped * factor).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = ReconnectPolicy {
            jitter: 0.0,
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
            ..ReconnectPolicy::default()
        };
        let delays: Vec<u64> = (0..5).map(|a| p.delay(a).as_secs()).collect();
        assert_eq!(delays, vec![2, 4, 8, 10, 10]);
    }

    #[test]
    fn jitter_stays_within_its_spread() {
        let p = ReconnectPolicy::default();
        for _ in 0..1000 {
            let d = p.delay(0).as_secs_f64();
            assert!((0.2..=0.3).contains(&d), "{d}");
        }
    }

    #[test]
    fn attempts_are_bounded_unless_unbounded() {
        let unbounded = ReconnectPolicy {
            max_attempts: None,
            ..ReconnectPolicy::default()
        };
        assert!(unbounded.allows(1_000_000));
        assert!(!ReconnectPolicy::disabled().allows(0));
    }
}
