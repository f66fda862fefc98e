//! Throughput against a running cluster (creates nothing):
//!
//! ```text
//! cargo run --release --example bench -- produce TOPIC COUNT SIZE [--batch-bytes N] [--linger-ms N]
//! cargo run --release --example bench -- consume TOPIC COUNT
//! ```
//! Prints `produce: COUNT records x SIZE B in S s = R rec/s, M MB/s` or
//! `consume: COUNT records, B bytes in S s = R rec/s, M MB/s`, then what it checked.
//!
//! Both work on partition 0 and check their own output: `produce` numbers its records,
//! reads the partition back and checks that every record is stored where it was
//! acknowledged, prints `duplicates: N` (records stored twice by a retry after a lost answer:
//! at-least-once allows them) and fails on any record missing (so no other writer may use
//! the partition meanwhile); `consume` reads from the first
//! available offset up to the end fixed at its start, and checks it got COUNT records at
//! consecutive offsets. Any shortfall is an error: a message and a non-zero exit.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::{ConsumerOptions, Offset};
use actix_fluvio::producer::{PartitionerKind, ProducerOptions};
use clap::Parser;

/// Throughput against a running cluster (creates nothing).
///
/// Both commands work on partition 0 and check their own output: any shortfall is an error,
/// a message and a non-zero exit.
///
/// The cluster is FLUVIO_SC_ADDR, else the current fluvio profile, else 127.0.0.1:9003.
#[derive(Debug, Parser)]
enum Command {
    /// Produce COUNT records of SIZE bytes to partition 0.
    ///
    /// After one untimed warm-up record; each record starts with its number (SIZE ≥ 8).
    /// Then reads the partition back: every record must be stored where it was
    /// acknowledged (no other writer may use the partition meanwhile); records stored twice
    /// are printed as `duplicates: N`.
    Produce {
        /// The topic to write.
        topic: String,
        /// How many records.
        count: usize,
        /// Each record's size in bytes.
        size: usize,
        /// Seal the batch once it holds N bytes.
        #[arg(long, value_name = "N")]
        batch_bytes: Option<usize>,
        /// Wait up to N ms for more records before sending a batch that is not full.
        #[arg(long, value_name = "N")]
        linger_ms: Option<u64>,
    },
    /// Read COUNT records of partition 0.
    ///
    /// From the first available offset up to the end fixed at the start; then checks that
    /// COUNT records came at consecutive offsets.
    Consume {
        /// The topic to read.
        topic: String,
        /// How many records.
        count: usize,
    },
}

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    match run(Command::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Error> {
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    match command {
        Command::Produce {
            topic,
            count,
            size,
            batch_bytes,
            linger_ms,
        } => {
            let mut options = ProducerOptions::builder()
                .partitioner(PartitionerKind::Specific(0))
                .build();
            if let Some(bytes) = batch_bytes {
                options.batch_size = bytes;
            }
            if let Some(ms) = linger_ms {
                options.linger = Duration::from_millis(ms);
            }
            produce(&client, &topic, count, size, options).await
        }
        Command::Consume { topic, count } => consume(&client, &topic, count).await,
    }
}

/// Produce `count` records of `size` bytes to `topic`/0 (after one untimed warm-up record),
/// each starting with its number (8 bytes, big-endian), then check where they went.
async fn produce(
    client: &FluvioClient,
    topic: &str,
    count: usize,
    size: usize,
    options: ProducerOptions,
) -> Result<(), Error> {
    if size < 8 {
        return Err(format!("SIZE {size} is below 8: each record carries its number").into());
    }
    let producer = client.producer(options);
    let mut value = vec![b'x'; size];
    // Warm up metadata and the SPU connection outside the timed part.
    let warm_up = producer.send(topic, None, &value).await?;
    let start = Instant::now();
    let mut receipts = Vec::with_capacity(count);
    for i in 0..count {
        value[..8].copy_from_slice(&(i as u64).to_be_bytes());
        receipts.push(producer.enqueue(topic, None, &value).await?);
    }
    producer.flush().await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "produce: {count} records x {size} B in {secs:.3} s = {:.0} rec/s, {:.1} MB/s",
        count as f64 / secs,
        (count * size) as f64 / secs / 1e6
    );
    let mut acked = Vec::with_capacity(count);
    for (i, receipt) in receipts.into_iter().enumerate() {
        let meta = receipt
            .wait()
            .await
            .map_err(|e| format!("record {i} was not written: {e}"))?;
        if meta.partition != 0 {
            return Err(format!("record {i} went to {topic}-{}", meta.partition).into());
        }
        acked.push(meta.offset);
    }
    check_stored(client, topic, warm_up.offset + 1, &acked).await
}

/// Read `topic`/0 from `first` to its end and check that record `i` is stored at
/// `acked[i]`, and that every record is there; records stored twice (a batch written
/// again after its answer was lost) are counted and printed, not an error.
async fn check_stored(
    client: &FluvioClient,
    topic: &str,
    first: i64,
    acked: &[i64],
) -> Result<(), Error> {
    let count = acked.len();
    // A reader stops at the high watermark: wait until it covers every acknowledged record
    // (followers catching up after a fault), for up to 2 minutes.
    let last = acked.iter().max().map_or(first, |o| o + 1);
    let waited = Instant::now();
    let end = loop {
        let (_, end) = client.partition_offsets(topic, 0).await?;
        if end >= last || waited.elapsed() > Duration::from_secs(120) {
            break end;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if end < last {
        println!("the high watermark of {topic}-0 stayed at {end}, below {last}, for 2 minutes");
    }
    let options = ConsumerOptions::builder()
        .offset(Offset::Absolute(first))
        .disable_continuous(true)
        .build();
    let mut stream = client.partition_consumer(topic, 0, options).await?;
    // The number stored at each offset from `first` on.
    let mut stored = Vec::with_capacity(count);
    while let Some(batch) = stream.next_batch().await {
        for record in batch? {
            let number = record
                .value
                .get(..8)
                .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")) as usize)
                .filter(|&n| n < count && record.offset == first + stored.len() as i64)
                .ok_or_else(|| {
                    format!(
                        "{topic}-0@{} is not one of this run's records (another writer?)",
                        record.offset
                    )
                })?;
            stored.push(number);
        }
    }
    let mut copies = vec![0u32; count];
    for &number in &stored {
        copies[number] += 1;
    }
    if let Some(missing) = copies.iter().position(|&c| c == 0) {
        let lost = copies.iter().filter(|&&c| c == 0).count();
        return Err(format!(
            "{lost} acknowledged records missing from {topic}-0, e.g. record {missing}"
        )
        .into());
    }
    for (i, &offset) in acked.iter().enumerate() {
        let at = usize::try_from(offset - first)
            .ok()
            .and_then(|k| stored.get(k));
        if at != Some(&i) {
            return Err(format!(
                "record {i} was acknowledged at {topic}-0@{offset}, which holds {at:?}"
            )
            .into());
        }
    }
    let duplicates = stored.len() - count;
    println!("duplicates: {duplicates}");
    println!(
        "checked: {count} records acknowledged and stored in {topic}-0 at offsets {first}..{end} ({duplicates} stored twice)"
    );
    Ok(())
}

/// Read `count` records of `topic`/0 from its first available offset, stopping at the end
/// fixed at the start; fail unless they are `count` records at consecutive offsets.
async fn consume(client: &FluvioClient, topic: &str, count: usize) -> Result<(), Error> {
    let (first, end) = client.partition_offsets(topic, 0).await?;
    let options = ConsumerOptions::builder()
        .offset(Offset::Absolute(first))
        .disable_continuous(true)
        .build();
    let start = Instant::now();
    let mut stream = client.partition_consumer(topic, 0, options).await?;
    let (mut seen, mut bytes, mut next) = (0usize, 0usize, first);
    'read: while seen < count {
        let Some(batch) = stream.next_batch().await else {
            break;
        };
        for record in batch? {
            if record.offset != next {
                return Err(format!("read offset {}, expected {next}", record.offset).into());
            }
            (next, seen, bytes) = (next + 1, seen + 1, bytes + record.value.len());
            if seen == count {
                break 'read;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "consume: {seen} records, {bytes} bytes in {secs:.3} s = {:.0} rec/s, {:.1} MB/s",
        seen as f64 / secs,
        bytes as f64 / secs / 1e6
    );
    if seen < count {
        return Err(format!(
            "only {seen} of {count} records in {topic}-0 between offsets {first} and its end {end}"
        )
        .into());
    }
    println!("checked: {count} records at offsets {first}..{next} of {topic}-0");
    Ok(())
}
