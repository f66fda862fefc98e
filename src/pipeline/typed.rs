//! Typed workers: a worker takes records whose key and value are decoded ([`Decoded`]) and
//! answers outputs of its own type ([`TypedOutput`]), encoded by the pipeline. A record that
//! fails to decode never reaches the worker: it goes through the pipeline's failure policy
//! as a [`FailureKind::Decode`](super::FailureKind::Decode) failure (not retried;
//! dead-lettered with the decode error by default).

use std::marker::PhantomData;
use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::{Decode, Encode, Json, Raw};
use super::failure::{Failure, FailureKind};
use super::worker::{Answer, AskRecord, Mark, Output, Worker, WorkerError, WorkerKind};
use crate::consumer::ConsumerRecord;

/// A record for a typed worker, its key (`K`, raw bytes by default) and value (`V`)
/// decoded; the worker answers outputs with values of type `U`.
///
/// ```
/// use actix::prelude::*;
/// use actix_fluvio::pipeline::{Decoded, TypedOutput, Worker, WorkerError};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct Order { id: u64, amount: f64 }
///
/// #[derive(Serialize)]
/// struct Invoice { order: u64, total: f64 }
///
/// struct Billing;
///
/// impl Actor for Billing {
///     type Context = Context<Self>;
/// }
///
/// impl Handler<Decoded<Order, Invoice>> for Billing {
///     type Result = Result<Vec<TypedOutput<Invoice>>, WorkerError>;
///
///     fn handle(&mut self, order: Decoded<Order, Invoice>, _: &mut Context<Self>) -> Self::Result {
///         if order.value.amount < 0.0 {
///             return Err(WorkerError::new("negative amount"));
///         }
///         let invoice = Invoice { order: order.value.id, total: order.value.amount * 1.2 };
///         Ok(vec![TypedOutput::value(invoice)])
///     }
/// }
///
/// # actix::System::new().block_on(async {
/// // JSON values, keys as raw bytes:
/// let worker = Worker::json(Billing.start().recipient::<Decoded<Order, Invoice>>());
/// # let _ = worker;
/// # });
/// ```
#[derive(Debug)]
pub struct Decoded<V, U, K = Bytes> {
    /// The source topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: u32,
    /// The record's offset.
    pub offset: i64,
    /// Its timestamp (ms since the epoch; -1: none).
    pub timestamp: i64,
    /// The decoded key.
    pub key: Option<K>,
    /// The decoded value.
    pub value: V,
    output: PhantomData<fn() -> U>,
}

impl<V: 'static, U: 'static, K: 'static> Message for Decoded<V, U, K> {
    type Result = Result<Vec<TypedOutput<U, K>>, WorkerError>;
}

/// An output of a typed worker, encoded by the pipeline (see [`Output`] for where it goes).
#[derive(Debug, Clone, PartialEq)]
pub struct TypedOutput<U, K = Bytes> {
    /// The key.
    pub key: Option<K>,
    /// The value.
    pub value: U,
    /// The partition (`None`: the producer's partitioner picks it).
    pub partition: Option<u32>,
    /// The topic (`None`: the pipeline's sink).
    pub topic: Option<Arc<str>>,
}

impl<U, K> TypedOutput<U, K> {
    /// An output with `value` and no key.
    pub fn value(value: U) -> Self {
        Self {
            key: None,
            value,
            partition: None,
            topic: None,
        }
    }

    /// An output with `key` and `value`.
    pub fn keyed(key: K, value: U) -> Self {
        Self {
            key: Some(key),
            ..Self::value(value)
        }
    }

    /// This output, sent to partition `partition`.
    pub fn to_partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// This output, sent to `topic` rather than the pipeline's sink.
    pub fn to_topic(mut self, topic: impl Into<Arc<str>>) -> Self {
        self.topic = Some(topic.into());
        self
    }
}

impl Worker {
    /// A typed worker: each record's key is decoded with `keys` and its value with
    /// `values` before it reaches the worker (one [`Decoded`] per record); the worker's
    /// outputs are encoded with the same codecs.
    pub fn typed<V, U, K, KC, VC>(
        recipient: Recipient<Decoded<V, U, K>>,
        keys: KC,
        values: VC,
    ) -> Self
    where
        V: Send + 'static,
        U: Send + 'static,
        K: Send + 'static,
        KC: Decode<K> + Encode<K>,
        VC: Decode<V> + Encode<U>,
    {
        let typed = Typed {
            recipient,
            codecs: Arc::new((keys, values)),
        };
        Self {
            kind: WorkerKind::Typed(Arc::new(typed)),
            events: None,
        }
    }

    /// A typed worker with JSON values and keys as raw bytes (see [`Worker::typed`]).
    pub fn json<V, U>(recipient: Recipient<Decoded<V, U>>) -> Self
    where
        V: DeserializeOwned + Send + 'static,
        U: Serialize + Send + 'static,
    {
        Self::typed(recipient, Raw, Json)
    }
}

struct Typed<V, U, K, KC, VC>
where
    V: Send + 'static,
    U: Send + 'static,
    K: Send + 'static,
{
    recipient: Recipient<Decoded<V, U, K>>,
    codecs: Arc<(KC, VC)>,
}

impl<V, U, K, KC, VC> AskRecord for Typed<V, U, K, KC, VC>
where
    V: Send + 'static,
    U: Send + 'static,
    K: Send + 'static,
    KC: Decode<K> + Encode<K>,
    VC: Decode<V> + Encode<U>,
{
    fn ask(&self, record: ConsumerRecord, mark: Mark) -> Answer {
        let offset = record.offset;
        let failed = move |kind, what: &str, error: super::CodecError| {
            Failure::new(kind, format!("{what}: {error}")).at(offset)
        };
        let (keys, values) = &*self.codecs;
        let key = match record.key.as_ref().map(|k| keys.decode(k)).transpose() {
            Ok(key) => key,
            Err(e) => return ready(Err(failed(FailureKind::Decode, "key", e))),
        };
        let value = match values.decode(&record.value) {
            Ok(value) => value,
            Err(e) => return ready(Err(failed(FailureKind::Decode, "value", e))),
        };
        let request = self.recipient.send(Decoded {
            topic: record.topic,
            partition: record.partition,
            offset,
            timestamp: record.timestamp,
            key,
            value,
            output: PhantomData,
        });
        let codecs = self.codecs.clone();
        Box::pin(async move {
            let answer = request.await;
            if answer.is_ok() {
                mark.answered();
            }
            let outputs = Failure::from_answer(answer)?;
            let (keys, values) = &*codecs;
            outputs
                .into_iter()
                .map(|output| {
                    let key = output.key.as_ref().map(|k| keys.encode(k)).transpose();
                    let key = key.map_err(|e| failed(FailureKind::Encode, "output key", e))?;
                    let value = values
                        .encode(&output.value)
                        .map_err(|e| failed(FailureKind::Encode, "output value", e))?;
                    Ok(Output {
                        key,
                        value,
                        partition: output.partition,
                        topic: output.topic,
                    })
                })
                .collect()
        })
    }
}

fn ready(result: Result<Vec<Output>, Failure>) -> Answer {
    Box::pin(std::future::ready(result))
}
