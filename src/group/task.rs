//! The member's task: reads the coordination log, heartbeats, expires silent peers, and
//! turns each new view into [`Assignment`] events.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::clock;
use super::config::{coordination_topic, GroupConfig};
use super::error::GroupError;
use super::event::{Assignment, Release, ReleaseAcks};
use super::handover::{Change, Local};
use super::lease::{Fence, Lease};
use super::record::{GroupRecord, MemberKey};
use super::replay::Replay;
use crate::cluster::FluvioClient;
use crate::producer::{DeliveryFuture, Producer};
use crate::protocol::spu::Isolation;
use crate::telemetry;

mod leave;
mod log;
mod upkeep;

/// What the handle asks of the task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Revoke everything, wait for the releases, write them and a leave record.
    Leave(oneshot::Sender<Result<(), GroupError>>),
    /// Test hook: drop every record this member appends for this long.
    CutOff(Duration),
    /// Test hook: read nothing from the log for this long (appends still work).
    StallReads(Duration),
}

/// Where the member is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The join is written, not read back yet.
    Joining { since: Instant },
    /// A member with a lease.
    Active,
    /// Lease gone: everything dropped. After the takeover margin, a leave record for this
    /// incarnation (`left`: its application has stopped everything by then, so its
    /// partitions move at once rather than after its expiry); then a rejoin once the log has
    /// been read up to `read_to` (past the leave once it is stored: see
    /// `MemberTask::rejoin_point`): a member whose reads stall does not rejoin, again and
    /// again, as incarnations that hold partitions they never start.
    Fenced {
        since: Instant,
        left: bool,
        read_to: Option<i64>,
    },
}

pub(crate) type Events = mpsc::UnboundedSender<Result<Assignment, GroupError>>;

/// The member's state.
pub(crate) struct MemberTask {
    client: FluvioClient,
    config: GroupConfig,
    producer: Producer,
    fence: Fence,
    events: Events,
    commands: mpsc::UnboundedReceiver<Command>,
    log_topic: String,
    replay: Replay,
    /// The point (`as_of`) of the last snapshot read or written.
    last_snapshot: i64,
    /// The point of the snapshot just read, to store as the group's offset on the log.
    snapshot_read: Option<i64>,
    /// Another member joined since the last snapshot.
    joiner_waits: bool,
    me: MemberKey,
    lease: Lease,
    phase: Phase,
    local: Local,
    /// When each member's last record was read here.
    observed: HashMap<MemberKey, Instant>,
    /// Expiries appended, and when: one not read back within the session timeout (its
    /// append failed) is appended again.
    expiries_sent: HashMap<(MemberKey, i64), Instant>,
    /// This process's incarnations so far (another incarnation of its id is another process).
    incarnations: HashSet<u64>,
    /// Since when partitions have been revoked and not released.
    revoking_since: Option<Instant>,
    /// The last leave appended for a fenced incarnation, until it is stored or failed.
    leave_stored: Option<DeliveryFuture>,
    next_heartbeat: Instant,
    next_offset: i64,
    rebalance_started: Option<Instant>,
    acks: (ReleaseAcks, mpsc::UnboundedReceiver<BTreeSet<u32>>),
    cut_off_until: Option<Instant>,
    /// Test hook: the log is not read until then.
    reads_stalled_until: Option<Instant>,
    metadata_changes: tokio::sync::watch::Receiver<u64>,
}

/// A new incarnation: random, so that two processes started with one member id are two
/// members, never one.
fn new_incarnation() -> u64 {
    fastrand::u64(1..)
}

impl MemberTask {
    pub(crate) fn new(
        client: FluvioClient,
        config: GroupConfig,
        member_id: String,
        fence: Fence,
        events: Events,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        // Appends are answered once every replica has them; reads see only such records:
        // a leader failover then never takes back a record some member already applied.
        // Snapshots of large groups compress well (member ids repeat).
        let producer = client.producer(crate::producer::ProducerOptions {
            isolation: Isolation::ReadCommitted,
            compression: crate::protocol::record::Compression::Zstd,
            ..crate::producer::ProducerOptions::default()
        });
        let now = Instant::now();
        let incarnation = new_incarnation();
        Self {
            log_topic: coordination_topic(&config.group),
            me: MemberKey {
                id: member_id,
                incarnation,
            },
            incarnations: HashSet::from([incarnation]),
            revoking_since: None,
            leave_stored: None,
            lease: Lease::new(config.session_timeout, fence.clone()),
            phase: Phase::Joining { since: now },
            replay: Replay::default(),
            last_snapshot: -1,
            snapshot_read: None,
            joiner_waits: false,
            local: Local::default(),
            observed: HashMap::new(),
            expiries_sent: HashMap::new(),
            next_heartbeat: now,
            next_offset: 0,
            rebalance_started: None,
            acks: mpsc::unbounded_channel(),
            cut_off_until: None,
            reads_stalled_until: None,
            metadata_changes: client.metadata_changes(),
            client,
            config,
            producer,
            fence,
            events,
            commands,
        }
    }

    /// Run until the handle is dropped (a crash: nothing more is written) or asks to leave.
    pub(crate) async fn run(mut self) {
        // At 0 from the member's start: the first generation it sees is an increase.
        metrics::counter!(telemetry::GROUP_REBALANCES, "group" => self.config.group.clone())
            .increment(0);
        let result = self.serve().await;
        if let Err(error) = result {
            tracing::warn!(group = %self.config.group, member = %self.me, %error, "group member stopped");
            self.lose_everything();
            let _ = self.events.send(Err(error));
        }
        self.fence.set(None);
        metrics::gauge!(telemetry::GROUP_ASSIGNED_PARTITIONS, "group" => self.config.group.clone())
            .set(0.0);
    }

    async fn serve(&mut self) -> Result<(), GroupError> {
        let mut stream = self.open_log().await?;
        self.catch_up(&mut stream).await?;
        let count = self.client.partition_count(&self.config.topic).await?;
        self.append(&GroupRecord::Partitions {
            topic: self.config.topic.clone(),
            count,
        })
        .await?;
        // Acknowledged once every replica has it: a new replicated log can take seconds to
        // get there, and the lease of a join read back that late would be over at once.
        self.producer.flush().await?;
        self.join().await?;
        let mut tick = tokio::time::Instant::now();
        loop {
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    None => return Ok(()),
                    Some(Command::Leave(done)) => {
                        let result = self.leave(&mut stream).await;
                        let _ = done.send(result);
                        return Ok(());
                    }
                    Some(Command::CutOff(duration)) => {
                        self.cut_off_until = Some(Instant::now() + duration);
                    }
                    Some(Command::StallReads(duration)) => {
                        self.reads_stalled_until = Some(Instant::now() + duration);
                    }
                },
                // Before the log: a long catch-up must not hold heartbeats back.
                _ = tokio::time::sleep_until(tick) => {
                    self.on_tick().await?;
                    let next = tokio::time::Instant::now() + self.config.tick();
                    tick = self
                        .lease
                        .until()
                        .filter(|u| *u > clock::now())
                        .map_or(next, |u| clock::instant_of(u).min(next));
                }
                Some(partitions) = self.acks.1.recv() => {
                    self.write_releases(&partitions).await?;
                }
                record = stream.next(), if self.reads_stalled_until.is_none_or(|u| Instant::now() >= u) => {
                    self.take(record, &mut stream).await?;
                }
            }
        }
    }

    /// Heartbeat, expire silent peers, notice new partitions, and fence or rejoin.
    async fn on_tick(&mut self) -> Result<(), GroupError> {
        let now = Instant::now();
        match self.phase {
            Phase::Joining { since } if now >= since + self.config.session_timeout => {
                tracing::warn!(group = %self.config.group, member = %self.me, "join not read back within the session timeout");
                if !self.replay.anchored() {
                    tracing::warn!(group = %self.config.group, "the coordination log starts after removed records and no member wrote a snapshot: reading it as the whole log");
                    self.replay.anchor_anyway();
                }
                self.fence(now);
            }
            Phase::Active
                if !self.lease.valid(clock::now()) || !self.replay.view().is_member(&self.me) =>
            {
                tracing::warn!(group = %self.config.group, member = %self.me, "lease lost: stopping every partition");
                self.fence(now);
            }
            Phase::Fenced {
                since,
                left,
                read_to,
            } if now >= since + self.config.takeover_margin => {
                if !left {
                    let member = self.me.clone();
                    self.leave_stored = self.append(&GroupRecord::Leave { member }).await?;
                }
                let read_to = match read_to {
                    Some(end) => Some(end),
                    None => self.rejoin_point().await,
                };
                self.phase = Phase::Fenced {
                    since,
                    left: true,
                    read_to,
                };
                if read_to.is_some_and(|end| self.next_offset >= end) {
                    self.rejoin().await?;
                }
            }
            Phase::Active
                if self
                    .revoking_since
                    .is_some_and(|t| now >= t + self.config.revoke_timeout) =>
            {
                tracing::warn!(group = %self.config.group, member = %self.me, revoking = ?self.local.revoking, timeout = ?self.config.revoke_timeout, "revoked partitions not released in time: giving up the lease");
                self.fence(now);
            }
            Phase::Active if now >= self.next_heartbeat => {
                self.next_heartbeat = now + self.config.heartbeat;
                let seq = self.lease.sending(clock::now());
                self.append(&GroupRecord::Heartbeat {
                    member: self.me.clone(),
                    seq,
                })
                .await?;
                self.expire_silent(now).await?;
                self.check_partitions().await?;
                self.snapshot().await?;
            }
            Phase::Active => {
                self.expire_silent(now).await?;
                self.snapshot().await?;
            }
            _ => {}
        }
        self.reconcile(now);
        Ok(())
    }

    async fn join(&mut self) -> Result<(), GroupError> {
        let now = Instant::now();
        self.phase = Phase::Joining { since: now };
        self.lease.sending(clock::now());
        self.next_heartbeat = now + self.config.heartbeat;
        self.append(&GroupRecord::Join {
            member: self.me.clone(),
        })
        .await?;
        Ok(())
    }

    /// Join again as a new incarnation (the previous one has left).
    async fn rejoin(&mut self) -> Result<(), GroupError> {
        self.me.incarnation = new_incarnation();
        self.incarnations.insert(self.me.incarnation);
        self.lease = Lease::new(self.config.session_timeout, self.fence.clone());
        self.join().await
    }

    fn fence(&mut self, now: Instant) {
        self.phase = Phase::Fenced {
            since: now,
            left: false,
            read_to: None,
        };
        self.fence.set(None);
        self.lose_everything();
    }

    /// Tell the application what the view now asks of it.
    fn reconcile(&mut self, now: Instant) {
        let stamp = clock::now();
        let live = self.phase == Phase::Active && self.lease.valid(stamp);
        // A lease read back late (a join that took seconds to be replicated, say) starts
        // nothing until a heartbeat renews it: partitions started with milliseconds left would
        // be lost at once, their records processed twice.
        let may_start = self
            .lease
            .until()
            .is_some_and(|until| until >= stamp + self.config.heartbeat);
        let generation = self.replay.view().generation();
        let changes = self
            .local
            .reconcile(self.replay.view(), &self.me, live, may_start);
        if self.local.revoking.is_empty() {
            self.revoking_since = None;
        } else {
            self.revoking_since.get_or_insert(now);
        }
        for change in changes {
            let event = match change {
                Change::Assign(partitions) => Assignment::Assigned {
                    partitions,
                    generation,
                },
                Change::Revoke(partitions) => Assignment::Revoked {
                    release: Release::new(partitions.clone(), self.acks.0.clone()),
                    partitions,
                    generation,
                },
                Change::Lose(partitions) => Assignment::Lost {
                    partitions,
                    generation,
                },
                Change::Free(partitions) => {
                    tracing::info!(group = %self.config.group, member = %self.me, ?partitions, generation, "releasing partitions held here for another member and run by nothing here");
                    let _ = self.acks.0.send(partitions);
                    continue;
                }
            };
            let _ = self.events.send(Ok(event));
        }
        self.record_metrics(now);
    }

    fn lose_everything(&mut self) {
        let lost: BTreeSet<u32> = self
            .local
            .running
            .union(&self.local.revoking)
            .copied()
            .collect();
        self.local = Local::default();
        if !lost.is_empty() {
            let _ = self.events.send(Ok(Assignment::Lost {
                partitions: lost,
                generation: self.replay.view().generation(),
            }));
        }
    }

    fn record_metrics(&mut self, now: Instant) {
        let group = self.config.group.clone();
        metrics::gauge!(telemetry::GROUP_MEMBERS, "group" => group.clone())
            .set(self.replay.view().members().len() as f64);
        metrics::gauge!(telemetry::GROUP_GENERATION, "group" => group.clone())
            .set(self.replay.view().generation() as f64);
        metrics::gauge!(telemetry::GROUP_ASSIGNED_PARTITIONS, "group" => group.clone())
            .set(self.local.running.len() as f64);
        if self.replay.view().settled() {
            if let Some(started) = self.rebalance_started.take() {
                metrics::histogram!(telemetry::GROUP_REBALANCE_DURATION, "group" => group)
                    .record((now - started).as_secs_f64());
            }
        }
    }

    /// Append `record` to the log without waiting for its acknowledgement (the member
    /// learns of it by reading it back); its receipt, for whoever needs to know when it is
    /// stored. Dropped while the test hook cuts the member off (no receipt).
    async fn append(&mut self, record: &GroupRecord) -> Result<Option<DeliveryFuture>, GroupError> {
        if let Some(until) = self.cut_off_until {
            if Instant::now() < until {
                return Ok(None);
            }
            self.cut_off_until = None;
        }
        let receipt = self
            .producer
            .enqueue(&self.log_topic, None, &record.encode())
            .await?;
        Ok(Some(receipt))
    }
}
