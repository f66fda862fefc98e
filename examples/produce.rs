//! Produce stdin, one record per line:
//!
//! ```text
//! cargo run --release --example produce -- TOPIC [--key-separator SEP] [--partition P | --mirror NAME]
//!     [--compression C] [--linger-ms N] [--batch-bytes N]
//! ```
//! Prints `produced N records` and the last offset. The cluster is `FLUVIO_SC_ADDR`, else the
//! current `fluvio` profile, else 127.0.0.1:9003.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::protocol::record::Compression;
use clap::Parser;

/// Produce stdin to a topic, one record per line; prints how many and the last offset.
///
/// The cluster is FLUVIO_SC_ADDR, else the current fluvio profile, else 127.0.0.1:9003.
#[derive(Debug, Parser)]
struct Cli {
    /// The topic to write.
    topic: String,
    /// Split each line at the first SEP into key and value (a line without it has no key).
    #[arg(long, value_name = "SEP", allow_hyphen_values = true)]
    key_separator: Option<String>,
    /// Write every record to this partition (default: by key hash, round-robin without a key).
    #[arg(long, value_name = "P")]
    partition: Option<u32>,
    /// Write the partition of this mirror topic that belongs to NAME (at home: a remote's
    /// partition of a home-to-remote topic; on a remote: the home's id, for a remote-to-home
    /// topic); refused when this side does not write it.
    #[arg(long, value_name = "NAME", conflicts_with = "partition")]
    mirror: Option<String>,
    /// Compress batches: none (the default), gzip, snappy, lz4 or zstd.
    #[arg(long, value_name = "C")]
    compression: Option<Compression>,
    /// Wait up to N ms for more records before sending a batch that is not full.
    #[arg(long, value_name = "N")]
    linger_ms: Option<u64>,
    /// Seal a partition's batch once it holds N bytes.
    #[arg(long, value_name = "N")]
    batch_bytes: Option<usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("produce: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = ProducerOptions::default();
    if let Some(c) = cli.compression {
        options.compression = c;
    }
    if let Some(ms) = cli.linger_ms {
        options.linger = Duration::from_millis(ms);
    }
    if let Some(bytes) = cli.batch_bytes {
        options.batch_size = bytes;
    }
    let (topic, separator) = (cli.topic, cli.key_separator);

    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let producer = client.producer(options);
    let partition = match &cli.mirror {
        Some(name) => Some(producer.mirror_partition(&topic, name).await?),
        None => cli.partition,
    };
    let mut receipts = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (key, value) = match separator.as_deref().and_then(|sep| line.split_once(sep)) {
            Some((k, v)) => (Some(k.as_bytes()), v.as_bytes()),
            None => (None, line.as_bytes()),
        };
        let receipt = match partition {
            Some(p) => producer.enqueue_to(&topic, p, key, value).await?,
            None => producer.enqueue(&topic, key, value).await?,
        };
        receipts.push(receipt);
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
