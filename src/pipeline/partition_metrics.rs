//! A pipeline partition's metric handles, registered once per partition task so the
//! per-record path builds no labels. Counters that alert rules read with `increase()` are
//! registered at 0 here, when the partition starts, so their first increment is an increase
//! (a series that appears at 1 shows none).

use metrics::{Counter, Gauge, Label};

use super::failure::FailureKind;
use crate::telemetry;

/// A pipeline partition's metric handles, registered once per partition task.
#[derive(Debug)]
pub(crate) struct PartitionMetrics {
    pub(crate) acked: Counter,
    pub(crate) redelivered: Counter,
    pub(crate) in_flight: Gauge,
    /// [`telemetry::PIPELINE_LAST_PROGRESS`].
    last_progress: Gauge,
    /// The highest offset handed to the worker so far (`-1`: none): a read that starts at or
    /// below it delivers records again, which is no progress.
    handed_through: i64,
    consumer: String,
}

impl PartitionMetrics {
    /// The handles of pipeline `consumer` reading `topic`/`partition` through worker
    /// `worker`; the partition's progress clock starts now.
    pub(crate) fn new(consumer: &str, topic: &str, partition: u32, worker: usize) -> Self {
        let pipeline = [Label::new("consumer", consumer.to_owned())];
        let labels = vec![
            pipeline[0].clone(),
            Label::new("topic", topic.to_owned()),
            Label::new("partition", partition.to_string()),
        ];
        let last_progress = metrics::gauge!(telemetry::PIPELINE_LAST_PROGRESS, labels.clone());
        last_progress.set(telemetry::unix_now());
        let this = Self {
            acked: metrics::counter!(telemetry::PIPELINE_ACKED, pipeline.to_vec()),
            redelivered: metrics::counter!(telemetry::PIPELINE_REDELIVERED, pipeline.to_vec()),
            in_flight: metrics::gauge!(telemetry::PIPELINE_IN_FLIGHT, labels),
            last_progress,
            handed_through: -1,
            consumer: consumer.to_owned(),
        };
        this.restarts(worker).increment(0);
        for kind in FailureKind::ALL {
            for name in [
                telemetry::PIPELINE_RETRIED,
                telemetry::PIPELINE_DEAD_LETTERED,
                telemetry::PIPELINE_SKIPPED,
            ] {
                this.by_kind(name, kind).increment(0);
            }
        }
        this
    }

    /// Records from `first` through `last` were handed to the worker, which held no record of
    /// this partition before when `idle`: new records reaching an idle worker restart the
    /// progress clock (records read again after a failure do not).
    pub(crate) fn handed(&mut self, idle: bool, first: i64, last: i64) {
        if restarts_clock(idle, first, self.handed_through) {
            self.progressed();
        }
        self.handed_through = self.handed_through.max(last);
    }

    /// Records were settled: acknowledged, dead-lettered or skipped.
    pub(crate) fn progressed(&self) {
        self.last_progress.set(telemetry::unix_now());
    }

    /// Count a retry of a record that failed with `kind`.
    pub(crate) fn retried(&self, kind: FailureKind) {
        self.by_kind(telemetry::PIPELINE_RETRIED, kind).increment(1);
    }

    /// Count a record dead-lettered after a failure of `kind`.
    pub(crate) fn dead_lettered(&self, kind: FailureKind) {
        self.by_kind(telemetry::PIPELINE_DEAD_LETTERED, kind)
            .increment(1);
    }

    /// Count a record skipped after a failure of `kind`.
    pub(crate) fn skipped(&self, kind: FailureKind) {
        self.by_kind(telemetry::PIPELINE_SKIPPED, kind).increment(1);
    }

    fn by_kind(&self, name: &'static str, kind: FailureKind) -> Counter {
        metrics::counter!(name, "consumer" => self.consumer.clone(), "kind" => kind.as_str())
    }

    fn restarts(&self, worker: usize) -> Counter {
        metrics::counter!(telemetry::PIPELINE_RESTARTS, "consumer" => self.consumer.clone(), "worker" => worker.to_string())
    }

    /// Count a restart of worker `worker`.
    pub(crate) fn restarted(&self, worker: usize) {
        self.restarts(worker).increment(1);
    }
}

/// Whether records from `first` on, handed to a worker that held none of the partition when
/// `idle`, restart the progress clock: only when none was handed before (`handed_through`:
/// the highest offset handed so far). Records read again after a failure are no progress.
fn restarts_clock(idle: bool, first: i64, handed_through: i64) -> bool {
    idle && first > handed_through
}

#[cfg(test)]
mod tests {
    use super::restarts_clock;

    #[test]
    fn only_new_records_reaching_an_idle_worker_restart_the_progress_clock() {
        assert!(restarts_clock(true, 0, -1), "the first records");
        assert!(restarts_clock(true, 11, 10), "records after an idle spell");
        assert!(
            !restarts_clock(false, 11, 10),
            "the worker still holds records"
        );
        assert!(
            !restarts_clock(true, 7, 10),
            "read again after a worker restart"
        );
        assert!(
            !restarts_clock(true, 10, 10),
            "the last record handed, again"
        );
    }
}
