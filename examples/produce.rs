//! Produce stdin, one record per line:
//!
//! ```text
//! cargo run --release --example produce -- TOPIC [--key-separator SEP] [--partition P]
//!     [--compression C] [--linger-ms N] [--batch-bytes N]
//! ```
//! Prints `produced N records` and the last offset. The cluster is `FLUVIO_SC_ADDR`, else the
//! current `fluvio` profile, else 127.0.0.1:9003.

#[path = "common/args.rs"]
mod args;

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::producer::{PartitionerKind, ProducerOptions};

const VALUED: &[&str] = &[
    "--key-separator",
    "--partition",
    "--compression",
    "--linger-ms",
    "--batch-bytes",
];

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("produce: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = args::Args::from_env();
    let topic = args
        .positional(0, VALUED)
        .ok_or("usage: produce TOPIC [--key-separator SEP] [--partition P] [--compression C] [--linger-ms N] [--batch-bytes N]")?
        .to_owned();
    let mut options = ProducerOptions::default();
    if let Some(p) = args.parsed::<u32>("--partition")? {
        options.partitioner = PartitionerKind::Specific(p);
    }
    if let Some(c) = args.value("--compression") {
        options.compression = c.parse()?;
    }
    if let Some(ms) = args.parsed::<u64>("--linger-ms")? {
        options.linger = Duration::from_millis(ms);
    }
    if let Some(bytes) = args.parsed::<usize>("--batch-bytes")? {
        options.batch_size = bytes;
    }
    let separator = args.value("--key-separator").map(str::to_owned);

    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let producer = client.producer(options);
    let mut receipts = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (key, value) = match separator.as_deref().and_then(|sep| line.split_once(sep)) {
            Some((k, v)) => (Some(k.as_bytes()), v.as_bytes()),
            None => (None, line.as_bytes()),
        };
        receipts.push(producer.enqueue(&topic, key, value).await?);
    }
    producer.flush().await?;
    let mut last = None;
    for receipt in receipts.iter().cloned() {
        last = Some(receipt.wait().await?);
    }
    println!("produced {} records", receipts.len());
    if let Some(meta) = last {
        println!(
            "last offset: {} (partition {})",
            meta.offset, meta.partition
        );
    }
    producer.close().await?;
    Ok(())
}
