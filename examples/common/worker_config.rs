//! The `worker` example's configuration: a TOML file of the library's own configuration
//! types, with environment overrides, through `figment`.
//!
//! ```toml
//! [cluster]              # actix_fluvio::cluster::ClientConfig
//! [cluster.connection]   # actix_fluvio::connection::ConnectionConfig
//! [pipeline]             # actix_fluvio::pipeline::PipelineConfig
//! [pipeline.consumer]    # actix_fluvio::consumer::ConsumerOptions
//! [pipeline.producer]    # actix_fluvio::producer::ProducerOptions
//! [pipeline.failure]     # actix_fluvio::pipeline::FailurePolicy
//! [worker]               # this example's own: `tag`
//! [metrics]              # `addr`: /metrics, /healthz and /readyz
//! ```
//!
//! An environment variable `ACTIX_FLUVIO_<SECTION>__<KEY>` overrides a key of the file (`__`
//! separates the levels; names are case-insensitive; values are TOML-like: `4`, `"5s"`,
//! `true`): `ACTIX_FLUVIO_PIPELINE__WORKERS=4`,
//! `ACTIX_FLUVIO_PIPELINE__PRODUCER__LINGER=5ms`,
//! `ACTIX_FLUVIO_CLUSTER__SC_ENDPOINT=10.0.0.1:9003`; a string that reads as a number is
//! quoted (`ACTIX_FLUVIO_PIPELINE__CONSUMER_ID='"123"'`). A key the types do not know, or a
//! value of the wrong type, in the file or the environment, is an error naming the key and
//! where it came from.

use std::path::Path;

use actix_fluvio::cluster::ClientConfig;
use actix_fluvio::pipeline::PipelineConfig;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

/// The prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "ACTIX_FLUVIO_";

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// How to reach the cluster (the SC endpoint defaults to `FLUVIO_SC_ADDR`, then the
    /// `fluvio` profile, then 127.0.0.1:9003).
    #[serde(default)]
    pub cluster: ClientConfig,
    /// What the worker reads, writes and commits.
    pub pipeline: PipelineConfig,
    /// This example's own settings.
    #[serde(default)]
    pub worker: WorkerSection,
    /// Where to serve `/metrics`, `/healthz` and `/readyz` (`None`: nowhere).
    pub metrics: Option<MetricsSection>,
}

/// `[worker]`: what the example's worker actor does besides upper-casing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    /// The key of every output instead of its record's key: which worker wrote it.
    pub tag: Option<String>,
}

/// `[metrics]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// The `host:port` to listen on.
    pub addr: String,
}

/// The file at `path` (which must exist), overridden by the environment's
/// `ACTIX_FLUVIO_...` variables.
///
/// # Errors
/// The file cannot be read or parsed, or a key (of the file or the environment) is unknown
/// or has a bad value (figment's error names the key and its source), or `[pipeline]` has
/// no `sink`.
pub fn load(path: &Path) -> Result<WorkerConfig, Box<figment::Error>> {
    let config: WorkerConfig = Figment::new()
        .merge(Toml::file_exact(path))
        .merge(Env::prefixed(ENV_PREFIX).split("__"))
        .extract()?;
    if config.pipeline.sink.is_none() {
        return Err(Box::new(figment::Error::from(
            "missing field `pipeline.sink`: the topic the worker writes".to_owned(),
        )));
    }
    Ok(config)
}
