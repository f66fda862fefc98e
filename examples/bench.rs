//! Throughput against a running cluster (creates nothing):
//!
//! ```text
//! cargo run --release --example bench -- produce TOPIC COUNT SIZE [--batch-bytes N] [--linger-ms N]
//! cargo run --release --example bench -- consume TOPIC COUNT
//! ```
//! Prints `produce: COUNT records x SIZE B in S s = R rec/s, M MB/s` or
//! `consume: COUNT records, B bytes in S s = R rec/s, M MB/s`.

#[path = "common/args.rs"]
mod args;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::{ConsumerOptions, Offset};
use actix_fluvio::producer::{PartitionerKind, ProducerOptions};

const VALUED: &[&str] = &["--batch-bytes", "--linger-ms"];
const USAGE: &str = "usage: bench produce TOPIC COUNT SIZE [--batch-bytes N] [--linger-ms N] | bench consume TOPIC COUNT";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = args::Args::from_env();
    let arg = |i| args.positional(i, VALUED).ok_or(USAGE);
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    match arg(0)? {
        "produce" => {
            let (topic, count, size): (&str, usize, usize) =
                (arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?);
            let mut options = ProducerOptions {
                partitioner: PartitionerKind::Specific(0),
                ..ProducerOptions::default()
            };
            if let Some(bytes) = args.parsed::<usize>("--batch-bytes")? {
                options.batch_size = bytes;
            }
            if let Some(ms) = args.parsed::<u64>("--linger-ms")? {
                options.linger = Duration::from_millis(ms);
            }
            let producer = client.producer(options);
            let value = vec![b'x'; size];
            // Warm up metadata and the SPU connection outside the timed part.
            producer.send(topic, None, &value).await?;
            let start = Instant::now();
            for _ in 0..count {
                producer.enqueue(topic, None, &value).await?;
            }
            producer.flush().await?;
            let secs = start.elapsed().as_secs_f64();
            println!(
                "produce: {count} records x {size} B in {secs:.3} s = {:.0} rec/s, {:.1} MB/s",
                count as f64 / secs,
                (count * size) as f64 / secs / 1e6
            );
        }
        "consume" => {
            let (topic, count): (&str, usize) = (arg(1)?, arg(2)?.parse()?);
            let options = ConsumerOptions {
                offset: Offset::Beginning,
                ..ConsumerOptions::default()
            };
            let start = Instant::now();
            let mut stream = client.partition_consumer(topic, 0, options).await?;
            let (mut seen, mut bytes) = (0usize, 0usize);
            while seen < count {
                let Some(batch) = stream.next_batch().await else {
                    break;
                };
                for record in batch? {
                    bytes += record.value.len();
                    seen += 1;
                }
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "consume: {seen} records, {bytes} bytes in {secs:.3} s = {:.0} rec/s, {:.1} MB/s",
                seen as f64 / secs,
                bytes as f64 / secs / 1e6
            );
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
