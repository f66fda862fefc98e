//! The producer against the embedded test cluster: exact offsets, partitioning, codecs,
//! clear errors, retries under injected faults, SPU restarts, a bounded buffer, closing
//! and dropping.
//!
//! (Above 400 lines on purpose: one test per producer guarantee, each with its own
//! cluster.)

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::producer::{
    key_partition, DeliveryGuarantee, PartitionerKind, ProducerError, ProducerOptions, RetryPolicy,
};
use actix_fluvio::protocol::record::Compression;
use actix_fluvio::protocol::sc::CompressionAlgorithm;
use actix_fluvio::protocol::ErrorCode;

use common::bounded;
use common::embedded::{client, cluster, read_all, to_end};

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
        let producer = client.producer(ProducerOptions::builder().batch_size(1024).build());
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
        let specific = client.producer(
            ProducerOptions::builder()
                .partitioner(PartitionerKind::Specific(2))
                .build(),
        );
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
            let producer = client.producer(ProducerOptions::builder().compression(codec).build());
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
        let gzip = client.producer(
            ProducerOptions::builder()
                .compression(Compression::Gzip)
                .build(),
        );
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
        let producer = client.producer(
            ProducerOptions::builder()
                .max_request_size(1024)
                .buffer_bytes(4096)
                .linger(Duration::from_secs(3600))
                .batch_size(1 << 20)
                .build(),
        );
        let err = producer.send("big", None, &[0; 2000]).await.unwrap_err();
        assert!(matches!(err, ProducerError::RecordTooLarge { .. }), "{err}");
        // Lingering for an hour: the buffer fills and try_enqueue fails fast.
        let mut full = false;
        for _ in 0..100 {
            match producer.try_enqueue("big", None, &[1; 500]).await {
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
            producer.try_enqueue("big", None, &[1; 500]).await.is_ok(),
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
        let retrying = client.producer(
            ProducerOptions::builder()
                .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                    initial_delay: Duration::from_millis(10),
                    ..RetryPolicy::default()
                }))
                .build(),
        );
        cluster.fail_next(0, ErrorCode::NotLeaderForPartition, 2);
        let meta = retrying.send("r", None, b"retried").await.unwrap();
        assert_eq!(meta.offset, 0);

        let once = client.producer(
            ProducerOptions::builder()
                .delivery(DeliveryGuarantee::AtMostOnce)
                .build(),
        );
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
        let producer = client.producer(
            ProducerOptions::builder()
                .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                    initial_delay: Duration::from_millis(50),
                    max_retries: 50,
                    ..RetryPolicy::default()
                }))
                .build(),
        );
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
        let producer = client.producer(
            ProducerOptions::builder()
                .buffer_bytes(limit)
                .batch_size(1024)
                .build(),
        );
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
        let producer = client.producer(
            ProducerOptions::builder()
                .linger(Duration::from_secs(3600))
                .batch_size(1 << 20)
                .build(),
        );
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
        let producer = client.producer(
            ProducerOptions::builder()
                .linger(Duration::from_secs(3600))
                .batch_size(1 << 20)
                .build(),
        );
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
