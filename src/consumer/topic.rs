//! `TopicStream`: every partition of a topic, including partitions added later, merged into
//! one stream (each partition's records stay in order).

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;

use super::config::ConsumerOptions;
use super::error::ConsumerError;
use super::record::ConsumerRecord;
use crate::cluster::FluvioClient;

/// How often the topic's partition count is re-read to pick up added partitions.
const PARTITION_POLL: Duration = Duration::from_secs(1);

/// The records of all partitions of a topic.
#[derive(Debug)]
pub struct TopicStream {
    rx: mpsc::Receiver<Result<Vec<ConsumerRecord>, ConsumerError>>,
    buffer: std::collections::VecDeque<ConsumerRecord>,
    _supervisor: tokio::task::JoinHandle<()>,
}

impl FluvioClient {
    /// Consume every partition of `topic` with the same options (a stop-at-end consumer ends
    /// when every partition reached its end).
    ///
    /// # Errors
    /// The topic's partition count cannot be read.
    pub async fn topic_consumer(
        &self,
        topic: &str,
        options: ConsumerOptions,
    ) -> Result<TopicStream, ConsumerError> {
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
                        let tx = tx.clone();
                        match client
                            .partition_consumer(&topic, partition, options.clone())
                            .await
                        {
                            Ok(mut stream) => {
                                tokio::spawn(async move {
                                    while let Some(item) = stream.next_batch().await {
                                        if tx.send(item).await.is_err() {
                                            break;
                                        }
                                    }
                                });
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
            buffer: Default::default(),
            _supervisor: supervisor,
        })
    }
}

impl TopicStream {
    /// The next record of any partition; `None` once every partition stream ended.
    pub async fn next(&mut self) -> Option<Result<ConsumerRecord, ConsumerError>> {
        loop {
            if let Some(record) = self.buffer.pop_front() {
                return Some(Ok(record));
            }
            match self.rx.recv().await? {
                Ok(batch) => self.buffer.extend(batch),
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
