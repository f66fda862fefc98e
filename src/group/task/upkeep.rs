//! An active member's chores: expiring silent peers, snapshots, new partitions.

use std::time::Instant;

use super::MemberTask;
use crate::group::error::GroupError;
use crate::group::record::{GroupRecord, MemberKey};

impl MemberTask {
    /// Write an expiry for each peer silent for the session timeout and the margin.
    pub(super) async fn expire_silent(&mut self, now: Instant) -> Result<(), GroupError> {
        let silence = self.config.session_timeout + self.config.takeover_margin;
        let silent: Vec<(MemberKey, i64)> = self
            .replay
            .view()
            .members()
            .iter()
            .filter(|(m, _)| **m != self.me)
            .filter(|(m, _)| self.observed.get(*m).is_some_and(|t| now >= *t + silence))
            .map(|(m, last)| (m.clone(), *last))
            .filter(|k| !self.expiries_sent.contains(k))
            .collect();
        for (member, last_seen) in silent {
            tracing::info!(group = %self.config.group, %member, last_seen, "expiring a silent member");
            self.expiries_sent.insert((member.clone(), last_seen));
            self.append(&GroupRecord::Expire { member, last_seen })
                .await?;
        }
        Ok(())
    }

    /// Write a snapshot of the view when another member joined (it may have started
    /// reading after removed records, and waits for one), or when `snapshot_every` records
    /// came since the last one and this member is the first live one.
    pub(super) async fn snapshot(&mut self) -> Result<(), GroupError> {
        let as_of = self.next_offset - 1;
        let view = self.replay.view();
        let first = view.members().keys().next() == Some(&self.me);
        let due = as_of - self.last_snapshot >= self.config.snapshot_every as i64;
        if !(self.joiner_waits || first && due) || !self.replay.anchored() {
            return Ok(());
        }
        let view = Box::new(view.clone());
        self.last_snapshot = as_of;
        self.joiner_waits = false;
        self.append(&GroupRecord::Snapshot { as_of, view }).await
    }

    /// After a metadata change, write the topic's partition count if it grew. From the
    /// cache: never waits for the SC, which may be away.
    pub(super) async fn check_partitions(&mut self) -> Result<(), GroupError> {
        if !self.metadata_changes.has_changed().unwrap_or(false) {
            return Ok(());
        }
        self.metadata_changes.mark_unchanged();
        let count = self
            .client
            .metadata()
            .await?
            .partition_count(&self.config.topic);
        match count {
            Some(count) if count > self.replay.view().partitions() => {
                self.append(&GroupRecord::Partitions {
                    topic: self.config.topic.clone(),
                    count,
                })
                .await
            }
            _ => Ok(()),
        }
    }
}
