//! # actix-fluvio
//!
//! A pure-Rust client and [actix](https://actix.rs) actor framework for the
//! [Fluvio](https://www.fluvio.io/) streaming platform.
//!
//! Connect, produce, consume, and run a pipeline through a worker actor (here against the
//! embedded test cluster, which `FLUVIO_SC_ADDR` points at; a real cluster works the same):
//!
//! ```
//! # #[cfg(feature = "testkit")]
//! # #[actix_fluvio::actix::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cluster = actix_fluvio::testkit::TestCluster::start(Default::default()).await?;
//! # std::env::set_var("FLUVIO_SC_ADDR", cluster.sc_addr());
//! use actix_fluvio::actix::prelude::*;
//! use actix_fluvio::admin::TopicConfig;
//! use actix_fluvio::cluster::{ClientConfig, FluvioClient};
//! use actix_fluvio::consumer::{ConsumerOptions, Offset};
//! use actix_fluvio::pipeline::{start_pipeline, Output, PipelineConfig, ProcessBatch, WorkerError};
//! use actix_fluvio::producer::ProducerOptions;
//!
//! // Connect: the SC at FLUVIO_SC_ADDR, else the `fluvio` CLI's profile, else 127.0.0.1:9003.
//! let client = FluvioClient::connect(ClientConfig::default()).await?;
//! client.admin().create_topic("orders", TopicConfig::new(1)).await?;
//! client.admin().create_topic("orders-upper", TopicConfig::new(1)).await?;
//!
//! // Produce: records are batched; `send` waits for the record's acknowledgement.
//! let producer = client.producer(ProducerOptions::default());
//! for value in ["apple", "banana", "cherry"] {
//!     producer.send("orders", None, value.as_bytes()).await?;
//! }
//!
//! // Consume partition 0 from the beginning.
//! let options = ConsumerOptions::builder().offset(Offset::Beginning).build();
//! let mut stream = client.partition_consumer("orders", 0, options).await?;
//! let first = stream.next().await.expect("a record")?;
//! assert_eq!(first.value.as_ref(), b"apple");
//!
//! // A pipeline: `orders` through a worker actor to `orders-upper`, offsets committed
//! // under the consumer id "upper" (a second run resumes after them).
//! struct Upper;
//!
//! impl Actor for Upper {
//!     type Context = Context<Self>;
//! }
//!
//! impl Handler<ProcessBatch> for Upper {
//!     type Result = Result<Vec<Output>, WorkerError>;
//!
//!     fn handle(&mut self, batch: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
//!         let upper = |record: &actix_fluvio::consumer::ConsumerRecord| {
//!             Output::value(record.value.to_ascii_uppercase())
//!         };
//!         Ok(batch.records.iter().map(upper).collect())
//!     }
//! }
//!
//! let config = PipelineConfig::builder("orders", "upper")
//!     .sink("orders-upper")
//!     .exit_at_end(true)
//!     .build();
//! let pipeline = start_pipeline(&client, config, |_| Upper.start().recipient::<ProcessBatch>());
//! let stats = pipeline.await?.wait().await?;
//! assert_eq!(stats.acked, 3);
//! # producer.close().await?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "testkit"))]
//! # fn main() {}
//! ```
//!
//! `actix_fluvio::actix` and `actix_fluvio::bytes` are the versions this crate is built on:
//! use them and your actors and ours agree on the types.
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

/// The actix this crate is built on: name actors, `Addr` and `Handler` through it so that
/// your actix and ours are the same version.
pub use actix;
/// The bytes this crate's records and messages carry ([`bytes::Bytes`] keys and values).
pub use bytes;

#[cfg(test)]
mod conformance;

/// The README's code examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
