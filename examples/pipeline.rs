//! Copy every record of SOURCE (all partitions) to SINK with its value upper-cased, through
//! a user actor, committing offsets under the consumer id; run again with the same id and it
//! continues where it stopped. With `--group NAME` instead, it joins consumer group NAME:
//! every copy started with the same group shares SOURCE's partitions, and offsets are
//! committed under the group's name:
//!
//! ```text
//! cargo run --release --example pipeline -- SOURCE SINK (--consumer-id ID | --group NAME) [--exit-at-end] [--metrics-addr ADDR]
//! ```
//! Ctrl-C, SIGTERM or an actix `System` stop drains: in-flight records finish, the sink is
//! flushed, offsets are committed. Logs go to stderr (`RUST_LOG`, default `warn`).

#[path = "common/args.rs"]
mod args;
#[path = "common/logs.rs"]
mod logs;
#[path = "common/upper.rs"]
mod upper;

use actix::prelude::*;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::pipeline::{start_pipeline, PipelineConfig};
use upper::Upper;

const VALUED: &[&str] = &["--consumer-id", "--group", "--metrics-addr"];

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    logs::init();
    let args = args::Args::from_env();
    let usage = "usage: pipeline SOURCE SINK (--consumer-id ID | --group NAME) [--exit-at-end] \
                 [--metrics-addr ADDR]";
    let source = args.positional(0, VALUED).ok_or(usage)?.to_owned();
    let sink = args.positional(1, VALUED).ok_or(usage)?.to_owned();
    let group = args.value("--group").map(str::to_owned);
    let consumer_id = match (args.value("--consumer-id"), &group) {
        (Some(id), None) => id.to_owned(),
        // A group pipeline commits under the group's name.
        (None, Some(group)) => group.clone(),
        _ => return Err(usage.into()),
    };
    if let Some(addr) = args.value("--metrics-addr") {
        actix_fluvio::telemetry::serve_prometheus(addr.parse()?)?;
        eprintln!("serving /metrics on {addr}");
    }
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let mut config = PipelineConfig::new(source, consumer_id);
    config.sink = Some(sink);
    config.group = group;
    config.exit_at_end = args.flag("--exit-at-end");
    let pipeline = start_pipeline(&client, config, |_| {
        Upper::start_in_arbiter(&Arbiter::new().handle(), |_| Upper).recipient()
    })
    .await?;
    // Ends by itself with --exit-at-end; Ctrl-C, SIGTERM or a System stop drain it.
    let stats = pipeline
        .drain_on_shutdown(std::time::Duration::from_secs(30))
        .await?;
    let acked = stats.acked.load(std::sync::atomic::Ordering::Relaxed);
    println!("copied {acked} records");
    System::current().stop();
    Ok(())
}
