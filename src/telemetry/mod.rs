//! Metric names and their meaning, in one place. Everything is reported through the
//! [`metrics`] facade: install any recorder, or enable the `prometheus` feature and call
//! [`install_prometheus`] and serve its handle from your app (`health::web` serves it next
//! to `/healthz` and `/readyz`), or [`serve_prometheus`] for a listener of its own (which
//! answers every path with the metrics page).
//!
//! The metrics are listed in [`METRICS`] (the documented table, with each histogram's
//! buckets); [`describe`] and [`prometheus_builder`] are made from that list, so the three
//! cannot drift. Names follow the Prometheus naming guide: base units (`_seconds`,
//! `_bytes`), `_total` on counters, readable label values (API names such as
//! `stream_fetch`, error-code names). Times of events are exported as Unix timestamps
//! (`..._timestamp_seconds`): their age is `time() - metric` in PromQL.
//!
//! `config/grafana-dashboard.json` (a Grafana dashboard for a fleet of workers: throughput,
//! lag, commit age, errors by code, latency, connections) and `config/alert-rules.yml`
//! (Prometheus rules: a stuck partition, a pipeline worker without progress, a stale commit,
//! growing lag, a worker restarting in a loop, a connection down, produce failing) ship with
//! the crate; `tests/fleet_config.rs` checks that every metric and label they use is in
//! [`METRICS`] and that every metric has a panel, and `tests/alert_rules.rs` parses every
//! expression with a PromQL parser and runs the rules' unit tests
//! (`config/alert-rules.test.yml`) under `promtool`.
//!
//! Per-partition series are registered when a consumer starts, so they exist (at 0) before
//! the first record, except the last-record timestamp, which appears with the first record
//! (a 0 would read as a record in 1970). Counters that alert rules read with `increase()`
//! are registered at 0 when their series starts (see [`METRICS`]). Install the recorder
//! before starting clients.
//!
//! ## Spans
//!
//! Spans are at `DEBUG` level. A field in *italics* is recorded once known, so it is absent
//! when that point was not reached (e.g. no `bytes` when the request could not be encoded).
//! `error_code` is `none` or the server code's name (`NotLeaderForPartition`, `Other`, ...).
//!
//! | span | fields | where |
//! |---|---|---|
//! | `fluvio.request` | `api_key`, `version`, `addr`, *`correlation_id`*, *`bytes`* (request frame), *`error_code`* (for answers that carry one), *`error_kind`*, *`error`*; `stream = true` for a streaming request | every request a [`crate::connection::Connection`] sends, in the caller's task |
//! | `fluvio.produce` | `partitions`, *`topic`* (one topic), *`partition`* (one partition), *`records`*, *`bytes`* (encoded batches), *`error_code`*, *`base_offset`* (one partition, accepted), *`error`* | each produce request; its `fluvio.request` is a child |
//! | `fluvio.fetch` | `topic`, `partition`, `stream_id`, `offset` (next offset before the frame), *`next`* (after it), `records`, *`bytes`* (encoded batches), `high_watermark`, `error_code`, *`error`* | each stream-fetch frame a consumer handles; its acknowledgement request is a child |
//! | `fluvio.pipeline.record` | `topic`, `partition`, `offset` (the first record's), `last`, `records`, `worker`, *`outputs`* | each hand-over of records to a worker: a record (typed worker), a batch (batch worker), or records for a per-record worker's relay; the outputs' enqueue happens inside it |
//!
//! Parents: a request's span is a child of the span current where it is made, so admin
//! calls, `fetch_batch`, offset look-ups and commits made in a user's span are its
//! descendants (a commit runs on the consumer's task in the committing caller's span). A
//! consumer's fetcher, a topic consumer and a pipeline's partition tasks run in the span
//! current where they were started: start them outside any span to get root spans. A
//! `fluvio.produce` span is a child of the span of the first `Producer::send` or
//! `send_batch` caller whose record is in the request (one span capture per call; other
//! callers' spans are linked with `follows_from`); requests holding only `enqueue`d,
//! `try_enqueue`d or actor-message records are root spans, which keeps the per-record path free
//! of span work.

mod names;
#[cfg(feature = "prometheus")]
mod prometheus;

pub use names::*;
#[cfg(feature = "prometheus")]
pub use prometheus::{
    install_prometheus, install_prometheus_with_upkeep, prometheus_builder, serve_prometheus,
    spawn_upkeep, PrometheusError, UPKEEP_INTERVAL,
};

/// Count an answer of API `api` (its name) that carries the server error `code`.
pub(crate) fn count_response_error(api: &'static str, code: &crate::protocol::ErrorCode) {
    metrics::counter!(RESPONSE_ERRORS, "api" => api, "code" => self::code(code)).increment(1);
}

/// A server error code as a span field or metric label: `none`, or the code's name
/// ([`crate::protocol::ErrorCode::name`]: `NotLeaderForPartition`, `Other`, ...).
pub(crate) fn code(code: &crate::protocol::ErrorCode) -> &'static str {
    if code.is_ok() {
        "none"
    } else {
        code.name()
    }
}

/// Record a failure on `span`: its kind and message (formatted only when recorded).
pub(crate) fn record_error(
    span: &tracing::Span,
    kind: &'static str,
    error: &dyn std::fmt::Display,
) {
    if !span.is_disabled() {
        span.record("error_kind", kind);
        span.record("error", tracing::field::display(error));
    }
}

/// Describe every metric of [`METRICS`] to the installed recorder (units and help texts).
pub fn describe() {
    for metric in METRICS {
        let (name, help) = (metric.name, metric.help);
        match (metric.kind, metric.unit) {
            (MetricKind::Counter, Some(unit)) => metrics::describe_counter!(name, unit, help),
            (MetricKind::Counter, None) => metrics::describe_counter!(name, help),
            (MetricKind::Gauge, Some(unit)) => metrics::describe_gauge!(name, unit, help),
            (MetricKind::Gauge, None) => metrics::describe_gauge!(name, help),
            (MetricKind::Histogram, Some(unit)) => metrics::describe_histogram!(name, unit, help),
            (MetricKind::Histogram, None) => metrics::describe_histogram!(name, help),
        }
    }
}

/// Seconds since the Unix epoch, for `..._timestamp_seconds` gauges.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
