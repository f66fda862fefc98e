//! Partition consumers: a continuous stream fetch per partition with acknowledgements on the
//! same connection, start offsets, stop-at-end, SmartModules, consumer-offset commits, credit
//! based backpressure and resumption without gaps or duplicates after faults.
//!
//! # SmartModules
//!
//! With [`ConsumerOptions::smartmodules`] the SPU runs the chain and sends only its output.
//! A stream delivers exactly that output, on every topic shape (one record per batch as the
//! official CLI writes, large or compressed batches, any mix), and goes on from where the
//! chain stopped, whatever it kept. What to expect of it:
//!
//! - **Offsets.** An output record carries the offset of the input record it came from. The
//!   0.18 SPU does not send that offset for records past the first input batch of a frame,
//!   so the consumer works it out: it is exact for map and aggregate chains on every topic,
//!   and for every chain on topics of one record per batch; otherwise (a filter or an
//!   array-map over batches of several records) it may be lower than the input's, never
//!   higher. Committing it can cause redelivery, never a gap. The outputs of one input
//!   (array-map) share its offset.
//! - **Start offsets.** The SPU runs the chain over the whole stored batch holding the start
//!   offset. Output from before the start is dropped where its offset is known; otherwise
//!   (a filter over a batch of several records) it is delivered rather than risk dropping a
//!   record from the start on.
//! - **Aggregates.** An aggregate at the end of the chain carries its accumulator from frame
//!   to frame and across reconnects: each new stream starts from the last output value. A
//!   stream resumed later from a committed offset starts from the accumulator given in its
//!   invocation: to continue a running total across restarts, store the last value with
//!   your output and pass it as the initial accumulator. Resume at the start of a stored
//!   batch (every offset, on topics of one record per batch): from inside one, the SPU runs
//!   the aggregate over the batch's records before the start as well.
//! - **Stop at end.** A stop-at-end stream ends at the end offset fixed at its start. When no
//!   input left before it gives output, the SPU sends nothing at all; the stream then ends
//!   after a silence that grows with the records left (2 s plus 2 µs per record, at most a
//!   minute).
//! - **Errors.** A SmartModule runtime error arrives as [`ConsumerError::SmartModule`] with
//!   the failing record's offset, after every output record before it. A stored
//!   SmartModule the SPU does not know is reported once it has stayed unknown for 10 s:
//!   the SC hands new SmartModules to the SPUs on its own time, so a stream opened right
//!   after `create_smartmodule` waits for it rather than failing.

mod ack;
mod actor;
mod collect;
mod commit;
mod config;
mod error;
mod fetch_size;
mod fetcher;
mod frame;
mod offset;
mod partition_metrics;
mod probe;
mod read_ahead;
mod record;
mod rewind;
mod status;
pub(crate) mod stream;
mod tail;
mod topic;
mod transformed;

pub use actor::{Commit, PartitionConsumerActor, Records, StreamEnded};
pub use commit::CommitGuard;
pub use config::{ConsumerOptions, ConsumerOptionsBuilder, FETCH_FRAME_OVERHEAD};
pub use error::ConsumerError;
pub use offset::Offset;
pub use record::ConsumerRecord;
pub use status::{StreamState, StreamStatus};
pub use stream::{Committer, PartitionStream};
pub use topic::TopicStream;
