//! A Prometheus recorder that nobody scrapes stays flat in memory while histograms are
//! recorded at a high rate, because its upkeep runs: the recorder `install_prometheus`
//! installs (here through `install_prometheus_with_upkeep`, every 10 ms instead of 5 s).
//! Without the upkeep, every sample stays in the recorder (8 bytes each): this test measures
//! both in one process of its own (its RSS is the figure; it installs the global recorder).

use std::time::Duration;

use actix_fluvio::telemetry::{install_prometheus_with_upkeep, prometheus_builder};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Record `samples` into one histogram of the current recorder; the RSS growth.
fn growth(samples: u64) -> u64 {
    let before = rss_bytes();
    let histogram =
        metrics::histogram!(actix_fluvio::telemetry::REQUEST_DURATION, "api" => "produce");
    for i in 0..samples {
        histogram.record((i % 1000) as f64 / 1e4);
        // 10,000 at a time, as a busy worker would, not in one burst.
        if i % 10_000 == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    rss_bytes().saturating_sub(before)
}

#[test]
#[cfg(target_os = "linux")]
fn an_unscraped_installed_recorder_stays_flat() {
    // 6,000,000 samples: 10,000 a second for 10 minutes.
    const SAMPLES: u64 = 6_000_000;
    // A recorder without upkeep, for comparison (this thread's only).
    let kept = prometheus_builder().unwrap().build_recorder();
    let without = metrics::with_local_recorder(&kept, || growth(SAMPLES));
    let handle = install_prometheus_with_upkeep(Duration::from_millis(10)).unwrap();
    let with = growth(SAMPLES);
    println!("RSS growth for {SAMPLES} samples: {without} B without upkeep, {with} B with it");
    // Without: every sample is kept (~100 MB here); with: what arrives between two upkeeps
    // (a few MB, more on a loaded machine).
    assert!(
        without > SAMPLES * 4,
        "the samples were not kept without upkeep: {without} B"
    );
    assert!(
        with * 4 < without,
        "{with} B with upkeep, {without} B without"
    );
    // The samples were recorded by the installed recorder, into the histogram's buckets.
    // Not all of them: metrics-util's `AtomicBucket` drops samples pushed while an upkeep
    // clears it, more the busier the machine (~450 of 6,000,000 with a 10 ms upkeep on a
    // quiet one, 100,162 with two builds running beside it; every 5 s by default, far
    // fewer). Most of them must be there.
    let rendered = handle.render();
    let count: u64 = rendered
        .lines()
        .find_map(|l| l.strip_prefix("fluvio_request_duration_seconds_count{api=\"produce\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {rendered}"));
    assert!(
        count <= SAMPLES && count > SAMPLES / 2,
        "{count} of {SAMPLES} samples counted"
    );
    drop(kept);
}
