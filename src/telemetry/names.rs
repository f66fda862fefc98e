//! The one list of metrics: each entry makes its name constant, its row of the documented
//! table ([`METRICS`]), its description for [`super::describe`] and, for histograms, the
//! buckets the Prometheus exporter uses ([`super::prometheus_builder`]).

use metrics::Unit;

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up (`_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets (`_bucket`, `_sum`, `_count`).
    Histogram,
}

/// One metric of the table: its name, kind, label names, unit, help text and buckets.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The full name (prefix `fluvio_`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The label names, always all of them, in this order.
    pub labels: &'static [&'static str],
    /// The base unit, when there is one.
    pub unit: Option<Unit>,
    /// What it counts or measures.
    pub help: &'static str,
    /// A histogram's bucket upper bounds (empty for counters and gauges).
    pub buckets: &'static [f64],
}

/// Request latency buckets in seconds: 100 µs to 60 s, about three per decade (100, 250, 500
/// µs; 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms; 1, 2.5, 5, 10, 30, 60 s).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// Records per batch: powers of 4 from 1 to 65 536.
pub const BATCH_RECORDS_BUCKETS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0,
];

/// Bytes per batch: powers of 4 from 256 B to 16 MiB.
pub const BATCH_BYTES_BUCKETS: &[f64] = &[
    256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

/// Defines the name constants and [`METRICS`] (with its documented table) from one list.
macro_rules! metric_table {
    ($(
        $konst:ident = $name:literal, $kind:ident, [$($label:literal),*], $unit:tt,
        $help:literal $(, buckets = $buckets:ident)?;
    )*) => {
        $(
            #[doc = concat!("`", $name, "`: ", $help, ".")]
            pub const $konst: &str = $name;
        )*

        /// Every metric this crate reports, the table operators, dashboards and alert rules
        /// go by. Label sets are bounded: API and error-code names, topics, partitions,
        /// consumer ids, worker indexes, server addresses and fixed state names. Counters that
        /// alert rules read with `increase()` are registered at 0 when their series starts
        /// (the pipeline partition, the SmartModule stream, the group member), so the first
        /// increment counts: the pipeline's per-worker restarts and per-kind failure counters,
        /// SmartModule errors and group rebalances. Counters by error code appear at their
        /// first increment (the codes are not known in advance).
        ///
        #[doc = concat!(
            "| name | type | labels | unit | meaning | buckets |\n",
            "|---|---|---|---|---|---|\n",
            $(
                "| `", $name, "` | ", stringify!($kind), " | ",
                $("`", $label, "` ",)* "| ", metric_table!(@unit_doc $unit), " | ", $help,
                " | ", $("[`", stringify!($buckets), "`]",)? " |\n",
            )*
        )]
        pub const METRICS: &[Metric] = &[$(
            Metric {
                name: $name,
                kind: MetricKind::$kind,
                labels: &[$($label),*],
                unit: metric_table!(@unit $unit),
                help: $help,
                buckets: metric_table!(@buckets $($buckets)?),
            },
        )*];
    };
    (@unit -) => { None };
    (@unit $unit:ident) => { Some(Unit::$unit) };
    (@unit_doc -) => { "" };
    (@unit_doc $unit:ident) => { stringify!($unit) };
    (@buckets) => { &[] };
    (@buckets $buckets:ident) => { $buckets };
}

metric_table! {
    REQUESTS = "fluvio_requests_total", Counter, ["api"], -,
        "requests sent, by API name (`produce`, `stream_fetch`, `list`, ...)";
    REQUEST_ERRORS = "fluvio_request_errors_total", Counter, ["api", "kind"], -,
        "requests that got no answer, by kind (`timeout`, `lost`, `closed`, `decode`, ...)";
    RESPONSE_ERRORS = "fluvio_response_errors_total", Counter, ["api", "code"], -,
        "answers that carry a server error code, by code name (`TopicAlreadyExists`, ...)";
    REQUEST_DURATION = "fluvio_request_duration_seconds", Histogram, ["api"], Seconds,
        "time from submit to answer", buckets = LATENCY_BUCKETS;
    REQUESTS_IN_FLIGHT = "fluvio_requests_in_flight", Gauge, [], -,
        "requests awaiting an answer";
    RECONNECTS = "fluvio_reconnects_total", Counter, ["addr"], -,
        "connections to a server re-established after a loss";
    CONNECTIONS = "fluvio_connections", Gauge, ["addr", "state"], -,
        "connections to a server in each state (`connecting`, `up`, `backing_off`)";
    PRODUCED_RECORDS = "fluvio_produced_records_total", Counter, ["topic"], -,
        "records acknowledged by SPUs";
    PRODUCED_BYTES = "fluvio_produced_bytes_total", Counter, ["topic"], Bytes,
        "record bytes acknowledged by SPUs (uncompressed)";
    PRODUCE_BATCH_RECORDS = "fluvio_produce_batch_records", Histogram, [], -,
        "records per acknowledged batch", buckets = BATCH_RECORDS_BUCKETS;
    PRODUCE_BATCH_BYTES = "fluvio_produce_batch_bytes", Histogram, [], Bytes,
        "bytes per acknowledged batch (uncompressed)", buckets = BATCH_BYTES_BUCKETS;
    PRODUCE_RETRIES = "fluvio_produce_retries_total", Counter, ["topic"], -,
        "batches sent again after a retriable failure";
    PRODUCE_ERRORS = "fluvio_produce_errors_total", Counter, ["topic", "code"], -,
        "batches that failed for good, by server code name or client reason";
    PRODUCER_RECORDS_DROPPED = "fluvio_producer_records_dropped_total", Counter, ["topic", "code"], -,
        "records sent with `ProduceRecord` (fire and forget, nobody awaits them) that were not delivered: refused when queued (`closed`, `client`) or failed later (the `code` of `fluvio_produce_errors_total`)";
    PRODUCER_POSSIBLY_DUPLICATED = "fluvio_producer_possibly_duplicated_records_total", Counter, ["topic"], -,
        "records sent again after a failure that may have stored them (the connection died after the request was written, no answer in time, or the leader's replicas did not confirm in time and the leader then could not be asked): each may be stored twice. Retries of requests never written and waits for replication are not counted";
    CONSUMED_RECORDS = "fluvio_consumed_records_total", Counter, ["consumer", "topic", "partition"], -,
        "records handed to readers (`consumer`: the consumer id, empty without one)";
    CONSUMED_BYTES = "fluvio_consumed_bytes_total", Counter, ["consumer", "topic", "partition"], Bytes,
        "value bytes handed to readers";
    CONSUMER_LAG = "fluvio_consumer_lag_records", Gauge, ["consumer", "topic", "partition"], -,
        "high watermark minus the next offset to read, as of the last frame (written only when a frame arrives: a reader that stopped on a caught-up partition keeps 0; see `fluvio_pipeline_last_progress_timestamp_seconds`)";
    CONSUMER_LAST_RECORD = "fluvio_consumer_last_record_timestamp_seconds", Gauge,
        ["consumer", "topic", "partition"], Seconds,
        "Unix time the consumer last handed records to its reader; the series appears with the stream's first record (never 0), so `time() -` it is the time since a record";
    CONSUMER_LAST_COMMIT = "fluvio_consumer_last_commit_timestamp_seconds", Gauge,
        ["consumer", "topic", "partition"], Seconds,
        "Unix time of the last offset commit, or of the stream's start before the first; the committed offset's age is `time() - fluvio_consumer_last_commit_timestamp_seconds`";
    CONSUMER_STREAMS = "fluvio_consumer_streams", Gauge, ["consumer", "topic", "partition"], -,
        "streams of the partition open in this process: 1 while it reads the partition, 0 once it stopped (a group member that handed the partition over); the partition's other consumer series keep their last values, so select them with `and fluvio_consumer_streams > 0`";
    LEADER_CHANGES = "fluvio_consumer_leader_changes_total", Counter, ["topic"], -,
        "streams moved to a partition's new leader (partitions rebalanced across SPUs)";
    OFFSET_EVICTED = "fluvio_consumer_offset_evicted_total", Counter, ["topic"], -,
        "times the next offset had been removed by retention and the stream skipped ahead";
    SMARTMODULE_ERRORS = "fluvio_smartmodule_errors_total", Counter, ["topic"], -,
        "streams stopped by a SmartModule error";
    PIPELINE_ACKED = "fluvio_pipeline_acked_records_total", Counter, ["consumer"], -,
        "records acknowledged by a pipeline's workers (`consumer`: the pipeline's consumer id)";
    PIPELINE_REDELIVERED = "fluvio_pipeline_redelivered_records_total", Counter, ["consumer"], -,
        "records delivered again after a worker restart";
    PIPELINE_RESTARTS = "fluvio_pipeline_worker_restarts_total", Counter, ["consumer", "worker"], -,
        "pipeline worker restarts (after a panic or a timeout), by worker index";
    PIPELINE_RETRIED = "fluvio_pipeline_retried_records_total", Counter, ["consumer", "kind"], -,
        "records retried after a failure, by failure kind (`worker`, `panic`, `timeout`, `sink`)";
    PIPELINE_DEAD_LETTERED = "fluvio_pipeline_dead_lettered_records_total", Counter, ["consumer", "kind"], -,
        "records written to the dead-letter topic after their retries, by the kind of their last failure (`worker`, `panic`, `timeout`, `sink`, `decode`, `encode`)";
    PIPELINE_SKIPPED = "fluvio_pipeline_skipped_records_total", Counter, ["consumer", "kind"], -,
        "records skipped after their retries, by the kind of their last failure";
    PIPELINE_IN_FLIGHT = "fluvio_pipeline_records_in_flight", Gauge, ["consumer", "topic", "partition"], -,
        "records handed to the worker and not yet acknowledged";
    PIPELINE_LAST_PROGRESS = "fluvio_pipeline_last_progress_timestamp_seconds", Gauge, ["consumer", "topic", "partition"], Seconds,
        "Unix time the partition last made progress: records settled (acknowledged, dead-lettered or skipped), new records handed to a worker that held none of the partition, or the partition's start; written at each of these, never 0. While `fluvio_pipeline_records_in_flight > 0`, `time() -` it is how long the worker (or the sink) has held records without finishing any, on a caught-up partition too";
    MIRROR_PARTITIONS = "fluvio_mirror_partition_info", Gauge, ["topic", "partition", "mirror", "direction"], -,
        "1 for each partition of a mirror topic a pipeline reads: the remote it belongs to (the home, on a remote) and its direction (`from-remote`, `to-remote`, `to-home`, `from-home`); join other partition metrics on `topic` and `partition` to see them by remote";
    PIPELINES = "fluvio_pipelines", Gauge, ["consumer", "state"], -,
        "pipelines in each state (`running`, `draining`)";
    GROUP_MEMBERS = "fluvio_group_members", Gauge, ["group"], -,
        "live members in a member's view of its consumer group";
    GROUP_GENERATION = "fluvio_group_generation", Gauge, ["group"], -,
        "the consumer group's generation in a member's view";
    GROUP_ASSIGNED_PARTITIONS = "fluvio_group_assigned_partitions", Gauge, ["group"], -,
        "partitions this group member is processing";
    GROUP_REBALANCES = "fluvio_group_rebalances_total", Counter, ["group"], -,
        "consumer group generations a member has seen start";
    GROUP_REBALANCE_DURATION = "fluvio_group_rebalance_duration_seconds", Histogram, ["group"], Seconds,
        "from a new group generation until every partition is held by its owner, as a member read it", buckets = LATENCY_BUCKETS;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prometheus_naming_guide() {
        let mut seen = std::collections::HashSet::new();
        for m in METRICS {
            assert!(seen.insert(m.name), "{} twice", m.name);
            assert!(m.name.starts_with("fluvio_"), "{}", m.name);
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                m.name
            );
            let total = m.name.ends_with("_total");
            assert_eq!(total, m.kind == MetricKind::Counter, "{}", m.name);
            match m.unit {
                Some(Unit::Seconds) => assert!(m.name.contains("_seconds"), "{}", m.name),
                Some(Unit::Bytes) => assert!(m.name.contains("_bytes"), "{}", m.name),
                Some(other) => panic!("{}: not a base unit: {other:?}", m.name),
                None => {}
            }
            let histogram = m.kind == MetricKind::Histogram;
            assert_eq!(histogram, !m.buckets.is_empty(), "{}", m.name);
            assert!(m.buckets.windows(2).all(|w| w[0] < w[1]), "{}", m.name);
        }
    }

    #[test]
    fn latency_buckets_span_100_microseconds_to_a_minute() {
        assert_eq!(LATENCY_BUCKETS.first(), Some(&0.0001));
        assert_eq!(LATENCY_BUCKETS.last(), Some(&60.0));
    }
}
