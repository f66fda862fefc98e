//! The official Fluvio client (`fluvio` 0.50.1, a dev-dependency only) against the embedded
//! test cluster, unchanged: connect, create a topic with the admin API, produce, consume
//! from the beginning, stop at the high watermark (FetchOffsets), commit consumer offsets.
//!
//! The official client runs its I/O on its own executor (async-io and
//! async-global-executor, through fluvio-future), so it needs no particular runtime; the test
//! cluster runs on tokio tasks of the test's multi-threaded runtime.

mod common;

use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use fluvio::config::{TlsCerts, TlsConfig, TlsPolicy};
use fluvio::consumer::{ConsumerConfigExt, ConsumerStream, OffsetManagementStrategy};
use fluvio::metadata::topic::TopicSpec;
use fluvio::{Fluvio, FluvioClusterConfig, Offset, RecordKey};
use futures_util::StreamExt;

use common::bounded;

async fn start(spus: usize) -> (TestCluster, Fluvio) {
    let cluster = TestCluster::start(TestClusterConfig {
        spus,
        ..TestClusterConfig::default()
    })
    .await
    .expect("cluster starts");
    let config = FluvioClusterConfig::new(cluster.sc_addr());
    let fluvio = Fluvio::connect_with_config(&config)
        .await
        .expect("the official client connects");
    (cluster, fluvio)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_creates_produces_and_consumes() {
    bounded(async {
        let (_cluster, fluvio) = start(2).await;
        let admin = fluvio.admin().await;
        admin
            .create(
                "fidelity".to_string(),
                false,
                TopicSpec::new_computed(2, 1, None),
            )
            .await
            .expect("topic created");
        let topics = admin.all::<TopicSpec>().await.expect("topics listed");
        assert_eq!(topics.len(), 1);
        assert_eq!(topics[0].name, "fidelity");

        let producer = fluvio.topic_producer("fidelity").await.expect("producer");
        for i in 0..10 {
            producer
                .send(RecordKey::NULL, format!("record-{i}"))
                .await
                .expect("sent");
        }
        producer.flush().await.expect("flushed");

        // Both partitions, from the beginning, up to the high watermark.
        let mut values = Vec::new();
        for partition in 0..2 {
            let config = ConsumerConfigExt::builder()
                .topic("fidelity")
                .partition(partition)
                .offset_start(Offset::beginning())
                .disable_continuous(true)
                .build()
                .expect("consumer config");
            let mut stream = fluvio.consumer_with_config(config).await.expect("consumer");
            while let Some(record) = stream.next().await {
                let record = record.expect("record");
                values.push(String::from_utf8(record.value().to_vec()).unwrap());
            }
        }
        values.sort();
        let mut expected: Vec<String> = (0..10).map(|i| format!("record-{i}")).collect();
        expected.sort();
        assert_eq!(values, expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(deprecated)]
async fn the_official_partition_consumer_streams_live_records() {
    bounded(async {
        let (_cluster, fluvio) = start(1).await;
        let admin = fluvio.admin().await;
        admin
            .create(
                "live".to_string(),
                false,
                TopicSpec::new_computed(1, 1, None),
            )
            .await
            .expect("topic created");
        let producer = fluvio.topic_producer("live").await.expect("producer");
        producer.send(RecordKey::NULL, "before").await.unwrap();
        producer.flush().await.unwrap();

        let consumer = fluvio
            .partition_consumer("live", 0)
            .await
            .expect("consumer");
        let mut stream = consumer.stream(Offset::beginning()).await.expect("stream");
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!((first.offset(), first.value()), (0, &b"before"[..]));

        producer.send(RecordKey::NULL, "after").await.unwrap();
        producer.flush().await.unwrap();
        let second = stream.next().await.unwrap().unwrap();
        assert_eq!((second.offset(), second.value()), (1, &b"after"[..]));

        // FetchOffsets: starting one from the end gives the last record.
        let mut tail = consumer.stream(Offset::from_end(1)).await.expect("stream");
        let last = tail.next().await.unwrap().unwrap();
        assert_eq!(last.offset(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_commits_and_reads_consumer_offsets() {
    bounded(async {
        let (_cluster, fluvio) = start(1).await;
        let admin = fluvio.admin().await;
        admin
            .create(
                "committed".to_string(),
                false,
                TopicSpec::new_computed(1, 1, None),
            )
            .await
            .expect("topic created");
        let producer = fluvio.topic_producer("committed").await.expect("producer");
        for v in ["a", "b", "c"] {
            producer.send(RecordKey::NULL, v).await.unwrap();
        }
        producer.flush().await.unwrap();

        let config = ConsumerConfigExt::builder()
            .topic("committed")
            .offset_consumer("reader")
            .offset_start(Offset::beginning())
            .offset_strategy(OffsetManagementStrategy::Manual)
            .build()
            .expect("consumer config");
        let mut stream = fluvio.consumer_with_config(config).await.expect("consumer");
        let first = stream.next().await.unwrap().unwrap();
        let second = stream.next().await.unwrap().unwrap();
        assert_eq!((first.offset(), second.offset()), (0, 1));
        stream.offset_commit().await.expect("committed");
        stream.offset_flush().await.expect("flushed");

        let offsets = fluvio.consumer_offsets().await.expect("offsets listed");
        assert_eq!(offsets.len(), 1);
        assert_eq!(offsets[0].consumer_id, "reader");
        assert_eq!(offsets[0].offset, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_verifies_the_cluster_over_tls() {
    bounded(async {
        let cluster = TestCluster::start(TestClusterConfig {
            tls: true,
            ..TestClusterConfig::default()
        })
        .await
        .expect("cluster starts");
        let identity = cluster.client_identity("client").unwrap().unwrap();
        let certs = TlsCerts {
            domain: cluster.domain().to_owned(),
            key: identity.key_pem,
            cert: identity.cert_pem,
            ca_cert: cluster.ca_pem().unwrap().to_owned(),
        };
        let config = FluvioClusterConfig::new(cluster.sc_addr())
            .with_tls(TlsPolicy::Verified(TlsConfig::Inline(certs)));
        let fluvio = Fluvio::connect_with_config(&config)
            .await
            .expect("verified TLS to the SC");
        let admin = fluvio.admin().await;
        admin
            .create(
                "sealed".to_string(),
                false,
                TopicSpec::new_computed(1, 1, None),
            )
            .await
            .expect("topic created");
        // The SPU connection checks `<spu-name>.<domain>`.
        let producer = fluvio.topic_producer("sealed").await.expect("producer");
        producer.send(RecordKey::NULL, "secret").await.unwrap();
        producer.flush().await.unwrap();
        let config = ConsumerConfigExt::builder()
            .topic("sealed")
            .offset_start(Offset::beginning())
            .disable_continuous(true)
            .build()
            .unwrap();
        let mut stream = fluvio.consumer_with_config(config).await.expect("consumer");
        let record = stream.next().await.unwrap().unwrap();
        assert_eq!(record.value(), b"secret");
        assert!(stream.next().await.is_none());

        // (The official `anonymous` policy is not exercised: it turns the connect host
        // into a DNS name and rejects "127.0.0.1" before any byte reaches the cluster.)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_round_trips_every_topic_compression() {
    use fluvio::metadata::topic::CompressionAlgorithm;
    bounded(async {
        let (_cluster, fluvio) = start(1).await;
        let admin = fluvio.admin().await;
        let codecs = [
            ("gzip", CompressionAlgorithm::Gzip),
            ("snappy", CompressionAlgorithm::Snappy),
            ("lz4", CompressionAlgorithm::Lz4),
            ("zstd", CompressionAlgorithm::Zstd),
        ];
        for (name, codec) in codecs {
            let mut spec = TopicSpec::new_computed(1, 1, None);
            spec.set_compression_type(codec);
            admin
                .create(name.to_string(), false, spec)
                .await
                .expect("topic created");
            // The official producer compresses with the topic's codec; the SPU checks it.
            let producer = fluvio.topic_producer(name).await.expect("producer");
            for i in 0..3 {
                producer
                    .send(RecordKey::NULL, format!("{name}-{i}"))
                    .await
                    .unwrap();
            }
            producer.flush().await.expect("accepted by the SPU");
            let config = ConsumerConfigExt::builder()
                .topic(name)
                .offset_start(Offset::beginning())
                .disable_continuous(true)
                .build()
                .unwrap();
            let mut stream = fluvio.consumer_with_config(config).await.expect("consumer");
            let mut values = Vec::new();
            while let Some(record) = stream.next().await {
                values.push(String::from_utf8(record.unwrap().value().to_vec()).unwrap());
            }
            assert_eq!(values, [0, 1, 2].map(|i| format!("{name}-{i}")), "{name}");
        }
    })
    .await;
}
