//! Close means closed, against the embedded test cluster: at the drain deadline the producer
//! stops for good (nothing it already failed is written later), sends after a close fail at
//! once, enqueues racing a close all resolve, a stopped actix System fails its producer's
//! pending records, a record whose delivery deadline passes while its leader is looked up
//! reports the failure that made it wait, and fire-and-forget records (`ProduceRecord`) that
//! are not delivered are counted and logged once per burst.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::cluster::{ClientError, FluvioClient};
use actix_fluvio::producer::{
    DeliveryFuture, DeliveryGuarantee, ProduceRecord, Producer, ProducerError, ProducerOptions,
    RetryPolicy,
};
use actix_fluvio::protocol::spu::PRODUCE_KEY;
use actix_fluvio::protocol::Server;

use bytes::Bytes;
use common::embedded::{client_config, cluster_with_topics};
use common::within;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

const SPU: i32 = 5001;

/// `outcome` is the failure of a closed producer: `Closed` or `DrainDeadline`.
fn is_closed<T: std::fmt::Debug>(outcome: &Result<T, ProducerError>) -> bool {
    matches!(
        outcome,
        Err(ProducerError::Closed | ProducerError::DrainDeadline(_))
    )
}

/// Queue `n` records on topic "t".
async fn enqueue(producer: &Producer, n: usize) -> Vec<DeliveryFuture> {
    let mut futures = Vec::new();
    for i in 0..n {
        let value = format!("r{i}");
        futures.push(producer.enqueue("t", None, value.as_bytes()).await.unwrap());
    }
    futures
}

#[tokio::test]
async fn at_the_drain_deadline_nothing_failed_is_written_later() {
    let (cluster, client) = cluster_with_topics(1, &[("t", 1)]).await;
    within(60, "the test", async {
        let producer = client.producer(
            ProducerOptions::builder()
                .drain_deadline(Duration::from_millis(500))
                .build(),
        );
        producer.send("t", None, b"warm-up").await.unwrap();
        cluster.stop_spu(SPU).await.unwrap();
        let futures = enqueue(&producer, 20).await;
        // Let the batch fail once: it now waits for a retry (and then a leader lookup).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let closed = within(5, "close", producer.close()).await;
        assert!(
            matches!(closed, Err(ProducerError::DrainDeadline(_))),
            "{closed:?}"
        );
        for future in futures {
            let outcome = within(5, "a record's outcome", future.wait()).await;
            assert!(
                matches!(outcome, Err(ProducerError::DrainDeadline(_))),
                "{outcome:?}"
            );
        }
        let served = cluster.requests_served(Server::Spu, PRODUCE_KEY);
        cluster.restart_spu(SPU).await.unwrap();
        // Longer than the longest retry delay (1 s) and a leader lookup after it.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            client.partition_offsets("t", 0).await.unwrap(),
            (0, 1),
            "only the warm-up record is stored: the failed records were not sent again"
        );
        assert_eq!(
            cluster.requests_served(Server::Spu, PRODUCE_KEY),
            served,
            "no produce request after the drain deadline"
        );
    })
    .await;
}

#[tokio::test]
async fn sends_after_a_close_fail_at_once() {
    let (cluster, client) = cluster_with_topics(1, &[("t", 1)]).await;
    within(60, "the test", async {
        // A clean close.
        let producer = client.producer(ProducerOptions::default());
        producer.send("t", None, b"before").await.unwrap();
        producer.close().await.unwrap();
        let sent = within(1, "send after close", producer.send("t", None, b"after")).await;
        assert!(matches!(sent, Err(ProducerError::Closed)), "{sent:?}");

        // A close at the drain deadline with the byte budget full of records that wait for
        // a retry: nothing waits for room any more.
        let producer = client.producer(
            ProducerOptions::builder()
                .buffer_bytes(4096)
                .drain_deadline(Duration::from_millis(300))
                .build(),
        );
        producer.send("t", None, b"warm-up").await.unwrap();
        cluster.stop_spu(SPU).await.unwrap();
        let mut futures = Vec::new();
        loop {
            match producer.try_enqueue("t", None, &[7; 100]).await {
                Ok(future) => futures.push(future),
                Err(ProducerError::QueueFull) => break,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(!futures.is_empty());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let closed = within(5, "close", producer.close()).await;
        assert!(
            matches!(closed, Err(ProducerError::DrainDeadline(_))),
            "{closed:?}"
        );
        let sent = within(1, "send", producer.send("t", None, b"late")).await;
        assert!(matches!(sent, Err(ProducerError::Closed)), "{sent:?}");
        let queued = within(1, "enqueue", producer.enqueue("t", None, b"late")).await;
        assert!(matches!(queued, Err(ProducerError::Closed)), "{queued:?}");
        let tried = within(1, "try_enqueue", producer.try_enqueue("t", None, b"late")).await;
        assert!(matches!(tried, Err(ProducerError::Closed)), "{tried:?}");
        for future in futures {
            assert!(is_closed(&within(5, "a record", future.wait()).await));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueues_racing_a_close_all_resolve() {
    let (_cluster, client) = cluster_with_topics(1, &[("t", 4)]).await;
    within(60, "the test", async {
        for round in 0..5 {
            let producer =
                client.producer(ProducerOptions::builder().buffer_bytes(64 * 1024).build());
            let mut tasks = Vec::new();
            for task in 0..8 {
                let producer = producer.clone();
                tasks.push(tokio::spawn(async move {
                    let (mut delivered, mut refused) = (0, 0);
                    for i in 0..400 {
                        let value = format!("{round}-{task}-{i}");
                        match producer.enqueue("t", None, value.as_bytes()).await {
                            Ok(future) => match future.wait().await {
                                Ok(_) => delivered += 1,
                                Err(e) => panic!("a queued record failed: {e}"),
                            },
                            Err(ProducerError::Closed) => refused += 1,
                            Err(other) => panic!("{other}"),
                        }
                    }
                    (delivered, refused)
                }));
            }
            tokio::time::sleep(Duration::from_millis(20 * round)).await;
            within(10, "close", producer.close()).await.unwrap();
            let mut refused = 0;
            for task in tasks {
                refused += within(10, "an enqueue racing the close", task)
                    .await
                    .unwrap()
                    .1;
            }
            assert!(
                refused > 0,
                "round {round}: the close came after every send"
            );
        }
    })
    .await;
}

/// Whether a thread named `stopped-system` panicked (a producer torn down with its runtime
/// must not try to set timers on it).
static SYSTEM_PANICKED: AtomicBool = AtomicBool::new(false);

#[tokio::test]
async fn stopping_the_actix_system_fails_every_pending_record() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("stopped-system") {
            SYSTEM_PANICKED.store(true, Ordering::SeqCst);
        }
        default_hook(info);
    }));
    let (cluster, _client) = cluster_with_topics(1, &[("t", 1)]).await;
    cluster.stop_spu(SPU).await.unwrap();
    let config = client_config(&cluster);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("stopped-system".into())
        .spawn(move || {
            let system = actix_rt::System::new();
            let kept = system.block_on(async move {
                let client = FluvioClient::connect(config).await.unwrap();
                let producer = client.producer(ProducerOptions::default());
                let futures = enqueue(&producer, 20).await;
                tx.send(futures).unwrap();
                actix_rt::System::current().stop();
                // Dropped once the System is gone: no Close reaches the actor before.
                (client, producer)
            });
            system.run().unwrap();
            drop(kept);
        })
        .unwrap();
    let futures = within(20, "records queued", rx).await.unwrap();
    for future in futures {
        let outcome = within(5, "a record of the stopped System", future.wait()).await;
        assert!(is_closed(&outcome), "{outcome:?}");
    }
    thread.join().unwrap();
    assert!(
        !SYSTEM_PANICKED.load(Ordering::SeqCst),
        "the producer panicked while its System went down"
    );
}

#[tokio::test]
async fn a_deadline_passing_in_a_leader_lookup_reports_the_failure_that_started_the_retries() {
    let (cluster, client) = cluster_with_topics(1, &[("t", 1)]).await;
    within(60, "the test", async {
        let producer = client.producer(
            ProducerOptions::builder()
                .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                    timeout: Duration::from_secs(2),
                    ..RetryPolicy::default()
                }))
                .build(),
        );
        producer.send("t", None, b"warm-up").await.unwrap();
        cluster.stop_spu(SPU).await.unwrap();
        let started = Instant::now();
        let error = producer.send("t", None, b"late").await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(4));
        let ProducerError::DeliveryTimeout { last, .. } = &error else {
            panic!("{error}");
        };
        // The send after the SPU stopped failed on its connection; the retry's lookup then
        // waited for a leader until the deadline.
        assert!(
            matches!(**last, ProducerError::Client(ClientError::Connection(_))),
            "the failure that started the retries, not the lookup the deadline cut short: {error}"
        );
    })
    .await;
}

/// The error lines the library logs on this thread.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> Layer<S> for Errors {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() == tracing::Level::ERROR && meta.target().starts_with("actix_fluvio") {
            self.0.lock().unwrap().push(format!("{event:?}"));
        }
    }
}

#[actix_rt::test]
async fn fire_and_forget_records_not_delivered_are_counted_and_logged_once_per_burst() {
    let errors = Errors::default();
    // The producer's actor and its watchers run on this thread (the test's actix System).
    let _logs =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(errors.clone()));
    let metrics = common::prometheus::metrics_addr();
    let (cluster, client) = cluster_with_topics(1, &[("faf", 1)]).await;
    within(60, "the test", async {
        let producer = client.producer(
            ProducerOptions::builder()
                .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                    timeout: Duration::from_secs(1),
                    ..RetryPolicy::default()
                }))
                .build(),
        );
        producer.send("faf", None, b"warm-up").await.unwrap();
        cluster.stop_spu(SPU).await.unwrap();
        let record = |value: Vec<u8>| ProduceRecord {
            topic: "faf".into(),
            key: None,
            value: Bytes::from(value),
        };
        let actor = producer.actor();
        for i in 0..20 {
            actor
                .send(record(format!("r{i}").into_bytes()))
                .await
                .unwrap();
        }
        // Larger than a request may be: refused when queued.
        for _ in 0..3 {
            actor.send(record(vec![0; 2 << 20])).await.unwrap();
        }
        let dropped = |code: &'static str| async move {
            let body = common::prometheus::scrape(metrics).await;
            let series =
                format!("fluvio_producer_records_dropped_total{{topic=\"faf\",code=\"{code}\"}}");
            common::prometheus::value(&body, &series).unwrap_or(0.0)
        };
        let started = Instant::now();
        while dropped("delivery_timeout").await < 20.0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "20 records past their delivery timeout, counted {}",
                dropped("delivery_timeout").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(dropped("delivery_timeout").await, 20.0);
        assert_eq!(dropped("client").await, 3.0);
        let errors = errors.0.lock().unwrap();
        assert_eq!(errors.len(), 1, "one line for the burst: {errors:#?}");
    })
    .await;
}
