//! Producer options: batching, compression, partitioning, isolation and delivery guarantees.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::partitioner::Partitioner;
use crate::builder::builder;
use crate::protocol::record::Compression;
use crate::protocol::spu::Isolation;

/// How hard the producer tries to deliver.
///
/// In a file: `delivery = "at-most-once"`, or
/// `delivery = { at-least-once = { timeout = "30s" } }` (the [`RetryPolicy`] keys left out
/// keep their defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryGuarantee {
    /// Send once; a failure is reported, never retried.
    AtMostOnce,
    /// Retry retriable failures (lost connection, leader change, timeout) per the policy.
    AtLeastOnce(RetryPolicy),
}

impl Default for DeliveryGuarantee {
    fn default() -> Self {
        DeliveryGuarantee::AtLeastOnce(RetryPolicy::default())
    }
}

/// Retries under [`DeliveryGuarantee::AtLeastOnce`]: a retriable failure (lost connection,
/// leader change, timeout, SPU restart) is retried, with a fresh leader lookup, until the
/// record is acknowledged or its delivery timeout passes (as Kafka's `delivery.timeout.ms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Retries after the first attempt (by default no limit: the delivery timeout decides).
    pub max_retries: u32,
    /// Delay before the first retry.
    #[serde(with = "crate::config_serde::duration")]
    pub initial_delay: Duration,
    /// Largest delay between retries.
    #[serde(with = "crate::config_serde::duration")]
    pub max_delay: Duration,
    /// Delay growth per retry.
    pub multiplier: f64,
    /// The delivery timeout: the longest time a record may take from being queued to its
    /// acknowledgement, retries included; then it fails with
    /// [`super::ProducerError::DeliveryTimeout`].
    #[serde(with = "crate::config_serde::duration")]
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Retries without a count limit, 20 ms doubling to 1 s, a 120 s delivery timeout.
    fn default() -> Self {
        Self {
            max_retries: u32::MAX,
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(1),
            multiplier: 2.0,
            timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let secs = self.initial_delay.as_secs_f64()
            * self.multiplier.powi(retry.saturating_sub(1).min(32) as i32);
        Duration::from_secs_f64(secs.min(self.max_delay.as_secs_f64()))
    }
}

/// Where records go.
///
/// In a file: `partitioner = "key-hash-round-robin"` or `partitioner = { specific = 2 }`;
/// a custom partitioner has no file form (serializing one is an error).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionerKind {
    /// Keyed records by SipHash of the key (as the official client), keyless round-robin.
    #[default]
    KeyHashRoundRobin,
    /// Every record to this partition.
    Specific(u32),
    /// A partitioner of your own.
    #[serde(skip)]
    Custom(Arc<dyn Partitioner>),
}

impl PartialEq for PartitionerKind {
    /// Custom partitioners are equal when they are the same one.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::KeyHashRoundRobin, Self::KeyHashRoundRobin) => true,
            (Self::Specific(a), Self::Specific(b)) => a == b,
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl std::fmt::Debug for PartitionerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyHashRoundRobin => f.write_str("KeyHashRoundRobin"),
            Self::Specific(p) => write!(f, "Specific({p})"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Producer settings.
///
/// They read from a file (durations as humantime strings, enums by kebab-case name, a key
/// left out keeping its default, a misspelt key an error naming it):
///
/// ```
/// use std::time::Duration;
/// use actix_fluvio::producer::ProducerOptions;
/// use actix_fluvio::protocol::record::Compression;
///
/// let options: ProducerOptions = toml::from_str(r#"
///     linger = "5ms"
///     compression = "zstd"
///     isolation = "read-uncommitted"
///     delivery = { at-least-once = { timeout = "30s" } }
/// "#).unwrap();
/// assert_eq!(options.linger, Duration::from_millis(5));
/// assert_eq!(options.compression, Compression::Zstd);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProducerOptions {
    /// Seal a partition's batch once it holds this many bytes.
    pub batch_size: usize,
    /// Wait this long for more records before sending a batch that is not full (0 = send as
    /// soon as the partition has nothing in flight).
    #[serde(with = "crate::config_serde::duration")]
    pub linger: Duration,
    /// Largest produce request; a record that cannot fit is `RecordTooLarge`.
    pub max_request_size: usize,
    /// Most bytes buffered (not yet acknowledged); `send` waits for room beyond it.
    pub buffer_bytes: usize,
    /// Batch compression.
    pub compression: Compression,
    /// Partition choice.
    pub partitioner: PartitionerKind,
    /// When the SPU acknowledges: [`Isolation::ReadCommitted`] (the default) once the
    /// records are on every replica, so an acknowledged record survives its leader;
    /// [`Isolation::ReadUncommitted`] as soon as the leader wrote them, which is faster on
    /// replicated topics but can lose acknowledged records when the leader dies before its
    /// followers caught up. On a topic with one replica both answer at the same point.
    ///
    /// Fluvio (0.18) confirms a committed write only once *every* replica of the partition
    /// has it: while a replica is down, committed writes to its partitions wait (and fail
    /// at their delivery timeout if it stays away); an SPU restarted while the SC is away
    /// serves nothing until the SC is back. `ReadUncommitted` keeps writing through a
    /// follower's outage, at the risk above.
    pub isolation: Isolation,
    /// How long the SPU may take to acknowledge.
    #[serde(with = "crate::config_serde::duration")]
    pub server_timeout: Duration,
    /// Retries.
    pub delivery: DeliveryGuarantee,
    /// Longest time stopping the producer waits for buffered records to be acknowledged;
    /// then the rest fail with [`super::ProducerError::DrainDeadline`].
    #[serde(with = "crate::config_serde::duration")]
    pub drain_deadline: Duration,
}

impl Default for ProducerOptions {
    /// Batches of 16 KiB, no linger, 1 MiB requests, 64 MiB buffer, no compression,
    /// key hash / round-robin, read-committed, 1.5 s server timeout, at-least-once,
    /// 30 s drain deadline.
    fn default() -> Self {
        Self {
            batch_size: 16 * 1024,
            linger: Duration::ZERO,
            max_request_size: 1024 * 1024,
            buffer_bytes: 64 * 1024 * 1024,
            compression: Compression::None,
            partitioner: PartitionerKind::default(),
            isolation: Isolation::ReadCommitted,
            server_timeout: Duration::from_millis(1500),
            delivery: DeliveryGuarantee::default(),
            drain_deadline: Duration::from_secs(30),
        }
    }
}

impl ProducerOptions {
    /// A builder from the defaults.
    pub fn builder() -> ProducerOptionsBuilder {
        Self::default().into_builder()
    }
}

builder! {
    /// Builds [`ProducerOptions`] from the defaults, a setter per field (the official
    /// client's `TopicProducerConfigBuilder` has `batch_size`, `linger`, `compression`,
    /// `isolation` and `partitioner` too; its `delivery_semantic` and `timeout` are
    /// `delivery`, a [`DeliveryGuarantee`] holding the delivery timeout):
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_fluvio::producer::{DeliveryGuarantee, ProducerOptions, RetryPolicy};
    /// use actix_fluvio::protocol::record::Compression;
    ///
    /// let options = ProducerOptions::builder()
    ///     .linger(Duration::from_millis(5))
    ///     .batch_size(64 * 1024)
    ///     .compression(Compression::Zstd)
    ///     .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
    ///         timeout: Duration::from_secs(30),
    ///         ..RetryPolicy::default()
    ///     }))
    ///     .build();
    /// assert_eq!(options.compression, Compression::Zstd);
    /// assert_eq!(options.buffer_bytes, ProducerOptions::default().buffer_bytes);
    /// ```
    ProducerOptionsBuilder => ProducerOptions {
        batch_size: usize,
        linger: Duration,
        max_request_size: usize,
        buffer_bytes: usize,
        compression: Compression,
        partitioner: PartitionerKind,
        isolation: Isolation,
        server_timeout: Duration,
        delivery: DeliveryGuarantee,
        drain_deadline: Duration,
    }
}
