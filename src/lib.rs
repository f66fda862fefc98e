//! # actix-fluvio
//!
//! A pure-Rust client and [actix](https://actix.rs) actor framework for the
//! [Fluvio](https://www.fluvio.io/) streaming platform.
//!
//! ## Layout
//! Each module uses only those before it in this list (tests aside).
//!
//! - [`protocol`]: Fluvio's wire protocol as pure, synchronous types (no I/O): primitives,
//!   headers, error codes, the record model with compression, and every client-facing SPU
//!   and SC message. Start here to learn the protocol.
//! - [`codec`]: the tokio-util `Decoder`/`Encoder` for size-prefixed frames, with a maximum
//!   frame size checked before any allocation.
//! - `config_serde` (internal): how the configuration types are written in files (humantime
//!   durations, `"off"`, enum names, SmartModules by name).
//! - [`telemetry`]: the metric table (names, labels, help, buckets) and its Prometheus
//!   exporter.
//! - `runtime` (internal): where the crate's actors run: the caller's actix arbiter, or a
//!   background actix system for plain tokio programs.
//! - [`connection`]: one actor per socket: correlation-id multiplexing, one-shot and
//!   streaming replies, timeouts, TLS, version negotiation, reconnects with backoff.
//! - [`cluster`]: [`FluvioClient`](cluster::FluvioClient), the entry point: finding the SC
//!   (options, `FLUVIO_SC_ADDR`, the CLI's profile), the metadata cache fed by the SC's watch
//!   streams, leader discovery and the pool of SPU connections.
//! - [`admin`]: topics, partitions, SPUs, SmartModules and consumer offsets, as a handle and
//!   as an actor.
//! - [`producer`]: the batching producer (partitioner, byte budget, linger, compression,
//!   delivery guarantees with retries, per-record receipts) and its actor.
//! - [`consumer`]: partition and topic consumers: continuous fetch streams with read-ahead
//!   backpressure, SmartModules, offset commits, resumption after faults; and the consumer
//!   actor that delivers to your actors.
//! - [`group`]: consumer groups coordinated through a Fluvio topic (membership, leases,
//!   sticky assignment, cooperative handover).
//! - [`pipeline`]: a topic through your worker actors to a sink topic, with at-least-once
//!   commits, worker restarts, redelivery and drain; alone or in a group.
//! - [`Call`]: an actor's `Result` answer as one `Result` (`addr.call(msg).await?`).
//! - [`health`]: liveness and readiness of clients and pipelines (with the `web` feature, as
//!   `/healthz` and `/readyz` actix-web handlers).
//! - `testkit` (feature `testkit`): an embedded SC and SPUs on loopback, with fault injection,
//!   for our tests and yours.
//! - `conformance` (tests only): our encoders and decoders against the official schema
//!   crates, on generated values.

pub mod admin;
mod builder;
mod call;
pub mod cluster;
pub mod codec;
mod config_serde;
pub mod connection;
pub mod consumer;
pub mod group;
pub mod health;
pub mod pipeline;
pub mod producer;
pub mod protocol;
mod runtime;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use call::Call;

#[cfg(test)]
mod conformance;

/// The README's code examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
