//! `/healthz`, `/readyz` and `/metrics` as actix-web handlers (feature `web`): mount them in
//! your own app with [`configure`] (and [`configure_metrics`]), or run them on a server of
//! their own with [`serve`].
//!
//! Both checks answer `200 OK` with `ok`, or `503 Service Unavailable` with one reason per
//! line (see [`super`] for what they check and the reasons).
//!
//! ```no_run
//! # async fn demo(health: actix_fluvio::health::Health) -> std::io::Result<()> {
//! use actix_web::{App, HttpServer};
//!
//! HttpServer::new(move || App::new().configure(actix_fluvio::health::web::configure(health.clone())))
//!     .bind("127.0.0.1:9898")?
//!     .run()
//!     .await
//! # }
//! ```

use actix_web::{web, HttpResponse};

use super::{Check, Health};

/// `GET /healthz`: [`Health::liveness`].
pub async fn healthz(health: web::Data<Health>) -> HttpResponse {
    answer(health.liveness().await)
}

/// `GET /readyz`: [`Health::readiness`].
pub async fn readyz(health: web::Data<Health>) -> HttpResponse {
    answer(health.readiness())
}

fn answer(check: Check) -> HttpResponse {
    let mut response = if check.is_ok() {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    let body = if check.is_ok() {
        "ok\n".to_owned()
    } else {
        check.reasons().iter().map(|r| format!("{r}\n")).collect()
    };
    response
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

/// Mounts `/healthz` and `/readyz` for `health`: `App::new().configure(configure(health))`.
pub fn configure(health: Health) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |config| {
        config
            .app_data(web::Data::new(health.clone()))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz));
    }
}

/// `GET /metrics`: the Prometheus text exposition of `handle` (feature `prometheus`).
#[cfg(feature = "prometheus")]
pub async fn metrics(
    handle: web::Data<metrics_exporter_prometheus::PrometheusHandle>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

/// Mounts `/metrics` for `handle` (from [`crate::telemetry::install_prometheus`]).
#[cfg(feature = "prometheus")]
pub fn configure_metrics(
    handle: metrics_exporter_prometheus::PrometheusHandle,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |config| {
        config
            .app_data(web::Data::new(handle.clone()))
            .route("/metrics", web::get().to(metrics));
    }
}

/// A one-thread server of `/healthz`, `/readyz` and `/metrics` on `addr`, for a worker
/// without a web app of its own; spawn or await the returned server (inside an actix
/// system). It leaves signals to the application (a draining worker keeps answering).
///
/// # Errors
/// `addr` cannot be bound.
#[cfg(feature = "prometheus")]
pub fn serve(
    addr: std::net::SocketAddr,
    health: Health,
    handle: metrics_exporter_prometheus::PrometheusHandle,
) -> std::io::Result<actix_web::dev::Server> {
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .configure(configure(health.clone()))
            .configure(configure_metrics(handle.clone()))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run();
    Ok(server)
}
