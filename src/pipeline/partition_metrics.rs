//! A pipeline partition's metric handles, registered once per partition task so the
//! per-record path builds no labels.

use metrics::{Counter, Gauge, Label};

use super::failure::FailureKind;
use crate::telemetry;

/// A pipeline partition's metric handles, registered once per partition task.
#[derive(Debug)]
pub(crate) struct PartitionMetrics {
    pub(crate) acked: Counter,
    pub(crate) redelivered: Counter,
    pub(crate) in_flight: Gauge,
    consumer: String,
}

impl PartitionMetrics {
    pub(crate) fn new(consumer: &str, topic: &str, partition: u32) -> Self {
        let pipeline = [Label::new("consumer", consumer.to_owned())];
        let labels = vec![
            pipeline[0].clone(),
            Label::new("topic", topic.to_owned()),
            Label::new("partition", partition.to_string()),
        ];
        Self {
            acked: metrics::counter!(telemetry::PIPELINE_ACKED, pipeline.to_vec()),
            redelivered: metrics::counter!(telemetry::PIPELINE_REDELIVERED, pipeline.to_vec()),
            in_flight: metrics::gauge!(telemetry::PIPELINE_IN_FLIGHT, labels),
            consumer: consumer.to_owned(),
        }
    }

    /// Count a retry of a record that failed with `kind`.
    pub(crate) fn retried(&self, kind: FailureKind) {
        self.by_kind(telemetry::PIPELINE_RETRIED, kind);
    }

    /// Count a record dead-lettered after a failure of `kind`.
    pub(crate) fn dead_lettered(&self, kind: FailureKind) {
        self.by_kind(telemetry::PIPELINE_DEAD_LETTERED, kind);
    }

    /// Count a record skipped after a failure of `kind`.
    pub(crate) fn skipped(&self, kind: FailureKind) {
        self.by_kind(telemetry::PIPELINE_SKIPPED, kind);
    }

    fn by_kind(&self, name: &'static str, kind: FailureKind) {
        metrics::counter!(name, "consumer" => self.consumer.clone(), "kind" => kind.as_str())
            .increment(1);
    }

    /// Count a restart of worker `worker`.
    pub(crate) fn restarted(&self, worker: usize) {
        metrics::counter!(telemetry::PIPELINE_RESTARTS, "consumer" => self.consumer.clone(), "worker" => worker.to_string())
            .increment(1);
    }
}
