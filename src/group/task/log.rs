//! Reading the coordination log: catching up before the join, applying each record to the
//! view, the peers' last records and the member's own lease.
//!
//! The log is read under consumer id `GROUP-snapshot` ([`snapshot_consumer`]), whose
//! stored offset on the log is the point of its latest snapshot (written there by the member that writes snapshots): a
//! member starts reading just after it, so joining costs the records since the last
//! snapshot, not the group's whole history.

use std::time::Instant;

use super::{MemberTask, Phase};
use crate::consumer::{ConsumerError, ConsumerOptions, ConsumerRecord, Offset, PartitionStream};
use crate::group::clock;
use crate::group::config::snapshot_consumer;
use crate::group::error::GroupError;
use crate::group::record::GroupRecord;
use crate::protocol::spu::Isolation;
use crate::telemetry;

impl MemberTask {
    /// Read the log up to its end as it is now, before joining: the join is read back
    /// within the session timeout however long the history.
    pub(super) async fn catch_up(
        &mut self,
        stream: &mut PartitionStream,
    ) -> Result<(), GroupError> {
        let (_, end) = self.client.partition_offsets(&self.log_topic, 0).await?;
        while self.next_offset < end {
            let record = stream.next().await;
            self.take(record, stream).await?;
        }
        Ok(())
    }

    /// Act on what the log stream gave: a record, a passing error, or its end (then read
    /// on from a new stream).
    pub(super) async fn take(
        &mut self,
        record: Option<Result<ConsumerRecord, ConsumerError>>,
        stream: &mut PartitionStream,
    ) -> Result<(), GroupError> {
        match record {
            // Read again by a stream reopened from the snapshot point.
            Some(Ok(record)) if record.offset < self.next_offset => {}
            Some(Ok(record)) => {
                if record.offset > self.next_offset && self.replay.started() {
                    self.reload(record.offset);
                }
                self.on_record(record.offset, &record.value)?;
                if let Some(as_of) = self.snapshot_read.take() {
                    self.store_snapshot_point(stream, as_of).await;
                }
            }
            Some(Err(error)) => {
                tracing::debug!(group = %self.config.group, %error, "coordination log read failed");
            }
            None => *stream = self.open_log().await?,
        }
        Ok(())
    }

    /// A stream of the log from the group's snapshot point (the first time), or from where
    /// this member is (records before it, read again when the snapshot point is behind it,
    /// are passed over).
    pub(super) async fn open_log(&self) -> Result<PartitionStream, GroupError> {
        let options = ConsumerOptions {
            offset: Offset::Absolute(self.next_offset),
            isolation: Isolation::ReadCommitted,
            consumer_id: Some(snapshot_consumer(&self.config.group)),
            ..ConsumerOptions::default()
        };
        Ok(self
            .client
            .partition_consumer(&self.log_topic, 0, options)
            .await?)
    }

    /// Records this member had not read are gone (retention removed them while it was
    /// behind): its view can no longer be trusted. Start over from the next snapshot, with
    /// everything stopped; the member rejoins once it has one.
    fn reload(&mut self, offset: i64) {
        tracing::warn!(group = %self.config.group, member = %self.me, from = self.next_offset, to = offset, "coordination log records were removed before this member read them: reloading from the next snapshot");
        self.replay = crate::group::replay::Replay::default();
        if !matches!(self.phase, Phase::Fenced { .. }) {
            self.fence(Instant::now());
        }
    }

    /// The snapshot as of `as_of` is stored: the member that writes snapshots stores its
    /// point as the group's offset on the log, where joiners start reading.
    async fn store_snapshot_point(&self, stream: &PartitionStream, as_of: i64) {
        if self.replay.view().members().keys().next() != Some(&self.me) || as_of < 0 {
            return;
        }
        if let Err(error) = stream.commit(as_of).await {
            tracing::debug!(group = %self.config.group, as_of, %error, "could not store the snapshot point");
        }
    }

    /// Apply one record of the log, then act on the new view.
    fn on_record(&mut self, offset: i64, value: &[u8]) -> Result<(), GroupError> {
        self.absorb(offset, value)?;
        self.reconcile(Instant::now());
        Ok(())
    }

    /// Apply one record of the log to the view, the peers' last records and the lease.
    pub(super) fn absorb(&mut self, offset: i64, value: &[u8]) -> Result<(), GroupError> {
        self.next_offset = offset + 1;
        let record = GroupRecord::decode(value);
        if record.is_none() {
            tracing::debug!(group = %self.config.group, offset, "skipped a record that is not a group record");
        }
        if let Some(GroupRecord::Snapshot { as_of, .. }) = &record {
            // What the snapshot covers, not where it landed: one written while its writer
            // read a backlog covers a point far behind the log's end, and the next one is
            // then due at once (joiners start at the stored point).
            self.last_snapshot = *as_of;
            self.snapshot_read = Some(*as_of);
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
        if let GroupRecord::Join { member } = &record {
            if *member != self.me {
                self.joiner_waits = true;
            }
            if member.id == self.me.id && !self.incarnations.contains(&member.incarnation) {
                tracing::error!(group = %self.config.group, member = %self.me, other = %member, "another process joined with this member's id: member ids must be unique (both take part as separate members)");
            }
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
        if matches!(self.phase, Phase::Joining { .. }) && self.lease.valid(clock::now()) {
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
}
