//! Write the records a pipeline dead-lettered back: each envelope on DEAD_LETTERS becomes
//! its original key and value again, on the topic and partition it came from (or on
//! `--into TOPIC`). Progress is committed under `--consumer-id` (default
//! `DEAD_LETTERS-replay`), so running it again writes only what was dead-lettered since:
//!
//! ```text
//! cargo run --release --example replay -- DEAD_LETTERS [--into TOPIC] [--consumer-id ID]
//! ```
//! The cluster is the one `FLUVIO_SC_ADDR` (or the current Fluvio profile) names. Logs go to
//! stderr (`RUST_LOG`, default `warn`).

#[path = "common/logs.rs"]
mod logs;

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::pipeline::{replay, ReplayOptions};
use clap::Parser;

/// Write the records on a dead-letter topic back to where they came from (or --into TOPIC).
#[derive(Debug, Parser)]
struct Cli {
    /// The dead-letter topic.
    dead_letters: String,
    /// Write every record to this topic instead (placed by key).
    #[arg(long, value_name = "TOPIC")]
    into: Option<String>,
    /// Commit progress under this consumer id (default: DEAD_LETTERS-replay).
    #[arg(long, value_name = "ID")]
    consumer_id: Option<String>,
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    logs::init();
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let options = ReplayOptions {
        into: cli.into,
        consumer_id: cli.consumer_id,
        ..ReplayOptions::default()
    };
    let stats = replay(&client, &cli.dead_letters, options).await?;
    println!("replayed {} records", stats.replayed);
    Ok(())
}
