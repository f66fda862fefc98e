//! A Prometheus recorder that nobody scrapes stays flat in memory while histograms are
//! recorded at a high rate, because its upkeep runs (here every 10 ms; 5 s in
//! `install_prometheus`). Without the upkeep, every sample stays in the recorder (8 bytes
//! each): this test measures both in one process of its own (its RSS is the figure).

use std::time::Duration;

use actix_fluvio::telemetry::{prometheus_builder, spawn_upkeep};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Record `samples` into one histogram of `recorder`'s; the RSS growth.
fn growth(recorder: &metrics_exporter_prometheus::PrometheusRecorder, samples: u64) -> u64 {
    let before = rss_bytes();
    metrics::with_local_recorder(recorder, || {
        let histogram =
            metrics::histogram!("fluvio_produce_request_duration_seconds", "api" => "produce");
        for i in 0..samples {
            histogram.record((i % 1000) as f64 / 1e4);
            // 10,000 at a time, as a busy worker would, not in one burst.
            if i % 10_000 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    });
    rss_bytes().saturating_sub(before)
}

#[test]
#[cfg(target_os = "linux")]
fn an_unscraped_recorder_stays_flat_with_its_upkeep() {
    // 6,000,000 samples: 10,000 a second for 10 minutes.
    const SAMPLES: u64 = 6_000_000;
    let kept = prometheus_builder().unwrap().build_recorder();
    let without = growth(&kept, SAMPLES);
    let flat = prometheus_builder().unwrap().build_recorder();
    spawn_upkeep(flat.handle(), Duration::from_millis(10));
    let with = growth(&flat, SAMPLES);
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
    drop(kept);
}
