//! Consumer options.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::ConsumerError;
use super::offset::Offset;
use crate::builder::builder;
use crate::connection::ReconnectPolicy;
use crate::protocol::spu::{Isolation, SmartModuleInvocation, DEFAULT_MAX_FETCH_BYTES};

/// Room a stream fetch response frame needs besides its records (size, correlation id,
/// stream id, topic name, partition fields): `max_bytes` stays this far below the
/// connection's `max_frame_len`.
pub const FETCH_FRAME_OVERHEAD: usize = 64 * 1024;

/// How a partition consumer reads.
///
/// The options read from a file (durations as humantime strings, `"off"` for an optional
/// duration switched off, a key left out keeping its default, a misspelt key an error naming
/// it). SmartModules are written by the name they are stored under:
///
/// ```
/// use std::time::Duration;
/// use actix_fluvio::consumer::{ConsumerOptions, Offset};
///
/// let options: ConsumerOptions = toml::from_str(r#"
///     offset = { from-end = 100 }
///     isolation = "read-uncommitted"
///     idle_probe = "off"
///     auto_commit = "5s"
///     [[smartmodules]]
///     name = "my-filter"
///     kind = "filter"
///     params = { needle = "paid" }
/// "#).unwrap();
/// assert_eq!(options.offset, Offset::FromEnd(100));
/// assert_eq!((options.idle_probe, options.auto_commit), (None, Some(Duration::from_secs(5))));
/// assert_eq!(options.smartmodules[0].params.params["needle"], "paid");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ConsumerOptions {
    /// Where to start (when no committed offset applies), and where to resume when the
    /// partition's log went backwards past the stream (its high watermark fell below the
    /// next offset: a recreated topic, a truncated replica), resolved in the new range.
    pub offset: Offset,
    /// Most bytes per fetch frame (default 4 MiB). A stream opens at 256 KiB (or this, when
    /// smaller) and grows toward it only while full frames hold few records (at most an
    /// eighth of `buffer_records`): the SPU waits for an acknowledgement after each frame,
    /// so large records get fewer, larger frames, while small records, which cost about
    /// 100 B each once decoded, are not fetched 36,000 at a time (see `benches/README.md`).
    pub max_bytes: i32,
    /// Largest `max_bytes` the consumer grows to when a batch does not fit (default 32 MiB).
    /// A frame holds up to `max_bytes` of records plus headers, so where the consumer starts
    /// both are lowered to the connection's `max_frame_len` less [`FETCH_FRAME_OVERHEAD`]
    /// (a larger frame is refused). SmartModule output larger than its input can still
    /// exceed the frame: the stream then ends with [`crate::connection::ConnectionError::Frame`]
    /// (the connection and the other requests on it go on); raise `max_frame_len` for such
    /// chains.
    pub max_bytes_ceiling: i32,
    /// Which records a fetch returns: [`Isolation::ReadCommitted`] (the default) up to the
    /// high watermark, records every in-sync replica holds, which a leader failover cannot
    /// take back; [`Isolation::ReadUncommitted`] up to the leader's log end, sooner on
    /// replicated topics, but a consumer can then read (and commit past) records the next
    /// leader never had, and skip the records that take their offsets.
    pub isolation: Isolation,
    /// SmartModules applied on the SPU, chained in order (see [`crate::consumer`] for what
    /// a stream through them delivers).
    #[serde(with = "crate::config_serde::smartmodules")]
    pub smartmodules: Vec<SmartModuleInvocation>,
    /// Stop at the end offset that existed when the stream started.
    pub disable_continuous: bool,
    /// Consumer id for offset commits; with one, a stored offset wins over `offset`.
    pub consumer_id: Option<String>,
    /// Commit the last delivered offset this often, and when the stream stops (needs a
    /// consumer id). Without it, only explicit commits store offsets.
    #[serde(with = "crate::config_serde::option_duration")]
    pub auto_commit: Option<Duration>,
    /// Most records fetched ahead of the reader. A fetch frame is passed on when its records
    /// fit beside those not yet handed out, or, when the frame alone holds more, once none
    /// is left: at most `max(buffer_records, records of the largest frame)` wait for the
    /// reader ([`crate::consumer::PartitionStream::buffered`]), plus the one frame the
    /// fetcher holds until there is room (the SPU sends the next only after that one).
    /// Default 2,500: about one 256 KiB frame of 100 B records, so the SPU prepares the next
    /// frame while the reader works through this one; four times that copied no faster and
    /// peaked 1-4 MiB higher per process (`benches/README.md`, "The read-ahead's default").
    pub buffer_records: usize,
    /// Most bytes (keys and values, [`crate::consumer::ConsumerRecord::payload_len`])
    /// fetched ahead of the reader, bounded as `buffer_records` bounds records: a frame is
    /// passed on when it fits beside both, or once nothing is left when it alone holds
    /// more. At most `max(buffer_bytes, bytes of the largest frame)` wait for the reader
    /// ([`crate::consumer::PartitionStream::buffered_bytes`]), plus the one frame the
    /// fetcher holds. Default 16 MiB: four default frames (`max_bytes`), so the SPU keeps
    /// sending while the reader works, and, with 2,500 records of at most 6.5 KiB, never
    /// tighter than `buffer_records`; it is what bounds large records (2,500 records of
    /// 1 MiB would otherwise be 2.5 GiB per partition).
    pub buffer_bytes: usize,
    /// Backoff between attempts to resume a lost stream (by default forever, 100 ms doubling
    /// up to 5 s; a bounded policy ends the stream with the last error).
    pub reconnect: ReconnectPolicy,
    /// After this long with nothing arriving on a stream, ask its SPU for the partition's
    /// offsets on the stream's connection (default 20 s; `None`: never). An answer keeps
    /// the stream, however long it stays quiet. No answer within the request timeout (at
    /// most 10 s) means the socket is half open — a paused SPU, a network drop nobody
    /// reported: the socket is dropped (the connection reconnects rather than hand it out
    /// again) and the stream resumes, through the SC, on whichever SPU leads the partition
    /// now, as it does when the SPU answers that it no longer leads. A stalled stream is
    /// thus resumed within `idle_probe` + probe timeout + the `reconnect` backoff.
    #[serde(with = "crate::config_serde::option_duration")]
    pub idle_probe: Option<Duration>,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            offset: Offset::Beginning,
            max_bytes: 4 * DEFAULT_MAX_FETCH_BYTES,
            max_bytes_ceiling: 32 * 1024 * 1024,
            isolation: Isolation::ReadCommitted,
            smartmodules: Vec::new(),
            disable_continuous: false,
            consumer_id: None,
            auto_commit: None,
            buffer_records: 2_500,
            buffer_bytes: 16 * 1024 * 1024,
            reconnect: ReconnectPolicy {
                initial_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(5),
                ..ReconnectPolicy::default()
            },
            idle_probe: Some(Duration::from_secs(20)),
        }
    }
}

impl ConsumerOptions {
    /// A builder from the defaults.
    pub fn builder() -> ConsumerOptionsBuilder {
        Self::default().into_builder()
    }

    /// These options with `max_bytes_ceiling` (and `max_bytes`) lowered to fit frames of at
    /// most `max_frame_len` bytes (see [`ConsumerOptions::max_bytes_ceiling`]).
    ///
    /// # Errors
    /// [`ConsumerError::InvalidOptions`]: `max_bytes` or `max_bytes_ceiling` is not
    /// positive, or `max_frame_len` leaves no room for records.
    pub(crate) fn fitted_to_frames(mut self, max_frame_len: usize) -> Result<Self, ConsumerError> {
        if self.max_bytes <= 0 || self.max_bytes_ceiling <= 0 {
            return Err(ConsumerError::InvalidOptions(format!(
                "max_bytes ({}) and max_bytes_ceiling ({}) must be positive",
                self.max_bytes, self.max_bytes_ceiling
            )));
        }
        let room = max_frame_len.saturating_sub(FETCH_FRAME_OVERHEAD);
        let room = i32::try_from(room).unwrap_or(i32::MAX);
        if room == 0 {
            return Err(ConsumerError::InvalidOptions(format!(
                "frames of at most {max_frame_len} bytes leave no room for records \
                 ({FETCH_FRAME_OVERHEAD} bytes go to headers)"
            )));
        }
        if self.max_bytes_ceiling > room {
            tracing::debug!(
                max_bytes_ceiling = self.max_bytes_ceiling,
                max_frame_len,
                to = room,
                "max_bytes_ceiling lowered to fit the connection's frames"
            );
            self.max_bytes_ceiling = room;
        }
        self.max_bytes = self.max_bytes.min(self.max_bytes_ceiling);
        Ok(self)
    }
}

builder! {
    /// Builds [`ConsumerOptions`] from the defaults, a setter per field (as the official
    /// client's `ConsumerConfigExtBuilder`: `offset`, `isolation`, `max_bytes`,
    /// `disable_continuous`, `smartmodules`, and `consumer_id` by name):
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_fluvio::consumer::{ConsumerOptions, Offset};
    /// use actix_fluvio::protocol::spu::{SmartModuleInvocation, SmartModuleWasm};
    ///
    /// let options = ConsumerOptions::builder()
    ///     .offset(Offset::FromEnd(10))
    ///     .consumer_id("billing")
    ///     .auto_commit(Some(Duration::from_secs(5)))
    ///     .smartmodules(vec![SmartModuleInvocation::filter(SmartModuleWasm::predefined("paid"))])
    ///     .idle_probe(None)
    ///     .build();
    /// assert_eq!(options.consumer_id.as_deref(), Some("billing"));
    /// assert_eq!(options.buffer_records, ConsumerOptions::default().buffer_records);
    /// ```
    ConsumerOptionsBuilder => ConsumerOptions {
        offset: Offset,
        max_bytes: i32,
        max_bytes_ceiling: i32,
        isolation: Isolation,
        smartmodules: Vec<SmartModuleInvocation>,
        disable_continuous: bool,
        consumer_id: String => some_into,
        auto_commit: Option<Duration>,
        buffer_records: usize,
        buffer_bytes: usize,
        reconnect: ReconnectPolicy,
        idle_probe: Option<Duration>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::DEFAULT_MAX_FRAME_LEN;
    use proptest::prelude::*;

    #[test]
    fn the_defaults_fit_the_default_frames_with_room_to_spare() {
        let options = ConsumerOptions::default();
        let fitted = options
            .clone()
            .fitted_to_frames(DEFAULT_MAX_FRAME_LEN)
            .unwrap();
        assert_eq!(
            (fitted.max_bytes, fitted.max_bytes_ceiling),
            (options.max_bytes, options.max_bytes_ceiling)
        );
        assert!(options.max_bytes_ceiling as usize * 2 <= DEFAULT_MAX_FRAME_LEN);
    }

    #[test]
    fn a_ceiling_at_the_frame_limit_is_lowered_and_impossible_limits_are_refused() {
        let at_limit = ConsumerOptions {
            max_bytes_ceiling: 64 * 1024 * 1024,
            ..ConsumerOptions::default()
        };
        let fitted = at_limit.fitted_to_frames(DEFAULT_MAX_FRAME_LEN).unwrap();
        assert_eq!(
            fitted.max_bytes_ceiling as usize,
            DEFAULT_MAX_FRAME_LEN - FETCH_FRAME_OVERHEAD
        );
        let small = ConsumerOptions::default()
            .fitted_to_frames(1 << 20)
            .unwrap();
        assert_eq!(
            (small.max_bytes, small.max_bytes_ceiling),
            (960 * 1024, 960 * 1024)
        );
        for (max_bytes, ceiling, frame) in [(0, 1 << 20, 1 << 26), (1, -1, 1 << 26), (1, 1, 1000)] {
            let options = ConsumerOptions {
                max_bytes,
                max_bytes_ceiling: ceiling,
                ..ConsumerOptions::default()
            };
            assert!(matches!(
                options.fitted_to_frames(frame),
                Err(ConsumerError::InvalidOptions(_))
            ));
        }
    }

    proptest! {
        /// Whatever the options and frame limit: a positive max_bytes at most the ceiling,
        /// which fits the frame with its overhead and never rises; or a refusal when one of
        /// them cannot work.
        #[test]
        fn fitted_fetches_always_fit_their_frames(
            max_bytes in any::<i32>(),
            ceiling in any::<i32>(),
            frame in prop_oneof![any::<usize>(), 0usize..(1 << 21)],
        ) {
            let options = ConsumerOptions { max_bytes, max_bytes_ceiling: ceiling, ..ConsumerOptions::default() };
            match options.fitted_to_frames(frame) {
                Ok(fitted) => {
                    prop_assert!(0 < fitted.max_bytes && fitted.max_bytes <= fitted.max_bytes_ceiling);
                    prop_assert!(fitted.max_bytes <= max_bytes && fitted.max_bytes_ceiling <= ceiling);
                    prop_assert!(fitted.max_bytes_ceiling as usize + FETCH_FRAME_OVERHEAD <= frame);
                }
                Err(_) => prop_assert!(max_bytes <= 0 || ceiling <= 0 || frame <= FETCH_FRAME_OVERHEAD),
            }
        }
    }
}
