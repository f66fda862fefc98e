//! Logs that cannot storm: a client busy through a long SC outage and a long SPU outage
//! (lookups, a producer, a continuous consumer) writes a handful of warnings, once per state
//! change, not one per attempt or per millisecond; a server that keeps dropping connections
//! as soon as they open is backed off from, not looped on. (Alone in its test binary: it installs
//! the process-wide subscriber that counts them.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::{DeliveryGuarantee, ProducerOptions, RetryPolicy};
use actix_fluvio::protocol::spu::STREAM_FETCH_KEY;
use actix_fluvio::protocol::{ErrorCode, Server};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Every warning or error logged, as "target: message".
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() <= tracing::Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            let line = format!("{}: {}", event.metadata().target(), message.0);
            self.0.lock().unwrap().push(line);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_outages_log_a_few_warnings_not_a_storm() {
    let warnings = Warnings::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(warnings.clone()))
        .expect("the only subscriber of this binary");
    let run = async {
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let client = cluster.client().await.unwrap();
        client
            .admin()
            .create_topic("t", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer.send("t", None, b"0").await.unwrap();
        // For the last outage: a producer with a 1 s delivery timeout that has written to
        // the topic before, as a long-running one has. (A producer's first record for a
        // topic needs the SC, which may still be reconnecting after the flapping below for
        // longer than that timeout: its enqueue would fail, not its receipt.)
        let short = client.producer(
            ProducerOptions::builder()
                .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                    timeout: Duration::from_secs(1),
                    ..RetryPolicy::default()
                }))
                .build(),
        );
        short.send("t", None, b"short").await.unwrap();
        let mut stream = client
            .partition_consumer("t", 0, ConsumerOptions::default())
            .await
            .unwrap();
        stream.next().await.unwrap().unwrap();
        let busy = {
            let (client, producer) = (client.clone(), producer.clone());
            tokio::spawn(async move {
                for i in 1.. {
                    let _ = client.partition_count("missing").await;
                    let _ = producer.enqueue("t", None, i.to_string().as_bytes()).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        cluster.stop_sc().await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        cluster.restart_sc().await.unwrap();
        cluster.stop_spu(5001).await.unwrap();
        tokio::time::sleep(Duration::from_secs(8)).await;
        // A restarted SPU answers streams with NotLeader until the SC tells it it leads
        // again (tens of seconds on a real SPU with large topics): those answers are the
        // same outage, not a resumed stream and a new loss each.
        cluster.fail_next_on(
            Server::Spu,
            STREAM_FETCH_KEY,
            ErrorCode::NotLeaderForPartition,
            3,
        );
        cluster.restart_spu(5001).await.unwrap();
        busy.abort();
        // Records buffered before the outage do not show the stream resumed: read on to one
        // written after it.
        producer.send("t", None, b"after").await.unwrap();
        let resumed = async {
            loop {
                let record = stream.next().await.expect("the stream goes on").unwrap();
                if record.value.as_ref() == b"after" {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(40), resumed)
            .await
            .expect("the consumer resumed");
        producer
            .flush()
            .await
            .expect("every record delivered after the outages");

        // A server that accepts and drops at once, 300 times in 3 s, while the producer
        // writes: the client backs off instead of reconnecting in a loop, and says so a few
        // times, not 300.
        let before = warnings.0.lock().unwrap().len();
        let busy = {
            let producer = producer.clone();
            tokio::spawn(async move {
                for i in 1.. {
                    let _ = producer.enqueue("t", None, i.to_string().as_bytes()).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        for _ in 0..300 {
            cluster.drop_connections();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        busy.abort();
        producer
            .send("t", None, b"after the flapping")
            .await
            .expect("delivered once the server keeps its connections");
        let flapping: Vec<String> = warnings.0.lock().unwrap()[before..].to_vec();
        assert!(
            flapping.len() <= 12,
            "300 dropped connections logged {} warnings: {flapping:?}",
            flapping.len()
        );

        // An SPU outage longer than the delivery timeout (here 1 s) while a record is queued
        // every 5 ms: every batch fails at its own deadline, and the failures are logged
        // once for the burst, not once per batch (nor not at all).
        let before_expiry = warnings.0.lock().unwrap().len();
        cluster.stop_spu(5001).await.unwrap();
        let mut receipts = Vec::new();
        for i in 0..600 {
            receipts.push(
                short
                    .enqueue("t", None, format!("x{i}").as_bytes())
                    .await
                    .unwrap(),
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut failed = 0;
        for receipt in receipts {
            failed += u32::from(receipt.wait().await.is_err());
        }
        cluster.restart_spu(5001).await.unwrap();
        let expired: Vec<String> = warnings.0.lock().unwrap()[before_expiry..]
            .iter()
            .filter(|w| w.contains("records not delivered"))
            .cloned()
            .collect();
        assert_eq!(
            failed, 600,
            "the SPU was down longer than the delivery timeout"
        );
        assert_eq!(expired.len(), 1, "600 records failed: {expired:?}");
        before
    };
    let outages = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the test finished");
    let warnings = warnings.0.lock().unwrap()[..outages].to_vec();
    println!("{} warnings:\n{}", warnings.len(), warnings.join("\n"));
    let stream_lost = warnings
        .iter()
        .filter(|w| w.starts_with("actix_fluvio::consumer::fetcher: stream lost"))
        .count();
    assert_eq!(stream_lost, 1, "one SPU outage, one warning: {warnings:?}");
    assert!(
        warnings.len() <= 30,
        "16 s of outages logged {} warnings (first: {:?})",
        warnings.len(),
        warnings.iter().take(10).collect::<Vec<_>>()
    );
}
