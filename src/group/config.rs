//! Group settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::GroupError;
use super::record::valid_member_id;

/// The prefix of every group's coordination topic: group `orders` coordinates through
/// topic `consumer-group-orders`.
pub const COORDINATION_PREFIX: &str = "consumer-group-";

/// The coordination topic of `group`.
pub fn coordination_topic(group: &str) -> String {
    format!("{COORDINATION_PREFIX}{group}")
}

/// The consumer id under which the point of a group's latest snapshot is stored, as an
/// offset on its coordination topic: `GROUP-snapshot`. Members start reading the log there.
pub fn snapshot_consumer(group: &str) -> String {
    format!("{group}-snapshot")
}

/// How a member takes part in a group.
///
/// In a file, durations are humantime strings and a key left out keeps its default; `topic`
/// may be left out where it is given elsewhere (a pipeline's committer takes its source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default = "GroupConfig::unnamed")]
pub struct GroupConfig {
    /// The group's name: lowercase letters, digits and `-`, not at either end, at most 48
    /// characters. It is also the consumer id its offsets are committed under.
    pub group: String,
    /// The topic whose partitions the group shares (the same for every member).
    pub topic: String,
    /// This member's id, unique among the live processes of the group (default: host name,
    /// process id and a random suffix). No whitespace.
    pub member_id: Option<String>,
    /// How long a member's lease runs after its last heartbeat (default 10 s).
    #[serde(with = "crate::config_serde::duration")]
    pub session_timeout: Duration,
    /// How often a member heartbeats (default 1 s; at most a third of the session timeout).
    #[serde(with = "crate::config_serde::duration")]
    pub heartbeat: Duration,
    /// How much longer than the session timeout the others wait before taking a silent
    /// member's partitions over (default 1 s): room for clock rate drift and for the
    /// member's application to stop once its lease is gone.
    #[serde(with = "crate::config_serde::duration")]
    pub takeover_margin: Duration,
    /// How long the application may take to release revoked partitions (finish and commit
    /// their records in flight) before the member gives up its lease (default 60 s): a hung
    /// worker cannot hold a revoked partition forever while its member heartbeats. The
    /// member then stops everything ([`Assignment::Lost`](super::Assignment::Lost)), its
    /// [`Fence`](super::Fence) turns invalid, and it rejoins.
    #[serde(with = "crate::config_serde::duration")]
    pub revoke_timeout: Duration,
    /// Records of the coordination log between snapshots of the group's state (default
    /// 1,000): members that join after retention removed the log's first records start
    /// from a snapshot.
    pub snapshot_every: u64,
}

impl GroupConfig {
    /// Group `group` on `topic`, with the default timings.
    pub fn new(group: impl Into<String>, topic: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            topic: topic.into(),
            member_id: None,
            session_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(1),
            takeover_margin: Duration::from_secs(1),
            revoke_timeout: Duration::from_secs(60),
            snapshot_every: 1000,
        }
    }

    /// The defaults, without a group or topic (what a file's keys start from).
    fn unnamed() -> Self {
        Self::new("", "")
    }

    /// The consumer id the group's offsets are committed under (the group's name).
    pub fn consumer_id(&self) -> &str {
        &self.group
    }

    /// How often the member checks its lease, its peers and the partition count.
    pub(crate) fn tick(&self) -> Duration {
        (self.heartbeat.min(self.takeover_margin) / 4).max(Duration::from_millis(1))
    }

    /// # Errors
    /// [`GroupError::InvalidConfig`].
    pub(crate) fn validate(&self) -> Result<(), GroupError> {
        let invalid = |why: String| Err(GroupError::InvalidConfig(why));
        if self.group.is_empty() || !crate::admin::has_valid_chars(&self.group) {
            return invalid(format!(
                "group name {:?}: lowercase letters, digits and '-' only, not at either end",
                self.group
            ));
        }
        if coordination_topic(&self.group).len() > crate::admin::MAX_NAME_LEN {
            return invalid(format!("group name {:?} is too long", self.group));
        }
        if self.topic.is_empty() || self.topic.contains(char::is_whitespace) {
            return invalid(format!("topic {:?}", self.topic));
        }
        if let Some(id) = &self.member_id {
            if !valid_member_id(id) {
                return invalid(format!(
                    "member id {id:?}: 1 to 200 characters, no whitespace"
                ));
            }
        }
        if self.heartbeat.is_zero() || self.heartbeat * 3 > self.session_timeout {
            return invalid(format!(
                "heartbeat {:?} must be positive and at most a third of the session timeout {:?}",
                self.heartbeat, self.session_timeout
            ));
        }
        if self.takeover_margin.is_zero() {
            return invalid("the takeover margin must be positive".into());
        }
        if self.revoke_timeout.is_zero() {
            return invalid("the revoke timeout must be positive".into());
        }
        if !(1..=i64::MAX as u64).contains(&self.snapshot_every) {
            return invalid("snapshot_every must be positive".into());
        }
        Ok(())
    }
}

/// A member id for this process: host name, process id and a random suffix.
pub(crate) fn default_member_id() -> String {
    let host: String = std::env::var("HOSTNAME")
        .unwrap_or_else(|_| "member".into())
        .chars()
        .filter(char::is_ascii_graphic)
        .take(64)
        .collect();
    let host = if host.is_empty() {
        "member".into()
    } else {
        host
    };
    format!("{host}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_names_or_timings_are_refused() {
        let ok = GroupConfig::new("orders-etl", "orders");
        ok.validate().unwrap();
        assert_eq!(ok.consumer_id(), "orders-etl");
        assert_eq!(coordination_topic("g"), "consumer-group-g");
        assert!(valid_member_id(&default_member_id()));
        let cases = [
            GroupConfig::new("Orders", "t"),
            GroupConfig::new("-a", "t"),
            GroupConfig::new("", "t"),
            GroupConfig::new("a".repeat(49), "t"),
            GroupConfig::new("a", ""),
            GroupConfig {
                member_id: Some("a b".into()),
                ..ok.clone()
            },
            GroupConfig {
                heartbeat: Duration::from_secs(4),
                ..ok.clone()
            },
            GroupConfig {
                takeover_margin: Duration::ZERO,
                ..ok.clone()
            },
            GroupConfig {
                snapshot_every: 0,
                ..ok.clone()
            },
        ];
        for config in cases {
            assert!(
                matches!(config.validate(), Err(GroupError::InvalidConfig(_))),
                "{config:?}"
            );
        }
        GroupConfig::new("a".repeat(48), "t").validate().unwrap();
    }
}
