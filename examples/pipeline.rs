//! Copy every record of SOURCE (all partitions) to SINK with its value upper-cased, through
//! a user actor, committing offsets under the consumer id; run again with the same id and it
//! continues where it stopped. With `--group NAME` instead, it joins consumer group NAME:
//! every copy started with the same group shares SOURCE's partitions, and offsets are
//! committed under the group's name:
//!
//! ```text
//! cargo run --release --example pipeline -- SOURCE SINK (--consumer-id ID | --group NAME) [--exit-at-end] [--metrics-addr ADDR] [--dead-letter TOPIC] [--fail-every N]
//! ```
//! A record the worker fails on is retried 3 times, then written to the dead-letter topic
//! (`--dead-letter`, default `SOURCE-dlq`) in a JSON envelope; `--fail-every N` makes the
//! worker fail every record whose offset is N-1 modulo N, to see it happen. The `replay`
//! example writes dead-lettered records back.
//! `--metrics-addr` serves `/metrics`, `/healthz` and `/readyz` (the `health::web` handlers,
//! as the `worker` and `actix_web` examples do); any other path is a 404.
//! Ctrl-C, SIGTERM or an actix `System` stop drains: in-flight records finish, the sink is
//! flushed, offsets are committed. Logs go to stderr (`RUST_LOG`, default `warn`).

#[path = "common/logs.rs"]
mod logs;
#[path = "common/upper.rs"]
mod upper;

use std::net::SocketAddr;

use actix::prelude::*;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::health::Health;
use actix_fluvio::pipeline::{start_pipeline, Committer, GiveUp, PipelineConfig};
use clap::{ArgGroup, Parser};
use upper::Upper;

/// Copy every record of SOURCE to SINK with its value upper-cased, committing offsets.
///
/// Under --consumer-id ID it reads all of SOURCE's partitions and continues where the last
/// run with that id stopped; under --group NAME it shares SOURCE's partitions with every
/// copy in group NAME and commits under the group's name. Ctrl-C or SIGTERM drains:
/// in-flight records finish, the sink is flushed, offsets are committed. Logs go to stderr
/// (RUST_LOG, default warn).
#[derive(Debug, Parser)]
#[command(group(ArgGroup::new("committer").args(["consumer_id", "group"]).required(true)))]
struct Cli {
    /// The topic to read.
    source: String,
    /// The topic to write.
    sink: String,
    /// Commit offsets under this consumer id.
    #[arg(long, value_name = "ID")]
    consumer_id: Option<String>,
    /// Join this consumer group (offsets go under its name).
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// Stop once SOURCE's end, as it was at the start, is copied.
    #[arg(long)]
    exit_at_end: bool,
    /// Serve Prometheus /metrics, and /healthz and /readyz, on this address.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Where records the worker keeps failing on go (default: SOURCE-dlq).
    #[arg(long, value_name = "TOPIC")]
    dead_letter: Option<String>,
    /// A demonstration: the worker fails every record whose offset is N-1 modulo N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    fail_every: Option<u64>,
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    logs::init();
    // Exactly one of the two (clap checks); a group pipeline commits under the group's name.
    let committer = match (cli.consumer_id, cli.group) {
        (Some(id), None) => Committer::from(id),
        (None, Some(group)) => Committer::group(group),
        _ => unreachable!("clap lets exactly one of --consumer-id and --group through"),
    };
    let health = Health::new();
    if let Some(addr) = cli.metrics_addr {
        // Before the client starts, so its metrics are registered with this recorder.
        let handle = actix_fluvio::telemetry::install_prometheus()?;
        actix_rt::spawn(actix_fluvio::health::web::serve(
            addr,
            health.clone(),
            handle,
        )?);
        eprintln!("metrics on http://{addr}/metrics, health on http://{addr}/healthz and /readyz");
    }
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    health.watch_client(&client);
    let mut config = PipelineConfig::new(cli.source, committer);
    config.sink = Some(cli.sink);
    config.exit_at_end = cli.exit_at_end;
    config.failure.then = GiveUp::DeadLetter(cli.dead_letter);
    let fail_every = cli.fail_every;
    let pipeline = start_pipeline(&client, config, move |_| {
        Upper::create(move |_| Upper {
            fail_every,
            ..Upper::default()
        })
        .recipient()
    })
    .await?;
    health.watch_pipeline(pipeline.status());
    // Ends by itself with --exit-at-end; Ctrl-C, SIGTERM or a System stop drain it.
    let stats = pipeline
        .drain_on_shutdown(std::time::Duration::from_secs(30))
        .await?;
    let acked = stats.acked;
    let dead = stats.dead_lettered;
    println!("copied {acked} records, dead-lettered {dead}");
    System::current().stop();
    Ok(())
}
