//! The `fluvio.produce` span of a produce request: its batches, records and bytes, then
//! the SPU's answer.

use crate::producer::accumulator::Sealed;
use crate::producer::error::ProducerError;
use crate::protocol::spu::ProduceResponse;
use crate::protocol::ErrorCode;
use crate::telemetry;

/// The `fluvio.produce` span of one produce request. Its parent is the span of the first
/// `send`/`send_batch` caller with a record in the request (other callers' spans are linked
/// with `follows_from`); requests holding only `enqueue`d records are root spans. `topic` is
/// set when the request holds one topic, `partition` when it holds one partition.
pub(super) fn produce_span(groups: &[Vec<Sealed>]) -> tracing::Span {
    let mut parents = groups.iter().flatten().filter_map(|s| s.slot.parent());
    let parent = parents.next();
    let span = tracing::debug_span!(
        parent: parent.and_then(tracing::Span::id),
        "fluvio.produce",
        topic = tracing::field::Empty,
        partition = tracing::field::Empty,
        partitions = groups.len(),
        records = tracing::field::Empty,
        bytes = tracing::field::Empty,
        base_offset = tracing::field::Empty,
        error_code = tracing::field::Empty,
        error = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    for other in parents {
        if Some(other) != parent {
            span.follows_from(other);
        }
    }
    let first = &groups[0][0];
    if groups.iter().all(|g| g[0].topic == first.topic) {
        span.record("topic", &*first.topic);
    }
    if groups.len() == 1 {
        span.record("partition", first.partition);
    }
    let batches = groups.iter().flatten();
    let (records, bytes) = batches.fold((0u64, 0usize), |(r, b), s| {
        (r + u64::from(s.records), b + s.encoded_len())
    });
    span.record("records", records);
    span.record("bytes", bytes);
    span
}

/// Record the produce response (error code, base offset) or the failure on `span`.
pub(super) fn record_produce_outcome(
    span: &tracing::Span,
    groups: &[Vec<Sealed>],
    result: &Result<ProduceResponse, ProducerError>,
) {
    if span.is_disabled() {
        return;
    }
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            span.record("error", tracing::field::display(error));
            return;
        }
    };
    let mut code = &ErrorCode::None;
    for group in groups {
        let answer = response.find_partition(&group[0].topic, group[0].partition);
        match answer {
            Some(p) if groups.len() == 1 && p.error_code == ErrorCode::None => {
                span.record("base_offset", p.base_offset);
            }
            Some(p) if p.error_code != ErrorCode::None && *code == ErrorCode::None => {
                code = &p.error_code;
            }
            Some(_) => {}
            None => {
                span.record("error", "no answer for a partition");
            }
        }
    }
    span.record("error_code", tracing::field::display(telemetry::code(code)));
}
