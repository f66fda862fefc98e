//! The official `fluvio` client beside ours in a fault scenario: a producer of numbered
//! records (values `PREFIX{n}`, so both clients can write one partition and be told apart)
//! and a continuous consumer, each noting when things happened, what failed and where it
//! stopped. What they report is printed next to our figures, never asserted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

/// The official client of the cluster whose SC is `sc`.
pub async fn connect(sc: &str) -> Arc<fluvio::Fluvio> {
    Arc::new(
        fluvio::Fluvio::connect_with_config(&fluvio::FluvioClusterConfig::new(sc))
            .await
            .expect("the official client connects"),
    )
}

/// What the official producer got: each record number with its outcome, and when.
#[derive(Debug, Default)]
pub struct Sent {
    /// (record number, acknowledged, settled at), in settling order.
    pub outcomes: Vec<(u64, bool, Duration)>,
    pub first_error: Option<String>,
    /// Records whose outcome had not come [`SETTLE_WITHIN`] after the producer stopped.
    pub unsettled: u64,
}

/// How long the official producer's records may take to settle once it stops writing.
pub const SETTLE_WITHIN: Duration = Duration::from_secs(60);

impl Sent {
    pub fn acked(&self) -> impl Iterator<Item = u64> + '_ {
        self.outcomes.iter().filter(|o| o.1).map(|o| o.0)
    }

    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.1).count()
    }

    /// When each acknowledgement came, sorted.
    pub fn acked_at(&self) -> Vec<Duration> {
        let mut at: Vec<Duration> = self.outcomes.iter().filter(|o| o.1).map(|o| o.2).collect();
        at.sort();
        at
    }
}

/// The official producer writing `PREFIX{n}` to `topic` in bursts of `burst` records,
/// `pause` apart, until `stop`; times are from `started`.
pub fn spawn_writer(
    fluvio: Arc<fluvio::Fluvio>,
    topic: String,
    prefix: &'static str,
    (burst, pause): (u64, Duration),
    stop: Arc<AtomicBool>,
    started: Instant,
) -> tokio::task::JoinHandle<Sent> {
    tokio::spawn(async move {
        let producer = fluvio.topic_producer(topic).await.unwrap();
        let sent = Arc::new(Mutex::new(Sent::default()));
        let settle = move |sent: &Mutex<Sent>, n: u64, result: Result<(), String>| {
            let mut sent = sent.lock().unwrap();
            sent.outcomes.push((n, result.is_ok(), started.elapsed()));
            if let Err(e) = result {
                sent.first_error.get_or_insert(e);
            }
        };
        let mut waits = Vec::new();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..burst {
                let value = format!("{prefix}{n}");
                match producer.send(fluvio::RecordKey::NULL, value).await {
                    Ok(output) => {
                        let sent = sent.clone();
                        waits.push(tokio::spawn(async move {
                            let result = output.wait().await.map(|_| ());
                            settle(&sent, n, result.map_err(|e| e.to_string()));
                        }));
                    }
                    Err(e) => settle(&sent, n, Err(e.to_string())),
                }
                n += 1;
            }
            tokio::time::sleep(pause).await;
        }
        let deadline = tokio::time::Instant::now() + SETTLE_WITHIN;
        tokio::time::timeout_at(deadline, producer.flush())
            .await
            .ok();
        let mut unsettled = 0;
        for wait in waits {
            let abort = wait.abort_handle();
            if tokio::time::timeout_at(deadline, wait).await.is_err() {
                abort.abort();
                unsettled += 1;
            }
        }
        let mut sent = std::mem::take(&mut *sent.lock().unwrap());
        sent.unsettled = unsettled;
        sent
    })
}

/// What the official continuous consumer read: each value and when, and how it ended.
#[derive(Debug, Default)]
pub struct Read {
    pub values: Vec<(Duration, String)>,
    /// The first error the stream gave, and when.
    pub first_error: Option<(Duration, String)>,
    /// When the stream ended by itself (it gave up).
    pub ended: Option<Duration>,
}

impl Read {
    /// When each value with `prefix` (and a number after it) was read.
    pub fn read_at(&self, prefix: &str) -> Vec<Duration> {
        self.values
            .iter()
            .filter(|(_, v)| number(v, prefix).is_some())
            .map(|(t, _)| *t)
            .collect()
    }
}

/// The number in `value` after `prefix`, if it is one.
pub fn number(value: &str, prefix: &str) -> Option<u64> {
    value.strip_prefix(prefix)?.parse().ok()
}

/// The official consumer reading partition 0 of `topic` from the beginning until `stop`;
/// times are from `started`.
pub fn spawn_reader(
    fluvio: Arc<fluvio::Fluvio>,
    topic: String,
    stop: Arc<AtomicBool>,
    started: Instant,
) -> tokio::task::JoinHandle<Read> {
    tokio::spawn(async move {
        let config = fluvio::consumer::ConsumerConfigExtBuilder::default()
            .topic(topic)
            .partition(0)
            .offset_start(fluvio::Offset::beginning())
            .build()
            .unwrap();
        let mut stream = fluvio.consumer_with_config(config).await.unwrap();
        let mut read = Read::default();
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
                Err(_) => continue,
                Ok(None) => {
                    read.ended = Some(started.elapsed());
                    break;
                }
                Ok(Some(Ok(record))) => {
                    let value = String::from_utf8_lossy(record.value()).into_owned();
                    read.values.push((started.elapsed(), value));
                }
                Ok(Some(Err(e))) => {
                    read.first_error
                        .get_or_insert((started.elapsed(), e.to_string()));
                }
            }
        }
        read
    })
}

/// The longest time between two consecutive instants of `times` (sorted), and where it
/// began.
pub fn longest_gap(times: &[Duration]) -> (Duration, Duration) {
    times
        .windows(2)
        .map(|w| (w[1].saturating_sub(w[0]), w[0]))
        .max()
        .unwrap_or_default()
}
