//! The Prometheus exporter (feature `prometheus`), configured from [`super::METRICS`]: every
//! histogram is exported with its documented buckets (aggregatable across instances), not
//! as a summary.

use metrics::SetRecorderError;
use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use thiserror::Error;

use super::{describe, METRICS};

/// Why [`install_prometheus`] or [`serve_prometheus`] did not install the exporter.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PrometheusError {
    /// The exporter refused its configuration, or its `/metrics` listener could not start.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A global metrics recorder is installed already (the one refused is inside).
    #[error(transparent)]
    RecorderInstalled(#[from] SetRecorderError<PrometheusRecorder>),
}

/// A Prometheus builder with the buckets of every histogram in [`METRICS`]; add a listener
/// or build a recorder from it.
///
/// # Errors
/// The exporter refused a bucket list (never for the lists in [`METRICS`]).
pub fn prometheus_builder() -> Result<PrometheusBuilder, BuildError> {
    METRICS
        .iter()
        .filter(|m| !m.buckets.is_empty())
        .try_fold(PrometheusBuilder::new(), |builder, m| {
            builder.set_buckets_for_metric(Matcher::Full(m.name.into()), m.buckets)
        })
}

/// Install a Prometheus recorder (from [`prometheus_builder`]) as the global recorder and
/// [`describe`] every metric; no listener: serve the handle's `render()` from your own app
/// (the `web` feature's `health::web::configure` mounts it at `/metrics`). A background
/// thread runs the recorder's upkeep every [`UPKEEP_INTERVAL`], so histogram samples are
/// folded into their buckets even when nobody scrapes (memory stays flat).
///
/// # Errors
/// [`PrometheusError::RecorderInstalled`]: a recorder is installed already.
pub fn install_prometheus() -> Result<PrometheusHandle, PrometheusError> {
    install_prometheus_with_upkeep(UPKEEP_INTERVAL)
}

/// [`install_prometheus`] with the upkeep every `interval` instead of [`UPKEEP_INTERVAL`]:
/// what a process records between two upkeeps is what it holds (8 bytes a histogram
/// sample), so a process recording much faster than 10,000 samples a second may want a
/// shorter one.
///
/// # Errors
/// [`PrometheusError::RecorderInstalled`]: a recorder is installed already.
pub fn install_prometheus_with_upkeep(
    interval: std::time::Duration,
) -> Result<PrometheusHandle, PrometheusError> {
    let recorder = prometheus_builder()?.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    describe();
    spawn_upkeep(handle.clone(), interval);
    Ok(handle)
}

/// How often [`install_prometheus`]'s recorder runs its upkeep (as the exporter's own
/// listener does).
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Run `handle`'s upkeep every `interval`, on a thread of its own, for as long as the
/// process runs: without it a recorder that nobody scrapes keeps every histogram sample.
pub fn spawn_upkeep(handle: PrometheusHandle, interval: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("prometheus-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            handle.run_upkeep();
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the Prometheus upkeep thread: histogram samples accumulate until scraped");
    }
}

/// Install a Prometheus recorder (from [`prometheus_builder`]) and serve `/metrics` on
/// `addr`. Returns the handle, whose `render()` also serves an existing web app's own
/// route.
///
/// # Errors
/// [`PrometheusError::Build`] when the listener could not be set up,
/// [`PrometheusError::RecorderInstalled`] when a recorder is installed already.
pub fn serve_prometheus(addr: std::net::SocketAddr) -> Result<PrometheusHandle, PrometheusError> {
    let builder = prometheus_builder()?.with_http_listener(addr);
    let (recorder, exporter) = builder.build()?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    describe();
    tokio::spawn(async move {
        if let Err(error) = exporter.await {
            tracing::error!(?error, "the /metrics listener stopped");
        }
    });
    Ok(handle)
}
