//! The cluster client and admin against the embedded test cluster, from plain tokio and
//! from an actix system. (Producer, consumer and consumer-offset tests: `producer.rs`,
//! `consumer.rs`, `consumer_offsets.rs`.)

mod common;

use actix_fluvio::admin::{AdminError, TopicChange, TopicConfig};
use actix_fluvio::cluster::ClientError;
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::protocol::sc::CompressionAlgorithm;
use actix_fluvio::protocol::ErrorCode;

use common::bounded;
use common::embedded::{client, cluster, read_all, to_end};

#[tokio::test]
async fn discovers_leaders_from_a_plain_tokio_runtime() {
    let cluster = cluster(2).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("t", TopicConfig::new(4))
            .await
            .unwrap();
        assert_eq!(client.partition_count("t").await.unwrap(), 4);
        let mut leaders = Vec::new();
        for p in 0..4 {
            let leader = client.partition_leader("t", p).await.unwrap();
            assert_eq!(Some(leader.addr.clone()), cluster.spu_addr(leader.id));
            leaders.push(leader.id);
        }
        leaders.sort();
        leaders.dedup();
        assert_eq!(leaders.len(), 2, "partitions spread over both SPUs");
        let err = client.partition_leader("missing", 0).await.unwrap_err();
        assert!(matches!(err, ClientError::TopicNotFound(_)), "{err}");
        let err = client.partition_leader("t", 9).await.unwrap_err();
        assert!(
            matches!(err, ClientError::PartitionNotFound { .. }),
            "{err}"
        );
    })
    .await;
}

#[actix_rt::test]
async fn works_inside_an_actix_system_too() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("a", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        let meta = producer.send("a", None, b"hello").await.unwrap();
        assert_eq!((meta.partition, meta.offset), (0, 0));
        let records = read_all(&client, "a", 0, to_end()).await;
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0].value[..], b"hello");
    })
    .await;
}

#[tokio::test]
async fn admin_manages_topics_partitions_and_spus_with_typed_errors() {
    let cluster = cluster(2).await;
    bounded(async {
        let client = client(&cluster).await;
        let admin = client.admin();
        let mut watch = admin.watch_topics().await.unwrap();
        let Some(Ok(TopicChange::Snapshot(topics))) = watch.next().await else {
            panic!("no snapshot")
        };
        assert!(
            topics.iter().all(|t| t.spec.system),
            "only system topics yet: {topics:?}"
        );

        admin
            .create_topic(
                "orders",
                TopicConfig::new(2).compression(CompressionAlgorithm::Lz4),
            )
            .await
            .unwrap();
        let err = admin
            .create_topic("orders", TopicConfig::new(2))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AdminError::TopicAlreadyExists(n) if n == "orders"),
            "{err}"
        );
        assert_eq!(err.code(), Some(ErrorCode::TopicAlreadyExists));
        admin
            .create_topic_with("dry", TopicConfig::new(1).into_spec(), true)
            .await
            .unwrap();
        assert!(
            admin.get_topic("dry").await.unwrap().is_none(),
            "dry run creates nothing"
        );

        let Some(Ok(TopicChange::Updated(created))) = watch.next().await else {
            panic!("no update")
        };
        assert_eq!(created.name, "orders");

        let topic = admin.get_topic("orders").await.unwrap().unwrap();
        assert_eq!(topic.spec.compression_type, CompressionAlgorithm::Lz4);
        assert!(admin.get_topic("nope").await.unwrap().is_none());
        let user_topics: Vec<_> = admin
            .list_topics()
            .await
            .unwrap()
            .into_iter()
            .filter(|t| !t.spec.system)
            .collect();
        assert_eq!(user_topics.len(), 1);

        let partitions = admin.list_partitions(Some("orders")).await.unwrap();
        assert_eq!(
            partitions.iter().map(|p| p.partition).collect::<Vec<_>>(),
            vec![0, 1]
        );
        let spus = admin.list_spus().await.unwrap();
        assert_eq!(spus.len(), 2);
        assert!(spus.iter().all(|s| s.online && s.public_endpoint.is_some()));
        assert!(matches!(
            admin.register_spu(7001, "no-port", "127.0.0.1:7002").await,
            Err(AdminError::InvalidConfiguration { .. })
        ));
        // The embedded cluster has no custom SPUs: the SC's refusal comes back typed.
        let refused = admin
            .register_spu(7001, "127.0.0.1:7001", "127.0.0.1:7002")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::SpuError), "{refused}");

        admin.add_partitions("orders", 1).await.unwrap();
        assert_eq!(
            admin.list_partitions(Some("orders")).await.unwrap().len(),
            3
        );

        admin.delete_topic("orders").await.unwrap();
        let err = admin.delete_topic("orders").await.unwrap_err();
        assert!(matches!(err, AdminError::TopicNotFound(_)), "{err}");
        let err = admin
            .create_topic("bad", TopicConfig::new(0))
            .await
            .unwrap_err();
        assert!(err.code().is_some(), "{err}");
    })
    .await;
}

/// A lookup that metadata cannot answer fails at its metadata timeout: the client checks
/// pending lookups against their deadlines while there are any (and sleeps when there are
/// none), so nothing else needs to wake it.
#[tokio::test]
async fn a_lookup_the_metadata_cannot_answer_fails_at_its_timeout() {
    let cluster = cluster(1).await;
    bounded(async {
        let mut config = common::embedded::client_config(&cluster);
        config.metadata_timeout = std::time::Duration::from_millis(600);
        let client = actix_fluvio::cluster::FluvioClient::connect(config)
            .await
            .unwrap();
        client
            .admin()
            .create_topic("t", TopicConfig::new(1))
            .await
            .unwrap();
        let leader = client.partition_leader("t", 0).await.unwrap();
        cluster.stop_spu(leader.id).await.unwrap();
        // The SPU's offline status reaches the client's cache.
        let started = std::time::Instant::now();
        let err = loop {
            match client.partition_leader("t", 0).await {
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                Err(err) => break err,
            }
        };
        let waited = started.elapsed();
        assert!(matches!(err, ClientError::MetadataTimeout { .. }), "{err}");
        assert!(
            waited >= std::time::Duration::from_millis(600)
                && waited < std::time::Duration::from_secs(3),
            "failed after {waited:?} for a 600 ms metadata timeout"
        );
    })
    .await;
}
