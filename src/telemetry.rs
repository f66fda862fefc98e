//! Metric names and their meaning, in one place. Everything is reported through the
//! [`metrics`] facade: install any recorder, or enable the `prometheus` feature and call
//! [`serve_prometheus`]. Label sets stay bounded: topic, partition, API key, error code.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `fluvio_requests_total` | counter | `api` | requests sent, by API key |
//! | `fluvio_request_errors_total` | counter | `api`, `kind` | requests that failed (timeout, lost, closed, decode, ...) |
//! | `fluvio_response_errors_total` | counter | `api`, `code` | answers that carry a server error code (admin refusals, produce and fetch errors, ...), by code name |
//! | `fluvio_request_duration_seconds` | histogram | `api` | time from submit to response |
//! | `fluvio_requests_in_flight` | gauge | | requests awaiting a response |
//! | `fluvio_reconnects_total` | counter | | connections re-established |
//! | `fluvio_produced_records_total` | counter | `topic` | records acknowledged by SPUs |
//! | `fluvio_produced_bytes_total` | counter | `topic` | record payload bytes acknowledged (uncompressed) |
//! | `fluvio_produce_batch_records` | histogram | | records per acknowledged batch |
//! | `fluvio_produce_retries_total` | counter | `topic` | batches re-sent after a retriable failure |
//! | `fluvio_produce_errors_total` | counter | `topic`, `code` | batches that failed for good |
//! | `fluvio_consumed_records_total` | counter | `topic`, `partition` | records handed to readers |
//! | `fluvio_consumed_bytes_total` | counter | `topic`, `partition` | value bytes handed to readers |
//! | `fluvio_consumer_lag` | gauge | `topic`, `partition` | high watermark minus the next offset to read |
//! | `fluvio_consumer_offset_evicted_total` | counter | `topic` | times the next offset had been removed by retention |
//! | `fluvio_smartmodule_errors_total` | counter | `topic` | streams stopped by a SmartModule error |
//! | `fluvio_pipeline_acked_total` | counter | | records acknowledged by pipeline workers |
//! | `fluvio_pipeline_redelivered_total` | counter | | records delivered again after a worker restart |
//! | `fluvio_pipeline_restarts_total` | counter | | pipeline worker restarts |
//! | `fluvio_group_members` | gauge | `group` | live members in a member's view of its group |
//! | `fluvio_group_generation` | gauge | `group` | the group's generation in a member's view |
//! | `fluvio_group_assigned_partitions` | gauge | `group` | partitions this member is processing |
//! | `fluvio_group_rebalances_total` | counter | `group` | generations a member has seen start |
//! | `fluvio_group_rebalance_duration_seconds` | histogram | `group` | from a new generation until every partition is held by its owner, as a member read it |
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
//! | `fluvio.pipeline.record` | `topic`, `partition`, `offset`, `worker`, *`outputs`* | each record a pipeline hands to a worker; the outputs' enqueue happens inside it |
//!
//! Parents: a request's span is a child of the span current where it is made, so admin
//! calls, `fetch_batch`, offset look-ups and commits made in a user's span are its
//! descendants (a commit runs on the consumer's task in the committing caller's span). A
//! consumer's fetcher, a topic consumer and a pipeline's partition tasks run in the span
//! current where they were started: start them outside any span to get root spans. A
//! `fluvio.produce` span is a child of the span of the first `Producer::send` or
//! `send_batch` caller whose record is in the request (one span capture per call; other
//! callers' spans are linked with `follows_from`); requests holding only `enqueue`d,
//! `try_send` or actor-message records are root spans, which keeps the per-record path free
//! of span work.

/// Requests sent.
pub const REQUESTS: &str = "fluvio_requests_total";
/// Requests failed.
pub const REQUEST_ERRORS: &str = "fluvio_request_errors_total";
/// Answers carrying a server error code.
pub const RESPONSE_ERRORS: &str = "fluvio_response_errors_total";
/// Request latency.
pub const REQUEST_DURATION: &str = "fluvio_request_duration_seconds";
/// Requests awaiting a response.
pub const REQUESTS_IN_FLIGHT: &str = "fluvio_requests_in_flight";
/// Reconnections.
pub const RECONNECTS: &str = "fluvio_reconnects_total";
/// Records acknowledged.
pub const PRODUCED_RECORDS: &str = "fluvio_produced_records_total";
/// Bytes acknowledged.
pub const PRODUCED_BYTES: &str = "fluvio_produced_bytes_total";
/// Records per batch.
pub const PRODUCE_BATCH_RECORDS: &str = "fluvio_produce_batch_records";
/// Batches retried.
pub const PRODUCE_RETRIES: &str = "fluvio_produce_retries_total";
/// Batches failed.
pub const PRODUCE_ERRORS: &str = "fluvio_produce_errors_total";
/// Records consumed.
pub const CONSUMED_RECORDS: &str = "fluvio_consumed_records_total";
/// Bytes consumed.
pub const CONSUMED_BYTES: &str = "fluvio_consumed_bytes_total";
/// Consumer lag.
pub const CONSUMER_LAG: &str = "fluvio_consumer_lag";
/// Evicted offsets skipped.
pub const OFFSET_EVICTED: &str = "fluvio_consumer_offset_evicted_total";
/// SmartModule errors.
pub const SMARTMODULE_ERRORS: &str = "fluvio_smartmodule_errors_total";

/// Pipeline records acknowledged.
pub const PIPELINE_ACKED: &str = "fluvio_pipeline_acked_total";
/// Pipeline records redelivered.
pub const PIPELINE_REDELIVERED: &str = "fluvio_pipeline_redelivered_total";
/// Pipeline worker restarts.
pub const PIPELINE_RESTARTS: &str = "fluvio_pipeline_restarts_total";

/// Group members.
pub const GROUP_MEMBERS: &str = "fluvio_group_members";
/// Group generation.
pub const GROUP_GENERATION: &str = "fluvio_group_generation";
/// Partitions a group member processes.
pub const GROUP_ASSIGNED_PARTITIONS: &str = "fluvio_group_assigned_partitions";
/// Group rebalances.
pub const GROUP_REBALANCES: &str = "fluvio_group_rebalances_total";
/// Group rebalance time.
pub const GROUP_REBALANCE_DURATION: &str = "fluvio_group_rebalance_duration_seconds";

/// Count an answer of API `api_key` that carries the server error `code`.
pub(crate) fn count_response_error(api_key: u16, code: &crate::protocol::ErrorCode) {
    metrics::counter!(RESPONSE_ERRORS, "api" => api_key.to_string(), "code" => self::code(code).to_string())
        .increment(1);
}

/// A server error code as a span field or metric label: `none`, or the code's name
/// (`NotLeaderForPartition`, `Other`, ...) without its payload. Formatted only when used.
pub(crate) fn code(code: &crate::protocol::ErrorCode) -> CodeName<'_> {
    CodeName(code)
}

/// See [`code`].
pub(crate) struct CodeName<'a>(&'a crate::protocol::ErrorCode);

impl std::fmt::Display for CodeName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        /// Passes on the leading identifier of the `Debug` output (the variant's name).
        struct Name<'a, 'b> {
            out: &'a mut std::fmt::Formatter<'b>,
            done: bool,
        }
        impl Write for Name<'_, '_> {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                if self.done {
                    return Ok(());
                }
                let end = s
                    .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .unwrap_or(s.len());
                self.done = end < s.len();
                self.out.write_str(&s[..end])
            }
        }
        if *self.0 == crate::protocol::ErrorCode::None {
            return f.write_str("none");
        }
        write!(
            Name {
                out: f,
                done: false
            },
            "{:?}",
            self.0
        )
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

/// Describe every metric to the installed recorder (units and help texts).
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(REQUESTS, "requests sent, by API key");
    describe_counter!(REQUEST_ERRORS, "requests that failed, by API key and kind");
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "time from submit to response"
    );
    describe_gauge!(REQUESTS_IN_FLIGHT, "requests awaiting a response");
    describe_counter!(RECONNECTS, "connections re-established");
    describe_counter!(PRODUCED_RECORDS, "records acknowledged by SPUs");
    describe_counter!(PRODUCED_BYTES, Unit::Bytes, "record bytes acknowledged");
    describe_histogram!(PRODUCE_BATCH_RECORDS, "records per acknowledged batch");
    describe_counter!(PRODUCE_RETRIES, "batches re-sent after a retriable failure");
    describe_counter!(PRODUCE_ERRORS, "batches that failed for good");
    describe_counter!(CONSUMED_RECORDS, "records handed to readers");
    describe_counter!(CONSUMED_BYTES, Unit::Bytes, "value bytes handed to readers");
    describe_gauge!(CONSUMER_LAG, "high watermark minus the next offset to read");
    describe_counter!(
        OFFSET_EVICTED,
        "next offset removed by retention; skipped ahead"
    );
    describe_counter!(SMARTMODULE_ERRORS, "streams stopped by a SmartModule error");
    describe_counter!(PIPELINE_ACKED, "records acknowledged by pipeline workers");
    describe_counter!(
        PIPELINE_REDELIVERED,
        "records delivered again after a worker restart"
    );
    describe_counter!(PIPELINE_RESTARTS, "pipeline worker restarts");
    describe_gauge!(
        GROUP_MEMBERS,
        "live members in a member's view of its group"
    );
    describe_gauge!(
        GROUP_GENERATION,
        "the group's generation in a member's view"
    );
    describe_gauge!(
        GROUP_ASSIGNED_PARTITIONS,
        "partitions this group member is processing"
    );
    describe_counter!(
        GROUP_REBALANCES,
        "group generations a member has seen start"
    );
    describe_histogram!(
        GROUP_REBALANCE_DURATION,
        Unit::Seconds,
        "from a new group generation until every partition is held by its owner"
    );
}

/// Install a Prometheus recorder and serve `/metrics` on `addr` (feature `prometheus`).
/// Returns the handle, whose `render()` also serves an existing web app's own route.
///
/// # Errors
/// The recorder or the listener could not be installed.
#[cfg(feature = "prometheus")]
pub fn serve_prometheus(
    addr: std::net::SocketAddr,
) -> Result<metrics_exporter_prometheus::PrometheusHandle, String> {
    let builder = metrics_exporter_prometheus::PrometheusBuilder::new().with_http_listener(addr);
    let (recorder, exporter) = builder.build().map_err(|e| e.to_string())?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    describe();
    tokio::spawn(async move {
        if let Err(error) = exporter.await {
            tracing::error!(?error, "the /metrics listener stopped");
        }
    });
    Ok(handle)
}
