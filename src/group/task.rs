//! The member's task: reads the coordination log, heartbeats, expires silent peers, and
//! turns each new view into [`Assignment`] events.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use super::config::{coordination_topic, GroupConfig};
use super::error::GroupError;
use super::event::{Assignment, Release, ReleaseAcks};
use super::handover::{Change, Local};
use super::lease::{Fence, Lease};
use super::record::{GroupRecord, MemberKey};
use super::replay::Replay;
use crate::cluster::FluvioClient;
use crate::consumer::{ConsumerError, ConsumerOptions, ConsumerRecord, Offset, PartitionStream};
use crate::producer::Producer;
use crate::telemetry;

mod leave;
mod upkeep;

/// What the handle asks of the task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Revoke everything, wait for the releases, write them and a leave record.
    Leave(oneshot::Sender<Result<(), GroupError>>),
    /// Test hook: drop every record this member appends for this long.
    CutOff(Duration),
}

/// Where the member is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The join is written, not read back yet.
    Joining { since: Instant },
    /// A member with a lease.
    Active,
    /// Lease gone: everything dropped; rejoin after the takeover margin.
    Fenced { since: Instant },
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
    /// The offset of the last snapshot read or written.
    last_snapshot: i64,
    /// Another member joined since the last snapshot.
    joiner_waits: bool,
    me: MemberKey,
    lease: Lease,
    phase: Phase,
    local: Local,
    /// When each member's last record was read here.
    observed: HashMap<MemberKey, Instant>,
    expiries_sent: HashSet<(MemberKey, i64)>,
    next_heartbeat: Instant,
    next_offset: i64,
    rebalance_started: Option<Instant>,
    acks: (ReleaseAcks, mpsc::UnboundedReceiver<(BTreeSet<u32>, u64)>),
    cut_off_until: Option<Instant>,
    metadata_changes: tokio::sync::watch::Receiver<u64>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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
        let producer = client.producer(crate::producer::ProducerOptions::default());
        let now = Instant::now();
        Self {
            log_topic: coordination_topic(&config.group),
            me: MemberKey {
                id: member_id,
                incarnation: now_ms(),
            },
            lease: Lease::new(config.session_timeout, fence.clone()),
            phase: Phase::Joining { since: now },
            replay: Replay::default(),
            last_snapshot: -1,
            joiner_waits: false,
            local: Local::default(),
            observed: HashMap::new(),
            expiries_sent: HashSet::new(),
            next_heartbeat: now,
            next_offset: 0,
            rebalance_started: None,
            acks: mpsc::unbounded_channel(),
            cut_off_until: None,
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
        self.join().await?;
        let mut tick = Instant::now();
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
                },
                // Before the log: a long catch-up must not hold heartbeats back.
                _ = tokio::time::sleep_until(tick.into()) => {
                    self.on_tick().await?;
                    let next = Instant::now() + self.config.tick();
                    tick = self.lease.until().filter(|u| *u > Instant::now()).map_or(next, |u| u.min(next));
                }
                Some((partitions, generation)) = self.acks.1.recv() => {
                    self.write_releases(&partitions, generation).await?;
                }
                record = stream.next() => self.take(record, &mut stream).await?,
            }
        }
    }

    /// Read the log up to its end as it is now, before joining: the join is read back
    /// within the session timeout however long the history.
    async fn catch_up(&mut self, stream: &mut PartitionStream) -> Result<(), GroupError> {
        let (_, end) = self.client.partition_offsets(&self.log_topic, 0).await?;
        while self.next_offset < end {
            let record = stream.next().await;
            self.take(record, stream).await?;
        }
        Ok(())
    }

    /// Act on what the log stream gave: a record, a passing error, or its end (then read
    /// on from a new stream).
    async fn take(
        &mut self,
        record: Option<Result<ConsumerRecord, ConsumerError>>,
        stream: &mut PartitionStream,
    ) -> Result<(), GroupError> {
        match record {
            Some(Ok(record)) => self.on_record(record.offset, &record.value)?,
            Some(Err(error)) => {
                tracing::debug!(group = %self.config.group, %error, "coordination log read failed");
            }
            None => *stream = self.open_log().await?,
        }
        Ok(())
    }

    async fn open_log(&self) -> Result<PartitionStream, GroupError> {
        let options = ConsumerOptions {
            offset: Offset::Absolute(self.next_offset),
            ..ConsumerOptions::default()
        };
        Ok(self
            .client
            .partition_consumer(&self.log_topic, 0, options)
            .await?)
    }

    /// Apply one record of the log, then act on the new view.
    fn on_record(&mut self, offset: i64, value: &[u8]) -> Result<(), GroupError> {
        self.absorb(offset, value)?;
        self.reconcile(Instant::now());
        Ok(())
    }

    /// Apply one record of the log to the view, the peers' last records and the lease.
    fn absorb(&mut self, offset: i64, value: &[u8]) -> Result<(), GroupError> {
        self.next_offset = offset + 1;
        let record = GroupRecord::decode(value);
        if record.is_none() {
            tracing::debug!(group = %self.config.group, offset, "skipped a record that is not a group record");
        }
        if matches!(record, Some(GroupRecord::Snapshot { .. })) {
            self.last_snapshot = offset;
        }
        let was_anchored = self.replay.anchored();
        let Some(applied) = self.replay.apply(offset, record.clone()) else {
            return Ok(());
        };
        let now = Instant::now();
        if !was_anchored && self.replay.view().is_member(&self.me) {
            // Anchored by a snapshot after this member's join, which was among the records
            // read before it.
            self.lease.read_back(0);
        }
        let Some(record) = record else {
            return Ok(());
        };
        if matches!(&record, GroupRecord::Join { member } if *member != self.me) {
            self.joiner_waits = true;
        }
        if let Some(author) = record.author().filter(|a| self.replay.view().is_member(a)) {
            self.observed.insert(author.clone(), now);
        }
        // Members known without a record read here (from a snapshot) count from now.
        let members = self.replay.view().members();
        self.observed.retain(|m, _| members.contains_key(m));
        for m in members.keys() {
            self.observed.entry(m.clone()).or_insert(now);
        }
        if applied.rebalanced {
            metrics::counter!(telemetry::GROUP_REBALANCES, "group" => self.config.group.clone())
                .increment(1);
            self.rebalance_started.get_or_insert(now);
        }
        if record.author() == Some(&self.me) && self.replay.view().is_member(&self.me) {
            match record {
                GroupRecord::Join { .. } => self.lease.read_back(0),
                GroupRecord::Heartbeat { seq, .. } => self.lease.read_back(seq),
                _ => {}
            }
        }
        if matches!(self.phase, Phase::Joining { .. }) && self.lease.valid(now) {
            tracing::info!(group = %self.config.group, member = %self.me, "joined");
            self.phase = Phase::Active;
        }
        if let Some(found) = self
            .replay
            .view()
            .topic()
            .filter(|t| *t != self.config.topic)
        {
            return Err(GroupError::TopicMismatch {
                group: self.config.group.clone(),
                expected: self.config.topic.clone(),
                found: found.to_owned(),
            });
        }
        Ok(())
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
            Phase::Active if !self.lease.valid(now) || !self.replay.view().is_member(&self.me) => {
                tracing::warn!(group = %self.config.group, member = %self.me, "lease lost: stopping every partition");
                self.fence(now);
            }
            Phase::Fenced { since } if now >= since + self.config.takeover_margin => {
                self.me.incarnation = now_ms().max(self.me.incarnation + 1);
                self.lease = Lease::new(self.config.session_timeout, self.fence.clone());
                self.join().await?;
            }
            Phase::Active if now >= self.next_heartbeat => {
                self.next_heartbeat = now + self.config.heartbeat;
                let seq = self.lease.sending(now);
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
        self.lease.sending(now);
        self.next_heartbeat = now + self.config.heartbeat;
        self.append(&GroupRecord::Join {
            member: self.me.clone(),
        })
        .await
    }

    fn fence(&mut self, now: Instant) {
        self.phase = Phase::Fenced { since: now };
        self.fence.set(None);
        self.lose_everything();
    }

    /// Tell the application what the view now asks of it.
    fn reconcile(&mut self, now: Instant) {
        let live = self.phase == Phase::Active && self.lease.valid(now);
        let generation = self.replay.view().generation();
        for change in self.local.reconcile(self.replay.view(), &self.me, live) {
            let event = match change {
                Change::Assign(partitions) => Assignment::Assigned {
                    partitions,
                    generation,
                },
                Change::Revoke(partitions) => Assignment::Revoked {
                    release: Release::new(partitions.clone(), generation, self.acks.0.clone()),
                    partitions,
                    generation,
                },
                Change::Lose(partitions) => Assignment::Lost {
                    partitions,
                    generation,
                },
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
    /// learns of it by reading it back). Dropped while the test hook cuts the member off.
    async fn append(&mut self, record: &GroupRecord) -> Result<(), GroupError> {
        if let Some(until) = self.cut_off_until {
            if Instant::now() < until {
                return Ok(());
            }
            self.cut_off_until = None;
        }
        self.producer
            .enqueue(&self.log_topic, None, &record.encode())
            .await?;
        Ok(())
    }
}
