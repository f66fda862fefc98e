//! `TopicStream`: every partition of a topic, including partitions added later, merged into
//! one stream (each partition's records stay in order).
//!
//! Each partition's frames wait in the topic stream's buffer still counted as read-ahead
//! of their partition ([`super::read_ahead`]): a record is delivered, and auto-committed,
//! only once [`TopicStream::next`] returned it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::config::ConsumerOptions;
use super::error::ConsumerError;
use super::read_ahead::ReadAhead;
use super::record::ConsumerRecord;
use super::stream::PartitionStream;
use crate::cluster::FluvioClient;

/// How often the topic's partition count is re-read to pick up added partitions.
const PARTITION_POLL: Duration = Duration::from_secs(1);

/// Records of one partition not yet handed out, with the read-ahead to report them to.
#[derive(Debug)]
struct Held {
    records: std::vec::IntoIter<ConsumerRecord>,
    read_ahead: Arc<ReadAhead>,
}

type Item = Result<Held, ConsumerError>;

/// The records of all partitions of a topic.
#[derive(Debug)]
pub struct TopicStream {
    rx: mpsc::Receiver<Item>,
    current: Option<Held>,
    _supervisor: tokio::task::JoinHandle<()>,
}

impl FluvioClient {
    /// Consume every partition of `topic` with the same options (a stop-at-end consumer ends
    /// when every partition reached its end).
    ///
    /// # Errors
    /// [`ConsumerError::InvalidOptions`] (see [`FluvioClient::partition_consumer`]), or the
    /// topic's partition count cannot be read.
    pub async fn topic_consumer(
        &self,
        topic: &str,
        options: ConsumerOptions,
    ) -> Result<TopicStream, ConsumerError> {
        let options = options.fitted_to_frames(self.config().connection.max_frame_len)?;
        let count = self.partition_count(topic).await?;
        let (tx, rx) = mpsc::channel(16);
        let client = self.clone();
        let topic = topic.to_owned();
        let supervisor = tokio::spawn(tracing::Instrument::in_current_span(async move {
            let mut started = HashSet::new();
            let mut count = count;
            loop {
                for partition in 0..count {
                    if started.insert(partition) {
                        match client
                            .partition_consumer(&topic, partition, options.clone())
                            .await
                        {
                            Ok(stream) => {
                                tokio::spawn(forward(stream, tx.clone()));
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                            }
                        }
                    }
                }
                if options.disable_continuous {
                    return; // the partitions that existed at the start, each to its end
                }
                tokio::time::sleep(PARTITION_POLL).await;
                if tx.is_closed() {
                    return;
                }
                if let Ok(n) = client.partition_count(&topic).await {
                    if n > count {
                        tracing::info!(
                            topic,
                            from = count,
                            to = n,
                            "partitions added; consuming them"
                        );
                        count = n;
                    }
                }
            }
        }));
        Ok(TopicStream {
            rx,
            current: None,
            _supervisor: supervisor,
        })
    }
}

/// Pass `stream`'s frames to the topic stream, not yet handed out, until either ends. The
/// stream is dropped with the topic stream, which stops its fetcher (and commits what was
/// handed out).
async fn forward(mut stream: PartitionStream, tx: mpsc::Sender<Item>) {
    let read_ahead = stream.read_ahead();
    loop {
        let item = tokio::select! {
            item = stream.next_held() => item,
            () = tx.closed() => return,
        };
        let Some(item) = item else { return };
        let held = item.map(|records| Held {
            records: records.into_iter(),
            read_ahead: read_ahead.clone(),
        });
        if tx.send(held).await.is_err() {
            return;
        }
    }
}

impl TopicStream {
    /// The next record of any partition; `None` once every partition stream ended.
    pub async fn next(&mut self) -> Option<Result<ConsumerRecord, ConsumerError>> {
        loop {
            if let Some(held) = &mut self.current {
                if let Some(record) = held.records.next() {
                    held.read_ahead
                        .handed_out(1, record.payload_len(), record.offset);
                    return Some(Ok(record));
                }
            }
            match self.rx.recv().await? {
                Ok(held) => self.current = Some(held),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Drop for TopicStream {
    fn drop(&mut self) {
        self._supervisor.abort();
    }
}
