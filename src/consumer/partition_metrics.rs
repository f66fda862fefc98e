//! A partition stream's metric handles, registered once when the stream starts, so the
//! per-frame path builds no labels. The last-record timestamp is registered at the first
//! record (a series at 0 would read as a record in 1970), and a SmartModule stream's error
//! counter at 0 when the stream starts (its first error is then an increase).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use metrics::{Counter, Gauge, Label};

use crate::telemetry;

/// The `{consumer, topic, partition}` series of one partition stream.
#[derive(Debug)]
pub(crate) struct PartitionMetrics {
    lag: Gauge,
    records: Counter,
    bytes: Counter,
    labels: Vec<Label>,
    /// Registered at the first record.
    last_record: OnceLock<Gauge>,
    /// Only with a consumer id (nothing is committed without one).
    last_commit: Option<Gauge>,
    /// Open streams of this partition under this consumer id: up while this one lives.
    streams: Gauge,
}

impl PartitionMetrics {
    /// The handles of `consumer` (a consumer id) reading `topic`/`partition`. The commit
    /// timestamp starts at now the first time this process reads that partition under that
    /// id (a restarted stream keeps the age it had). `smartmodules`: the stream runs
    /// SmartModules (their error counter starts at 0).
    pub(crate) fn new(
        consumer: Option<&str>,
        topic: &str,
        partition: u32,
        smartmodules: bool,
    ) -> Self {
        let labels = vec![
            Label::new("consumer", consumer.unwrap_or_default().to_owned()),
            Label::new("topic", topic.to_owned()),
            Label::new("partition", partition.to_string()),
        ];
        let last_commit = consumer.map(|id| {
            let gauge = metrics::gauge!(telemetry::CONSUMER_LAST_COMMIT, labels.clone());
            if first_start(id, topic, partition) {
                gauge.set(telemetry::unix_now());
            }
            gauge
        });
        let streams = metrics::gauge!(telemetry::CONSUMER_STREAMS, labels.clone());
        streams.increment(1.0);
        if smartmodules {
            metrics::counter!(telemetry::SMARTMODULE_ERRORS, "topic" => topic.to_owned())
                .increment(0);
        }
        Self {
            streams,
            lag: metrics::gauge!(telemetry::CONSUMER_LAG, labels.clone()),
            records: metrics::counter!(telemetry::CONSUMED_RECORDS, labels.clone()),
            bytes: metrics::counter!(telemetry::CONSUMED_BYTES, labels.clone()),
            last_record: OnceLock::new(),
            labels,
            last_commit,
        }
    }

    /// A frame arrived: the lag after it, and the records (and their value bytes) it gave.
    pub(crate) fn frame(&self, lag: i64, records: usize, bytes: usize) {
        self.lag.set(lag.max(0) as f64);
        if records > 0 {
            self.records.increment(records as u64);
            self.bytes.increment(bytes as u64);
            self.last_record
                .get_or_init(|| {
                    metrics::gauge!(telemetry::CONSUMER_LAST_RECORD, self.labels.clone())
                })
                .set(telemetry::unix_now());
        }
    }

    /// An offset was committed.
    pub(crate) fn committed(&self) {
        if let Some(gauge) = &self.last_commit {
            gauge.set(telemetry::unix_now());
        }
    }
}

impl Drop for PartitionMetrics {
    /// The stream ended for good (a resumed stream keeps its handles).
    fn drop(&mut self) {
        self.streams.decrement(1.0);
    }
}

/// Whether this is the first stream of `topic`/`partition` under `id` in this process.
fn first_start(id: &str, topic: &str, partition: u32) -> bool {
    static STARTED: OnceLock<Mutex<HashSet<(String, String, u32)>>> = OnceLock::new();
    STARTED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((id.to_owned(), topic.to_owned(), partition))
}
