//! Partition consumers: a continuous stream fetch per partition with acknowledgements on the
//! same connection, start offsets, stop-at-end, SmartModules, consumer-offset commits, credit
//! based backpressure and resumption without gaps or duplicates after faults.

mod actor;
mod config;
mod error;
mod fetcher;
mod offset;
mod record;
mod stream;
mod topic;

pub use actor::{PartitionConsumerActor, Records, StreamEnded};
pub use config::ConsumerOptions;
pub use error::ConsumerError;
pub use offset::Offset;
pub use record::ConsumerRecord;
pub use stream::{Committer, PartitionStream};
pub use topic::TopicStream;
