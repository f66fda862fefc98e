//! Against a real Fluvio cluster: runs only when `FLUVIO_SC_ADDR` is set (e.g.
//! `FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --test real_cluster -- --nocapture`), and says
//! so when it skips.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

fn cluster() -> Option<String> {
    match std::env::var("FLUVIO_SC_ADDR") {
        Ok(addr) if !addr.is_empty() => Some(addr),
        _ => {
            println!("SKIPPED: FLUVIO_SC_ADDR is not set; no real Fluvio cluster to test against");
            None
        }
    }
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("real-cluster step timed out")
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

#[tokio::test]
async fn connects_negotiates_discovers_and_moves_records() {
    let Some(addr) = cluster() else { return };
    bounded(async {
        let client = FluvioClient::connect(ClientConfig::default())
            .await
            .unwrap();
        assert_eq!(
            client.endpoint(),
            (addr.as_str(), &EndpointSource::Environment)
        );
        let platform = client.sc().versions().platform.clone();
        println!("SC {addr}: platform {platform}");
        assert!(
            platform.starts_with("0.1"),
            "unexpected platform {platform}"
        );

        let spus = client
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
            .sc()
            .request(&CreateRequest::new(
                topic.clone(),
                TopicSpec::computed(2, 1),
            ))
            .await
            .unwrap();
        assert_eq!(status.error_code, ErrorCode::None, "{status:?}");
        let again = client
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
        let spu = client.leader_connection(&topic, 0).await.unwrap();
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
            .sc()
            .request(&DeleteRequest::<TopicSpec>::new(topic.clone()))
            .await
            .unwrap();
        assert_eq!(status.error_code, ErrorCode::None, "{status:?}");
    })
    .await;
}
