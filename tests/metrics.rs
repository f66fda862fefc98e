//! `/metrics` scraped over HTTP reports the records that flowed.

use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::telemetry;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    socket.read_to_string(&mut body).await.unwrap();
    body
}

fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn counters_match_the_records_that_flowed() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        telemetry::serve_prometheus(port).unwrap();
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let client = FluvioClient::connect(ClientConfig::new(cluster.sc_addr()))
            .await
            .unwrap();
        client
            .admin()
            .create_topic("m", TopicConfig::new(1))
            .await
            .unwrap();
        // A refused request: the answer's error code is counted by name.
        client
            .admin()
            .create_topic("m", TopicConfig::new(1))
            .await
            .unwrap_err();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("m", (0..25).map(|i| (None::<&[u8]>, format!("{i:02}"))))
            .await
            .unwrap();
        let options = ConsumerOptions {
            disable_continuous: true,
            ..ConsumerOptions::default()
        };
        let mut stream = client.partition_consumer("m", 0, options).await.unwrap();
        let mut n = 0;
        while let Some(r) = stream.next().await {
            r.unwrap();
            n += 1;
        }
        assert_eq!(n, 25);
        let body = scrape(port).await;
        assert_eq!(
            value(&body, "fluvio_produced_records_total{topic=\"m\"}"),
            Some(25.0),
            "{body}"
        );
        assert_eq!(
            value(&body, "fluvio_produced_bytes_total{topic=\"m\"}").map(|b| b > 0.0),
            Some(true)
        );
        assert_eq!(
            value(
                &body,
                "fluvio_consumed_records_total{topic=\"m\",partition=\"0\"}"
            ),
            Some(25.0),
            "{body}"
        );
        assert!(
            body.contains("fluvio_requests_total{api=\"produce\"}"),
            "{body}"
        );
        assert!(body.contains("fluvio_request_duration_seconds"), "{body}");
        let refused = body.lines().find(|l| {
            l.starts_with("fluvio_response_errors_total{")
                && l.contains("code=\"TopicAlreadyExists\"")
        });
        assert_eq!(
            refused.and_then(|l| l.rsplit(' ').next()),
            Some("1"),
            "{body}"
        );
    })
    .await
    .expect("test timed out");
}
