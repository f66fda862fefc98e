//! Consumer options.

use std::time::Duration;

use super::offset::Offset;
use crate::connection::ReconnectPolicy;
use crate::protocol::spu::{Isolation, SmartModuleInvocation, DEFAULT_MAX_FETCH_BYTES};

/// How a partition consumer reads.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Where to start (when no committed offset applies).
    pub offset: Offset,
    /// Bytes per fetch frame (default 4 MiB: the SPU waits for an acknowledgement after
    /// each frame, so fewer, larger frames cost fewer round trips).
    pub max_bytes: i32,
    /// Largest `max_bytes` the consumer grows to when a batch does not fit.
    pub max_bytes_ceiling: i32,
    /// Read uncommitted or committed records.
    pub isolation: Isolation,
    /// SmartModules applied on the SPU, chained in order (see [`crate::consumer`] for what
    /// a stream through them delivers).
    pub smartmodules: Vec<SmartModuleInvocation>,
    /// Stop at the end offset that existed when the stream started.
    pub disable_continuous: bool,
    /// Consumer id for offset commits; with one, a stored offset wins over `offset`.
    pub consumer_id: Option<String>,
    /// Commit the last delivered offset this often, and when the stream stops (needs a
    /// consumer id). Without it, only explicit commits store offsets.
    pub auto_commit: Option<Duration>,
    /// Most records fetched ahead of the reader. A fetch frame is passed on when its records
    /// fit beside those not yet handed out, or, when the frame alone holds more, once none
    /// is left: at most `max(buffer_records, records of the largest frame)` wait for the
    /// reader ([`crate::consumer::PartitionStream::buffered`]), plus the one frame the
    /// fetcher holds until there is room (the SPU sends the next only after that one).
    pub buffer_records: usize,
    /// Backoff between attempts to resume a lost stream (by default forever, 100 ms doubling
    /// up to 5 s; a bounded policy ends the stream with the last error).
    pub reconnect: ReconnectPolicy,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            offset: Offset::Beginning,
            max_bytes: 4 * DEFAULT_MAX_FETCH_BYTES,
            max_bytes_ceiling: 64 * 1024 * 1024,
            isolation: Isolation::ReadUncommitted,
            smartmodules: Vec::new(),
            disable_continuous: false,
            consumer_id: None,
            auto_commit: None,
            buffer_records: 10_000,
            reconnect: ReconnectPolicy {
                initial_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(5),
                ..ReconnectPolicy::default()
            },
        }
    }
}
