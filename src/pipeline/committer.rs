//! Whose offsets a pipeline commits: a consumer id of its own, or a consumer group's.

use serde::{Deserialize, Serialize};

use crate::group::GroupConfig;

/// Whose offsets a pipeline commits, which also decides which partitions it runs.
///
/// A string is a consumer id, so `PipelineConfig::new("orders", "billing")` commits under
/// `billing`; a group is named with [`Committer::group`] or given as a [`GroupConfig`]. In a
/// file it is one key of the pipeline's table:
///
/// ```
/// use actix_fluvio::pipeline::{Committer, PipelineConfig};
///
/// let alone: PipelineConfig = toml::from_str(r#"
///     source = "orders"
///     committer = { consumer_id = "billing" }
/// "#).unwrap();
/// assert_eq!(alone.committer, Committer::from("billing"));
///
/// let grouped: PipelineConfig = toml::from_str(r#"
///     source = "orders"
///     [committer.group]
///     group = "billers"
///     session_timeout = "20s"
/// "#).unwrap();
/// assert_eq!(grouped.committer.consumer_id(), "billers");
/// assert!(grouped.committer.is_group());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Committer {
    /// Commit under this consumer id and run every partition of the source (or its
    /// `partition`); a new pipeline with the same id resumes where this one committed.
    ConsumerId(String),
    /// Run in this consumer group (see [`crate::group`]): the pipelines of one group, in
    /// any number of processes, share the partitions of the source; each runs only the
    /// partitions assigned to it, finishes and commits those it is asked to hand over, and
    /// stops at once, without committing, those it lost with its lease. Offsets are
    /// committed under the group's name, so a partition's new owner resumes where the
    /// previous one committed. A drain leaves the group gracefully. The pipeline's
    /// `partition` must be `None`; `exit_at_end` stops each partition at its end, but the
    /// pipeline runs until it is drained. The config's `topic` is replaced by the
    /// pipeline's `source` (a file may leave it out).
    Group(GroupConfig),
}

impl Committer {
    /// Group `group` with the default timings of [`GroupConfig::new`].
    pub fn group(group: impl Into<String>) -> Self {
        Self::Group(GroupConfig::new(group, ""))
    }

    /// The consumer id offsets are committed under: the id, or the group's name.
    pub fn consumer_id(&self) -> &str {
        match self {
            Self::ConsumerId(id) => id,
            Self::Group(group) => group.consumer_id(),
        }
    }

    /// Whether this is a group.
    pub fn is_group(&self) -> bool {
        matches!(self, Self::Group(_))
    }
}

impl From<&str> for Committer {
    fn from(consumer_id: &str) -> Self {
        Self::ConsumerId(consumer_id.into())
    }
}

impl From<String> for Committer {
    fn from(consumer_id: String) -> Self {
        Self::ConsumerId(consumer_id)
    }
}

impl From<GroupConfig> for Committer {
    fn from(group: GroupConfig) -> Self {
        Self::Group(group)
    }
}
