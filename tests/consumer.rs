//! The consumer against the embedded test cluster: every kind of start offset, continuous
//! streams across SPU restarts, a bounded buffer with slow readers, partitions added
//! mid-stream, frames too large for the connection, large records bounded in bytes, and
//! fetches grown for a large batch shrinking back.

mod common;

use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::connection::ReconnectPolicy;
use actix_fluvio::consumer::{ConsumerError, ConsumerOptions, Offset};
use actix_fluvio::producer::{PartitionerKind, ProducerOptions};

use common::bounded;
use common::embedded::{client, client_config, cluster, read_all, to_end};

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
        let producer = client.producer(ProducerOptions::builder().batch_size(200).build());
        producer
            .send_batch("o", (0..100).map(|i| (None::<&[u8]>, i.to_string())))
            .await
            .unwrap();
        let first = |offset| {
            let client = client.clone();
            async move {
                let records = read_all(
                    &client,
                    "o",
                    0,
                    to_end().into_builder().offset(offset).build(),
                )
                .await;
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

/// Read all of `topic`/0 slowly with `buffer_records` and 4 KiB frames; the most records
/// the stream ever held unread.
async fn peak_buffered(client: &FluvioClient, topic: &str, buffer_records: usize) -> usize {
    let options = to_end()
        .into_builder()
        .buffer_records(buffer_records)
        .max_bytes(4096)
        .build();
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
        let producer = client.producer(ProducerOptions::builder().batch_size(2048).build());
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
        let to_p1 = client.producer(
            ProducerOptions::builder()
                .partitioner(PartitionerKind::Specific(1))
                .build(),
        );
        to_p1.send("grow", None, b"p1").await.unwrap();
        let second = stream.next().await.unwrap().unwrap();
        assert_eq!((second.partition, &second.value[..]), (1, &b"p1"[..]));
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
        let options = to_end().into_builder().max_bytes(64 * 1024).reconnect(ReconnectPolicy {
                max_attempts: Some(1),
                ..ReconnectPolicy::default()
            }).build();
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
                to_end().into_builder().max_bytes(0).build(),
            )
            .await;
        assert!(
            matches!(refused, Err(ConsumerError::InvalidOptions(_))),
            "{refused:?}"
        );
    })
    .await;
}

/// Read all 100 records of `topic`/0 slowly with `buffer_bytes` and `max_bytes`; the most
/// bytes the stream ever held unread.
async fn peak_buffered_bytes(
    client: &FluvioClient,
    topic: &str,
    buffer_bytes: usize,
    max_bytes: i32,
) -> usize {
    let options = to_end()
        .into_builder()
        .buffer_bytes(buffer_bytes)
        .max_bytes(max_bytes)
        .build();
    let mut stream = client.partition_consumer(topic, 0, options).await.unwrap();
    let (mut seen, mut peak) = (0, 0);
    while let Some(record) = stream.next().await {
        assert_eq!(record.unwrap().offset, seen);
        seen += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
        peak = peak.max(stream.buffered_bytes());
    }
    assert_eq!(seen, 100);
    peak
}

#[tokio::test]
async fn large_records_keep_the_read_ahead_within_its_bytes() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("large", TopicConfig::new(1))
            .await
            .unwrap();
        // 100 records of 64 KiB, one batch each: far fewer than `buffer_records` (2,500),
        // so only the byte bound holds the read-ahead back.
        let record = 64 * 1024;
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch(
                "large",
                (0..100u8).map(|i| (None::<&[u8]>, vec![i; record])),
            )
            .await
            .unwrap();
        // 256 KiB frames hold 3 whole batches (192 KiB of values).
        let frame = 3 * record;
        let peak = peak_buffered_bytes(&client, "large", 8 * record, 256 * 1024).await;
        assert!(
            frame < peak && peak <= 8 * record,
            "frames smaller than the bound: {peak} bytes buffered, expected more than one \
             frame ({frame}) and at most {}",
            8 * record
        );
        // Frames larger than the bound: each waits until nothing is buffered.
        let peak = peak_buffered_bytes(&client, "large", record, 256 * 1024).await;
        assert!(
            (record..=frame).contains(&peak),
            "frames larger than the bound: {peak} bytes buffered, expected {record}..={frame}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_fetch_grown_for_one_large_batch_shrinks_back_after_it() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("shrink", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::builder().batch_size(2048).build());
        // One 64 KiB record, then 5,000 of 100 bytes (500 KB) in batches of at most 2 KiB.
        producer
            .send("shrink", None, &vec![7u8; 64 * 1024])
            .await
            .unwrap();
        producer
            .send_batch(
                "shrink",
                (0..5_000).map(|i| (None::<&[u8]>, format!("{i:0100}"))),
            )
            .await
            .unwrap();
        let options = to_end().into_builder().max_bytes(4096).build();
        let mut stream = client
            .partition_consumer("shrink", 0, options)
            .await
            .unwrap();
        let first = stream.next_batch().await.unwrap().unwrap();
        assert_eq!(first[0].value.len(), 64 * 1024, "the fetch grew for it");
        let mut seen = first.len();
        // A 4 KiB frame holds at most 40 records of 100 bytes; a fetch left at the 128 KiB
        // it grew to would bring a thousand at a time.
        while let Some(frame) = stream.next_batch().await {
            let frame = frame.unwrap();
            assert!(
                frame.len() <= 4096 / 100,
                "{} records in a frame after offset {seen}: the fetch did not shrink back",
                frame.len()
            );
            seen += frame.len();
        }
        assert_eq!(seen, 5_001);
    })
    .await;
}

/// A consumer group's joiners and `describe_group` read a finite stream from a stored point
/// that a writer keeps moving just behind the records it reads (a snapshot's point is stored
/// once the snapshot is read). The stream must end at the end as of its stored start, never
/// before it: read before the stored point, the end could be passed by a point stored in
/// between, and the stream came back empty.
#[tokio::test]
async fn a_finite_stream_reads_past_its_consumer_ids_point_while_a_writer_moves_it() {
    let cluster = cluster(1).await;
    bounded(async {
        let client = client(&cluster).await;
        client
            .admin()
            .create_topic("moving", TopicConfig::new(1))
            .await
            .unwrap();
        let producer = client.producer(ProducerOptions::default());
        let point = ConsumerOptions::builder().consumer_id("point").build();
        let mut writer = client
            .partition_consumer("moving", 0, point.clone())
            .await
            .unwrap();
        producer
            .send_batch("moving", [(None::<&[u8]>, "0"), (None, "1")])
            .await
            .unwrap();
        for _ in 0..2 {
            writer.next().await.unwrap().unwrap();
        }
        writer.commit(0).await.unwrap();
        // Each record read moves the point to the record before it: a record after the
        // stored point always exists.
        let moving = tokio::spawn(async move {
            for i in 2..4_000 {
                producer
                    .send_batch("moving", [(None::<&[u8]>, i.to_string())])
                    .await
                    .unwrap();
                let record = writer.next().await.unwrap().unwrap();
                assert_eq!(record.offset, i);
                writer.commit(i - 1).await.unwrap();
            }
        });
        let finite = point.into_builder().disable_continuous(true).build();
        let (mut reads, mut empty) = (0, 0);
        while !moving.is_finished() {
            let mut stream = client
                .partition_consumer("moving", 0, finite.clone())
                .await
                .unwrap();
            let mut read = 0;
            while let Some(record) = stream.next().await {
                record.unwrap();
                read += 1;
            }
            reads += 1;
            empty += usize::from(read == 0);
        }
        moving.await.unwrap();
        assert!(reads > 100, "only {reads} streams read");
        assert_eq!(empty, 0, "{empty} of {reads} streams read nothing");
    })
    .await;
}
