//! What a pipeline does with a record its worker fails on: retry it with backoff, then
//! dead-letter it, skip it, or stop.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// How a pipeline treats a record (or a batch, split down to the failing record) whose
/// worker answered an error, panicked or timed out, whose outputs the sink refused, or that
/// could not be decoded:
/// retry it up to [`retries`](FailurePolicy::retries) times, pausing by
/// [`backoff`](FailurePolicy::backoff) before each retry, then do [`then`](FailurePolicy::then).
/// A record that cannot be decoded (or whose typed output cannot be encoded) is not retried.
///
/// The default retries 3 times (100 ms, 200 ms, 400 ms, jittered) and then dead-letters to
/// `<source>-dlq`:
///
/// ```
/// use std::time::Duration;
/// use actix_fluvio::pipeline::{Backoff, FailurePolicy, GiveUp, PipelineConfig};
///
/// let mut config = PipelineConfig::new("orders", "billing");
/// assert_eq!(config.failure.then, GiveUp::DeadLetter(None));
/// // Five retries, 1 s doubling up to 30 s, then to a dead-letter topic of our choice:
/// config.failure = FailurePolicy {
///     retries: 5,
///     backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(30)),
///     then: GiveUp::DeadLetter(Some("orders-rejected".into())),
/// };
/// ```
///
/// In a file: `retries = 5`, `backoff = { initial = "1s", max = "30s" }`, and `then` one
/// of `"dead-letter"`, `{ dead-letter = "orders-rejected" }`, `"skip"` or `"stop"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailurePolicy {
    /// Attempts after the first before giving up on a record.
    pub retries: u32,
    /// The pause before each retry.
    pub backoff: Backoff,
    /// What happens to a record once its retries are spent.
    pub then: GiveUp,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: Backoff::default(),
            then: GiveUp::DeadLetter(None),
        }
    }
}

impl FailurePolicy {
    /// Retry `retries` times with the default backoff, then dead-letter to `topic` (`None`:
    /// `<source>-dlq`).
    pub fn dead_letter(retries: u32, topic: Option<String>) -> Self {
        Self {
            retries,
            then: GiveUp::DeadLetter(topic),
            ..Self::default()
        }
    }

    /// Retry `retries` times with the default backoff, then skip the record.
    pub fn skip(retries: u32) -> Self {
        Self {
            retries,
            then: GiveUp::Skip,
            ..Self::default()
        }
    }

    /// Retry `retries` times with the default backoff, then stop the pipeline with
    /// [`PipelineError::RecordFailed`](super::PipelineError::RecordFailed).
    pub fn stop(retries: u32) -> Self {
        Self {
            retries,
            then: GiveUp::Stop,
            ..Self::default()
        }
    }
}

/// What happens to a record whose retries are spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    /// Write it to a dead-letter topic, in the JSON envelope of
    /// [`DeadLetter`](super::DeadLetter), and go on. `None`: `<source>-dlq`. The topic is
    /// created when the first record goes there, if it does not exist, with as many
    /// partitions as the source and the replication of the sink (of the source without a
    /// sink); a record goes to the partition of its source partition's number (modulo the
    /// topic's partitions), keyed by its key. The source offset is committed past the record
    /// only once the dead-letter write is acknowledged: while it fails, the partition's
    /// commits wait.
    DeadLetter(Option<String>),
    /// Skip it: counted (`fluvio_pipeline_skipped_records_total`) and logged once with its
    /// coordinates.
    Skip,
    /// Stop the pipeline with [`PipelineError::RecordFailed`](super::PipelineError::RecordFailed)
    /// (the other partitions drain); the record stays uncommitted, so the next run meets it
    /// again.
    Stop,
}

/// The pause before retry `n` (from 1): `initial` doubled for each retry before it, at most
/// `max`, then jittered down by up to half (so that partitions and processes that failed
/// together do not retry together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backoff {
    /// The pause before the first retry (before jitter).
    #[serde(with = "crate::config_serde::duration")]
    pub initial: Duration,
    /// The longest pause.
    #[serde(with = "crate::config_serde::duration")]
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(10))
    }
}

impl Backoff {
    /// `initial`, doubling, up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The same pause (`delay`, jittered) before every retry.
    pub fn fixed(delay: Duration) -> Self {
        Self::new(delay, delay)
    }

    /// The pause before retry `retry` (from 1), before jitter.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(30);
        self.initial
            .saturating_mul(1 << doublings)
            .min(self.max.max(self.initial))
    }

    /// The pause before retry `retry` (from 1): between half of [`Backoff::ceiling`] and all
    /// of it.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        ceiling / 2 + ceiling.mul_f64(fastrand::f64() / 2.0)
    }
}

/// `"dead-letter"` (to `<source>-dlq`), `{ dead-letter = "TOPIC" }`, `"skip"` or `"stop"`.
impl Serialize for GiveUp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GiveUp::DeadLetter(None) => s.serialize_str(DEAD_LETTER),
            GiveUp::DeadLetter(Some(topic)) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(DEAD_LETTER, topic)?;
                map.end()
            }
            GiveUp::Skip => s.serialize_str("skip"),
            GiveUp::Stop => s.serialize_str("stop"),
        }
    }
}

const DEAD_LETTER: &str = "dead-letter";

impl<'de> Deserialize<'de> for GiveUp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &[DEAD_LETTER, "skip", "stop"];
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = GiveUp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"dead-letter\", { dead-letter = \"TOPIC\" }, \"skip\" or \"stop\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GiveUp, E> {
                match v {
                    DEAD_LETTER => Ok(GiveUp::DeadLetter(None)),
                    "skip" => Ok(GiveUp::Skip),
                    "stop" => Ok(GiveUp::Stop),
                    _ => Err(E::unknown_variant(v, NAMES)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GiveUp, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::invalid_length(0, &self));
                };
                if key != DEAD_LETTER {
                    return Err(de::Error::unknown_variant(&key, &[DEAD_LETTER]));
                }
                let topic = map.next_value::<String>()?;
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::invalid_length(2, &self));
                }
                Ok(GiveUp::DeadLetter(Some(topic)))
            }
        }
        d.deserialize_any(Names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_jitters_below_it() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ceilings: Vec<u128> = (1..=6).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(1));
        for retry in 1..=6 {
            for _ in 0..100 {
                let delay = backoff.delay(retry);
                let ceiling = backoff.ceiling(retry);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{delay:?} for {retry}"
                );
            }
        }
        let distinct: std::collections::HashSet<Duration> =
            (0..100).map(|_| backoff.delay(3)).collect();
        assert!(distinct.len() > 50, "jittered: {}", distinct.len());
        assert_eq!(Backoff::fixed(Duration::ZERO).delay(9), Duration::ZERO);
    }
}
