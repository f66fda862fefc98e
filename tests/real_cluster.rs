//! Against a real Fluvio cluster. Ignored by a plain `cargo test` (listed as ignored); run
//! with `FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster --
//! --ignored --nocapture`, where a missing `FLUVIO_SC_ADDR` fails them.
//!
//! (Above 400 lines on purpose: low-level requests and the high-level client on one shared
//! cluster; raw requests are verbose.)

mod common;

use std::time::Duration;

use actix_fluvio::cluster::{ClientConfig, EndpointSource, FluvioClient};
use actix_fluvio::protocol::record::{BatchBuilder, Compression, RecordSet};
use actix_fluvio::protocol::sc::{
    CreateRequest, DeleteRequest, ListRequest, PartitionSpec, SpuSpec, TopicSpec,
};
use actix_fluvio::protocol::spu::{
    FetchOffsetsRequest, Isolation, ProduceRequest, ReplicaKey, StreamFetchRequest,
    UpdateOffsetsRequest, DEFAULT_PRODUCE_TIMEOUT,
};
use actix_fluvio::protocol::ErrorCode;

use common::unique;

/// The SC's address from `FLUVIO_SC_ADDR`; these tests are ignored unless asked for, and
/// then a missing address fails them.
fn cluster() -> String {
    common::sc_addr()
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("real-cluster step timed out")
}

/// Wait until the SC no longer lists any partition of `topic`. (A 0.18 SC that gets a topic
/// created while it is still removing another one's replicas can stall the new topic's
/// provisioning until its 90 s limit; tests leave the cluster settled.)
async fn settled_after_delete(client: &FluvioClient, topic: &str) {
    for _ in 0..100 {
        let partitions = client
            .low_level()
            .sc()
            .request(&ListRequest::<PartitionSpec>::new(vec![]))
            .await
            .unwrap();
        if !partitions
            .objects
            .iter()
            .any(|p| p.name.starts_with(&format!("{topic}-")))
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster -- --ignored"]
async fn connects_negotiates_discovers_and_moves_records() {
    let addr = cluster();
    bounded(async {
        let client = FluvioClient::connect(ClientConfig::default())
            .await
            .unwrap();
        assert_eq!(
            client.endpoint(),
            (addr.as_str(), &EndpointSource::Environment)
        );
        let platform = client.low_level().sc().versions().platform.clone();
        println!("SC {addr}: platform {platform}");
        assert!(
            platform.starts_with("0.1"),
            "unexpected platform {platform}"
        );

        let spus = client
            .low_level()
            .sc()
            .request(&ListRequest::<SpuSpec>::new(vec![]))
            .await
            .unwrap();
        assert!(!spus.objects.is_empty(), "no SPU registered");
        for spu in &spus.objects {
            println!(
                "SPU {} id {} at {:?}: {:?}",
                spu.name,
                spu.spec.id,
                spu.spec.public_address(),
                spu.status.resolution
            );
        }

        let topic = unique("actix-fluvio-rc");
        let status = client
            .low_level()
            .sc()
            .request(&CreateRequest::new(
                topic.clone(),
                TopicSpec::computed(2, 1),
            ))
            .await
            .unwrap();
        assert_eq!(status.error_code, ErrorCode::None, "{status:?}");
        let again = client
            .low_level()
            .sc()
            .request(&CreateRequest::new(
                topic.clone(),
                TopicSpec::computed(2, 1),
            ))
            .await
            .unwrap();
        assert_eq!(again.error_code, ErrorCode::TopicAlreadyExists, "{again:?}");

        assert_eq!(client.partition_count(&topic).await.unwrap(), 2);
        let partitions = client
            .low_level()
            .sc()
            .request(&ListRequest::<PartitionSpec>::new(vec![]))
            .await
            .unwrap();
        assert!(partitions
            .objects
            .iter()
            .any(|p| p.name == format!("{topic}-1")));

        let leader = client.partition_leader(&topic, 0).await.unwrap();
        println!(
            "{topic}-0 led by SPU {} ({}) at {}",
            leader.id, leader.name, leader.addr
        );
        let spu = client
            .low_level()
            .leader_connection(&topic, 0)
            .await
            .unwrap();
        println!(
            "SPU platform {}, produce v{}",
            spu.versions().platform,
            spu.version_of::<ProduceRequest>().unwrap()
        );

        let mut builder = BatchBuilder::new(1_700_000_000_000);
        for i in 0..10 {
            builder.push(
                Some(format!("k{i}").as_bytes()),
                format!("value-{i}").as_bytes(),
                1_700_000_000_000 + i,
            );
        }
        let mut produce = ProduceRequest::new(Isolation::ReadCommitted, DEFAULT_PRODUCE_TIMEOUT);
        produce.push(
            &topic,
            0,
            RecordSet::new(vec![builder.build(Compression::Lz4).unwrap()]),
        );
        let response = spu.request(&produce).await.unwrap();
        let partition = response.find_partition(&topic, 0).unwrap();
        assert_eq!(partition.error_code, ErrorCode::None);
        assert_eq!(partition.base_offset, 0);

        let offsets = spu
            .request(&FetchOffsetsRequest::new(topic.clone(), 0))
            .await
            .unwrap();
        let p = offsets
            .find_partition(&ReplicaKey::new(topic.clone(), 0))
            .unwrap();
        assert_eq!((p.start_offset, p.last_stable_offset), (0, 10));

        let mut stream = spu
            .stream(&StreamFetchRequest::new(topic.clone(), 0, 0))
            .await
            .unwrap();
        let frame = stream.next().await.unwrap().unwrap();
        let records: Vec<_> = frame
            .partition
            .records
            .batches
            .iter()
            .flat_map(|b| b.records().unwrap())
            .collect();
        assert_eq!(records.len(), 10);
        assert_eq!(&records[9].value[..], b"value-9");
        spu.request(&UpdateOffsetsRequest::single(frame.stream_id, 10))
            .await
            .unwrap();

        let status = client
            .low_level()
            .sc()
            .request(&DeleteRequest::<TopicSpec>::new(topic.clone()))
            .await
            .unwrap();
        assert_eq!(status.error_code, ErrorCode::None, "{status:?}");
        settled_after_delete(&client, &topic).await;
    })
    .await;
}

mod high_level {
    use super::*;
    use actix_fluvio::admin::{AdminError, TopicConfig};
    use actix_fluvio::consumer::{ConsumerOptions, Offset};
    use actix_fluvio::producer::{key_partition, ProducerOptions};
    use actix_fluvio::protocol::record::Compression;

    #[tokio::test]
    #[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster -- --ignored"]
    async fn admin_calls_match_the_cluster() {
        cluster();
        bounded(async {
            let client = FluvioClient::connect(ClientConfig::default())
                .await
                .unwrap();
            let admin = client.admin();
            let topic = unique("actix-fluvio-admin");
            admin
                .create_topic(&topic, TopicConfig::new(3))
                .await
                .unwrap();
            let err = admin
                .create_topic(&topic, TopicConfig::new(3))
                .await
                .unwrap_err();
            assert!(matches!(err, AdminError::TopicAlreadyExists(_)), "{err}");
            let described = admin
                .get_topic(&topic)
                .await
                .unwrap()
                .expect("topic listed");
            println!(
                "topic {}: {:?} {:?}",
                described.name, described.spec.replicas, described.status.resolution
            );
            assert!(admin.get_topic(&unique("missing")).await.unwrap().is_none());
            let partitions = admin.list_partitions(Some(&topic)).await.unwrap();
            assert_eq!(partitions.len(), 3);
            for p in &partitions {
                println!(
                    "partition {}-{} leader {} replicas {:?} {:?} hw {} leo {}",
                    p.topic,
                    p.partition,
                    p.leader,
                    p.replicas,
                    p.status,
                    p.high_watermark,
                    p.end_offset
                );
            }
            let spus = admin.list_spus().await.unwrap();
            assert!(spus.iter().any(|s| s.online), "{spus:?}");
            for s in &spus {
                println!(
                    "spu {} {} {:?} {:?} online={}",
                    s.id, s.name, s.spu_type, s.public_endpoint, s.online
                );
            }
            admin.delete_topic(&topic).await.unwrap();
            let err = admin.delete_topic(&topic).await.unwrap_err();
            assert!(matches!(err, AdminError::TopicNotFound(_)), "{err}");
            settled_after_delete(&client, &topic).await;
        })
        .await;
    }

    #[tokio::test]
    #[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster -- --ignored"]
    async fn producer_and_consumer_round_trip_with_every_codec_and_offsets() {
        cluster();
        bounded(async {
            let client = FluvioClient::connect(ClientConfig::default())
                .await
                .unwrap();
            let topic = unique("actix-fluvio-pc");
            client
                .admin()
                .create_topic(&topic, TopicConfig::new(2))
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
                let producer =
                    client.producer(ProducerOptions::builder().compression(codec).build());
                let records: Vec<(Option<String>, String)> = (0..200)
                    .map(|i| (Some(format!("key-{}", i % 7)), format!("{codec}-{i}")))
                    .collect();
                let metas = producer.send_batch(&topic, records.clone()).await.unwrap();
                for ((key, value), meta) in records.into_iter().zip(metas) {
                    assert_eq!(
                        meta.partition,
                        key_partition(key.as_ref().unwrap().as_bytes(), 2)
                    );
                    expected.push((meta.partition, meta.offset, value));
                }
            }
            for partition in 0..2 {
                let mine: Vec<_> = expected.iter().filter(|e| e.0 == partition).collect();
                for w in mine.windows(2) {
                    assert_eq!(
                        w[1].1,
                        w[0].1 + 1,
                        "contiguous offsets on partition {partition}"
                    );
                }
                let options = ConsumerOptions::builder().disable_continuous(true).build();
                let mut stream = client
                    .partition_consumer(&topic, partition, options)
                    .await
                    .unwrap();
                let mut got = Vec::new();
                while let Some(r) = stream.next().await {
                    let r = r.unwrap();
                    got.push((
                        r.partition,
                        r.offset,
                        String::from_utf8(r.value.to_vec()).unwrap(),
                    ));
                }
                let want: Vec<_> = mine.into_iter().cloned().collect();
                assert_eq!(got, want, "partition {partition}");
                let (start, end) = client.partition_offsets(&topic, partition).await.unwrap();
                assert_eq!((start, end), (0, got.len() as i64));
                let tail = client
                    .partition_consumer(
                        &topic,
                        partition,
                        ConsumerOptions::builder()
                            .offset(Offset::FromEnd(3))
                            .disable_continuous(true)
                            .build(),
                    )
                    .await
                    .unwrap();
                let mut tail = tail;
                let mut n = 0;
                while let Some(r) = tail.next().await {
                    assert!(r.unwrap().offset >= end - 3);
                    n += 1;
                }
                assert_eq!(n, 3);
            }
            let _ = client.admin().delete_topic(&topic).await;
            settled_after_delete(&client, &topic).await;
        })
        .await;
    }

    #[tokio::test]
    #[ignore = "needs a real cluster: FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test real_cluster -- --ignored"]
    async fn consumer_offsets_commit_and_resume() {
        cluster();
        bounded(async {
            let client = FluvioClient::connect(ClientConfig::default())
                .await
                .unwrap();
            let topic = unique("actix-fluvio-co");
            client
                .admin()
                .create_topic(&topic, TopicConfig::new(1))
                .await
                .unwrap();
            let producer = client.producer(ProducerOptions::default());
            producer
                .send_batch(&topic, (0..30).map(|i| (None::<&[u8]>, i.to_string())))
                .await
                .unwrap();
            let id = unique("consumer");
            let options = ConsumerOptions::builder().consumer_id(id.clone()).build();
            let mut stream = client
                .partition_consumer(&topic, 0, options.clone())
                .await
                .unwrap();
            for _ in 0..12 {
                stream.next().await.unwrap().unwrap();
            }
            stream.commit(11).await.unwrap();
            drop(stream);
            let offsets = client.admin().list_consumer_offsets().await.unwrap();
            assert!(
                offsets
                    .iter()
                    .any(|o| o.consumer_id == id && o.offset == 11),
                "{offsets:?}"
            );
            let mut resumed = client.partition_consumer(&topic, 0, options).await.unwrap();
            assert_eq!(resumed.next().await.unwrap().unwrap().offset, 12);
            drop(resumed);
            client
                .admin()
                .delete_consumer_offset(&id, &topic, 0)
                .await
                .unwrap();
            let _ = client.admin().delete_topic(&topic).await;
            settled_after_delete(&client, &topic).await;
        })
        .await;
    }
}
