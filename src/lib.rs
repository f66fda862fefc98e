//! # actix-fluvio
//!
//! A pure-Rust client and [actix](https://actix.rs) actor framework for the
//! [Fluvio](https://www.fluvio.io/) streaming platform.
//!
//! ## Layout
//! - [`protocol`]: Fluvio's wire protocol as pure, synchronous types (no I/O): primitives,
//!   headers, the record model with compression, and every client-facing SPU and SC message.
//! - [`codec`]: the tokio-util `Decoder`/`Encoder` for size-prefixed frames, with a maximum
//!   frame size checked before any allocation.
//! - [`connection`]: the connection actor (multiplexing, streams, timeouts, TLS, reconnects).
//! - [`group`]: consumer groups coordinated through a Fluvio topic (membership, leases,
//!   sticky assignment, cooperative handover).
//! - [`telemetry`]: the metric table and span fields; [`health`]: liveness and readiness
//!   (with the `web` feature, as `/healthz` and `/readyz` actix-web handlers).
//! - `testkit` (feature `testkit`): an embedded SC and SPUs on loopback, with fault injection.

pub mod admin;
pub mod cluster;
pub mod codec;
pub mod connection;
pub mod consumer;
pub mod group;
pub mod health;
pub mod pipeline;
pub mod producer;
pub mod protocol;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

#[cfg(test)]
mod conformance;

/// The README's code examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
