//! Delivery deadlines and acknowledgements against the embedded test cluster: each batch
//! fails at its own delivery deadline (not with the oldest batch it was retried beside, not
//! a request timeout later), and records the leader stored but its replicas did not confirm
//! in time are waited for, not sent again.

mod common;

use std::time::{Duration, Instant};

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::producer::{DeliveryGuarantee, ProducerError, ProducerOptions, RetryPolicy};
use actix_fluvio::protocol::spu::PRODUCE_KEY;
use actix_fluvio::protocol::Server;

use common::bounded;
use common::embedded::{client_config, cluster_with_topics};

fn delivery_within(timeout: Duration) -> ProducerOptions {
    ProducerOptions::builder()
        .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
            timeout,
            ..RetryPolicy::default()
        }))
        .server_timeout(Duration::from_millis(200))
        .build()
}

/// `send` fails with `DeliveryTimeout` at the 2 s delivery timeout (± scheduling).
async fn fails_at_its_deadline<T: std::fmt::Debug>(
    send: impl std::future::Future<Output = Result<T, ProducerError>>,
) {
    let started = Instant::now();
    let error = send.await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error, ProducerError::DeliveryTimeout { .. }),
        "{error}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(3500),
        "failed at {took:?}, its deadline was 2 s"
    );
}

#[tokio::test]
async fn records_the_replicas_confirm_late_are_acknowledged_once_not_sent_again() {
    let (cluster, client) = cluster_with_topics(1, &[("slow-replicas", 1)]).await;
    bounded(async {
        cluster.hold_replication("slow-replicas", 0, true).unwrap();
        let producer = client.producer(delivery_within(Duration::from_secs(30)));
        let mut receipts = Vec::new();
        for i in 0..3 {
            let value = format!("r{i}");
            receipts.push(
                producer
                    .enqueue("slow-replicas", None, value.as_bytes())
                    .await
                    .unwrap(),
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Far more than the 200 ms server timeout: a resending producer would have stored
        // each batch several times by now.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cluster.hold_replication("slow-replicas", 0, false).unwrap();
        let mut offsets = Vec::new();
        for receipt in receipts {
            offsets.push(receipt.wait().await.expect("acknowledged").offset);
        }
        assert_eq!(offsets, vec![0, 1, 2]);
        assert_eq!(
            client.partition_offsets("slow-replicas", 0).await.unwrap(),
            (0, 3),
            "each record stored once"
        );
        assert!(
            cluster.requests_served(Server::Spu, PRODUCE_KEY) <= 3,
            "one produce request per batch: {}",
            cluster.requests_served(Server::Spu, PRODUCE_KEY)
        );
    })
    .await;
}

#[tokio::test]
async fn records_the_replicas_never_confirm_fail_at_their_deadline_stored_once() {
    let (cluster, client) = cluster_with_topics(1, &[("stuck-replicas", 1)]).await;
    bounded(async {
        cluster.hold_replication("stuck-replicas", 0, true).unwrap();
        let producer = client.producer(delivery_within(Duration::from_secs(2)));
        fails_at_its_deadline(producer.send("stuck-replicas", None, b"never confirmed")).await;
        assert_eq!(
            cluster.requests_served(Server::Spu, PRODUCE_KEY),
            1,
            "written once, then waited for"
        );
        cluster
            .hold_replication("stuck-replicas", 0, false)
            .unwrap();
        assert_eq!(
            client.partition_offsets("stuck-replicas", 0).await.unwrap(),
            (0, 1),
            "stored once (the leader has it: a timeout does not take it back)"
        );
    })
    .await;
}

#[tokio::test]
async fn a_silent_spu_fails_a_record_at_its_deadline_not_a_request_timeout_later() {
    let (cluster, _) = cluster_with_topics(1, &[("silent", 1)]).await;
    bounded(async {
        let mut config: ClientConfig = client_config(&cluster);
        config.connection.request_timeout = Duration::from_secs(50);
        let client = FluvioClient::connect(config).await.unwrap();
        let producer = client.producer(delivery_within(Duration::from_secs(2)));
        producer.send("silent", None, b"warm-up").await.unwrap();
        cluster.stall_connections(Server::Spu);
        // The request timeout is 50 s.
        fails_at_its_deadline(producer.send("silent", None, b"unanswered")).await;
    })
    .await;
}

#[tokio::test]
async fn each_batch_keeps_its_own_delivery_deadline_through_an_outage() {
    let (cluster, client) = cluster_with_topics(1, &[("outage", 1)]).await;
    bounded(async {
        let producer = client.producer(delivery_within(Duration::from_secs(3)));
        producer.send("outage", None, b"before").await.unwrap();
        let spu = cluster.spu_ids()[0];
        cluster.stop_spu(spu).await.unwrap();
        let started = Instant::now();
        let old = producer.enqueue("outage", None, b"old").await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let young = producer.enqueue("outage", None, b"young").await.unwrap();
        let old = old.wait().await.unwrap_err();
        let old_failed_at = started.elapsed();
        assert!(
            matches!(old, ProducerError::DeliveryTimeout { .. }),
            "{old}"
        );
        assert!(
            old_failed_at >= Duration::from_secs(3) && old_failed_at < Duration::from_millis(4500),
            "the old record failed at {old_failed_at:?}, its deadline was 3 s"
        );
        // The young record has 2 s left: the SPU comes back within them.
        cluster.restart_spu(spu).await.unwrap();
        let young = young.wait().await.expect("the young record is delivered");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "delivered before its own deadline"
        );
        assert_eq!(young.offset, 1);
    })
    .await;
}

#[tokio::test]
async fn records_resent_after_they_may_have_been_stored_are_counted_and_nothing_else() {
    let metrics = common::prometheus::metrics_addr();
    let (cluster, client) = cluster_with_topics(1, &[("twice", 1)]).await;
    bounded(async {
        let producer = client.producer(delivery_within(Duration::from_secs(30)));
        producer.send("twice", None, b"first").await.unwrap();
        let counted = || async {
            let body = common::prometheus::scrape(metrics).await;
            let series = "fluvio_producer_possibly_duplicated_records_total{topic=\"twice\"}";
            common::prometheus::value(&body, series).unwrap_or(0.0)
        };

        // Written, and the connection dies before the answer: sent again, stored twice.
        cluster.set_response_delay(Duration::from_millis(800));
        let receipt = producer
            .enqueue("twice", None, b"maybe twice")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        cluster.drop_connections();
        cluster.set_response_delay(Duration::ZERO);
        receipt.wait().await.expect("delivered after the loss");
        let (_, end) = client.partition_offsets("twice", 0).await.unwrap();
        assert_eq!(end, 3, "the lost answer's record is stored twice");
        assert_eq!(counted().await, 1.0, "the one record sent again is counted");

        // The SPU is down before the request: never written, sent later, counted nowhere.
        let spu = cluster.spu_ids()[0];
        cluster.stop_spu(spu).await.unwrap();
        let receipt = producer.enqueue("twice", None, b"once").await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        cluster.restart_spu(spu).await.unwrap();
        receipt.wait().await.expect("delivered after the restart");
        let (_, end) = client.partition_offsets("twice", 0).await.unwrap();
        assert_eq!(end, 4, "stored once");
        assert_eq!(
            counted().await,
            1.0,
            "retries of requests never written are not counted"
        );
    })
    .await;
}
