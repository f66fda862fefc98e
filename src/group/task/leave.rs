//! Releases, the graceful leave, and when a fenced member may join again.

use std::collections::BTreeSet;
use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::MemberTask;
use crate::consumer::PartitionStream;
use crate::group::clock;
use crate::group::error::GroupError;
use crate::group::event::{Assignment, Release};
use crate::group::record::GroupRecord;

impl MemberTask {
    /// The application released `partitions`: record it, while this member holds a lease.
    pub(super) async fn write_releases(
        &mut self,
        partitions: &BTreeSet<u32>,
    ) -> Result<(), GroupError> {
        let records = self
            .local
            .released(partitions, self.replay.view(), &self.me);
        for record in records {
            self.append(&record).await?;
        }
        Ok(())
    }

    /// Revoke everything, wait for the application's releases (while the lease lasts),
    /// then write them and the leave record, and wait until they are stored.
    pub(super) async fn leave(&mut self, stream: &mut PartitionStream) -> Result<(), GroupError> {
        let generation = self.replay.view().generation();
        let running = std::mem::take(&mut self.local.running);
        if !running.is_empty() {
            self.local.revoking.extend(&running);
            let _ = self.events.send(Ok(Assignment::Revoked {
                release: Release::new(running.clone(), self.acks.0.clone()),
                partitions: running,
                generation,
            }));
        }
        while !self.local.revoking.is_empty() {
            let Some(until) = self.lease.until() else {
                break;
            };
            tokio::select! {
                Some(partitions) = self.acks.1.recv() => {
                    self.write_releases(&partitions).await?;
                }
                // Keep reading, so that heartbeats read back keep the lease.
                Some(Ok(record)) = stream.next() => self.absorb(record.offset, &record.value)?,
                _ = tokio::time::sleep_until(clock::instant_of(until).min(self.next_heartbeat.into())) => {
                    if !self.lease.valid(clock::now()) {
                        break;
                    }
                    self.next_heartbeat = Instant::now() + self.config.heartbeat;
                    let seq = self.lease.sending(clock::now());
                    self.append(&GroupRecord::Heartbeat { member: self.me.clone(), seq }).await?;
                }
            }
        }
        self.lose_everything();
        self.append(&GroupRecord::Leave {
            member: self.me.clone(),
        })
        .await?;
        self.producer.flush().await?;
        tracing::info!(group = %self.config.group, member = %self.me, "left");
        Ok(())
    }

    /// How far a fenced member reads the log before it joins again: past its leave once
    /// that is stored, so that its view has its old incarnation gone; `None` (ask again at
    /// the next tick) while the leave is on its way, as while the log cannot store anything:
    /// a join and a leave written every session timeout meanwhile would all land once it
    /// can, each a rebalance. When the leave failed or was never sent (the member was cut
    /// off), the log's end now: a member whose reads stall does not join again before it
    /// reads.
    pub(super) async fn rejoin_point(&mut self) -> Option<i64> {
        if let Some(leave) = &self.leave_stored {
            let stored = {
                let mut wait = std::pin::pin!(leave.clone().wait());
                match wait.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                    Poll::Ready(stored) => stored,
                    Poll::Pending => return None,
                }
            };
            self.leave_stored = None;
            match stored {
                Ok(stored) => return Some(stored.offset + 1),
                Err(error) => {
                    tracing::warn!(group = %self.config.group, member = %self.me, %error, "the leave was not stored: joining again once the log is read to its end");
                }
            }
        }
        let end = self.client.partition_offsets(&self.log_topic, 0);
        match tokio::time::timeout(self.config.heartbeat, end).await {
            Ok(Ok((_, end))) => Some(end),
            _ => None,
        }
    }
}
