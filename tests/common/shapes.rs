//! Topic shapes users have, written for real, and what a SmartModule chain makes of them:
//! one record per batch (the official producer flushing each record, as the CLI does), large
//! batches from our producer, compressed batches, and mixes of both.

use std::time::{Duration, Instant};

use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::consumer::{ConsumerError, ConsumerOptions};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::protocol::record::Compression;
use actix_fluvio::protocol::spu::{FetchRequest, Isolation, SmartModuleInvocation};
use actix_fluvio::protocol::Encode;
use futures_util::StreamExt;

/// An input or output record: (offset, key, value). Output offsets are the input's.
pub type Rec = (i64, Option<String>, String);

/// Input record `i`'s value: its number, then `i % 3` words ("0", "1 w", "2 w w", "3", ...).
pub fn value(i: i64) -> String {
    let mut v = i.to_string();
    for _ in 0..i % 3 {
        v.push_str(" w");
    }
    v
}

/// One way of writing records to a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// The official producer, one batch per record (each record flushed), keyed "k<i>".
    OfficialPerRecord,
    /// Our producer in batches of up to 8 KiB, compressed with the codec.
    Batched(Compression),
}

/// Write `values[i]` at offsets `first + i` of partition 0 of `topic`, the `how` way.
pub async fn write(
    ours: &FluvioClient,
    official: &fluvio::Fluvio,
    topic: &str,
    first: i64,
    values: &[String],
    how: Write,
) {
    let got: Vec<i64> = match how {
        Write::OfficialPerRecord => {
            let producer = official
                .topic_producer(topic.to_string())
                .await
                .expect("official producer");
            let mut offsets = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let key = format!("k{}", first + i as i64);
                let out = producer.send(key, v.clone()).await.expect("official send");
                producer.flush().await.expect("official flush");
                offsets.push(out.wait().await.expect("official ack").offset());
            }
            offsets
        }
        Write::Batched(compression) => {
            let producer = ours.producer(
                ProducerOptions::builder()
                    .batch_size(8 * 1024)
                    .linger(Duration::from_millis(20))
                    .compression(compression)
                    .build(),
            );
            let records = values.iter().map(|v| (None::<&[u8]>, v.as_bytes()));
            let receipts = producer.send_batch(topic, records).await.expect("send");
            producer.close().await.expect("close");
            receipts.iter().map(|r| r.offset).collect()
        }
    };
    let want: Vec<i64> = (first..first + values.len() as i64).collect();
    assert_eq!(got, want, "offsets written to {topic}");
}

/// The (base offset, record count) of every stored batch of partition `partition`.
pub async fn layout(client: &FluvioClient, topic: &str, partition: u32) -> Vec<(i64, usize)> {
    let conn = client
        .low_level()
        .leader_connection(topic, partition)
        .await
        .expect("leader");
    let (_, end) = client
        .partition_offsets(topic, partition)
        .await
        .expect("offsets");
    let mut out: Vec<(i64, usize)> = Vec::new();
    let mut next = 0;
    while next < end {
        let request =
            FetchRequest::single(topic, partition, next, 1 << 20, Isolation::ReadUncommitted);
        let response = conn.request(&request).await.expect("fetch");
        let p = response
            .find_partition(topic, partition)
            .expect("partition");
        let before = next;
        for batch in &p.records.batches {
            if batch.base_offset >= next {
                out.push((batch.base_offset, batch.records_len()));
                next = batch.last_offset().expect("batch end") + 1;
            }
        }
        assert!(next > before, "no progress reading the layout at {next}");
    }
    out
}

/// One SmartModule step, as the test modules do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Keep values containing the needle.
    Filter(&'static str),
    /// Upper-case.
    Map,
    /// Keep values of an even length, reversed.
    FilterMap,
    /// One record per word.
    ArrayMap,
    /// Running sum of each value's first word, from the initial accumulator.
    Aggregate(&'static str),
}

/// What `chain` makes of `input` (each output at its input's offset).
pub fn expected(chain: &[Step], input: &[Rec]) -> Vec<Rec> {
    let mut records = input.to_vec();
    for step in chain {
        records = match *step {
            Step::Filter(needle) => records
                .into_iter()
                .filter(|(_, _, v)| v.contains(needle))
                .collect(),
            Step::Map => records
                .into_iter()
                .map(|(o, k, v)| (o, k, v.to_uppercase()))
                .collect(),
            Step::FilterMap => records
                .into_iter()
                .filter(|(_, _, v)| v.len() % 2 == 0)
                .map(|(o, k, v)| (o, k, v.chars().rev().collect()))
                .collect(),
            Step::ArrayMap => records
                .into_iter()
                .flat_map(|(o, k, v)| {
                    v.split_whitespace()
                        .map(|w| (o, k.clone(), w.to_string()))
                        .collect::<Vec<_>>()
                })
                .collect(),
            Step::Aggregate(initial) => {
                let mut acc: i64 = initial.trim().parse().unwrap_or(0);
                records
                    .into_iter()
                    .map(|(o, k, v)| {
                        let first = v.split_whitespace().next().unwrap_or("");
                        acc += first.parse::<i64>().expect("integer first word");
                        (o, k, acc.to_string())
                    })
                    .collect()
            }
        };
    }
    records
}

/// Whether every input gives exactly one output (output offsets are then always exact).
pub fn one_to_one(chain: &[Step]) -> bool {
    chain
        .iter()
        .all(|s| matches!(s, Step::Map | Step::Aggregate(_)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Our consumer on partition 0 from `options.offset` through `chain`, stopping at the end.
pub async fn ours(
    client: &FluvioClient,
    topic: &str,
    chain: &[SmartModuleInvocation],
    options: ConsumerOptions,
) -> (Vec<Rec>, Option<ConsumerError>) {
    let options = options
        .into_builder()
        .smartmodules(chain.to_vec())
        .disable_continuous(true)
        .build();
    let mut stream = client
        .partition_consumer(topic, 0, options)
        .await
        .expect("partition consumer");
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(r) => out.push((r.offset, r.key.as_deref().map(text), text(&r.value))),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Our SmartModule invocation as the official client's type (encoded by us, decoded by it).
pub fn official_invocation(
    invocation: &SmartModuleInvocation,
) -> fluvio::consumer::SmartModuleInvocation {
    use fluvio_protocol::Decoder;
    let mut bytes = Vec::new();
    invocation.encode(&mut bytes, 25).expect("encode");
    let mut theirs = fluvio::consumer::SmartModuleInvocation::default();
    theirs
        .decode(&mut std::io::Cursor::new(bytes), 25)
        .expect("the official type decodes our invocation");
    theirs
}

/// The official consumer on partition 0 from the beginning through `chain` with `max_bytes`
/// per frame, continuously (its stop-at-end mode waits forever when a filter drops the tail)
/// until `count` records came, then half a second more to catch any extra one; or up to its
/// first error.
pub async fn official(
    official: &fluvio::Fluvio,
    topic: &str,
    chain: &[SmartModuleInvocation],
    max_bytes: i32,
    count: usize,
) -> (Vec<Rec>, Option<String>) {
    let config = fluvio::consumer::ConsumerConfigExtBuilder::default()
        .topic(topic.to_string())
        .partition(0)
        .offset_start(fluvio::Offset::beginning())
        .max_bytes(max_bytes)
        .retry_mode(fluvio::consumer::RetryMode::Disabled)
        .smartmodule(chain.iter().map(official_invocation).collect::<Vec<_>>())
        .build()
        .expect("official consumer config");
    let mut stream = official
        .consumer_with_config(config)
        .await
        .expect("official consumer");
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut grace = None;
    loop {
        let wait = match grace {
            Some(until) => until,
            None if out.len() >= count => {
                let until = Instant::now() + Duration::from_millis(500);
                grace = Some(until);
                until
            }
            None => deadline,
        };
        let Ok(item) = tokio::time::timeout_at(wait.into(), stream.next()).await else {
            break;
        };
        match item {
            None => break,
            Some(Ok(r)) => out.push((r.offset(), r.key().map(text), text(r.value()))),
            Some(Err(e)) => return (out, Some(format!("{e:?}"))),
        }
    }
    (out, None)
}
