//! Replaying a dead-letter topic: the records in its envelopes written back to the topic
//! they came from (or another), once each.

use crate::cluster::FluvioClient;
use crate::consumer::{ConsumerError, ConsumerOptions, Offset};
use crate::producer::{DeliveryFuture, ProducerError, ProducerOptions};

use super::dead_letter::{DeadLetter, EnvelopeError};
use crate::consumer::Committer;

/// Records written between progress commits.
const COMMIT_EVERY: usize = 1000;

/// How [`replay`] reads and writes.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Where the records go (`None`: each back to the topic and partition it came from).
    /// Into another topic, the producer's partitioner places them by key.
    pub into: Option<String>,
    /// The consumer id the replay commits its progress under on the dead-letter topic, so
    /// that a second replay writes only what was dead-lettered since (`None`:
    /// `<dead-letter topic>-replay`).
    pub consumer_id: Option<String>,
    /// How records are written.
    pub producer: ProducerOptions,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records written.
    pub replayed: u64,
}

/// Why a replay stopped (what was written before it is committed: the next replay goes on
/// from there).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Reading the dead-letter topic failed.
    #[error(transparent)]
    Consumer(#[from] ConsumerError),
    /// Writing a record failed.
    #[error(transparent)]
    Producer(#[from] ProducerError),
    /// A record on the dead-letter topic is not an envelope.
    #[error("dead-letter record at partition {partition} offset {offset}: {error}")]
    Envelope {
        /// Its partition.
        partition: u32,
        /// Its offset.
        offset: i64,
        /// What is wrong with it.
        error: EnvelopeError,
    },
}

/// Write the records dead-lettered on `dead_letters` (see [`DeadLetter`]) back: every
/// partition, from where the last replay under the same consumer id stopped to its end now.
/// A record is committed as replayed only once its write is acknowledged, so a replay cut
/// short writes nothing twice on the next one except what was unacknowledged.
///
/// ```no_run
/// # async fn run(client: actix_fluvio::cluster::FluvioClient) {
/// use actix_fluvio::pipeline::{replay, ReplayOptions};
///
/// // The bug is fixed: put what the pipeline gave up on back into its source topic.
/// let stats = replay(&client, "orders-dlq", ReplayOptions::default()).await.unwrap();
/// println!("{} records replayed", stats.replayed);
/// # }
/// ```
///
/// # Errors
/// The topic cannot be read, a record cannot be written, or a record is not an envelope
/// (the replay stops before it).
pub async fn replay(
    client: &FluvioClient,
    dead_letters: &str,
    options: ReplayOptions,
) -> Result<ReplayStats, ReplayError> {
    let partitions = client
        .partition_count(dead_letters)
        .await
        .map_err(ConsumerError::from)?;
    let consumer_id = options
        .consumer_id
        .clone()
        .unwrap_or_else(|| format!("{dead_letters}-replay"));
    let producer = client.producer(options.producer.clone());
    let mut stats = ReplayStats::default();
    let mut result = Ok(());
    for partition in 0..partitions {
        let consumer = ConsumerOptions {
            offset: Offset::Beginning,
            consumer_id: Some(consumer_id.clone()),
            disable_continuous: true,
            ..ConsumerOptions::default()
        };
        let mut stream = client
            .partition_consumer(dead_letters, partition, consumer)
            .await?;
        let committer = stream.committer();
        let mut receipts: Vec<DeliveryFuture> = Vec::new();
        let mut last = None;
        while let Some(record) = stream.next().await {
            let record = record?;
            let envelope = DeadLetter::from_json(&record.value)
                .and_then(|letter| Ok((letter.key_bytes()?, letter.value_bytes()?, letter)));
            let (key, value, letter) = match envelope {
                Ok(parts) => parts,
                Err(error) => {
                    result = Err(ReplayError::Envelope {
                        partition,
                        offset: record.offset,
                        error,
                    });
                    break;
                }
            };
            let receipt = match &options.into {
                Some(topic) => producer.enqueue(topic, key.as_deref(), &value).await?,
                None => {
                    producer
                        .enqueue_to(&letter.topic, letter.partition, key.as_deref(), &value)
                        .await?
                }
            };
            receipts.push(receipt);
            last = Some(record.offset);
            stats.replayed += 1;
            if receipts.len() >= COMMIT_EVERY {
                written(std::mem::take(&mut receipts), &committer, last.take()).await?;
            }
        }
        written(receipts, &committer, last).await?;
        if result.is_err() {
            break;
        }
    }
    producer.close().await?;
    result.map(|()| stats)
}

/// Wait for `receipts`, then commit `last` (the dead-letter record they came from).
async fn written(
    receipts: Vec<DeliveryFuture>,
    committer: &Committer,
    last: Option<i64>,
) -> Result<(), ReplayError> {
    for receipt in receipts {
        receipt.wait().await?;
    }
    if let Some(offset) = last {
        committer.commit(offset).await?;
    }
    Ok(())
}
