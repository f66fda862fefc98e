//! A long-running, Prometheus-monitored worker configured by file:
//! `cargo run --release --example worker -- config/worker.toml`.
//!
//! It reads the source topic under a consumer id (resuming where it stopped), upper-cases
//! each value in a user actor (keying each output with `[worker] tag` when the file sets one:
//! which worker wrote it), writes the sink topic, serves `/metrics`, `/healthz` and
//! `/readyz` on the metrics address, and drains on Ctrl-C, SIGTERM or an actix `System`
//! stop (the endpoints keep answering while it drains: `/readyz` says so).
//!
//! The file's sections are the library's configuration types (see config/worker.toml and
//! `common/worker_config.rs`), overridable by `ACTIX_FLUVIO_SECTION__KEY` variables; a key
//! they do not know, or a bad value, exits with status 2 and an error naming the key.

#[path = "common/logs.rs"]
mod logs;
#[path = "common/upper.rs"]
mod upper;
#[path = "common/worker_config.rs"]
mod worker_config;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::health::Health;
use actix_fluvio::pipeline::{start_pipeline, Committer};
use clap::Parser;
use upper::Upper;
use worker_config::WorkerConfig;

/// A long-running, Prometheus-monitored worker configured by a TOML file.
///
/// It reads the source topic under a consumer id or in a consumer group, upper-cases each
/// value, writes the sink topic, serves /metrics, /healthz and /readyz on the metrics
/// address, and drains on Ctrl-C or SIGTERM. Logs go to stderr (RUST_LOG, default warn).
#[derive(Debug, Parser)]
struct Cli {
    /// The configuration file (see config/worker.toml).
    #[arg(default_value = "config/worker.toml")]
    config: PathBuf,
}

/// Exit status of a configuration the worker cannot use (as clap's for a bad command line).
const BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logs::init();
    let config = match worker_config::load(&cli.config) {
        Ok(config) => config,
        Err(errors) => {
            for error in *errors {
                eprintln!("{}: {error}", cli.config.display());
            }
            return ExitCode::from(BAD_CONFIG);
        }
    };
    match actix_rt::System::new().block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("worker: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(file: WorkerConfig) -> Result<(), Box<dyn std::error::Error>> {
    let health = Health::new();
    if let Some(metrics) = &file.metrics {
        // Before the client starts, so its metrics are registered with this recorder.
        let handle = actix_fluvio::telemetry::install_prometheus()?;
        let server =
            actix_fluvio::health::web::serve(metrics.addr.parse()?, health.clone(), handle)?;
        actix_rt::spawn(server);
        eprintln!(
            "metrics on http://{0}/metrics, health on http://{0}/healthz and /readyz",
            metrics.addr
        );
    }
    let client = FluvioClient::connect(file.cluster).await?;
    health.watch_client(&client);
    let config = file.pipeline;
    let running = format!(
        "worker running: {} -> {} as {}",
        config.source,
        config.sink.as_deref().unwrap_or("(no sink)"),
        match &config.committer {
            Committer::Group(group) => format!("group {}", group.group),
            committer => committer.consumer_id().to_owned(),
        }
    );
    let tag = file.worker.tag.map(bytes::Bytes::from);
    let pipeline = start_pipeline(&client, config, move |_| {
        let tag = tag.clone();
        Upper::create(move |_| Upper {
            tag,
            ..Upper::default()
        })
        .recipient()
    })
    .await?;
    health.watch_pipeline(pipeline.status());
    eprintln!("{running}");
    let stats = pipeline.drain_on_shutdown(Duration::from_secs(30)).await?;
    eprintln!("stopped after {} records", stats.acked);
    System::current().stop();
    Ok(())
}
