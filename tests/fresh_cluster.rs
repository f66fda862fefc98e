//! A fresh or changed cluster under a running client (issue 23, item 8): an SC restarted
//! with empty state, a topic deleted and recreated with another partition count, a
//! partition log that went backwards, an SPU removed from the cluster. (The producer's side
//! of a recreated topic is in `recreated_topic.rs`.) This binary installs a process-wide
//! subscriber that keeps the warnings about logs going backwards.

mod common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientError, FluvioClient, MetadataCache};
use actix_fluvio::consumer::{ConsumerOptions, Offset, PartitionStream};
use actix_fluvio::producer::ProducerOptions;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use common::bounded;
use common::embedded::{client, cluster};

/// The warnings logged by this binary, as "topic: message".
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

#[derive(Default)]
struct Fields {
    message: String,
    topic: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "topic" => self.topic = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut fields = Fields::default();
            event.record(&mut fields);
            let line = format!("{}: {}", fields.topic, fields.message);
            self.0.lock().unwrap().push(line);
        }
    }
}

/// The warnings of this binary (the subscriber is installed on first use).
fn warnings() -> Warnings {
    static WARNINGS: OnceLock<Warnings> = OnceLock::new();
    WARNINGS
        .get_or_init(|| {
            let warnings = Warnings::default();
            let subscriber = tracing_subscriber::registry().with(warnings.clone());
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            warnings
        })
        .clone()
}

/// How many "went backwards" warnings name `topic`.
fn rewinds(topic: &str) -> usize {
    let lines = warnings().0.lock().unwrap().clone();
    let prefix = format!("{topic}: partition log went backwards");
    lines.iter().filter(|l| l.starts_with(&prefix)).count()
}

/// Poll the client's metadata cache until `done` holds (every 20 ms).
async fn cache_until(client: &FluvioClient, done: impl Fn(&MetadataCache) -> bool) {
    loop {
        if done(&client.metadata().await.unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_sc_restarted_with_empty_state_empties_the_cache_and_closes_spu_connections() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("t", TopicConfig::new(2))
            .await
            .unwrap();
        let spu = client.low_level().leader_connection("t", 0).await.unwrap();
        cache_until(&client, |c| c.partition_count("t") == Some(2)).await;
        let mut topology = client.topology_changes();
        topology.borrow_and_update();

        cluster.restart_sc_empty().await.unwrap();

        // The resumed watches start with empty snapshots: nothing is left.
        cache_until(&client, |c| {
            c.spus.values().count() == 0
                && c.partitions.values().count() == 0
                && c.topics.values().count() == 0
        })
        .await;
        assert!(
            topology.has_changed().unwrap(),
            "topics and partitions went"
        );
        let err = client.partition_leader("t", 0).await.unwrap_err();
        assert!(matches!(err, ClientError::TopicNotFound(_)), "{err}");
        // The SPU is no longer listed: its pooled connection is closed, not kept retrying.
        while !spu.is_closed() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn connections_to_an_spu_removed_from_the_cluster_are_closed() {
    let cluster = cluster(2).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("t", TopicConfig::new(2))
            .await
            .unwrap();
        let (first, second) = (cluster.spu_ids()[0], cluster.spu_ids()[1]);
        let leaders = [
            client.partition_leader("t", 0).await.unwrap(),
            client.partition_leader("t", 1).await.unwrap(),
        ];
        let kept = client
            .low_level()
            .spu_connection(leaders[0].clone())
            .await
            .unwrap();
        let removed = client
            .low_level()
            .spu_connection(leaders[1].clone())
            .await
            .unwrap();
        assert_eq!((leaders[0].id, leaders[1].id), (first, second));

        cluster.remove_spu(second).await.unwrap();

        while !removed.is_closed() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let cache = client.metadata().await.unwrap();
        assert!(cache.spus.values().all(|s| s.spec.id != second));
        assert!(
            !kept.is_closed(),
            "the SPU still listed keeps its connection"
        );
        // The pool opens a new connection when the SPU comes back.
        cluster.restart_spu(second).await.unwrap();
        let leader = client.fresh_partition_leader("t", 1).await.unwrap();
        let again = client.low_level().spu_connection(leader).await.unwrap();
        assert!(!again.is_closed());
    })
    .await;
}

/// The next record's offset and value.
async fn next(stream: &mut PartitionStream) -> (i64, String) {
    let record = stream.next().await.unwrap().unwrap();
    let value = String::from_utf8(record.value.to_vec()).unwrap();
    (record.offset, value)
}

/// A one-partition `topic` with records v0..v9 (one batch each) and a consumer with offset
/// policy `policy` waiting at offset 10 (it read them all, or started at the end); then the
/// log is cut back to 4 records.
async fn read_then_rewind(
    cluster: &actix_fluvio::testkit::TestCluster,
    client: &FluvioClient,
    topic: &str,
    policy: Offset,
) -> PartitionStream {
    client
        .admin()
        .create_topic(topic, TopicConfig::new(1))
        .await
        .unwrap();
    let producer = client.producer(ProducerOptions::default());
    for i in 0..10 {
        producer
            .send(topic, None, format!("v{i}").as_bytes())
            .await
            .unwrap();
    }
    let options = ConsumerOptions::builder().offset(policy).build();
    let stream = match policy {
        Offset::End => client.partition_consumer(topic, 0, options).await.unwrap(),
        _ => {
            let mut stream = client.partition_consumer(topic, 0, options).await.unwrap();
            for _ in 0..10 {
                next(&mut stream).await;
            }
            stream
        }
    };
    // The stream is open at offset 10 (let it reach the SPU) when the log goes back to 4.
    tokio::time::sleep(Duration::from_millis(200)).await;
    warnings();
    cluster.truncate_partition(topic, 0, 4).unwrap();
    stream
}

#[tokio::test]
async fn a_consumer_whose_log_went_backwards_says_so_and_rereads_it_from_the_beginning() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        let mut stream = read_then_rewind(&cluster, &client, "back-b", Offset::Beginning).await;
        // Not waiting past the end: the records of the new log, from its beginning.
        for i in 0..4 {
            assert_eq!(next(&mut stream).await, (i, format!("v{i}")));
        }
        let producer = client.producer(ProducerOptions::default());
        producer.send("back-b", None, b"n4").await.unwrap();
        assert_eq!(next(&mut stream).await, (4, "n4".to_string()));
        assert_eq!(rewinds("back-b"), 1, "{:?}", warnings().0.lock().unwrap());
    })
    .await;
}

#[tokio::test]
async fn a_consumer_starting_at_the_end_resumes_at_the_end_of_a_log_that_went_backwards() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        let mut stream = read_then_rewind(&cluster, &client, "back-e", Offset::End).await;
        while rewinds("back-e") == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let producer = client.producer(ProducerOptions::default());
        producer.send("back-e", None, b"n4").await.unwrap();
        assert_eq!(next(&mut stream).await, (4, "n4".to_string()));
        assert_eq!(rewinds("back-e"), 1);
    })
    .await;
}
