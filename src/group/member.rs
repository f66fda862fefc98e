//! `GroupMember`: joining a group, its assignment events, leaving.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::config::{coordination_topic, default_member_id, GroupConfig};
use super::error::GroupError;
use super::event::Assignment;
use super::lease::Fence;
use super::task::{Command, MemberTask};
use crate::admin::{AdminError, TopicConfig};
use crate::cluster::FluvioClient;

/// A member of a consumer group: its [`Assignment`] events tell the application which
/// partitions of the group's topic to process. Dropping it is a crash as far as the group
/// can tell (nothing more is written: its partitions move once its lease has expired);
/// [`GroupMember::leave`] hands them over at once.
///
/// ```no_run
/// # async fn demo(client: actix_fluvio::cluster::FluvioClient) -> Result<(), actix_fluvio::group::GroupError> {
/// use actix_fluvio::group::{Assignment, GroupConfig, GroupMember};
///
/// let mut member = GroupMember::join(&client, GroupConfig::new("billing", "orders")).await?;
/// while let Some(event) = member.next().await {
///     match event? {
///         Assignment::Assigned { partitions, .. } => println!("start {partitions:?}"),
///         Assignment::Revoked { partitions, release, .. } => {
///             println!("stop and commit {partitions:?}");
///             release.released();
///         }
///         Assignment::Lost { partitions, .. } => println!("stop {partitions:?} now"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GroupMember {
    id: String,
    config: GroupConfig,
    fence: Fence,
    events: mpsc::UnboundedReceiver<Result<Assignment, GroupError>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl GroupMember {
    /// Join `config.group` (creating its coordination topic on first use: one partition,
    /// replicated on up to 3 SPUs) and start heartbeating. Partitions arrive as [`Assignment::Assigned`] events once
    /// the join is read back from the log and their previous owners have released them.
    ///
    /// # Errors
    /// [`GroupError::InvalidConfig`], the group's topic missing, the coordination topic
    /// failing to be created, or [`GroupError::CoordinationTopic`]: it exists with more than
    /// one partition.
    pub async fn join(client: &FluvioClient, config: GroupConfig) -> Result<Self, GroupError> {
        config.validate()?;
        client.partition_count(&config.topic).await?;
        ensure_coordination_topic(client, &coordination_topic(&config.group)).await?;
        let id = config.member_id.clone().unwrap_or_else(default_member_id);
        let fence = Fence::default();
        let (events_tx, events) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let task = MemberTask::new(
            client.clone(),
            config.clone(),
            id.clone(),
            fence.clone(),
            events_tx,
            commands_rx,
        );
        tokio::spawn(tracing::Instrument::in_current_span(task.run()));
        Ok(Self {
            id,
            config,
            fence,
            events,
            commands,
        })
    }

    /// The next assignment change; `None` once the member has stopped. An error ends the
    /// member (e.g. [`GroupError::TopicMismatch`]) after a final [`Assignment::Lost`].
    pub async fn next(&mut self) -> Option<Result<Assignment, GroupError>> {
        self.events.recv().await
    }

    /// This member's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The member's configuration.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// The consumer id to commit offsets under: the group's name.
    pub fn consumer_id(&self) -> &str {
        self.config.consumer_id()
    }

    /// The member's lease, to check before processing or committing each record.
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Leave the group gracefully, once the application has stopped processing: the
    /// partitions still assigned are revoked and released at once (this call answers the
    /// revocation itself), the releases and a leave record are stored, and the others take
    /// the partitions over at once. To finish in-flight work through the
    /// [`Assignment::Revoked`] event instead, use [`GroupMember::start_leaving`].
    ///
    /// # Errors
    /// [`GroupError::Stopped`], or the records failing to be stored.
    pub async fn leave(self) -> Result<(), GroupError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Leave(tx))
            .map_err(|_| GroupError::Stopped)?;
        let mut events = self.events;
        // The revocation of everything still comes: dropping it answers it.
        let drain = async { while events.recv().await.is_some() {} };
        tokio::select! {
            biased;
            result = rx => result.map_err(|_| GroupError::Stopped)?,
            () = drain => Err(GroupError::Stopped),
        }
    }

    /// Leave the group gracefully while the caller keeps reading events: every partition
    /// is revoked through [`GroupMember::next`]; the returned future completes once the
    /// releases and the leave record are stored (the event stream ends then).
    ///
    /// # Errors
    /// [`GroupError::Stopped`], or the records failing to be stored.
    pub fn start_leaving(
        &self,
    ) -> impl std::future::Future<Output = Result<(), GroupError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self.commands.send(Command::Leave(tx)).is_ok();
        async move {
            if !sent {
                return Err(GroupError::Stopped);
            }
            rx.await.map_err(|_| GroupError::Stopped)?
        }
    }

    /// Test hook: for `duration`, every record this member appends is lost, as if it were
    /// cut off from the cluster (it still reads). Its lease lapses and it stops before the
    /// others take over.
    #[doc(hidden)]
    pub fn cut_off(&self, duration: Duration) {
        let _ = self.commands.send(Command::CutOff(duration));
    }

    /// Test hook: for `duration`, this member reads nothing from the group's log (its
    /// appends still go through), as if its reads were stuck. Its lease lapses; it rejoins
    /// only once it reads again.
    #[doc(hidden)]
    pub fn stall_reads(&self, duration: Duration) {
        let _ = self.commands.send(Command::StallReads(duration));
    }
}

/// Create the coordination topic `log` unless it exists (one partition, as many replicas as
/// there are online SPUs, up to 3, so that losing an SPU loses no record a member applied),
/// and refuse one with more than one partition: members read partition 0 only, so records
/// on another partition would be missed by some members and not others.
async fn ensure_coordination_topic(client: &FluvioClient, log: &str) -> Result<(), GroupError> {
    let admin = client.admin();
    let online = admin.list_spus().await?.iter().filter(|s| s.online).count();
    let replicas = online.clamp(1, 3) as u32;
    match admin
        .create_topic(log, TopicConfig::new(1).replication(replicas))
        .await
    {
        Ok(()) | Err(AdminError::TopicAlreadyExists(_)) => {}
        Err(error) => return Err(error.into()),
    }
    match client.partition_count(log).await? {
        1 => Ok(()),
        partitions => Err(GroupError::CoordinationTopic {
            topic: log.to_owned(),
            partitions,
        }),
    }
}
