//! An actix-web service that produces the request body on `POST /topics/{topic}` (the
//! answer carries the record's partition and offset) and serves Prometheus `/metrics`,
//! `/healthz` and `/readyz`:
//!
//! ```text
//! cargo run --example actix_web -- [BIND_ADDR]        # default 127.0.0.1:8080
//! curl -d 'hello' http://127.0.0.1:8080/topics/orders
//! curl http://127.0.0.1:8080/metrics
//! curl http://127.0.0.1:8080/readyz                   # and /healthz
//! ```

#[path = "common/logs.rs"]
mod logs;

use actix_fluvio::cluster::{ClientConfig, ClientError, FluvioClient};
use actix_fluvio::health::{web as web_health, Health};
use actix_fluvio::producer::{Producer, ProducerError, ProducerOptions};
use actix_web::{post, web, App, HttpResponse, HttpServer};
use clap::Parser;

/// An actix-web service: `POST /topics/{topic}` produces the request body and answers with
/// the record's partition and offset; also serves /metrics, /healthz and /readyz.
///
/// The cluster is FLUVIO_SC_ADDR, else the current fluvio profile, else 127.0.0.1:9003.
/// Logs go to stderr (RUST_LOG, default warn).
#[derive(Debug, Parser)]
struct Cli {
    /// The address to listen on.
    #[arg(default_value = "127.0.0.1:8080")]
    bind_addr: String,
}

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
        Err(ProducerError::Client(
            e @ (ClientError::TopicNotFound(_) | ClientError::PartitionNotFound { .. }),
        )) => HttpResponse::NotFound().body(e.to_string()),
        Err(e) => HttpResponse::ServiceUnavailable().body(e.to_string()),
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind = Cli::parse().bind_addr;
    logs::init();
    // Mount the recorder and the health checks into this app instead of a separate listener.
    let handle = actix_fluvio::telemetry::install_prometheus()?;
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let health = Health::new();
    health.watch_client(&client);
    let producer = client.producer(ProducerOptions::default());
    println!("listening on http://{bind}");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(producer.clone()))
            .configure(web_health::configure_metrics(handle.clone()))
            .configure(web_health::configure(health.clone()))
            .service(produce)
    })
    .bind(&bind)?
    .run()
    .await?;
    Ok(())
}
