//! An actix-web service that produces the request body on `POST /topics/{topic}` (the
//! answer carries the record's partition and offset) and serves Prometheus `/metrics`:
//!
//! ```text
//! cargo run --example actix_web -- [BIND_ADDR]        # default 127.0.0.1:8080
//! curl -d 'hello' http://127.0.0.1:8080/topics/orders
//! curl http://127.0.0.1:8080/metrics
//! ```

#[path = "common/logs.rs"]
mod logs;

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::producer::{Producer, ProducerError, ProducerOptions};
use actix_web::{get, post, web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::PrometheusHandle;

#[post("/topics/{topic}")]
async fn produce(
    producer: web::Data<Producer>,
    topic: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    match producer.send(&topic, None, &body).await {
        Ok(meta) => HttpResponse::Ok().json(serde_json::json!({
            "partition": meta.partition,
            "offset": meta.offset,
        })),
        Err(ProducerError::RecordTooLarge { .. }) => HttpResponse::PayloadTooLarge().finish(),
        Err(ProducerError::Client(e)) if e.to_string().contains("not found") => {
            HttpResponse::NotFound().body(e.to_string())
        }
        Err(e) => HttpResponse::ServiceUnavailable().body(e.to_string()),
    }
}

#[get("/metrics")]
async fn metrics_route(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    logs::init();
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    // Mount the recorder into this app instead of a separate listener.
    let handle = actix_fluvio::telemetry::install_prometheus()?;
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let producer = client.producer(ProducerOptions::default());
    println!("listening on http://{bind}");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(producer.clone()))
            .app_data(web::Data::new(handle.clone()))
            .service(produce)
            .service(metrics_route)
    })
    .bind(&bind)?
    .run()
    .await?;
    Ok(())
}
