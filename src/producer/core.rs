//! The part of the producer shared by its handle and its actor: partitioning, metadata per
//! topic, the byte budget and the accumulator.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix::WeakAddr;
use tokio::sync::Semaphore;

use super::accumulator::Accumulator;
use super::actor::{ProducerActor, Wake};
use super::config::{DeliveryGuarantee, PartitionerKind, ProducerOptions};
use super::dropped::Dropped;
use super::error::ProducerError;
use super::partitioner::{KeyHashRoundRobin, Partitioner};
use super::slot::DeliveryFuture;
use super::topics::{KnownTopics, Read};
use crate::cluster::{ClientError, FluvioClient};
use crate::protocol::record::{BatchBuilder, Compression, BATCH_OVERHEAD};
use crate::protocol::sc::CompressionAlgorithm;

pub(crate) struct Core {
    pub(crate) client: FluvioClient,
    pub(crate) options: ProducerOptions,
    pub(crate) acc: Mutex<Accumulator>,
    pub(crate) budget: Semaphore,
    /// Weak, so that dropping every `Producer` handle stops (and drains) the actor.
    pub(crate) actor: OnceLock<WeakAddr<ProducerActor>>,
    topics: KnownTopics,
    pub(crate) partitioner: Arc<dyn Partitioner>,
    /// `ProduceRecord` records not delivered: counted and logged.
    pub(crate) dropped: Arc<Dropped>,
}

impl Core {
    pub(crate) fn new(client: FluvioClient, options: ProducerOptions) -> Self {
        let partitioner: Arc<dyn Partitioner> = match &options.partitioner {
            PartitionerKind::Custom(p) => p.clone(),
            _ => Arc::new(KeyHashRoundRobin::default()),
        };
        Self {
            acc: Mutex::new(Accumulator::new(
                options.batch_size,
                options.linger,
                options.max_request_size,
            )),
            budget: Semaphore::new(options.buffer_bytes.min(Semaphore::MAX_PERMITS)),
            actor: OnceLock::new(),
            topics: KnownTopics::new(&client),
            partitioner,
            dropped: Arc::default(),
            client,
            options,
        }
    }

    /// The topic's interned name and partition count, read again after the cluster's topics
    /// or partitions changed.
    ///
    /// A read that fails with a retriable error (the SC reconnecting, a metadata timeout)
    /// is tried again, with the delivery policy's backoff, until the delivery timeout has
    /// passed: a record is not failed before its deadline because the cluster's metadata
    /// could not be read for a moment (a topic read before keeps its partition count
    /// meanwhile, see [`KnownTopics::read`]), nor after it because a read waits on an SC
    /// that does not answer (paused, or a connection nobody reported dead): it then fails
    /// with [`ProducerError::DeliveryTimeout`]. At most once, it fails at once.
    async fn topic(&self, topic: &str) -> Result<(Arc<str>, u32), ProducerError> {
        if let Some(found) = self.topics.current(topic) {
            return Ok(found);
        }
        // Boxed: the reads' future is ~1.5 KB, and every future awaiting this one (each
        // record's enqueue, the pipeline's answer) would carry it and copy it on each await.
        Box::pin(self.topic_from_cluster(topic)).await
    }

    /// [`Core::topic`] for a topic not read since the last topology change.
    async fn topic_from_cluster(&self, topic: &str) -> Result<(Arc<str>, u32), ProducerError> {
        let policy = match &self.options.delivery {
            DeliveryGuarantee::AtLeastOnce(policy) => policy,
            DeliveryGuarantee::AtMostOnce => return self.reread(topic).await,
        };
        // (No deadline: a timeout too long to add to the clock.)
        let deadline = Instant::now().checked_add(policy.timeout);
        let expired = |last: Option<ProducerError>| ProducerError::DeliveryTimeout {
            timeout: policy.timeout,
            attempts: 0,
            last: Box::new(last.unwrap_or_else(|| {
                ProducerError::Client(ClientError::MetadataTimeout {
                    what: format!("the partitions of topic {topic}"),
                    timeout: policy.timeout,
                })
            })),
        };
        let mut last = None;
        let mut retry = 0u32;
        loop {
            let attempt = match deadline {
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline.into(), self.reread(topic)).await {
                        Ok(attempt) => attempt,
                        Err(_) => return Err(expired(last)),
                    }
                }
                None => self.reread(topic).await,
            };
            let error = match attempt {
                Ok(found) => return Ok(found),
                Err(error) if !error.is_retriable() => return Err(error),
                Err(error) => error,
            };
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(expired(Some(error)));
            }
            retry = retry.saturating_add(1);
            let delay = left.map_or(policy.delay(retry), |l| policy.delay(retry).min(l));
            tracing::debug!(topic, %error, retry, ?delay, "topic metadata not readable now; trying again");
            last = Some(error);
            tokio::time::sleep(delay).await;
        }
    }

    /// Read `topic`'s partition count now (also after its partition was gone); a first read
    /// or a changed count checks the topic's compression too (a topic may be recreated with
    /// other settings).
    pub(crate) async fn reread(&self, topic: &str) -> Result<(Arc<str>, u32), ProducerError> {
        let reading = self.topics.read(&self.client, topic).await?;
        if let Read::Changed { from, to } = reading.read {
            if let Some(from) = from {
                tracing::info!(
                    topic,
                    from,
                    to,
                    "partition count changed; records are partitioned by the new count"
                );
            }
            self.check_compression(topic).await?;
        }
        self.topics.keep(topic, &reading);
        Ok((reading.name, reading.read.count()))
    }

    async fn check_compression(&self, topic: &str) -> Result<(), ProducerError> {
        // Ask the SC: the watched cache may not have the topic yet.
        let found = self
            .client
            .admin()
            .get_topic(topic)
            .await
            .map_err(|e| match e {
                crate::admin::AdminError::Client(e) => ProducerError::Client(e),
                other => {
                    ProducerError::Client(crate::cluster::ClientError::Config(other.to_string()))
                }
            })?;
        let Some(spec) = found.as_ref().map(|t| &t.spec) else {
            return Ok(());
        };
        let ours = self.options.compression;
        let fits = match spec.compression_type {
            CompressionAlgorithm::Any => true,
            CompressionAlgorithm::None => ours == Compression::None,
            CompressionAlgorithm::Gzip => ours == Compression::Gzip,
            CompressionAlgorithm::Snappy => ours == Compression::Snappy,
            CompressionAlgorithm::Lz4 => ours == Compression::Lz4,
            CompressionAlgorithm::Zstd => ours == Compression::Zstd,
        };
        if fits {
            Ok(())
        } else {
            Err(ProducerError::CompressionMismatch {
                topic: topic.to_owned(),
                topic_compression: format!("{:?}", spec.compression_type).to_lowercase(),
                producer: ours.to_string(),
            })
        }
    }

    /// Queue a record, waiting for buffer room when `wait`, else failing with `QueueFull`.
    /// `parent` (the caller's span) becomes the batch's parent span if it has none yet; it
    /// is set under the accumulator's lock, so before the actor can send the batch.
    pub(crate) async fn enqueue(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
        wait: bool,
        parent: Option<&tracing::Span>,
    ) -> Result<DeliveryFuture, ProducerError> {
        self.enqueue_at(topic, None, key, value, wait, parent).await
    }

    /// As [`Core::enqueue`], to `partition` when given (else the partitioner's choice).
    pub(crate) async fn enqueue_at(
        &self,
        topic: &str,
        partition: Option<u32>,
        key: Option<&[u8]>,
        value: &[u8],
        wait: bool,
        parent: Option<&tracing::Span>,
    ) -> Result<DeliveryFuture, ProducerError> {
        let (topic, count) = self.destination(topic, partition).await?;
        let size = BatchBuilder::record_size(key, value, 0);
        let max = self.options.max_request_size.min(self.options.buffer_bytes);
        // The record alone in a batch: its payload's count prefix, the batch framing.
        if size + 4 + BATCH_OVERHEAD > max {
            return Err(ProducerError::RecordTooLarge { size, max });
        }
        let permits = size as u32;
        let permit = if wait {
            self.budget
                .acquire_many(permits)
                .await
                .map_err(|_| ProducerError::Closed)?
        } else {
            self.budget.try_acquire_many(permits).map_err(|e| match e {
                tokio::sync::TryAcquireError::NoPermits => ProducerError::QueueFull,
                tokio::sync::TryAcquireError::Closed => ProducerError::Closed,
            })?
        };
        permit.forget();
        let (partition, pinned) = self.choose(partition, count, key, value);
        let pushed = {
            let mut acc = self.acc.lock().unwrap_or_else(|e| e.into_inner());
            if acc.is_closed() {
                // Closed while this waited: the actor will not look at the buffer again.
                drop(acc);
                self.release(size);
                return Err(ProducerError::Closed);
            }
            let pushed = acc.push(
                &topic,
                partition,
                key,
                value,
                now_ms(),
                size,
                Instant::now(),
                pinned,
            );
            if let Some(span) = parent {
                pushed.slot.adopt_parent(span);
            }
            pushed
        };
        if pushed.wake {
            if let Some(actor) = self.actor.get().and_then(WeakAddr::upgrade) {
                actor.do_send(Wake);
            }
        }
        Ok(DeliveryFuture {
            slot: pushed.slot,
            partition,
            index: pushed.index,
        })
    }

    /// `topic`'s interned name and partition count, for a record to `partition` when given
    /// (which must exist); refused once the producer is closed.
    async fn destination(
        &self,
        topic: &str,
        partition: Option<u32>,
    ) -> Result<(Arc<str>, u32), ProducerError> {
        if self.is_closed() {
            return Err(ProducerError::Closed);
        }
        let (topic, count) = self.topic(topic).await?;
        if let Some(partition) = partition.filter(|&p| p >= count) {
            return Err(ProducerError::Client(ClientError::PartitionNotFound {
                topic: topic.to_string(),
                partition,
            }));
        }
        Ok((topic, count))
    }

    /// Queue a run of records for `topic` (to `partition` when given), as many
    /// [`Core::enqueue_at`] calls would (waiting for buffer room), but reading the topic, the
    /// clock and the buffer's room once and taking the accumulator's lock once when the
    /// buffer has room for the whole run. The receipts, added to `receipts`: one per batch
    /// the records landed in (a record's batch is acknowledged or failed as a whole), in
    /// order; a batch with a receipt among the last few in `receipts` gets no second one.
    pub(crate) async fn enqueue_run(
        &self,
        topic: &str,
        partition: Option<u32>,
        records: &[(Option<&[u8]>, &[u8])],
        receipts: &mut Vec<DeliveryFuture>,
    ) -> Result<(), ProducerError> {
        let whole = self.try_enqueue_run(topic, partition, records, receipts);
        if whole.await? {
            return Ok(());
        }
        // No room for all of it now (or a record too large for any batch): one by one.
        // (Boxed: rare, and its future would make every run's larger.)
        Box::pin(async {
            for &(key, value) in records {
                let receipt = self
                    .enqueue_at(topic, partition, key, value, true, None)
                    .await?;
                keep_receipt(receipts, receipt);
            }
            Ok(())
        })
        .await
    }

    /// [`Core::enqueue_run`] at once, if the buffer has room for the whole run (`false`,
    /// nothing queued, when not).
    async fn try_enqueue_run(
        &self,
        topic: &str,
        partition: Option<u32>,
        records: &[(Option<&[u8]>, &[u8])],
        receipts: &mut Vec<DeliveryFuture>,
    ) -> Result<bool, ProducerError> {
        let (topic, count) = self.destination(topic, partition).await?;
        let max = self.options.max_request_size.min(self.options.buffer_bytes);
        let mut total = 0usize;
        for &(key, value) in records {
            let size = BatchBuilder::record_size(key, value, 0);
            if size + 4 + BATCH_OVERHEAD > max {
                return Ok(false);
            }
            total += size;
        }
        let Some(permit) = u32::try_from(total)
            .ok()
            .and_then(|total| self.budget.try_acquire_many(total).ok())
        else {
            return Ok(false);
        };
        permit.forget();
        let (timestamp, now) = (now_ms(), Instant::now());
        let mut wake = false;
        {
            let mut acc = self.acc.lock().unwrap_or_else(|e| e.into_inner());
            if acc.is_closed() {
                drop(acc);
                self.release(total);
                return Err(ProducerError::Closed);
            }
            for &(key, value) in records {
                let size = BatchBuilder::record_size(key, value, 0);
                let (partition, pinned) = self.choose(partition, count, key, value);
                let pushed = acc.push(&topic, partition, key, value, timestamp, size, now, pinned);
                wake |= pushed.wake;
                let receipt = DeliveryFuture {
                    slot: pushed.slot,
                    partition,
                    index: pushed.index,
                };
                keep_receipt(receipts, receipt);
            }
        }
        if wake {
            if let Some(actor) = self.actor.get().and_then(WeakAddr::upgrade) {
                actor.do_send(Wake);
            }
        }
        Ok(true)
    }

    /// The partition for a record (`partition` when given), and whether it is pinned there.
    fn choose(
        &self,
        partition: Option<u32>,
        count: u32,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> (u32, bool) {
        match (partition, &self.options.partitioner) {
            (Some(p), _) => (p, true),
            (None, PartitionerKind::Specific(p)) => (*p, true),
            _ => (self.partitioner.partition(count, key, value), false),
        }
    }

    /// Refuse new records from now on: `send`, `enqueue` and `try_enqueue` (waiting for buffer
    /// room or not) fail with [`ProducerError::Closed`]; what is buffered is still sent.
    pub(crate) fn close(&self) {
        self.acc.lock().unwrap_or_else(|e| e.into_inner()).close();
        self.budget.close();
    }

    /// Whether [`Core::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.budget.is_closed()
    }

    pub(crate) fn buffered_bytes(&self) -> usize {
        self.options
            .buffer_bytes
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(self.budget.available_permits())
    }

    /// Give back buffer room.
    pub(crate) fn release(&self, bytes: usize) {
        self.budget.add_permits(bytes);
    }
}

/// Keep `receipt` unless a recent receipt is of its batch (acknowledged together).
fn keep_receipt(receipts: &mut Vec<DeliveryFuture>, receipt: DeliveryFuture) {
    const RECENT: usize = 8;
    if !receipts
        .iter()
        .rev()
        .take(RECENT)
        .any(|r| r.same_batch(&receipt))
    {
        receipts.push(receipt);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
