//! A long-running, Prometheus-monitored worker configured by file:
//! `cargo run --release --example worker -- config/worker.toml`.
//!
//! It reads the source topic under a consumer id (resuming where it stopped), upper-cases
//! each value in a user actor (keying each output with the config's `tag` when it sets one:
//! which worker wrote it), writes the sink topic, serves `/metrics`, `/healthz` and
//! `/readyz` on the metrics address, and drains on Ctrl-C, SIGTERM or an actix `System`
//! stop (the endpoints keep answering while it drains: `/readyz` says so).

#[path = "common/logs.rs"]
mod logs;
#[path = "common/upper.rs"]
mod upper;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::health::Health;
use actix_fluvio::pipeline::{start_pipeline, FailurePolicy, GiveUp, PipelineConfig};
use actix_fluvio::protocol::spu::{SmartModuleInvocation, SmartModuleKind, SmartModuleWasm};
use clap::Parser;
use serde::Deserialize;
use upper::Upper;

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

#[derive(Debug, Deserialize)]
struct WorkerToml {
    #[serde(default)]
    cluster: ClusterToml,
    pipeline: PipelineToml,
    metrics: Option<MetricsToml>,
}

#[derive(Debug, Default, Deserialize)]
struct ClusterToml {
    endpoint: Option<String>,
    request_timeout_secs: Option<u64>,
    max_reconnect_attempts: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct PipelineToml {
    source: String,
    partition: Option<u32>,
    /// Only the partition of mirror topic `source` that belongs to this remote (or home).
    source_mirror: Option<String>,
    sink: String,
    /// Outputs to the partition of mirror topic `sink` that belongs to this remote (or home).
    sink_mirror: Option<String>,
    consumer_id: String,
    /// Run in this consumer group (offsets then go under the group's name).
    group: Option<String>,
    #[serde(default = "one")]
    workers: usize,
    commit_every: Option<usize>,
    commit_interval_ms: Option<u64>,
    worker_timeout_ms: Option<u64>,
    /// The key of every output instead of its record's key: which worker wrote it.
    tag: Option<String>,
    #[serde(default)]
    smartmodules: Vec<SmartModuleToml>,
    /// What happens to records the worker fails on (default: the policy's defaults).
    failure: Option<FailureToml>,
}

/// `[pipeline.failure]`: retries with backoff, then `then`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailureToml {
    retries: Option<u32>,
    backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    /// `dead-letter` (default), `skip` or `stop`.
    then: Option<String>,
    /// The dead-letter topic (default: SOURCE-dlq).
    dead_letter: Option<String>,
}

impl FailureToml {
    fn policy(&self) -> Result<FailurePolicy, String> {
        let mut policy = FailurePolicy::default();
        if let Some(retries) = self.retries {
            policy.retries = retries;
        }
        if let Some(ms) = self.backoff_ms {
            policy.backoff.initial = Duration::from_millis(ms);
        }
        if let Some(ms) = self.max_backoff_ms {
            policy.backoff.max = Duration::from_millis(ms);
        }
        policy.then = match self.then.as_deref() {
            None | Some("dead-letter") => GiveUp::DeadLetter(self.dead_letter.clone()),
            Some("skip") => GiveUp::Skip,
            Some("stop") => GiveUp::Stop,
            Some(other) => {
                return Err(format!(
                    "[pipeline.failure] then = {other:?}: expected \"dead-letter\", \"skip\" or \"stop\""
                ))
            }
        };
        Ok(policy)
    }
}

#[derive(Debug, Deserialize)]
struct SmartModuleToml {
    name: String,
    kind: String,
    #[serde(default)]
    params: BTreeMap<String, String>,
    initial: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MetricsToml {
    addr: String,
}

fn one() -> usize {
    1
}

fn invocation(sm: &SmartModuleToml) -> Result<SmartModuleInvocation, String> {
    let wasm = SmartModuleWasm::predefined(&sm.name);
    let initial = sm.initial.clone().unwrap_or_default().into_bytes();
    let kind = SmartModuleKind::from_name(&sm.kind, initial)
        .ok_or_else(|| format!("unknown SmartModule kind '{}'", sm.kind))?;
    let mut invocation = SmartModuleInvocation::new(wasm, kind);
    for (k, v) in &sm.params {
        invocation = invocation.with_param(k, v);
    }
    Ok(invocation)
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    logs::init();
    let path = cli.config.display();
    let text = std::fs::read_to_string(&cli.config).map_err(|e| format!("{path}: {e}"))?;
    let file: WorkerToml = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
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
    let mut client_config = ClientConfig {
        sc_endpoint: file.cluster.endpoint.clone(),
        ..ClientConfig::default()
    };
    if let Some(secs) = file.cluster.request_timeout_secs {
        client_config.connection.request_timeout = Duration::from_secs(secs);
    }
    if let Some(attempts) = file.cluster.max_reconnect_attempts {
        client_config.connection.reconnect.max_attempts = Some(attempts);
    }
    let client = FluvioClient::connect(client_config).await?;
    health.watch_client(&client);
    let p = &file.pipeline;
    let mut config = PipelineConfig::new(&p.source, &p.consumer_id);
    config.sink = Some(p.sink.clone());
    config.partition = p.partition;
    config.source_mirror = p.source_mirror.clone();
    config.sink_mirror = p.sink_mirror.clone();
    config.group = p.group.clone();
    config.workers = p.workers;
    config.consumer.smartmodules = p
        .smartmodules
        .iter()
        .map(invocation)
        .collect::<Result<_, _>>()?;
    if let Some(n) = p.commit_every {
        config.commit_every = n;
    }
    if let Some(ms) = p.commit_interval_ms {
        config.commit_interval = Duration::from_millis(ms);
    }
    config.worker_timeout = p.worker_timeout_ms.map(Duration::from_millis);
    if let Some(failure) = &p.failure {
        config.failure = failure.policy()?;
    }
    let tag = p.tag.clone().map(bytes::Bytes::from);
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
    let name = match &p.group {
        Some(group) => format!("group {group}"),
        None => p.consumer_id.clone(),
    };
    eprintln!("worker running: {} -> {} as {name}", p.source, p.sink);
    let stats = pipeline
        .drain_on_shutdown(std::time::Duration::from_secs(30))
        .await?;
    eprintln!(
        "stopped after {} records",
        stats.acked.load(std::sync::atomic::Ordering::Relaxed)
    );
    System::current().stop();
    Ok(())
}
