//! What the group fault tests read back from a [`LocalCluster`]: the group's committed
//! offsets sampled every 100 ms, its view polled, topics read to their ends with keys and
//! timestamps, and the coordination log with its records' timestamps.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::{ConsumerOptions, Offset};
use actix_fluvio::group::{coordination_topic, describe_group, GroupDescription, GroupRecord};

use super::group_workers::{now_ms, GROUP};
use super::local_cluster::LocalCluster;

/// The group's committed offsets on the source at one moment.
#[derive(Debug, Clone)]
pub struct CommitSample {
    /// When (ms since the epoch, after the answer came).
    pub at: i64,
    /// The committed offset per partition.
    pub offsets: BTreeMap<u32, i64>,
}

/// A committed offset that went back between two samples.
#[derive(Debug, Clone)]
pub struct Decrease {
    /// The partition.
    pub partition: u32,
    /// When it was seen (ms since the epoch).
    pub at: i64,
    /// The offset before...
    pub from: i64,
    /// ...and after.
    pub to: i64,
}

/// A background task taking a sample of something every 100 ms until stopped.
pub struct Sampler<T> {
    samples: Arc<Mutex<Vec<T>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl<T: Clone + Send + 'static> Sampler<T> {
    fn start<F, Fut>(mut sample: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Option<T>> + Send,
    {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (into, stopping) = (samples.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !stopping.load(Ordering::Relaxed) {
                let next = Instant::now() + Duration::from_millis(100);
                if let Some(s) = sample().await {
                    into.lock().unwrap().push(s);
                }
                tokio::time::sleep_until(next.into()).await;
            }
        });
        Self {
            samples,
            stop,
            task,
        }
    }

    /// The samples so far.
    pub fn samples(&self) -> Vec<T> {
        self.samples.lock().unwrap().clone()
    }

    /// Stop sampling; every sample.
    pub async fn stop(self) -> Vec<T> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        let samples = self.samples.lock().unwrap().clone();
        samples
    }
}

/// Sample [`GROUP`]'s committed offsets on `source` (the SPU's consumer offsets) every 100 ms.
pub fn sample_commits(client: &FluvioClient, source: &str) -> Sampler<CommitSample> {
    let (admin, source) = (client.admin(), source.to_owned());
    Sampler::start(move || {
        let (admin, source) = (admin.clone(), source.clone());
        async move {
            let offsets = admin.list_consumer_offsets().await.ok()?;
            let offsets = offsets
                .into_iter()
                .filter(|o| o.consumer_id == GROUP && o.replica_id.topic == source)
                .map(|o| (o.replica_id.partition, o.offset))
                .collect();
            Some(CommitSample {
                at: now_ms(),
                offsets,
            })
        }
    })
}

/// Every committed offset that went back from one sample to a later one.
pub fn decreases(samples: &[CommitSample]) -> Vec<Decrease> {
    let mut highest: BTreeMap<u32, i64> = BTreeMap::new();
    let mut out = Vec::new();
    for s in samples {
        for (&partition, &offset) in &s.offsets {
            let top = highest.entry(partition).or_insert(offset);
            if offset < *top {
                out.push(Decrease {
                    partition,
                    at: s.at,
                    from: *top,
                    to: offset,
                });
            }
            *top = (*top).max(offset);
        }
    }
    out
}

/// Poll [`GROUP`]'s description every 100 ms: (ms since the epoch, description).
pub fn watch_group(client: &FluvioClient) -> Sampler<(i64, GroupDescription)> {
    let client = client.clone();
    Sampler::start(move || {
        let client = client.clone();
        async move {
            let group = describe_group(&client, GROUP).await.ok()?;
            Some((now_ms(), group))
        }
    })
}

/// One sink output: the worker that wrote it (its key), the value and its timestamp.
#[derive(Debug, Clone)]
pub struct Output {
    /// The writer's tag.
    pub tag: String,
    /// The upper-cased source value.
    pub value: String,
    /// The producer's timestamp (ms since the epoch).
    pub timestamp: i64,
}

/// One record of a topic.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its partition.
    pub partition: u32,
    /// Its offset.
    pub offset: i64,
    /// Its timestamp (ms since the epoch).
    pub timestamp: i64,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its value.
    pub value: Vec<u8>,
}

/// Every record of `topic`'s partitions `0..partitions`, up to their ends when read.
pub async fn read_all(client: &FluvioClient, topic: &str, partitions: u32) -> Vec<Stored> {
    let mut out = Vec::new();
    for partition in 0..partitions {
        out.extend(read_from(client, topic, partition, Offset::Beginning).await);
    }
    out
}

/// The records of `topic`/`partition` from `offset` up to its end when read.
pub async fn read_from(
    client: &FluvioClient,
    topic: &str,
    partition: u32,
    offset: Offset,
) -> Vec<Stored> {
    let options = ConsumerOptions::builder()
        .offset(offset)
        .disable_continuous(true)
        .build();
    let mut stream = client
        .partition_consumer(topic, partition, options)
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(record) = stream.next().await {
        let record = record.unwrap();
        out.push(Stored {
            partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key.map(|k| k.to_vec()),
            value: record.value.to_vec(),
        });
    }
    out
}

/// The sink's outputs.
pub async fn read_outputs(client: &FluvioClient, sink: &str, partitions: u32) -> Vec<Output> {
    read_all(client, sink, partitions)
        .await
        .into_iter()
        .map(|r| Output {
            tag: String::from_utf8(r.key.unwrap_or_default()).unwrap(),
            value: String::from_utf8(r.value).unwrap(),
            timestamp: r.timestamp,
        })
        .collect()
}

/// The sum of `topic`'s high watermarks.
pub async fn records_in(client: &FluvioClient, topic: &str, partitions: u32) -> i64 {
    let mut sum = 0;
    for p in 0..partitions {
        sum += client.partition_offsets(topic, p).await.unwrap().1;
    }
    sum
}

/// The coordination log of [`GROUP`] from `offset`: (timestamp, record) of each group
/// record.
pub async fn coordination_log(client: &FluvioClient, offset: Offset) -> Vec<(i64, GroupRecord)> {
    read_from(client, &coordination_topic(GROUP), 0, offset)
        .await
        .into_iter()
        .filter_map(|r| GroupRecord::decode(&r.value).map(|g| (r.timestamp, g)))
        .collect()
}

/// Wait until [`GROUP`] has committed every record of `source` (its high watermarks when
/// checked), within `timeout`.
pub async fn until_all_committed(
    client: &FluvioClient,
    source: &str,
    partitions: u32,
    timeout: Duration,
) {
    super::local_cluster::until("every source record committed", timeout, || {
        let client = client.clone();
        let source = source.to_owned();
        async move {
            let Ok(offsets) = client.admin().list_consumer_offsets().await else {
                return false;
            };
            let mut done = true;
            for p in 0..partitions {
                let (_, end) = client.partition_offsets(&source, p).await.unwrap();
                done &= end == 0
                    || offsets.iter().any(|o| {
                        o.consumer_id == GROUP
                            && o.replica_id.topic == source
                            && o.replica_id.partition == p
                            && o.offset == end - 1
                    });
            }
            done
        }
    })
    .await;
}

/// A line of figures, printed and kept in the cluster's directory.
pub fn report(cluster: &LocalCluster, line: &str) {
    println!("{line}");
    let mut file = cluster.log("figures.txt");
    let _ = writeln!(file, "{line}");
}
