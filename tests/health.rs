//! `/healthz` and `/readyz` over the embedded cluster: a worker is ready once its SC
//! connection is up and every partition of its pipeline streams, not ready (with the reason)
//! while the SC is stopped, ready again when it returns; alive throughout.

use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::health::{web as health_web, Health};
use actix_fluvio::pipeline::{start_pipeline, Output, PipelineConfig, Process, WorkerError};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use actix_web::{test, App};

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

impl Handler<Process> for Echo {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        Ok(vec![Output::value(msg.0.value)])
    }
}

/// `GET $path` on `$app`: the status code and the body.
macro_rules! get {
    ($app:expr, $path:expr) => {{
        let request = test::TestRequest::get().uri($path).to_request();
        let response = test::call_service(&$app, request).await;
        let status = response.status().as_u16();
        let body = test::read_body(response).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }};
}

/// Poll `$path` on `$app` until it answers `$status` (within 20 s); the last body.
macro_rules! until {
    ($app:expr, $path:expr, $status:expr) => {{
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = get!($app, $path);
            if status == $status {
                break body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} stayed {status}: {body}",
                $path
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

#[actix_rt::test]
async fn readiness_follows_the_sc_and_liveness_stays_true() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let client = cluster.client().await.unwrap();
        for (topic, partitions) in [("in", 2), ("out", 1)] {
            client
                .admin()
                .create_topic(topic, TopicConfig::new(partitions))
                .await
                .unwrap();
        }
        let mut config = PipelineConfig::new("in", "health-worker");
        config.sink = Some("out".into());
        let pipeline = start_pipeline(&client, config, |_| Echo::create(|_| Echo).recipient())
            .await
            .unwrap();
        let health = Health::new();
        health.watch_client(&client);
        health.watch_pipeline(pipeline.status());
        let app = test::init_service(App::new().configure(health_web::configure(health))).await;

        assert_eq!(until!(app, "/readyz", 200), "ok\n");
        assert_eq!(get!(app, "/healthz"), (200, "ok\n".to_owned()));

        cluster.stop_sc().await;
        let reasons = until!(app, "/readyz", 503);
        let sc = format!("SC connection to {} is ", cluster.sc_addr());
        assert!(reasons.starts_with(&sc), "{reasons}");
        assert_eq!(
            get!(app, "/healthz"),
            (200, "ok\n".to_owned()),
            "alive while the SC is away"
        );

        cluster.restart_sc().await.unwrap();
        assert_eq!(until!(app, "/readyz", 200), "ok\n");
        assert_eq!(get!(app, "/healthz"), (200, "ok\n".to_owned()));

        pipeline.drain().await.unwrap();
        let (status, reasons) = get!(app, "/readyz");
        assert_eq!(status, 503);
        assert!(
            reasons.starts_with("pipeline 'health-worker' is stopped\n"),
            "{reasons}"
        );
        assert!(reasons.contains("partition in-1 of pipeline 'health-worker': it ended"));
    })
    .await
    .expect("test timed out");
}
