//! What a running pipeline is doing, for readiness checks ([`PipelineStatus::not_ready`])
//! and the `fluvio_pipelines{consumer, state}` gauge.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use metrics::Gauge;

use crate::consumer::{StreamState, StreamStatus};
use crate::telemetry;

/// A pipeline's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PipelineState {
    /// Reading and processing.
    Running,
    /// Reading nothing more; finishing what is in flight (a drain, or a partition failed).
    Draining,
    /// Every partition task ended.
    Stopped,
}

impl PipelineState {
    /// The state's name: `running`, `draining`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineState::Running => "running",
            PipelineState::Draining => "draining",
            PipelineState::Stopped => "stopped",
        }
    }
}

/// Where one partition of a pipeline is.
#[derive(Debug, Clone)]
pub(crate) enum Phase {
    /// Opening its stream (the first time, or after a worker restart).
    Starting,
    /// Its stream is open; the stream's own status says whether it streams.
    Reading(StreamStatus),
    /// Waiting out the backoff before a restarted worker gets records again.
    Restarting,
    /// The task ended.
    Ended,
}

/// A shared view of a running pipeline; cheap to clone. Get it from
/// [`super::PipelineHandle::status`].
#[derive(Debug, Clone)]
pub struct PipelineStatus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    consumer: String,
    topic: String,
    state: AtomicU8,
    /// The partitions the pipeline runs now (for a group pipeline, those assigned to it).
    partitions: Mutex<BTreeMap<u32, Phase>>,
    /// `fluvio_pipelines{state="running"}` and `{state="draining"}`.
    gauges: [Gauge; 2],
}

impl PipelineStatus {
    /// A running pipeline of `consumer` reading `partitions` of `topic`.
    pub(crate) fn new(consumer: &str, topic: &str, partitions: &[u32]) -> Self {
        let gauge = |state: PipelineState| metrics::gauge!(telemetry::PIPELINES, "consumer" => consumer.to_owned(), "state" => state.as_str());
        let gauges = [
            gauge(PipelineState::Running),
            gauge(PipelineState::Draining),
        ];
        gauges[0].increment(1.0);
        Self {
            inner: Arc::new(Inner {
                consumer: consumer.to_owned(),
                topic: topic.to_owned(),
                state: AtomicU8::new(PipelineState::Running as u8),
                partitions: Mutex::new(partitions.iter().map(|&p| (p, Phase::Starting)).collect()),
                gauges,
            }),
        }
    }

    /// The pipeline's consumer id.
    pub fn consumer_id(&self) -> &str {
        &self.inner.consumer
    }

    /// The pipeline's state.
    pub fn state(&self) -> PipelineState {
        match self.inner.state.load(Ordering::Acquire) {
            0 => PipelineState::Running,
            1 => PipelineState::Draining,
            _ => PipelineState::Stopped,
        }
    }

    /// Why the pipeline is not ready, one sentence per reason; empty when it is running and
    /// every partition's stream is streaming. The reasons: the pipeline is draining or
    /// stopped; a partition is starting, resuming a lost stream, waiting for its worker's
    /// restart, or ended. A group pipeline lists only the partitions assigned to it now
    /// (none assigned is ready: the group gave the partitions to other members).
    pub fn not_ready(&self) -> Vec<String> {
        let name = &self.inner.consumer;
        let mut reasons = Vec::new();
        match self.state() {
            PipelineState::Running => {}
            state => reasons.push(format!("pipeline '{name}' is {}", state.as_str())),
        }
        let partitions = self.partitions();
        for (partition, phase) in partitions {
            let what = match phase {
                Phase::Reading(stream) if stream.state() == StreamState::Streaming => continue,
                Phase::Reading(stream) => format!("its stream is {}", stream.state().as_str()),
                Phase::Starting => "it is starting".to_owned(),
                Phase::Restarting => "its worker is restarting".to_owned(),
                Phase::Ended => "it ended".to_owned(),
            };
            let topic = &self.inner.topic;
            reasons.push(format!(
                "partition {topic}-{partition} of pipeline '{name}': {what}"
            ));
        }
        reasons
    }

    /// Move to `state` (a stopped pipeline stays stopped).
    pub(crate) fn set_state(&self, state: PipelineState) {
        let stopped = PipelineState::Stopped as u8;
        let swapped = self
            .inner
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
                (old != stopped && old != state as u8).then_some(state as u8)
            });
        let Ok(old) = swapped else {
            return;
        };
        if let Some(gauge) = self.inner.gauges.get(usize::from(old)) {
            gauge.decrement(1.0);
        }
        if let Some(gauge) = self.inner.gauges.get(state as usize) {
            gauge.increment(1.0);
        }
    }

    /// The partitions the pipeline runs now, in order (for a group pipeline: those assigned
    /// to it).
    pub fn partition_ids(&self) -> Vec<u32> {
        self.partitions().into_iter().map(|(p, _)| p).collect()
    }

    fn partitions(&self) -> Vec<(u32, Phase)> {
        let partitions = self.inner.partitions.lock();
        let partitions = partitions.unwrap_or_else(|e| e.into_inner());
        partitions
            .iter()
            .map(|(p, phase)| (*p, phase.clone()))
            .collect()
    }

    /// `partition` is now in `phase` (nothing, if the pipeline no longer runs it).
    pub(crate) fn set_phase(&self, partition: u32, phase: Phase) {
        let mut partitions = self
            .inner
            .partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = partitions.get_mut(&partition) {
            *slot = phase;
        }
    }

    /// The pipeline runs `partition` now (a group assigned it); it is starting.
    pub(crate) fn add_partition(&self, partition: u32) {
        let mut partitions = self
            .inner
            .partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        partitions.insert(partition, Phase::Starting);
    }

    /// The pipeline no longer runs `partition` (a group took it away).
    pub(crate) fn remove_partition(&self, partition: u32) {
        let mut partitions = self
            .inner
            .partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        partitions.remove(&partition);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = *self.state.get_mut();
        if let Some(gauge) = self.gauges.get(usize::from(state)) {
            gauge.decrement(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_while_running_with_every_partition_streaming() {
        let status = PipelineStatus::new("c", "t", &[0, 1]);
        assert_eq!(status.not_ready().len(), 2, "both starting");
        let streams = [StreamStatus::default(), StreamStatus::default()];
        for (i, stream) in (0..).zip(&streams) {
            stream.set(StreamState::Streaming);
            status.set_phase(i, Phase::Reading(stream.clone()));
        }
        assert_eq!(status.not_ready(), Vec::<String>::new());
        streams[1].set(StreamState::Resuming);
        assert_eq!(
            status.not_ready(),
            vec!["partition t-1 of pipeline 'c': its stream is resuming".to_owned()]
        );
        streams[1].set(StreamState::Streaming);
        status.set_state(PipelineState::Draining);
        assert_eq!(
            status.not_ready(),
            vec!["pipeline 'c' is draining".to_owned()]
        );
        status.set_state(PipelineState::Stopped);
        status.set_state(PipelineState::Running);
        assert_eq!(status.state(), PipelineState::Stopped);
    }

    #[test]
    fn follows_the_partitions_it_runs() {
        let status = PipelineStatus::new("g", "t", &[]);
        assert_eq!(status.not_ready(), Vec::<String>::new(), "nothing assigned");
        status.set_phase(3, Phase::Ended);
        assert_eq!(
            status.not_ready(),
            Vec::<String>::new(),
            "not run: not added"
        );
        status.add_partition(3);
        assert_eq!(
            status.not_ready(),
            vec!["partition t-3 of pipeline 'g': it is starting".to_owned()]
        );
        assert_eq!(status.partition_ids(), vec![3]);
        status.remove_partition(3);
        status.set_phase(3, Phase::Ended);
        assert!(status.partition_ids().is_empty());
        assert_eq!(status.not_ready(), Vec::<String>::new());
    }
}
