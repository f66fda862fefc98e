//! Settling the batches of a produce request: acknowledged (base offsets to their
//! records), retried after a retriable failure, or failed for good.

use super::ProducerActor;

use actix::prelude::*;

use crate::producer::accumulator::{PartitionKey, Sealed};
use crate::producer::config::DeliveryGuarantee;
use crate::producer::error::ProducerError;
use crate::producer::slot::batch_bases;
use crate::protocol::spu::ProduceResponse;
use crate::protocol::ErrorCode;
use crate::telemetry;

impl ProducerActor {
    /// The SPU answered a produce request, or it failed: settle each partition's batches.
    pub(super) fn answered(
        &mut self,
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
                Some((ErrorCode::None, base)) => {
                    let Some(bases) = batch_bases(base, group.iter().map(|s| s.records)) else {
                        let records = group.iter().map(|s| u64::from(s.records)).sum();
                        let error = ProducerError::OffsetOverflow {
                            topic: topic.to_string(),
                            partition,
                            base_offset: base,
                            records,
                        };
                        self.settle_failed(group, error);
                        continue;
                    };
                    let (mut records, mut bytes) = (0u64, 0u64);
                    for (sealed, base) in group.iter().zip(bases) {
                        self.core.release(sealed.reserved);
                        sealed.slot.settle(Ok(base));
                        records += u64::from(sealed.records);
                        bytes += sealed.reserved as u64;
                        metrics::histogram!(telemetry::PRODUCE_BATCH_RECORDS)
                            .record(f64::from(sealed.records));
                        metrics::histogram!(telemetry::PRODUCE_BATCH_BYTES)
                            .record(sealed.reserved as f64);
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

    /// Retry the group if the guarantee allows, else fail its records.
    pub(super) fn failed(
        &mut self,
        group: Vec<Sealed>,
        error: ProducerError,
        ctx: &mut Context<Self>,
    ) {
        let Some(first) = group.first() else { return };
        let key: PartitionKey = (first.topic.clone(), first.partition);
        let (elapsed, attempts) = (first.created_at.elapsed(), first.attempts);
        let policy = match &self.core.options.delivery {
            DeliveryGuarantee::AtLeastOnce(policy) if error.retries_when_queued() => policy,
            _ => return self.settle_failed(group, error),
        };
        if elapsed >= policy.timeout {
            let error = ProducerError::DeliveryTimeout {
                timeout: policy.timeout,
                attempts,
                last: Box::new(error),
            };
            return self.settle_failed(group, error);
        }
        if attempts > policy.max_retries {
            let error = ProducerError::RetriesExhausted {
                attempts,
                elapsed,
                last: Box::new(error),
            };
            return self.settle_failed(group, error);
        }
        let delay = policy.delay(attempts).min(policy.timeout - elapsed);
        // Once per outage of a partition, not once per attempt.
        if attempts == 1 {
            tracing::warn!(topic = %key.0, partition = key.1, %error, "produce failed; retrying until the delivery timeout");
        } else {
            tracing::debug!(topic = %key.0, partition = key.1, attempt = attempts, %error, ?delay, "produce failed again; retrying");
        }
        metrics::counter!(telemetry::PRODUCE_RETRIES, "topic" => key.0.to_string()).increment(1);
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

    pub(super) fn settle_failed(&mut self, group: Vec<Sealed>, error: ProducerError) {
        if let Some(first) = group.first() {
            metrics::counter!(telemetry::PRODUCE_ERRORS, "topic" => first.topic.to_string(), "code" => error.metric_code())
                .increment(1);
            let key = (first.topic.clone(), first.partition);
            self.core
                .acc
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .complete(&key);
        }
        for sealed in group {
            self.core.release(sealed.reserved);
            sealed.slot.settle(Err(error.clone()));
        }
    }
}
