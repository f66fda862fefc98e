//! The Prometheus exporter (feature `prometheus`), configured from [`super::METRICS`]: every
//! histogram is exported with its documented buckets (aggregatable across instances), not
//! as a summary.

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use super::{describe, METRICS};

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
/// (the `web` feature's `health::web::configure` mounts it at `/metrics`).
///
/// # Errors
/// A recorder is installed already.
pub fn install_prometheus() -> Result<PrometheusHandle, String> {
    let recorder = prometheus_builder()
        .map_err(|e| e.to_string())?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    describe();
    Ok(handle)
}

/// Install a Prometheus recorder (from [`prometheus_builder`]) and serve `/metrics` on
/// `addr`. Returns the handle, whose `render()` also serves an existing web app's own
/// route.
///
/// # Errors
/// The recorder or the listener could not be installed.
pub fn serve_prometheus(addr: std::net::SocketAddr) -> Result<PrometheusHandle, String> {
    let builder = prometheus_builder()
        .map_err(|e| e.to_string())?
        .with_http_listener(addr);
    let (recorder, exporter) = builder.build().map_err(|e| e.to_string())?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    describe();
    tokio::spawn(async move {
        if let Err(error) = exporter.await {
            tracing::error!(?error, "the /metrics listener stopped");
        }
    });
    Ok(handle)
}
