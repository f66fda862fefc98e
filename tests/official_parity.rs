//! Our producer and consumer beside the official `fluvio` 0.50.1 client on the embedded test
//! cluster: keyed records land on the same partitions, and what our producer writes with
//! every codec the official consumer reads back.

mod common;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::producer::{key_partition, ProducerOptions};
use actix_fluvio::protocol::record::Compression;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use fluvio::consumer::ConsumerConfigExtBuilder;
use fluvio::{Fluvio, FluvioClusterConfig, Offset};
use futures_util::StreamExt;

use common::bounded;

async fn setup() -> (TestCluster, FluvioClient, Fluvio) {
    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .unwrap();
    let ours = FluvioClient::connect(ClientConfig::new(cluster.sc_addr()))
        .await
        .unwrap();
    let official = Fluvio::connect_with_config(&FluvioClusterConfig::new(cluster.sc_addr()))
        .await
        .unwrap();
    (cluster, ours, official)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_go_to_the_same_partitions_as_with_the_official_client() {
    bounded(async {
        let (_cluster, ours, official) = setup().await;
        ours.admin()
            .create_topic("keyed", TopicConfig::new(5))
            .await
            .unwrap();
        let theirs = official.topic_producer("keyed").await.unwrap();
        let producer = ours.producer(ProducerOptions::default());
        for i in 0..50 {
            let key = format!("customer-{i}");
            let output = theirs.send(key.clone(), "v").await.unwrap();
            let official_partition = output.wait().await.unwrap().partition_id();
            let our_partition = producer
                .send("keyed", Some(key.as_bytes()), b"v")
                .await
                .unwrap()
                .partition;
            assert_eq!(our_partition, official_partition, "key {key}");
            assert_eq!(key_partition(key.as_bytes(), 5), official_partition);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_consumer_reads_what_we_produce_with_every_codec() {
    bounded(async {
        let (_cluster, ours, official) = setup().await;
        ours.admin()
            .create_topic("codecs", TopicConfig::new(1))
            .await
            .unwrap();
        let mut expected = Vec::new();
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let producer = ours.producer(ProducerOptions::builder().compression(codec).build());
            let records: Vec<(Option<String>, String)> = (0..4)
                .map(|i| (Some(format!("k{i}")), format!("{codec}-{i}")))
                .collect();
            producer
                .send_batch("codecs", records.clone())
                .await
                .unwrap();
            expected.extend(records);
        }
        let config = ConsumerConfigExtBuilder::default()
            .topic("codecs".to_string())
            .partition(0)
            .offset_start(Offset::beginning())
            .disable_continuous(true)
            .build()
            .unwrap();
        let mut stream = official.consumer_with_config(config).await.unwrap();
        let mut got = Vec::new();
        while let Some(record) = stream.next().await {
            let record = record.unwrap();
            let key = record.key().map(|k| String::from_utf8(k.to_vec()).unwrap());
            got.push((key, String::from_utf8(record.value().to_vec()).unwrap()));
            if got.len() == expected.len() {
                break;
            }
        }
        assert_eq!(got, expected);
    })
    .await;
}
