//! The clock leases run on: the time since boot, *including* time the system spent
//! suspended (`CLOCK_BOOTTIME` on Linux). `Instant` (`CLOCK_MONOTONIC`) stops during a
//! suspend, so a member whose machine slept past its lease would wake up believing the lease
//! still runs while the others, whose clocks went on, have taken its partitions over.

use std::time::Duration;

/// Now, as time since boot (suspend included where the platform counts it).
#[cfg(target_os = "linux")]
pub(crate) fn now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Now, as time since this process first asked (no suspend-aware clock here).
#[cfg(not(target_os = "linux"))]
pub(crate) fn now() -> Duration {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(std::time::Instant::now).elapsed()
}

/// The tokio instant `at` (a time of [`now`]'s clock) falls on, for sleeping until it.
pub(crate) fn instant_of(at: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + at.saturating_sub(now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_runs_forward_with_real_time() {
        let a = now();
        std::thread::sleep(Duration::from_millis(20));
        let b = now();
        assert!(b >= a + Duration::from_millis(20), "{a:?} then {b:?}");
        assert!(b - a < Duration::from_secs(5));
    }
}
