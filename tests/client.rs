//! The client stack (cluster client, admin, producer, consumer) against the embedded test
//! cluster, from plain tokio and from an actix system.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actix_fluvio::admin::{AdminError, TopicChange, TopicConfig};
use actix_fluvio::cluster::{ClientConfig, ClientError, FluvioClient};
use actix_fluvio::connection::{ConnectionConfig, ReconnectPolicy};
use actix_fluvio::consumer::{ConsumerError, ConsumerOptions, ConsumerRecord, Offset};
use actix_fluvio::producer::{
    key_partition, DeliveryGuarantee, PartitionerKind, ProducerError, ProducerOptions, RetryPolicy,
};
use actix_fluvio::protocol::record::Compression;
use actix_fluvio::protocol::sc::CompressionAlgorithm;
use actix_fluvio::protocol::ErrorCode;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

use common::bounded;

async fn cluster(spus: usize) -> TestCluster {
    TestCluster::start(TestClusterConfig {
        spus,
        ..TestClusterConfig::default()
    })
    .await
    .expect("cluster starts")
}

fn client_config(cluster: &TestCluster) -> ClientConfig {
    ClientConfig {
        connection: ConnectionConfig {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            reconnect: ReconnectPolicy {
                initial_delay: Duration::from_millis(50),
                max_attempts: Some(20),
                ..ReconnectPolicy::default()
            },
            ..ConnectionConfig::default()
        },
        metadata_timeout: Duration::from_secs(10),
        ..ClientConfig::new(cluster.sc_addr())
    }
}

async fn client(cluster: &TestCluster) -> FluvioClient {
    FluvioClient::connect(client_config(cluster))
        .await
        .expect("client connects")
}

async fn read_all(
    client: &FluvioClient,
    topic: &str,
    partition: u32,
    options: ConsumerOptions,
) -> Vec<ConsumerRecord> {
    let mut stream = client
        .partition_consumer(topic, partition, options)
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(record) = stream.next().await {
        out.push(record.unwrap());
    }
    out
}

fn to_end() -> ConsumerOptions {
    ConsumerOptions {
        disable_continuous: true,
        ..ConsumerOptions::default()
    }
}

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

#[tokio::test]
async fn produced_offsets_are_exact_and_contiguous_and_read_back_in_order() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("seq", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions {
            batch_size: 1024,
            ..ProducerOptions::default()
        });
        let mut receipts = Vec::new();
        for i in 0..2_000 {
            receipts.push(
                producer
                    .enqueue("seq", None, format!("v{i}").as_bytes())
                    .await
                    .unwrap(),
            );
        }
        producer.flush().await.unwrap();
        for (i, receipt) in receipts.into_iter().enumerate() {
            let meta = receipt.wait().await.unwrap();
            assert_eq!((meta.partition, meta.offset), (0, i as i64));
        }
        let offsets = producer
            .send_batch("seq", (0..10).map(|i| (None::<&[u8]>, format!("b{i}"))))
            .await
            .unwrap();
        assert_eq!(
            offsets.iter().map(|m| m.offset).collect::<Vec<_>>(),
            (2000..2010).collect::<Vec<_>>()
        );

        let records = read_all(&client, "seq", 0, to_end()).await;
        assert_eq!(records.len(), 2010);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.offset, i as i64);
        }
        assert_eq!(&records[1999].value[..], b"v1999");
        assert_eq!(&records[2009].value[..], b"b9");
    })
    .await;
}

#[tokio::test]
async fn keyed_records_land_where_the_key_hash_puts_them_and_keyless_go_round_robin() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("keys", TopicConfig::new(3))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        for key in ["k1", "k2", "k3", "user-42", "user-43"] {
            let meta = producer
                .send("keys", Some(key.as_bytes()), b"v")
                .await
                .unwrap();
            assert_eq!(meta.partition, key_partition(key.as_bytes(), 3), "{key}");
        }
        let mut counts = HashMap::new();
        for _ in 0..9 {
            let meta = producer.send("keys", None, b"x").await.unwrap();
            *counts.entry(meta.partition).or_insert(0) += 1;
        }
        assert_eq!(counts.values().copied().collect::<Vec<_>>(), vec![3, 3, 3]);
        let specific = client.producer(ProducerOptions {
            partitioner: PartitionerKind::Specific(2),
            ..ProducerOptions::default()
        });
        assert_eq!(
            specific
                .send("keys", Some(b"k1"), b"v")
                .await
                .unwrap()
                .partition,
            2
        );
    })
    .await;
}

#[tokio::test]
async fn every_compression_codec_round_trips_and_a_mismatch_is_refused() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("any", TopicConfig::new(1))
            .await
            .unwrap();
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let producer = client.producer(ProducerOptions {
                compression: codec,
                ..ProducerOptions::default()
            });
            producer
                .send_batch("any", (0..5).map(|i| (Some("k"), format!("{codec}-{i}"))))
                .await
                .unwrap();
        }
        let values: Vec<String> = read_all(&client, "any", 0, to_end())
            .await
            .iter()
            .map(|r| String::from_utf8(r.value.to_vec()).unwrap())
            .collect();
        assert_eq!(values.len(), 25);
        assert_eq!(values[5], "gzip-0");
        assert_eq!(values[24], "zstd-4");

        client
            .admin()
            .create_topic(
                "lz4only",
                TopicConfig::new(1).compression(CompressionAlgorithm::Lz4),
            )
            .await
            .unwrap();
        let gzip = client.producer(ProducerOptions {
            compression: Compression::Gzip,
            ..ProducerOptions::default()
        });
        let err = gzip.send("lz4only", None, b"x").await.unwrap_err();
        assert!(
            matches!(err, ProducerError::CompressionMismatch { .. }),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_record_too_large_and_a_full_buffer_are_clear_errors() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("big", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions {
            max_request_size: 1024,
            buffer_bytes: 4096,
            linger: Duration::from_secs(3600),
            batch_size: 1 << 20,
            ..ProducerOptions::default()
        });
        let err = producer.send("big", None, &[0; 2000]).await.unwrap_err();
        assert!(matches!(err, ProducerError::RecordTooLarge { .. }), "{err}");
        // Lingering for an hour: the buffer fills and try_send fails fast.
        let mut full = false;
        for _ in 0..100 {
            match producer.try_send("big", None, &[1; 500]).await {
                Ok(_) => {}
                Err(ProducerError::QueueFull) => {
                    full = true;
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(full, "the 4 KiB buffer must fill");
        producer.flush().await.unwrap();
        assert!(
            producer.try_send("big", None, &[1; 500]).await.is_ok(),
            "room again after flush"
        );
    })
    .await;
}

#[tokio::test]
async fn at_least_once_retries_injected_errors_and_at_most_once_does_not() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("r", TopicConfig::new(1))
            .await
            .unwrap();
        let retrying = client.producer(ProducerOptions {
            delivery: DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                initial_delay: Duration::from_millis(10),
                ..RetryPolicy::default()
            }),
            ..ProducerOptions::default()
        });
        cluster.fail_next(0, ErrorCode::NotLeaderForPartition, 2);
        let meta = retrying.send("r", None, b"retried").await.unwrap();
        assert_eq!(meta.offset, 0);

        let once = client.producer(ProducerOptions {
            delivery: DeliveryGuarantee::AtMostOnce,
            ..ProducerOptions::default()
        });
        cluster.fail_next(0, ErrorCode::NotLeaderForPartition, 1);
        let err = once.send("r", None, b"lost").await.unwrap_err();
        assert!(
            matches!(
                err,
                ProducerError::Server {
                    code: ErrorCode::NotLeaderForPartition,
                    ..
                }
            ),
            "{err}"
        );
        let values: Vec<_> = read_all(&client, "r", 0, to_end())
            .await
            .into_iter()
            .map(|r| r.value)
            .collect();
        assert_eq!(values, vec![bytes::Bytes::from_static(b"retried")]);
    })
    .await;
}

#[tokio::test]
async fn an_spu_restart_loses_no_acknowledged_record() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("restart", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions {
            delivery: DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                initial_delay: Duration::from_millis(50),
                max_retries: 50,
                ..RetryPolicy::default()
            }),
            ..ProducerOptions::default()
        });
        let spu = cluster.spu_ids()[0];
        let mut acked = Vec::new();
        for i in 0..300 {
            if i == 100 {
                cluster.stop_spu(spu).await.unwrap();
            }
            if i == 110 {
                cluster.restart_spu(spu).await.unwrap();
            }
            let receipt = producer
                .enqueue("restart", None, format!("{i}").as_bytes())
                .await
                .unwrap();
            acked.push(receipt);
        }
        let mut values = Vec::new();
        for receipt in acked {
            if receipt.wait().await.is_ok() {
                values.push(());
            }
        }
        assert_eq!(values.len(), 300, "every record acknowledged after retries");
        let stored: Vec<String> = read_all(&client, "restart", 0, to_end())
            .await
            .iter()
            .map(|r| String::from_utf8(r.value.to_vec()).unwrap())
            .collect();
        for i in 0..300 {
            assert!(
                stored.contains(&i.to_string()),
                "acknowledged record {i} lost"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn consumers_start_at_every_kind_of_offset_and_stop_exactly_at_the_end() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("o", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions {
            batch_size: 200,
            ..ProducerOptions::default()
        });
        producer
            .send_batch("o", (0..100).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let first = |offset| {
            let client = client.clone();
            async move {
                let records =
                    read_all(&client, "o", 0, ConsumerOptions { offset, ..to_end() }).await;
                (records.first().map(|r| r.offset), records.len())
            }
        };
        assert_eq!(first(Offset::Beginning).await, (Some(0), 100));
        assert_eq!(first(Offset::Absolute(42)).await, (Some(42), 58));
        assert_eq!(first(Offset::FromBeginning(10)).await, (Some(10), 90));
        assert_eq!(first(Offset::FromEnd(5)).await, (Some(95), 5));
        assert_eq!(first(Offset::End).await, (None, 0));

        let batch = client.fetch_batch("o", 0, 50, 1 << 20).await.unwrap();
        assert_eq!(batch.first().map(|r| r.offset), Some(50));
        assert!(batch.iter().all(|r| r.offset >= 50));
    })
    .await;
}

#[tokio::test]
async fn a_continuous_consumer_sees_new_records_and_survives_an_spu_restart() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("live", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        let mut stream = client
            .partition_consumer("live", 0, ConsumerOptions::default())
            .await
            .unwrap();
        producer
            .send_batch("live", (0..50).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let mut seen = Vec::new();
        while seen.len() < 50 {
            seen.push(stream.next().await.unwrap().unwrap().offset);
        }
        let spu = cluster.spu_ids()[0];
        cluster.stop_spu(spu).await.unwrap();
        cluster.restart_spu(spu).await.unwrap();
        producer
            .send_batch("live", (50..100).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        while seen.len() < 100 {
            seen.push(stream.next().await.unwrap().unwrap().offset);
        }
        assert_eq!(seen, (0..100).collect::<Vec<i64>>(), "no gap, no duplicate");
    })
    .await;
}

/// Commit `offset`, retrying retriable failures (no session yet) for up to 10 s.
/// Every stored consumer offset. Right after dropped connections, calls fail fast with a
/// retriable error until the connection is back: ask again for up to 10 s.
async fn consumer_offsets(
    client: &FluvioClient,
) -> Vec<actix_fluvio::protocol::spu::ConsumerOffset> {
    let started = std::time::Instant::now();
    loop {
        match client.admin().list_consumer_offsets().await {
            Ok(offsets) => return offsets,
            Err(AdminError::Client(e))
                if e.is_retriable() && started.elapsed() < Duration::from_secs(10) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("listing consumer offsets: {e}"),
        }
    }
}

async fn commit_within_10s(stream: &actix_fluvio::consumer::PartitionStream, offset: i64) {
    let started = std::time::Instant::now();
    loop {
        match stream.commit(offset).await {
            Ok(()) => return,
            Err(error) if error.is_retriable() && started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("no commit of {offset}: {other}"),
        }
    }
}

#[tokio::test]
async fn a_consumer_at_the_end_can_commit_again_soon_after_a_reconnect() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("idle", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("idle", (0..20).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let options = ConsumerOptions {
            consumer_id: Some("idler".into()),
            ..ConsumerOptions::default()
        };
        let mut stream = client.partition_consumer("idle", 0, options).await.unwrap();
        for _ in 0..20 {
            stream.next().await.unwrap().unwrap();
        }
        // The stream is at the end; its session goes with the connection. No new record will
        // come, yet the resumed stream must bring a session to commit on.
        cluster.drop_connections();
        commit_within_10s(&stream, 19).await;
        let offsets = consumer_offsets(&client).await;
        assert!(
            offsets
                .iter()
                .any(|o| o.consumer_id == "idler" && o.offset == 19),
            "{offsets:?}"
        );
        producer.send("idle", None::<&[u8]>, b"20").await.unwrap();
        let next = stream.next().await.unwrap().unwrap();
        assert_eq!(next.offset, 20, "the re-read record is not delivered again");
    })
    .await;
}

#[tokio::test]
async fn a_finished_consumer_commits_after_its_connection_was_lost() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("done", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("done", (0..10).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let options = ConsumerOptions {
            consumer_id: Some("finisher".into()),
            disable_continuous: true,
            ..ConsumerOptions::default()
        };
        let mut stream = client.partition_consumer("done", 0, options).await.unwrap();
        let mut last = -1;
        while let Some(record) = stream.next().await {
            last = record.unwrap().offset;
        }
        // The stream ended (nothing left to read); its session dies with the connection.
        cluster.drop_connections();
        commit_within_10s(&stream, last).await;
        let offsets = consumer_offsets(&client).await;
        assert!(
            offsets
                .iter()
                .any(|o| o.consumer_id == "finisher" && o.offset == 9),
            "{offsets:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_consumer_id_resumes_after_its_committed_offset() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("c", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("c", (0..20).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let options = ConsumerOptions {
            consumer_id: Some("group-a".into()),
            ..ConsumerOptions::default()
        };
        let mut stream = client
            .partition_consumer("c", 0, options.clone())
            .await
            .unwrap();
        for _ in 0..8 {
            stream.next().await.unwrap().unwrap();
        }
        stream.commit(7).await.unwrap();
        drop(stream);
        let offsets = consumer_offsets(&client).await;
        assert!(
            offsets
                .iter()
                .any(|o| o.consumer_id == "group-a" && o.offset == 7),
            "{offsets:?}"
        );

        let mut resumed = client.partition_consumer("c", 0, options).await.unwrap();
        assert_eq!(resumed.next().await.unwrap().unwrap().offset, 8);

        let anonymous = client
            .partition_consumer("c", 0, ConsumerOptions::default())
            .await
            .unwrap();
        assert!(matches!(
            anonymous.commit(1).await,
            Err(ConsumerError::NoConsumerId)
        ));
        client
            .admin()
            .delete_consumer_offset("group-a", "c", 0)
            .await
            .unwrap();
        assert!(client
            .admin()
            .list_consumer_offsets()
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_slow_spu_keeps_the_producer_buffer_bounded_and_send_waits() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("slow", TopicConfig::new(1))
            .await
            .unwrap();
        let limit = 4 * 1024;
        let producer = client.producer(ProducerOptions {
            buffer_bytes: limit,
            batch_size: 1024,
            ..ProducerOptions::default()
        });
        producer.send("slow", None, b"warm").await.unwrap();
        cluster.set_response_delay(Duration::from_millis(100));
        let started = std::time::Instant::now();
        let mut peak = 0;
        for _ in 0..100 {
            producer.enqueue("slow", None, &[7; 100]).await.unwrap();
            peak = peak.max(producer.buffered_bytes());
        }
        assert!(peak <= limit, "buffered {peak} > {limit}");
        // 10 KiB through a 4 KiB buffer with 100 ms per request: enqueue had to wait.
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
        producer.flush().await.unwrap();
        cluster.set_response_delay(Duration::ZERO);
        assert_eq!(read_all(&client, "slow", 0, to_end()).await.len(), 101);
    })
    .await;
}

#[tokio::test]
async fn closing_the_producer_drains_what_it_buffered() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("drain", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions {
            linger: Duration::from_secs(3600),
            batch_size: 1 << 20,
            ..ProducerOptions::default()
        });
        let mut receipts = Vec::new();
        for i in 0..100 {
            receipts.push(
                producer
                    .enqueue("drain", None, format!("{i}").as_bytes())
                    .await
                    .unwrap(),
            );
        }
        producer.close().await.unwrap();
        for (i, receipt) in receipts.into_iter().enumerate() {
            assert_eq!(receipt.wait().await.unwrap().offset, i as i64);
        }
        assert_eq!(read_all(&client, "drain", 0, to_end()).await.len(), 100);
    })
    .await;
}

/// Read all of `topic`/0 slowly with `buffer_records` and 4 KiB frames; the most records
/// the stream ever held unread.
async fn peak_buffered(client: &FluvioClient, topic: &str, buffer_records: usize) -> usize {
    let options = ConsumerOptions {
        buffer_records,
        max_bytes: 4096,
        ..to_end()
    };
    let mut stream = client.partition_consumer(topic, 0, options).await.unwrap();
    let (mut seen, mut peak) = (0, 0);
    while let Some(record) = stream.next().await {
        assert_eq!(record.unwrap().offset, seen);
        seen += 1;
        if seen % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        peak = peak.max(stream.buffered());
    }
    assert_eq!(seen, 5_000);
    peak
}

#[tokio::test]
async fn a_slow_reader_keeps_the_consumer_buffer_bounded() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("lazy", TopicConfig::new(1))
            .await
            .unwrap();
        // Stored batches of at most 2 KiB: 4 KiB frames never have to grow.
        let producer = client.producer(ProducerOptions {
            batch_size: 2048,
            ..ProducerOptions::default()
        });
        producer
            .send_batch(
                "lazy",
                (0..5_000).map(|i| (None::<&[u8]>, format!("{i:05}"))),
            )
            .await
            .unwrap();
        // A record takes at least 12 bytes on the wire (a 5-byte value, 7 one-byte fields):
        // a 4 KiB frame holds at most 341 records.
        let frame = 4096 / 12;
        let peak = peak_buffered(&client, "lazy", 1_000).await;
        assert!(
            peak <= 1_000,
            "frames smaller than the buffer: {peak} buffered"
        );
        // Frames larger than the buffer: each waits until the buffer is empty, so the read
        // ahead stays within one frame however long the reader takes.
        let peak = peak_buffered(&client, "lazy", 100).await;
        assert!(
            (100..=frame).contains(&peak),
            "frames larger than the buffer: {peak} buffered, expected 100..={frame}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_topic_consumer_picks_up_partitions_added_mid_stream() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("grow", TopicConfig::new(1))
            .await
            .unwrap();
        let mut stream = client
            .topic_consumer("grow", ConsumerOptions::default())
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        producer.send("grow", None, b"p0").await.unwrap();
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!((first.partition, &first.value[..]), (0, &b"p0"[..]));
        client.admin().add_partitions("grow", 1).await.unwrap();
        while client.partition_count("grow").await.unwrap() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await; // the SC's watch brings it
        }
        let to_p1 = client.producer(ProducerOptions {
            partitioner: PartitionerKind::Specific(1),
            ..ProducerOptions::default()
        });
        to_p1.send("grow", None, b"p1").await.unwrap();
        let second = stream.next().await.unwrap().unwrap();
        assert_eq!((second.partition, &second.value[..]), (1, &b"p1"[..]));
    })
    .await;
}

#[tokio::test]
async fn dropping_every_producer_handle_still_delivers_what_was_buffered() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("dropped", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions {
            linger: Duration::from_secs(3600),
            batch_size: 1 << 20,
            ..ProducerOptions::default()
        });
        let mut receipts = Vec::new();
        for i in 0..50 {
            receipts.push(
                producer
                    .enqueue("dropped", None, format!("{i}").as_bytes())
                    .await
                    .unwrap(),
            );
        }
        drop(producer);
        for (i, receipt) in receipts.into_iter().enumerate() {
            assert_eq!(receipt.wait().await.unwrap().offset, i as i64);
        }
    })
    .await;
}

/// The offsets `consumer_id` has stored for `topic`, by partition.
async fn committed(client: &FluvioClient, consumer_id: &str, topic: &str) -> HashMap<u32, i64> {
    let offsets = consumer_offsets(client).await;
    offsets
        .iter()
        .filter(|o| o.consumer_id == consumer_id && o.replica_id.topic == topic)
        .map(|o| (o.replica_id.partition, o.offset))
        .collect()
}

/// Wait up to 5 s for `consumer_id`'s stored offsets of `topic` to be `expected`.
async fn wait_for_commits(
    client: &FluvioClient,
    consumer_id: &str,
    topic: &str,
    expected: &HashMap<u32, i64>,
) {
    let started = std::time::Instant::now();
    loop {
        let stored = committed(client, consumer_id, topic).await;
        if &stored == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stored {stored:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `topic` with `partitions` partitions of `records` records each ("0", "1", ...).
async fn topic_of(client: &FluvioClient, topic: &str, partitions: u32, records: usize) {
    client
        .admin()
        .create_topic(topic, TopicConfig::new(partitions))
        .await
        .unwrap();
    for p in 0..partitions {
        let producer = client.producer(ProducerOptions {
            partitioner: PartitionerKind::Specific(p),
            ..ProducerOptions::default()
        });
        producer
            .send_batch(topic, (0..records).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
    }
}

/// A topic consumer of "handed" (2 partitions of 50 records) as `consumer_id`, committing
/// every `auto_commit`, after `n` records read; the last offset read of each partition.
async fn read_handed(
    client: &FluvioClient,
    consumer_id: &str,
    auto_commit: Duration,
    n: usize,
) -> (actix_fluvio::consumer::TopicStream, HashMap<u32, i64>) {
    topic_of(client, "handed", 2, 50).await;
    let options = ConsumerOptions {
        consumer_id: Some(consumer_id.into()),
        auto_commit: Some(auto_commit),
        ..ConsumerOptions::default()
    };
    let mut stream = client.topic_consumer("handed", options).await.unwrap();
    let mut got = HashMap::new();
    take(&mut stream, n, &mut got).await;
    (stream, got)
}

/// The last offset of each partition among the next `n` records of `stream`.
async fn take(
    stream: &mut actix_fluvio::consumer::TopicStream,
    n: usize,
    got: &mut HashMap<u32, i64>,
) {
    for _ in 0..n {
        let record = stream.next().await.unwrap().unwrap();
        got.insert(record.partition, record.offset);
    }
}

#[tokio::test]
async fn a_topic_consumer_auto_commits_only_records_it_handed_out() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        let interval = Duration::from_millis(20);
        let (mut stream, mut got) = read_handed(&client, "handed-id", interval, 10).await;
        // Many auto-commit intervals: what is stored is what the reader got, not the
        // batches the topic stream holds for it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(committed(&client, "handed-id", "handed").await, got);
        take(&mut stream, 5, &mut got).await;
        wait_for_commits(&client, "handed-id", "handed", &got).await;
    })
    .await;
}

#[tokio::test]
async fn dropping_a_topic_consumer_commits_what_it_handed_out_and_stops() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        // No commit on the interval after the first (empty) one: only the stop commits.
        let interval = Duration::from_secs(3600);
        let (stream, got) = read_handed(&client, "dropped-id", interval, 15).await;
        drop(stream);
        wait_for_commits(&client, "dropped-id", "handed", &got).await;
    })
    .await;
}

/// Tells the test when a batch arrives and holds it until the test opens the gate.
struct Gate {
    arrived: tokio::sync::mpsc::UnboundedSender<usize>,
    open: std::sync::Arc<tokio::sync::Notify>,
}

impl actix::Actor for Gate {
    type Context = actix::Context<Self>;
}

impl actix::Handler<actix_fluvio::consumer::Records> for Gate {
    type Result = actix::ResponseFuture<()>;

    fn handle(
        &mut self,
        msg: actix_fluvio::consumer::Records,
        _: &mut actix::Context<Self>,
    ) -> Self::Result {
        let _ = self.arrived.send(msg.0.len());
        let open = self.open.clone();
        Box::pin(async move { open.notified().await })
    }
}

#[actix_rt::test]
async fn a_consumer_actor_auto_commits_a_batch_once_the_user_actor_handled_it() {
    use actix::Actor as _;
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        topic_of(&client, "gated", 1, 20).await;
        let options = ConsumerOptions {
            consumer_id: Some("gated-id".into()),
            auto_commit: Some(Duration::from_millis(20)),
            ..ConsumerOptions::default()
        };
        let stream = client
            .partition_consumer("gated", 0, options)
            .await
            .unwrap();
        let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
        let open = std::sync::Arc::new(tokio::sync::Notify::new());
        let gate = Gate {
            arrived,
            open: open.clone(),
        }
        .start();
        let _consumer =
            actix_fluvio::consumer::PartitionConsumerActor::new(stream, gate.recipient(), None)
                .start();
        assert_eq!(arrivals.recv().await, Some(20));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            committed(&client, "gated-id", "gated").await,
            HashMap::new(),
            "nothing handled yet, nothing committed"
        );
        open.notify_one();
        wait_for_commits(&client, "gated-id", "gated", &HashMap::from([(0, 19)])).await;
    })
    .await;
}

/// Receives records and the consumer's address; commits each batch's last record by message.
struct CommitsByMessage {
    consumer: Option<actix::Addr<actix_fluvio::consumer::PartitionConsumerActor>>,
    results: tokio::sync::mpsc::UnboundedSender<Result<(), ConsumerError>>,
}

impl actix::Actor for CommitsByMessage {
    type Context = actix::Context<Self>;
}

#[derive(actix::Message)]
#[rtype(result = "()")]
struct ConsumerIs(actix::Addr<actix_fluvio::consumer::PartitionConsumerActor>);

impl actix::Handler<ConsumerIs> for CommitsByMessage {
    type Result = ();

    fn handle(&mut self, msg: ConsumerIs, _: &mut actix::Context<Self>) {
        self.consumer = Some(msg.0);
    }
}

impl actix::Handler<actix_fluvio::consumer::Records> for CommitsByMessage {
    type Result = actix::ResponseFuture<()>;

    fn handle(
        &mut self,
        msg: actix_fluvio::consumer::Records,
        _: &mut actix::Context<Self>,
    ) -> Self::Result {
        let consumer = self.consumer.clone().expect("told the consumer first");
        let results = self.results.clone();
        let last = msg.0.last().map(actix_fluvio::consumer::Commit::record);
        Box::pin(async move {
            if let Some(commit) = last {
                let result = consumer.send(commit).await.expect("consumer answers");
                let _ = results.send(result);
            }
        })
    }
}

#[actix_rt::test]
async fn an_actor_holding_the_consumers_address_commits_by_message() {
    use actix::Actor as _;
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        topic_of(&client, "by-message", 1, 30).await;
        let options = ConsumerOptions {
            consumer_id: Some("by-message-id".into()),
            ..ConsumerOptions::default()
        };
        let stream = client
            .partition_consumer("by-message", 0, options)
            .await
            .unwrap();
        let (results, mut committed_rx) = tokio::sync::mpsc::unbounded_channel();
        let user = CommitsByMessage {
            consumer: None,
            results,
        }
        .start();
        // The user actor learns the consumer's address before the consumer starts reading.
        let recipient = user.clone().recipient();
        actix_fluvio::consumer::PartitionConsumerActor::create(|ctx| {
            user.do_send(ConsumerIs(actix::AsyncContext::address(ctx)));
            actix_fluvio::consumer::PartitionConsumerActor::new(stream, recipient, None)
        });
        committed_rx
            .recv()
            .await
            .unwrap()
            .expect("the commit by message is stored");
        wait_for_commits(
            &client,
            "by-message-id",
            "by-message",
            &HashMap::from([(0, 29)]),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn a_batch_too_large_for_the_connection_frames_is_a_clear_error() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("huge", TopicConfig::new(1))
            .await
            .unwrap();
        // Two records of 1,000 and 100 KiB: a 1 MiB fetch from 0 fills its frame, which
        // with its headers is more than a 1 MiB frame limit.
        let producer = client.producer(ProducerOptions::default());
        for size in [1000 * 1024, 100 * 1024] {
            producer.send("huge", None, &vec![7u8; size]).await.unwrap();
        }
        let mut config = client_config(&cluster);
        config.connection.max_frame_len = 1 << 20;
        config.connection.reconnect.max_attempts = Some(1);
        let small_frames = FluvioClient::connect(config).await.unwrap();
        let options = ConsumerOptions {
            max_bytes: 64 * 1024,
            reconnect: ReconnectPolicy {
                max_attempts: Some(1),
                ..ReconnectPolicy::default()
            },
            ..to_end()
        };
        let mut stream = small_frames
            .partition_consumer("huge", 0, options)
            .await
            .unwrap();
        // The fetch grows to 1 MiB less the frame overhead, not to a frame the connection
        // would refuse.
        let outcome = stream.next().await.unwrap().map(|r| r.offset);
        let ceiling = (1 << 20) - actix_fluvio::consumer::FETCH_FRAME_OVERHEAD as i32;
        assert!(
            matches!(outcome, Err(ConsumerError::BatchTooLarge { offset: 0, max_bytes }) if max_bytes == ceiling),
            "{outcome:?}"
        );
        let refused = small_frames
            .partition_consumer(
                "huge",
                0,
                ConsumerOptions {
                    max_bytes: 0,
                    ..to_end()
                },
            )
            .await;
        assert!(
            matches!(refused, Err(ConsumerError::InvalidOptions(_))),
            "{refused:?}"
        );
    })
    .await;
}
