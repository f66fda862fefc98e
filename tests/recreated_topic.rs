//! A producer writing to a topic that is deleted and recreated under it (issue 23, item 8):
//! records wait for the topic within their delivery timeout, follow its new partition count,
//! and records of partitions it no longer has move to the ones it has, unless they were
//! sent there explicitly.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientError, FluvioClient};
use actix_fluvio::producer::{
    key_partition, DeliveryFuture, DeliveryGuarantee, ProducerError, ProducerOptions, RetryPolicy,
};

use common::bounded;
use common::embedded::{client, cluster, read_all, to_end};

fn options(timeout: Duration) -> ProducerOptions {
    ProducerOptions::builder()
        .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
            timeout,
            ..RetryPolicy::default()
        }))
        .build()
}

/// Wait until the client's cache gives `topic` `count` partitions (`None`: no topic).
async fn count_is(client: &FluvioClient, topic: &str, count: Option<u32>) {
    while client.metadata().await.unwrap().partition_count(topic) != count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every value stored in `topic`'s first `partitions` partitions.
async fn stored(client: &FluvioClient, topic: &str, partitions: u32) -> Vec<String> {
    let mut values = Vec::new();
    for p in 0..partitions {
        for record in read_all(client, topic, p, to_end()).await {
            values.push(String::from_utf8(record.value.to_vec()).unwrap());
        }
    }
    values.sort();
    values
}

#[tokio::test]
async fn records_of_partitions_a_recreated_topic_lacks_move_to_the_partitions_it_has() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        let admin = client.admin();
        admin.create_topic("t", TopicConfig::new(3)).await.unwrap();
        let producer = client.producer(options(Duration::from_secs(30)));
        producer.send("t", Some(b"k"), b"before").await.unwrap();

        admin.delete_topic("t").await.unwrap();
        count_is(&client, "t", None).await;
        // Queued while the topic is gone: by its last partition count, and retried.
        let mut window: Vec<(String, DeliveryFuture)> = Vec::new();
        for i in 0..30 {
            let key = format!("w{i}");
            let receipt = producer
                .enqueue("t", Some(key.as_bytes()), key.as_bytes())
                .await
                .unwrap();
            window.push((key, receipt));
        }
        let keyless = producer.enqueue("t", None, b"keyless").await.unwrap();
        let pinned = producer.enqueue_to("t", 2, None, b"pinned").await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        admin.create_topic("t", TopicConfig::new(2)).await.unwrap();
        count_is(&client, "t", Some(2)).await;
        let mut after = Vec::new();
        for i in 0..30 {
            let key = format!("a{i}");
            let receipt = producer
                .enqueue("t", Some(key.as_bytes()), key.as_bytes())
                .await
                .unwrap();
            after.push((key, receipt));
        }

        for (key, receipt) in window {
            let meta = receipt.wait().await.unwrap();
            let queued_at = key_partition(key.as_bytes(), 3);
            // Records of partitions 0 and 1 stay there; those of partition 2 are placed by
            // the new count.
            let expected = if queued_at < 2 {
                queued_at
            } else {
                key_partition(key.as_bytes(), 2)
            };
            assert_eq!(meta.partition, expected, "{key}");
        }
        for (key, receipt) in after {
            let meta = receipt.wait().await.unwrap();
            assert_eq!(meta.partition, key_partition(key.as_bytes(), 2), "{key}");
        }
        assert!(keyless.wait().await.unwrap().partition < 2);
        let err = pinned.wait().await.unwrap_err();
        assert!(
            matches!(
                err,
                ProducerError::Client(ClientError::PartitionNotFound { partition: 2, .. })
            ),
            "{err}"
        );
        let err = producer
            .enqueue_to("t", 2, None, b"too far")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ProducerError::Client(ClientError::PartitionNotFound { .. })
            ),
            "{err}"
        );

        // Each record stored once, in the new topic.
        let mut expected: Vec<String> = (0..30)
            .flat_map(|i| [format!("w{i}"), format!("a{i}")])
            .chain(["keyless".to_string()])
            .collect();
        expected.sort();
        assert_eq!(stored(&client, "t", 2).await, expected);
    })
    .await;
}

#[tokio::test]
async fn a_topic_recreated_with_more_partitions_is_partitioned_by_its_new_count() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        let admin = client.admin();
        admin.create_topic("t", TopicConfig::new(1)).await.unwrap();
        let producer = client.producer(options(Duration::from_secs(30)));
        producer.send("t", None, b"before").await.unwrap();

        admin.delete_topic("t").await.unwrap();
        admin.create_topic("t", TopicConfig::new(3)).await.unwrap();
        count_is(&client, "t", Some(3)).await;
        let mut partitions = BTreeSet::new();
        for i in 0..6 {
            let meta = producer
                .send("t", None, format!("{i}").as_bytes())
                .await
                .unwrap();
            partitions.insert(meta.partition);
        }
        assert_eq!(partitions, BTreeSet::from([0, 1, 2]));
        let meta = producer.send("t", Some(b"key"), b"k").await.unwrap();
        assert_eq!(meta.partition, key_partition(b"key", 3));
    })
    .await;
}

#[tokio::test]
async fn a_deleted_topic_is_waited_for_until_the_delivery_timeout() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("t", TopicConfig::new(1))
            .await
            .unwrap();
        let timeout = Duration::from_millis(1500);
        let producer = client.producer(options(timeout));
        producer.send("t", None, b"before").await.unwrap();

        client.admin().delete_topic("t").await.unwrap();
        count_is(&client, "t", None).await;
        let started = Instant::now();
        let err = producer.send("t", None, b"never").await.unwrap_err();
        let elapsed = started.elapsed();
        let ProducerError::DeliveryTimeout { last, .. } = &err else {
            panic!("{err}");
        };
        // The last attempt's lookup may be cut short by the deadline itself.
        assert!(
            matches!(
                **last,
                ProducerError::Client(
                    ClientError::TopicNotFound(_) | ClientError::MetadataTimeout { .. }
                )
            ),
            "{last}"
        );
        assert!(
            elapsed >= timeout - Duration::from_millis(100),
            "{elapsed:?}"
        );

        // A topic this producer never wrote to still fails at once.
        let err = producer.send("other", None, b"x").await.unwrap_err();
        assert!(
            matches!(err, ProducerError::Client(ClientError::TopicNotFound(_))),
            "{err}"
        );
    })
    .await;
}
