//! Pipeline settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::committer::Committer;
use super::policy::FailurePolicy;
use crate::builder::builder;
use crate::consumer::ConsumerOptions;
use crate::producer::ProducerOptions;

/// How a pipeline reads, commits, restarts and stops.
///
/// It reads from a file: `source` and `committer` are required, every other key left out
/// keeps the default of [`PipelineConfig::new`], and a misspelt key is an error naming it.
/// Durations are humantime strings (`worker_timeout = "off"`: wait forever); `consumer`,
/// `producer`, `failure` and `committer` are tables of their own types:
///
/// ```
/// use std::time::Duration;
/// use actix_fluvio::pipeline::{GiveUp, PipelineConfig};
///
/// let config: PipelineConfig = toml::from_str(r#"
///     source = "orders"
///     sink = "orders-upper"
///     committer = { consumer_id = "orders-worker" }
///     commit_interval = "500ms"
///     failure = { retries = 5, then = "skip" }
///     [producer]
///     compression = "zstd"
/// "#).unwrap();
/// assert_eq!(config.commit_interval, Duration::from_millis(500));
/// assert_eq!(config.failure.then, GiveUp::Skip);
/// assert_eq!(config.workers, PipelineConfig::new("orders", "orders-worker").workers);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// The topic to read.
    pub source: String,
    /// Read only this partition of `source` (`None`: every partition).
    #[serde(
        default = "defaults::partition",
        skip_serializing_if = "Option::is_none"
    )]
    pub partition: Option<u32>,
    /// Read only the partition of mirror topic `source` that belongs to this partner: a
    /// remote's id on the home cluster, the home's id on a remote (see
    /// [`crate::admin::mirror`]). Resolved when the pipeline starts; `partition` must be
    /// `None` and `committer` not a group. (A pipeline at home reading every remote's
    /// partition leaves it `None`: `fluvio_mirror_partition_info` labels each partition's
    /// metrics with its remote.)
    #[serde(
        default = "defaults::source_mirror",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_mirror: Option<String>,
    /// Whose offsets are committed: a consumer id (every partition, or `partition`, runs
    /// here) or a consumer group (the partitions its group assigns run here); see
    /// [`Committer`].
    pub committer: Committer,
    /// Where workers' outputs go (`None`: the worker is the sink).
    #[serde(default = "defaults::sink", skip_serializing_if = "Option::is_none")]
    pub sink: Option<String>,
    /// Write outputs bound for mirror topic `sink` (those naming no topic or partition of
    /// their own) to the partition that belongs to this partner: at home, a remote's
    /// partition of a home-to-remote topic; on a remote, the home's id for a remote-to-home
    /// topic. Resolved and checked against the topic's direction when the pipeline starts.
    #[serde(
        default = "defaults::sink_mirror",
        skip_serializing_if = "Option::is_none"
    )]
    pub sink_mirror: Option<String>,
    /// Partition-affine workers: partition `p` goes to worker `p % workers`. A worker that
    /// panics fails every message waiting at it: the failure counts against the oldest of
    /// them reported within a few milliseconds (the one it was handling). With a worker per
    /// partition that is exact; a worker shared by partitions may now and then charge a
    /// record of another partition an attempt, so give workers that may panic one per
    /// partition, or retries to spare.
    #[serde(default = "defaults::workers")]
    pub workers: usize,
    /// Records per partition between the stream and their acknowledgement (with the worker,
    /// or their outputs waiting for the sink): the worker goes on with the next records
    /// meanwhile, so the sink batches. Also the largest [`ProcessBatch`](super::ProcessBatch).
    /// Of these, at most `consumer.buffer_records` are with the worker (handed over, their
    /// outputs not yet in the sink's buffer), and at most 500 with a per-record or a typed
    /// worker (a message each): they hold their frames and their outputs, while records waiting for
    /// the sink's acknowledgement hold little.
    #[serde(default = "defaults::max_in_flight")]
    pub max_in_flight: usize,
    /// Bytes (keys and values) per partition between the stream and their acknowledgement:
    /// no more records are read while this many are held (one batch may pass it).
    ///
    /// **Memory bound.** What a pipeline buffers, per partition: the stream's read-ahead
    /// (`consumer.buffer_records` records and `consumer.buffer_bytes` bytes, or one frame
    /// of at most `consumer.max_bytes` when a frame holds more), plus the records in flight (`max_in_flight_bytes`, plus one
    /// batch of at most one frame); the sink's outputs wait among the records in flight, so
    /// for workers whose outputs are the size of their inputs they fit in the same bound.
    /// `PipelineStats::peak_in_flight_bytes` reports the real figure.
    #[serde(default = "defaults::max_in_flight_bytes")]
    pub max_in_flight_bytes: usize,
    /// Commit after this many acknowledged records...
    #[serde(default = "defaults::commit_every")]
    pub commit_every: usize,
    /// ...or this long after the last commit, whichever comes first.
    #[serde(
        with = "crate::config_serde::duration",
        default = "defaults::commit_interval"
    )]
    pub commit_interval: Duration,
    /// A record its worker leaves unanswered this long (from the record's turn, i.e. from
    /// the previous answer) fails, as a [`FailureKind::Timeout`](super::FailureKind::Timeout)
    /// (`None`: wait forever). A worker that answered nothing sent after that record is stuck
    /// and is replaced on a new arbiter (a stuck actor cannot be stopped from outside); one
    /// that goes on answering later records (the record's answer future hangs) is kept, and
    /// only that answer is abandoned.
    #[serde(
        with = "crate::config_serde::option_duration",
        default = "defaults::worker_timeout"
    )]
    pub worker_timeout: Option<Duration>,
    /// What happens to records that fail: retries with backoff, then dead-letter (the
    /// default, to `<source>-dlq`), skip, or stop (see [`FailurePolicy`]). A worker that
    /// panics or times out is replaced on a new arbiter either way.
    #[serde(default = "defaults::failure")]
    pub failure: FailurePolicy,
    /// Stop each partition at the end it had when the pipeline started.
    #[serde(default = "defaults::exit_at_end")]
    pub exit_at_end: bool,
    /// How each partition of `source` is read: the start when nothing is committed under
    /// the committer's consumer id (`offset`), isolation, fetch size, SmartModules applied on the SPU
    /// before records reach the workers, read-ahead. The pipeline sets `consumer_id` and
    /// (from `exit_at_end`) `disable_continuous`; it commits itself (`auto_commit` is
    /// ignored).
    #[serde(default = "defaults::consumer")]
    pub consumer: ConsumerOptions,
    /// How outputs are written to `sink`: compression, batch size, linger, partitioner,
    /// delivery guarantee and timeout, buffer size.
    #[serde(default = "defaults::producer")]
    pub producer: ProducerOptions,
}

impl PipelineConfig {
    /// Copy `source` through workers, committing as `committer`: a consumer id (a string)
    /// or a group ([`Committer::group`]).
    pub fn new(source: impl Into<String>, committer: impl Into<Committer>) -> Self {
        Self {
            source: source.into(),
            partition: None,
            source_mirror: None,
            committer: committer.into(),
            sink: None,
            sink_mirror: None,
            workers: 1,
            max_in_flight: 20_000,
            max_in_flight_bytes: 8 * 1024 * 1024,
            commit_every: 1000,
            commit_interval: Duration::from_secs(1),
            worker_timeout: None,
            failure: FailurePolicy::default(),
            exit_at_end: false,
            consumer: ConsumerOptions::default(),
            producer: ProducerOptions::default(),
        }
    }
}

impl PipelineConfig {
    /// A builder of a pipeline copying `source` (to the sink it is given), committing as
    /// `committer`, from the defaults of [`PipelineConfig::new`].
    pub fn builder(
        source: impl Into<String>,
        committer: impl Into<Committer>,
    ) -> PipelineConfigBuilder {
        Self::new(source, committer).into_builder()
    }
}

builder! {
    /// Builds a [`PipelineConfig`], a setter per field:
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_fluvio::pipeline::{FailurePolicy, PipelineConfig};
    /// use actix_fluvio::producer::ProducerOptions;
    /// use actix_fluvio::protocol::record::Compression;
    ///
    /// let config = PipelineConfig::builder("orders", "billing")
    ///     .sink("orders-upper")
    ///     .workers(4)
    ///     .commit_interval(Duration::from_millis(500))
    ///     .worker_timeout(Some(Duration::from_secs(30)))
    ///     .failure(FailurePolicy::skip(5))
    ///     .producer(ProducerOptions::builder().compression(Compression::Zstd).build())
    ///     .build();
    /// assert_eq!(config.sink.as_deref(), Some("orders-upper"));
    /// assert_eq!(config.commit_every, PipelineConfig::new("orders", "billing").commit_every);
    /// ```
    PipelineConfigBuilder => PipelineConfig {
        source: String => into,
        partition: u32 => some,
        source_mirror: String => some_into,
        committer: Committer => into,
        sink: String => some_into,
        sink_mirror: String => some_into,
        workers: usize,
        max_in_flight: usize,
        max_in_flight_bytes: usize,
        commit_every: usize,
        commit_interval: Duration,
        worker_timeout: Option<Duration>,
        failure: FailurePolicy,
        exit_at_end: bool,
        consumer: ConsumerOptions,
        producer: ProducerOptions,
    }
}

/// The defaults of [`PipelineConfig::new`], field by field, for keys a file leaves out.
mod defaults {
    use super::*;

    macro_rules! from_new {
        ($($field:ident: $ty:ty),* $(,)?) => {
            $(pub(super) fn $field() -> $ty {
                PipelineConfig::new("", "").$field
            })*
        };
    }

    from_new! {
        partition: Option<u32>,
        source_mirror: Option<String>,
        sink: Option<String>,
        sink_mirror: Option<String>,
        workers: usize,
        max_in_flight: usize,
        max_in_flight_bytes: usize,
        commit_every: usize,
        commit_interval: Duration,
        worker_timeout: Option<Duration>,
        failure: FailurePolicy,
        exit_at_end: bool,
        consumer: ConsumerOptions,
        producer: ProducerOptions,
    }
}
