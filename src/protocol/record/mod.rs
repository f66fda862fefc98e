//! The record model: records, batches, record sets and batch compression.
//!
//! On the wire a [`Batch`] keeps its payload as raw bytes (compressed or not), exactly as the
//! SPU stores and serves it; [`Batch::records`] decodes the records on demand and
//! [`BatchBuilder`] encodes them once, straight into a payload.

mod batch;
mod builder;
mod compression;
mod entry;
mod record_set;

pub use batch::{Batch, BATCH_OVERHEAD};
pub use builder::BatchBuilder;
pub use compression::{Compression, MAX_DECOMPRESSED_LEN};
pub use entry::{Record, RecordIter, RecordRef};
pub use record_set::RecordSet;
