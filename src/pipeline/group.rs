//! A pipeline in a consumer group ([`Committer::Group`](super::Committer::Group)): the
//! driver joins the group and runs a partition task for each partition assigned to it, each
//! with a stop signal of its own.
//!
//! - `Assigned`: start the partitions' tasks.
//! - `Revoked`: stop reading them; their records in flight finish and are committed (a
//!   drain of those partitions only); then the [`Release`](crate::group::Release) answers.
//! - `Lost`: abort their tasks at once; nothing more is committed.
//! - Each partition task also checks the member's [`Fence`](crate::group::Fence) itself
//!   before it hands records to a worker, sends outputs to the sink, and commits (the commit
//!   is checked right before it is stored, and refused when a later offset is stored
//!   already): a member paused past its lease (SIGSTOP, a stalled thread) stops on its own
//!   when it resumes, before `Lost` reaches it, and never moves a committed offset back.
//! - A drain of the pipeline, or a partition failing for good: leave the group (every
//!   partition is revoked as above, then the member leaves).
//!
//! Dropping the driver (the pipeline aborted) aborts every partition task and drops the
//! member: a crash, as far as the group can tell.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle};

use super::config::PipelineConfig;
use super::run::{PipelineError, Shared};
use super::status::PipelineState;
use super::worker::PartitionEvent;
use crate::cluster::FluvioClient;
use crate::group::{Assignment, GroupConfig, GroupError, GroupMember, Release};

/// Join `group` on `config.source`.
pub(crate) async fn join(
    client: &FluvioClient,
    config: &PipelineConfig,
    group: &GroupConfig,
) -> Result<GroupMember, PipelineError> {
    if config.partition.is_some() {
        let why =
            "a group pipeline runs the partitions its group assigns: `partition` must be None";
        return Err(GroupError::InvalidConfig(why.into()).into());
    }
    let mut group = group.clone();
    group.topic = config.source.clone();
    Ok(GroupMember::join(client, group).await?)
}

/// A partition task running: its stop signal and its task.
struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The partition tasks the driver started; dropping it aborts them all.
#[derive(Default)]
struct Tasks {
    running: BTreeMap<u32, Running>,
    /// Revoked partitions whose tasks are finishing.
    releasing: BTreeMap<u32, AbortHandle>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for running in self.running.values() {
            running.task.abort();
        }
        for task in self.releasing.values() {
            task.abort();
        }
    }
}

type Leaving = Pin<Box<dyn Future<Output = Result<(), GroupError>> + Send>>;

/// Runs a group pipeline's partitions as the group assigns them.
pub(crate) struct GroupDriver {
    shared: Shared,
    member: GroupMember,
    stop: watch::Receiver<bool>,
    /// Test hook: cut the member off the cluster for a while.
    cut_off: mpsc::UnboundedReceiver<Duration>,
    tasks: Tasks,
    /// Partition failures (and failures met while finishing revoked partitions).
    failed_tx: mpsc::UnboundedSender<PipelineError>,
    failed: mpsc::UnboundedReceiver<PipelineError>,
}

impl GroupDriver {
    pub(crate) fn new(
        shared: Shared,
        member: GroupMember,
        stop: watch::Receiver<bool>,
        cut_off: mpsc::UnboundedReceiver<Duration>,
    ) -> Self {
        let (failed_tx, failed) = mpsc::unbounded_channel();
        Self {
            shared,
            member,
            stop,
            cut_off,
            tasks: Tasks::default(),
            failed_tx,
            failed,
        }
    }

    /// Follow the group's assignments until the member has left (a drain or a failure) or
    /// stopped; the first failure.
    pub(crate) async fn run(mut self) -> Result<(), PipelineError> {
        let mut first_error = None;
        let mut leaving: Option<Leaving> = None;
        loop {
            tokio::select! {
                _ = self.stop.changed(), if leaving.is_none() => {
                    leaving = Some(Box::pin(self.member.start_leaving()));
                }
                Some(duration) = self.cut_off.recv() => self.member.cut_off(duration),
                Some(error) = self.failed.recv() => {
                    tracing::warn!(%error, "a group pipeline partition failed: leaving the group");
                    first_error.get_or_insert(error);
                    self.shared.status.set_state(PipelineState::Draining);
                    if leaving.is_none() {
                        leaving = Some(Box::pin(self.member.start_leaving()));
                    }
                }
                result = async { leaving.as_mut().expect("checked").await }, if leaving.is_some() => {
                    // Stay in the loop: the event stream ends once the member has left.
                    leaving = Some(Box::pin(std::future::pending()));
                    if let Err(error) = result {
                        first_error.get_or_insert(error.into());
                    }
                }
                event = self.member.next() => match event {
                    None => break,
                    Some(Err(error)) => {
                        first_error.get_or_insert(error.into());
                    }
                    Some(Ok(Assignment::Assigned { partitions, .. })) => self.start(partitions),
                    Some(Ok(Assignment::Revoked { partitions, release, .. })) => {
                        self.revoke(partitions, release);
                    }
                    Some(Ok(Assignment::Lost { partitions, .. })) => self.lose(partitions),
                },
            }
        }
        while let Ok(error) = self.failed.try_recv() {
            first_error.get_or_insert(error);
        }
        first_error.map_or(Ok(()), Err)
    }

    fn start(&mut self, partitions: BTreeSet<u32>) {
        for partition in partitions {
            // A task that stopped by itself (its lease ended) is started again.
            if self
                .tasks
                .running
                .get(&partition)
                .is_some_and(|r| !r.task.is_finished())
            {
                continue;
            }
            let (stop, stop_rx) = watch::channel(false);
            self.shared.status.add_partition(partition);
            let task = self.shared.task(partition, stop_rx);
            let failed = self.failed_tx.clone();
            tracing::info!(partition, "group pipeline: partition assigned");
            let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
                if let Err(error) = task.run().await {
                    let _ = failed.send(error);
                }
            }));
            self.tasks.running.insert(partition, Running { stop, task });
        }
    }

    /// Stop reading `partitions`, let their tasks finish and commit, then release them.
    fn revoke(&mut self, partitions: BTreeSet<u32>, release: Release) {
        let mut finishing = Vec::new();
        for partition in partitions {
            let Some(Running { stop, task }) = self.tasks.running.remove(&partition) else {
                continue;
            };
            let _ = stop.send(true);
            self.tasks.releasing.insert(partition, task.abort_handle());
            finishing.push((partition, task));
        }
        let (failed, status) = (self.failed_tx.clone(), self.shared.status.clone());
        tokio::spawn(async move {
            for (partition, task) in finishing {
                match task.await {
                    Ok(()) => tracing::info!(partition, "group pipeline: partition released"),
                    // Lost meanwhile: nothing committed, and the release no longer matters.
                    Err(join) if join.is_cancelled() => {}
                    Err(join) => {
                        let _ = failed.send(PipelineError::Task(join.to_string()));
                    }
                }
                status.remove_partition(partition);
            }
            release.released();
        });
    }

    /// Stop `partitions` at once, committing nothing more.
    fn lose(&mut self, partitions: BTreeSet<u32>) {
        for partition in partitions {
            tracing::warn!(partition, "group pipeline: partition lost with the lease");
            if let Some(running) = self.tasks.running.remove(&partition) {
                running.task.abort();
            }
            if let Some(task) = self.tasks.releasing.remove(&partition) {
                task.abort();
            }
            self.shared.status.remove_partition(partition);
            let worker = self.shared.worker_for(partition);
            tokio::spawn(async move { worker.tell(PartitionEvent::Lost { partition }).await });
        }
    }
}
