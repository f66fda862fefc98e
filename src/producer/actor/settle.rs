//! Settling the batches of a produce request: acknowledged (base offsets to their
//! records), retried after a retriable failure, or failed for good.

use super::ProducerActor;

use actix::prelude::*;

use crate::cluster::SpuTarget;
use crate::producer::accumulator::{PartitionKey, Sealed};
use crate::producer::config::{DeliveryGuarantee, RetryPolicy};
use crate::producer::error::ProducerError;
use crate::producer::slot::batch_bases;
use crate::protocol::spu::ProduceResponse;
use crate::protocol::ErrorCode;
use crate::telemetry;

impl ProducerActor {
    /// The SPU (`target`) answered a produce request, or it failed: settle each partition's
    /// batches.
    pub(super) fn answered(
        &mut self,
        target: &SpuTarget,
        groups: Vec<Vec<Sealed>>,
        result: Result<ProduceResponse, ProducerError>,
        ctx: &mut Context<Self>,
    ) {
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                for group in groups {
                    self.failed(group, error.clone(), ctx);
                }
                return;
            }
        };
        for group in groups {
            let (topic, partition) = (group[0].topic.clone(), group[0].partition);
            let answer = response.find_partition(&topic, partition);
            match answer.map(|p| (&p.error_code, p.base_offset)) {
                Some((ErrorCode::None, base)) => self.acknowledged(group, base),
                // Stored on the leader, not confirmed by its replicas within the server
                // timeout: sending it again would store it twice.
                Some((code @ ErrorCode::RequestTimedOut { .. }, base)) if base >= 0 => {
                    let error = ProducerError::refused(&topic, partition, code.clone());
                    self.await_replication(target.clone(), group, base, error, 0, ctx);
                }
                Some((code, _)) => {
                    let error = ProducerError::refused(&topic, partition, code.clone());
                    self.failed(group, error, ctx);
                }
                None => {
                    let error = ProducerError::MissingPartition {
                        topic: topic.to_string(),
                        partition,
                    };
                    self.failed(group, error, ctx);
                }
            }
        }
    }

    /// The partition's records of `group` are stored from offset `base` on.
    pub(super) fn acknowledged(&mut self, group: Vec<Sealed>, base: i64) {
        let (topic, partition) = (group[0].topic.clone(), group[0].partition);
        let Some(bases) = batch_bases(base, group.iter().map(|s| s.records)) else {
            let records = group.iter().map(|s| u64::from(s.records)).sum();
            let error = ProducerError::OffsetOverflow {
                topic: topic.to_string(),
                partition,
                base_offset: base,
                records,
            };
            return self.settle_failed(group, error);
        };
        let (mut records, mut bytes) = (0u64, 0u64);
        for (sealed, base) in group.iter().zip(bases) {
            self.core.release(sealed.reserved);
            sealed.slot.settle(Ok(base));
            records += u64::from(sealed.records);
            bytes += sealed.reserved as u64;
            metrics::histogram!(telemetry::PRODUCE_BATCH_RECORDS).record(f64::from(sealed.records));
            metrics::histogram!(telemetry::PRODUCE_BATCH_BYTES).record(sealed.reserved as f64);
        }
        let (produced_records, produced_bytes) =
            self.produced.entry(topic.clone()).or_insert_with(|| {
                let label = [metrics::Label::new("topic", topic.to_string())];
                (
                    metrics::counter!(telemetry::PRODUCED_RECORDS, label.to_vec()),
                    metrics::counter!(telemetry::PRODUCED_BYTES, label.to_vec()),
                )
            });
        produced_records.increment(records);
        produced_bytes.increment(bytes);
        self.core
            .acc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .complete(&(topic, partition));
    }

    /// Retry the group if the guarantee allows, else fail its records. Each batch is judged
    /// by its own age and attempts: a retried group merged with newer batches fails only the
    /// batches whose delivery timeout passed.
    pub(super) fn failed(
        &mut self,
        group: Vec<Sealed>,
        error: ProducerError,
        ctx: &mut Context<Self>,
    ) {
        self.retry_or_fail(group, error, true, ctx);
    }

    /// As [`ProducerActor::failed`]; `error` is kept as the batches' last failure when
    /// `remember` (not for a leader lookup their delivery deadline cut short: a batch that
    /// times out then reports the failure that made it wait).
    pub(super) fn retry_or_fail(
        &mut self,
        group: Vec<Sealed>,
        error: ProducerError,
        remember: bool,
        ctx: &mut Context<Self>,
    ) {
        if remember {
            for sealed in &group {
                sealed.slot.note_failure(&error);
            }
        }
        let Some(first) = group.first() else { return };
        let key: PartitionKey = (first.topic.clone(), first.partition);
        let policy = match &self.core.options.delivery {
            DeliveryGuarantee::AtLeastOnce(policy) if error.retries_when_queued() => policy.clone(),
            _ => return self.settle_failed(group, error),
        };
        let group = self.expire(group, &policy, &error);
        let Some(oldest) = group.first() else {
            return self.complete(&key);
        };
        let (attempts, left) = (oldest.attempts, oldest.time_left(&policy));
        let delay = policy.delay(attempts).min(left);
        // Once per outage of a partition, not once per attempt.
        if attempts == 1 {
            tracing::warn!(topic = %key.0, partition = key.1, %error, "produce failed; retrying until the delivery timeout");
        } else {
            tracing::debug!(topic = %key.0, partition = key.1, attempt = attempts, %error, ?delay, "produce failed again; retrying");
        }
        metrics::counter!(telemetry::PRODUCE_RETRIES, "topic" => key.0.to_string()).increment(1);
        if error.possibly_stored() {
            let records: u64 = group.iter().map(|s| u64::from(s.records)).sum();
            metrics::counter!(telemetry::PRODUCER_POSSIBLY_DUPLICATED, "topic" => key.0.to_string())
                .increment(records);
        }
        // The next attempt looks the leader up again, from metadata newer than this failure.
        self.leaders.remove(&key);
        self.stale.insert(key);
        // The partition stays in flight until the retry, which keeps its records in order.
        ctx.run_later(delay, move |act, ctx| {
            act.core
                .acc
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .requeue(group);
            act.pump(ctx, false);
        });
    }

    /// Fail the batches of `group` past their delivery timeout or out of retries, each with
    /// its last failure (else `last`, the one that ends them); give back the others, oldest
    /// first.
    pub(super) fn expire(
        &mut self,
        group: Vec<Sealed>,
        policy: &RetryPolicy,
        last: &ProducerError,
    ) -> Vec<Sealed> {
        let (mut kept, mut timed_out, mut exhausted) = (Vec::new(), Vec::new(), Vec::new());
        for sealed in group {
            if sealed.time_left(policy).is_zero() {
                timed_out.push(sealed);
            } else if sealed.attempts > policy.max_retries {
                exhausted.push(sealed);
            } else {
                kept.push(sealed);
            }
        }
        let last_of =
            |sealed: &Sealed| Box::new(sealed.slot.last_failure().unwrap_or_else(|| last.clone()));
        for sealed in timed_out {
            let error = ProducerError::DeliveryTimeout {
                timeout: policy.timeout,
                attempts: sealed.attempts,
                last: last_of(&sealed),
            };
            self.fail_batches(vec![sealed], error);
        }
        for sealed in exhausted {
            let error = ProducerError::RetriesExhausted {
                attempts: sealed.attempts,
                elapsed: sealed.created_at.elapsed(),
                last: last_of(&sealed),
            };
            self.fail_batches(vec![sealed], error);
        }
        kept
    }

    /// While its batches wait (for their leader, or an answer), fail each at its own
    /// delivery deadline: its records are reported then, though the wait goes on for the
    /// younger batches (an answer that comes later finds them settled already, and only
    /// frees their bytes). One timer per batch that failed before (the first send of a
    /// batch is bounded by the request timeout, capped at its deadline: no timer on the
    /// hot path), set the first time it waits again.
    pub(super) fn expire_while_waiting(
        &self,
        group: &mut [Sealed],
        policy: &RetryPolicy,
        ctx: &mut Context<Self>,
    ) {
        let timeout = policy.timeout;
        for sealed in group
            .iter_mut()
            .filter(|s| !s.armed && s.slot.failures() > 0)
        {
            sealed.armed = true;
            let left = sealed.time_left(policy);
            let slot = sealed.slot.clone();
            let records = u64::from(sealed.records);
            let topic = sealed.topic.to_string();
            let partition = format!("{topic}-{}", sealed.partition);
            ctx.run_later(left, move |act, _| {
                if slot.is_settled() {
                    return;
                }
                let last = slot.last_failure().unwrap_or_else(|| {
                    ProducerError::Client(crate::cluster::ClientError::Connection(
                        crate::connection::ConnectionError::RequestTimeout {
                            addr: format!("the leader of {partition}").into(),
                            api_key: crate::protocol::spu::PRODUCE_KEY,
                            timeout,
                        },
                    ))
                });
                let error = ProducerError::DeliveryTimeout {
                    timeout,
                    // The failed sends, and the one still waiting.
                    attempts: slot.failures() + 1,
                    last: Box::new(last),
                };
                act.note_failed(&topic, records, &error);
                metrics::counter!(telemetry::PRODUCE_ERRORS, "topic" => topic, "code" => error.metric_code())
                    .increment(1);
                slot.settle(Err(error));
                act.unsettled.retain(|slot| !slot.is_settled());
            });
        }
    }

    /// The partition's request (or retry) is over: it may send again.
    pub(super) fn complete(&mut self, key: &PartitionKey) {
        self.core
            .acc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .complete(key);
    }

    /// Fail every batch of `group` with `error` and free its partition.
    pub(super) fn settle_failed(&mut self, group: Vec<Sealed>, error: ProducerError) {
        let key = group.first().map(|s| (s.topic.clone(), s.partition));
        self.fail_batches(group, error);
        if let Some(key) = key {
            self.complete(&key);
        }
    }

    /// Fail `batches` (of one partition) with `error`, counted once; the partition stays
    /// in flight.
    fn fail_batches(&mut self, batches: Vec<Sealed>, error: ProducerError) {
        if let Some(first) = batches.first() {
            let records = batches.iter().map(|s| u64::from(s.records)).sum();
            self.note_failed(&first.topic, records, &error);
            metrics::counter!(telemetry::PRODUCE_ERRORS, "topic" => first.topic.to_string(), "code" => error.metric_code())
                .increment(1);
        }
        for sealed in batches {
            self.core.release(sealed.reserved);
            sealed.slot.settle(Err(error.clone()));
        }
    }

    /// `records` of `topic` failed with `error`: a warning at the first failure of a burst
    /// and at most once a minute while it lasts, with what failed since the last one (the
    /// callers count every failure in `fluvio_produce_errors_total`).
    fn note_failed(&mut self, topic: &str, records: u64, error: &ProducerError) {
        if let Some(earlier) = self.failed.note(std::time::Instant::now(), records) {
            tracing::warn!(topic, records, earlier, %error, "records not delivered; more failures in this burst are only counted in fluvio_produce_errors_total");
        }
    }
}
