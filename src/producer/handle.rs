//! `Producer`: the cloneable handle, and the actor messages for pipelines.

use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;

use super::actor::{Close, FlushNow, ProducerActor};
use super::config::ProducerOptions;
use super::core::Core;
use super::error::ProducerError;
use super::slot::{BatchSlot, DeliveryFuture, RecordMetadata};
use crate::cluster::FluvioClient;
use crate::protocol::sc::PartitionMirrorConfig;
use crate::protocol::ErrorCode;
use crate::runtime;

/// A batching producer for any number of topics. Cheap to clone; all clones share one
/// buffer and one [`ProducerActor`].
///
/// ```no_run
/// # async fn demo(client: actix_fluvio::cluster::FluvioClient) -> Result<(), actix_fluvio::producer::ProducerError> {
/// use actix_fluvio::producer::ProducerOptions;
///
/// let producer = client.producer(ProducerOptions::default());
/// let meta = producer.send("orders", Some(b"user-1"), b"{\"total\": 42}").await?;
/// println!("stored at {}-{} offset {}", "orders", meta.partition, meta.offset);
///
/// // Pipelined: queue many, then wait.
/// let mut receipts = Vec::new();
/// for i in 0..1000 {
///     receipts.push(producer.enqueue("orders", None, format!("{i}").as_bytes()).await?);
/// }
/// producer.flush().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Producer {
    core: Arc<Core>,
    actor: Addr<ProducerActor>,
    _close_on_drop: Arc<CloseOnDrop>,
}

/// Closes (drains, then stops) the actor when the last `Producer` clone goes.
struct CloseOnDrop(Addr<ProducerActor>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.do_send(Close);
    }
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("options", &self.core.options)
            .finish()
    }
}

impl FluvioClient {
    /// A producer with `options`.
    pub fn producer(&self, options: ProducerOptions) -> Producer {
        let core = Arc::new(Core::new(self.clone(), options));
        let actor = {
            let core = core.clone();
            runtime::start(move |_| ProducerActor::new(core))
        };
        let _ = core.actor.set(actor.downgrade());
        Producer {
            core,
            _close_on_drop: Arc::new(CloseOnDrop(actor.clone())),
            actor,
        }
    }
}

impl Producer {
    /// The partition of mirror topic `topic` to write for partner `mirror` (what
    /// `fluvio produce --mirror` picks), checked against the topic's direction on this
    /// side: at home, the remote `mirror`'s partition of a home-to-remote topic; on a
    /// remote, its copy of a remote-to-home topic (`mirror` being the home's id). Send to
    /// it with [`Producer::enqueue_to`].
    ///
    /// ```no_run
    /// # async fn demo(home: actix_fluvio::cluster::FluvioClient) -> Result<(), actix_fluvio::producer::ProducerError> {
    /// let producer = home.producer(Default::default());
    /// let edge1 = producer.mirror_partition("commands", "edge1").await?;
    /// producer.enqueue_to("commands", edge1, None, b"reboot").await?.wait().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ProducerError::MirrorDirection`] when this side does not write that partition,
    /// [`ProducerError::Client`] with [`crate::cluster::ClientError::MirrorNotFound`] or
    /// [`crate::cluster::ClientError::NotAMirrorTopic`], ...
    pub async fn mirror_partition(&self, topic: &str, mirror: &str) -> Result<u32, ProducerError> {
        let found = self.core.client.mirror_partition(topic, mirror).await?;
        if found.accepts_produce() {
            return Ok(found.partition);
        }
        let code = match found.config {
            PartitionMirrorConfig::Home(_) => ErrorCode::MirrorProduceFromHome,
            PartitionMirrorConfig::Remote(_) => ErrorCode::MirrorProduceFromRemoteNotAllowed,
        };
        Err(ProducerError::refused(topic, found.partition, code))
    }

    /// Send one record and wait for its acknowledgement.
    ///
    /// # Errors
    /// [`ProducerError::RecordTooLarge`], a delivery failure, ...
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> Result<RecordMetadata, ProducerError> {
        // The caller waits for this record: its span becomes the batch's parent span.
        let parent = tracing::Span::current();
        self.core
            .enqueue(topic, key, value, true, Some(&parent))
            .await?
            .wait()
            .await
    }

    /// Queue one record, waiting only for buffer room; the returned future resolves on
    /// acknowledgement.
    ///
    /// # Errors
    /// [`ProducerError::RecordTooLarge`], unknown topic, closed producer.
    pub async fn enqueue(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> Result<DeliveryFuture, ProducerError> {
        self.core.enqueue(topic, key, value, true, None).await
    }

    /// As [`Producer::enqueue`], to `partition` of `topic` rather than the partitioner's
    /// choice.
    ///
    /// # Errors
    /// As [`Producer::enqueue`]; [`ClientError::PartitionNotFound`](crate::cluster::ClientError)
    /// when the topic has no such partition.
    pub async fn enqueue_to(
        &self,
        topic: &str,
        partition: u32,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> Result<DeliveryFuture, ProducerError> {
        self.core
            .enqueue_at(topic, Some(partition), key, value, true, None)
            .await
    }

    /// Queue a run of records for `topic` (to `partition` when given) in order, as many
    /// [`Producer::enqueue`] calls would, for less per record; one receipt per batch they
    /// landed in, added to `receipts`.
    pub(crate) async fn enqueue_run(
        &self,
        topic: &str,
        partition: Option<u32>,
        records: &[(Option<&[u8]>, &[u8])],
        receipts: &mut Vec<DeliveryFuture>,
    ) -> Result<(), ProducerError> {
        self.core
            .enqueue_run(topic, partition, records, receipts)
            .await
    }

    /// As [`Producer::enqueue`], but refused at once rather than waiting when the buffer
    /// has no room. Async because it may still wait for the topic's partitions (metadata),
    /// never for room; the returned future resolves on acknowledgement.
    ///
    /// # Errors
    /// [`ProducerError::QueueFull`] when the buffer is full, else as [`Producer::enqueue`].
    pub async fn try_enqueue(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> Result<DeliveryFuture, ProducerError> {
        self.core.enqueue(topic, key, value, false, None).await
    }

    /// Send records in order and wait for all of them; offsets come back in order.
    ///
    /// # Errors
    /// The first failure.
    pub async fn send_batch<K, V>(
        &self,
        topic: &str,
        records: impl IntoIterator<Item = (Option<K>, V)>,
    ) -> Result<Vec<RecordMetadata>, ProducerError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let parent = tracing::Span::current();
        let mut receipts = Vec::new();
        for (key, value) in records {
            let key = key.as_ref().map(AsRef::as_ref);
            receipts.push(
                self.core
                    .enqueue(topic, key, value.as_ref(), true, Some(&parent))
                    .await?,
            );
        }
        self.flush_quietly();
        let mut out = Vec::with_capacity(receipts.len());
        for receipt in receipts {
            out.push(receipt.wait().await?);
        }
        Ok(out)
    }

    /// Send everything buffered now and wait until it is acknowledged (or failed).
    ///
    /// # Errors
    /// The first delivery failure among the flushed records.
    pub async fn flush(&self) -> Result<(), ProducerError> {
        let slots = self
            .actor
            .send(FlushNow)
            .await
            .map_err(|_| ProducerError::Closed)?;
        settled(slots).await
    }

    fn flush_quietly(&self) {
        self.actor.do_send(FlushNow);
    }

    /// Send everything buffered, wait until it is acknowledged, then stop the producer. At
    /// the drain deadline whatever is left fails with [`ProducerError::DrainDeadline`] and
    /// nothing more is sent. From the call on, sends (on every clone) fail at once with
    /// [`ProducerError::Closed`].
    ///
    /// # Errors
    /// As [`Producer::flush`].
    pub async fn close(&self) -> Result<(), ProducerError> {
        // Sends from now on fail at once, before the actor sees the `Close`.
        self.core.close();
        let slots = self
            .actor
            .send(FlushNow)
            .await
            .map_err(|_| ProducerError::Closed)?;
        self.actor.do_send(Close);
        settled(slots).await
    }

    /// Bytes of records buffered and not yet acknowledged (never above `buffer_bytes`).
    pub fn buffered_bytes(&self) -> usize {
        self.core.buffered_bytes()
    }

    /// The actor, for wiring into pipelines ([`Produce`] and [`ProduceRecord`] messages).
    pub fn actor(&self) -> Addr<ProducerActor> {
        self.actor.clone()
    }
}

/// Wait until every slot is settled; the first failure, if any.
async fn settled(slots: Vec<Arc<BatchSlot>>) -> Result<(), ProducerError> {
    let mut first_error = None;
    for slot in slots {
        if let Err(e) = slot.done().await {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Produce one record and answer with its metadata once acknowledged.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<RecordMetadata, ProducerError>")]
pub struct Produce {
    /// The topic.
    pub topic: String,
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
}

/// Produce one record, fire-and-forget: the handler answers once the record is queued.
/// Records not delivered (refused when queued, or failed later) are counted in
/// [`crate::telemetry::PRODUCER_RECORDS_DROPPED`] and logged once per burst.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ProduceRecord {
    /// The topic.
    pub topic: String,
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
}

impl Handler<Produce> for ProducerActor {
    type Result = ResponseFuture<Result<RecordMetadata, ProducerError>>;

    fn handle(&mut self, msg: Produce, _: &mut Context<Self>) -> Self::Result {
        let core = self.core();
        Box::pin(async move {
            core.enqueue(&msg.topic, msg.key.as_deref(), &msg.value, true, None)
                .await?
                .wait()
                .await
        })
    }
}

impl Handler<ProduceRecord> for ProducerActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: ProduceRecord, _: &mut Context<Self>) -> Self::Result {
        let core = self.core();
        Box::pin(async move {
            match core
                .enqueue(&msg.topic, msg.key.as_deref(), &msg.value, true, None)
                .await
            {
                Ok(delivery) => core.dropped.watch(&msg.topic, delivery),
                Err(error) => core.dropped.report(&msg.topic, 1, &error),
            }
        })
    }
}
