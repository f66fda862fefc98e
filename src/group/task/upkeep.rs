//! An active member's chores: expiring silent peers, snapshots, new partitions.

use std::time::Instant;

use super::MemberTask;
use crate::group::error::GroupError;
use crate::group::record::{GroupRecord, MemberKey};

impl MemberTask {
    /// Write an expiry for each peer silent for the session timeout and the margin; again
    /// when one written a session timeout ago has still not been read back (its append
    /// failed), so that a dead member's partitions never stay its own for good.
    pub(super) async fn expire_silent(&mut self, now: Instant) -> Result<(), GroupError> {
        let silence = self.config.session_timeout + self.config.takeover_margin;
        let members = self.replay.view().members();
        self.expiries_sent
            .retain(|(m, last), _| members.get(m) == Some(last));
        let silent: Vec<(MemberKey, i64)> = members
            .iter()
            .filter(|(m, _)| **m != self.me)
            .filter(|(m, _)| self.observed.get(*m).is_some_and(|t| now >= *t + silence))
            .map(|(m, last)| (m.clone(), *last))
            .filter(|k| {
                self.expiries_sent
                    .get(k)
                    .is_none_or(|sent| now >= *sent + self.config.session_timeout)
            })
            .collect();
        for (member, last_seen) in silent {
            let again = self
                .expiries_sent
                .contains_key(&(member.clone(), last_seen));
            tracing::info!(group = %self.config.group, %member, last_seen, again, "expiring a silent member");
            self.expiries_sent.insert((member.clone(), last_seen), now);
            self.append(&GroupRecord::Expire { member, last_seen })
                .await?;
        }
        Ok(())
    }

    /// The first live member (one writer for the group) writes a snapshot of the view when
    /// `snapshot_every` records came since the last one, or another member joined (a joiner
    /// that found no usable snapshot point waits for one).
    pub(super) async fn snapshot(&mut self) -> Result<(), GroupError> {
        let as_of = self.next_offset - 1;
        let view = self.replay.view();
        let first = view.members().keys().next() == Some(&self.me);
        let due = as_of - self.last_snapshot >= self.config.snapshot_every as i64;
        if !first || !(self.joiner_waits || due) || !self.replay.anchored() {
            return Ok(());
        }
        let view = Box::new(view.clone());
        self.last_snapshot = as_of;
        self.joiner_waits = false;
        self.append(&GroupRecord::Snapshot { as_of, view }).await?;
        Ok(())
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
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
