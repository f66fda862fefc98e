//! The batching producer.
//!
//! ```text
//!  Producer::send/enqueue ──▶ partitioner ──▶ byte budget (waits when full)
//!        │                                        │
//!        ▼                                        ▼
//!  DeliveryFuture ◀── BatchSlot ◀── Accumulator (a batch per partition, sealed at batch_size
//!                                    or linger) ◀── ProducerActor drains it: one produce
//!                                    request per leader SPU, settles on acknowledgement,
//!                                    retries retriable failures (at-least-once), drains on stop
//! ```
//! Records are encoded once, straight into their batch; a record's future shares its
//! batch's slot (no allocation per record). Per partition one request is in flight at a time,
//! which keeps retried records in order.

mod accumulator;
mod actor;
mod config;
mod core;
mod dropped;
mod error;
mod handle;
mod partitioner;
mod reroute;
mod slot;
mod topics;

pub use actor::ProducerActor;
pub use config::{
    DeliveryGuarantee, PartitionerKind, ProducerOptions, ProducerOptionsBuilder, RetryPolicy,
};
pub use error::ProducerError;
pub use handle::{Produce, ProduceRecord, Producer};
pub use partitioner::{key_partition, KeyHashRoundRobin, Partitioner};
pub use slot::{DeliveryFuture, RecordMetadata};
