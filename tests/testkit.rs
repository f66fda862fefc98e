//! The embedded test cluster, driven through this crate's own `Connection`: the SC object
//! API (create, list, watch, update, delete), produce and offsets, stream fetch with
//! acknowledgements, consumer offsets, and every injected fault.
//!
//! (Above 400 lines on purpose: one test per API of the embedded cluster, driven through
//! raw requests, which are verbose.)

mod common;

use std::time::Duration;

use actix_fluvio::connection::Connection;
use actix_fluvio::protocol::record::{Batch, Compression, Record};
use actix_fluvio::protocol::sc::{
    AddPartition, CompressionAlgorithm, CreateRequest, DeleteRequest, ListRequest, ListResponse,
    MsgType, PartitionMap, PartitionResolution, PartitionSpec, SmartModuleSpec, SpuSpec,
    SpuStatusResolution, TopicResolution, TopicSpec, UpdateRequest, UpdateTopicAction,
    WatchRequest,
};
use actix_fluvio::protocol::spu::{
    DeleteConsumerOffsetRequest, FetchConsumerOffsetsRequest, FetchOffsetsRequest, FetchRequest,
    Isolation, ProduceRequest, ReplicaKey, SmartModuleInvocation, SmartModuleWasm,
    StreamFetchRequest, UpdateConsumerOffsetRequest, UpdateOffsetsRequest, DEFAULT_PRODUCE_TIMEOUT,
};
use actix_fluvio::protocol::ErrorCode;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

use common::{bounded, connect};

async fn cluster(spus: usize) -> TestCluster {
    TestCluster::start(TestClusterConfig {
        spus,
        ..TestClusterConfig::default()
    })
    .await
    .expect("cluster starts")
}

async fn create_topic(sc: &Connection, name: &str, spec: TopicSpec) {
    let status = sc.request(&CreateRequest::new(name, spec)).await.unwrap();
    assert!(status.is_ok(), "{status:?}");
}

fn batch(values: &[&str], compression: Compression) -> Batch {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record::new(i as i64, v.as_bytes().to_vec()))
        .collect();
    Batch::from_records(&records, 1_700_000_000_000, compression).unwrap()
}

fn produce_request(topic: &str, partition: u32, batches: Vec<Batch>) -> ProduceRequest {
    let mut req = ProduceRequest::new(Isolation::ReadUncommitted, DEFAULT_PRODUCE_TIMEOUT);
    req.push(
        topic,
        partition,
        actix_fluvio::protocol::record::RecordSet::new(batches),
    );
    req
}

/// Produce `values` as one batch; returns (error, base offset).
async fn produce(spu: &Connection, topic: &str, values: &[&str]) -> (ErrorCode, i64) {
    let req = produce_request(topic, 0, vec![batch(values, Compression::None)]);
    let res = spu.request(&req).await.unwrap();
    let p = res.find_partition(topic, 0).unwrap();
    (p.error_code.clone(), p.base_offset)
}

fn values(batches: &[Batch], from: i64) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for (i, r) in b.records().unwrap().into_iter().enumerate() {
            if b.base_offset + i as i64 >= from {
                out.push(String::from_utf8(r.value.to_vec()).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn topics_are_created_listed_updated_and_deleted() {
    bounded(async {
        let cluster = cluster(2).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "orders", TopicSpec::computed(2, 1)).await;
        let again = sc
            .request(&CreateRequest::new("orders", TopicSpec::computed(1, 1)))
            .await
            .unwrap();
        assert_eq!(again.error_code, ErrorCode::TopicAlreadyExists);

        let topics: ListResponse<TopicSpec> = sc.request(&ListRequest::new(vec![])).await.unwrap();
        assert_eq!(topics.objects.len(), 1, "system topics are not listed");
        let orders = &topics.objects[0];
        assert_eq!(orders.status.resolution, TopicResolution::Provisioned);
        assert_eq!(orders.status.replica_map.len(), 2);

        let partitions: ListResponse<PartitionSpec> =
            sc.request(&ListRequest::new(vec![])).await.unwrap();
        let names: Vec<_> = partitions.objects.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["orders-0", "orders-1"]);
        // Name filters match substrings, as on the real SC.
        let filtered: ListResponse<PartitionSpec> = sc
            .request(&ListRequest::new(vec!["s-1".into()]))
            .await
            .unwrap();
        assert_eq!(filtered.objects.len(), 1);
        assert_eq!(filtered.objects[0].name, "orders-1");
        let ids = cluster.spu_ids();
        assert_eq!(partitions.objects[0].spec.leader, ids[0]);
        assert_eq!(partitions.objects[1].spec.leader, ids[1]);
        assert_eq!(
            partitions.objects[0].status.resolution,
            PartitionResolution::Online
        );

        let spus: ListResponse<SpuSpec> = sc.request(&ListRequest::new(vec![])).await.unwrap();
        assert_eq!(spus.objects.len(), 2);
        let addr = spus.objects[0].spec.public_address().unwrap();
        assert_eq!(Some(addr), cluster.spu_addr(ids[0]));
        assert_eq!(
            spus.objects[0].status.resolution,
            SpuStatusResolution::Online
        );

        let add = UpdateRequest::<TopicSpec>::new(
            "orders",
            UpdateTopicAction::AddPartition(AddPartition { count: 1 }),
        );
        assert!(sc.request(&add).await.unwrap().is_ok());
        let partitions: ListResponse<PartitionSpec> =
            sc.request(&ListRequest::new(vec![])).await.unwrap();
        assert_eq!(partitions.objects.len(), 3);

        // An assigned replica map is honoured: the first replica leads.
        let assigned = TopicSpec::assigned(vec![PartitionMap {
            id: 0,
            replicas: vec![ids[1], ids[0]],
            mirror: None,
        }]);
        create_topic(&sc, "placed", assigned).await;
        let placed: ListResponse<PartitionSpec> = sc
            .request(&ListRequest::new(vec!["placed-0".into()]))
            .await
            .unwrap();
        assert_eq!(placed.objects[0].spec.leader, ids[1]);
        assert_eq!(placed.objects[0].spec.replicas, [ids[1], ids[0]]);

        let delete = DeleteRequest::<TopicSpec>::new("orders");
        assert!(sc.request(&delete).await.unwrap().is_ok());
        let missing = sc.request(&delete).await.unwrap();
        assert_eq!(missing.error_code, ErrorCode::TopicNotFound);
        let mut dry = CreateRequest::new("dry", TopicSpec::computed(1, 1));
        dry.common.dry_run = true;
        assert!(sc.request(&dry).await.unwrap().is_ok());
        let topics: ListResponse<TopicSpec> = sc.request(&ListRequest::new(vec![])).await.unwrap();
        let names: Vec<_> = topics.objects.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["placed"], "the dry run created nothing");
    })
    .await;
}

#[tokio::test]
async fn smartmodules_are_created_listed_and_deleted() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        let status = sc
            .request(&CreateRequest::new("my-filter", SmartModuleSpec::default()))
            .await
            .unwrap();
        assert!(status.is_ok(), "{status:?}");
        let list: ListResponse<SmartModuleSpec> = sc
            .request(&ListRequest::new(vec![]).with_summary(true))
            .await
            .unwrap();
        assert_eq!(list.objects[0].name, "my-filter");
        assert!(list.objects[0].spec.summary.is_some());
        let delete = DeleteRequest::<SmartModuleSpec>::new("my-filter");
        assert!(sc.request(&delete).await.unwrap().is_ok());
        let again = sc.request(&delete).await.unwrap();
        assert!(matches!(
            again.error_code,
            ErrorCode::SmartModuleNotFound { .. }
        ));
    })
    .await;
}

#[tokio::test]
async fn watches_send_a_snapshot_then_changes() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "first", TopicSpec::computed(1, 1)).await;
        let mut watch = sc.stream(&WatchRequest::<TopicSpec>::new()).await.unwrap();
        let snapshot = watch.next().await.unwrap().unwrap().update;
        let mut names: Vec<_> = snapshot.all.iter().map(|m| m.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["consumer-offset", "first"]);
        assert!(snapshot.changes.is_empty());

        create_topic(&sc, "second", TopicSpec::computed(1, 1)).await;
        // The change is on the wire before the create's answer (same connection, in order).
        let change = tokio::time::timeout(Duration::from_millis(5), watch.next())
            .await
            .expect("the watch frame precedes the create answer")
            .unwrap()
            .unwrap()
            .update;
        assert!(change.all.is_empty());
        assert_eq!(change.changes.len(), 1);
        assert_eq!(change.changes[0].header, MsgType::Update);
        assert_eq!(change.changes[0].content.name, "second");

        let delete = DeleteRequest::<TopicSpec>::new("first");
        assert!(sc.request(&delete).await.unwrap().is_ok());
        let change = watch.next().await.unwrap().unwrap().update;
        assert_eq!(change.changes[0].header, MsgType::Delete);
        assert_eq!(change.changes[0].content.name, "first");
    })
    .await;
}

#[tokio::test]
async fn produced_records_are_fetched_with_their_offsets() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "events", TopicSpec::computed(1, 1)).await;
        let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
        assert_eq!(
            produce(&spu, "events", &["a", "b"]).await,
            (ErrorCode::None, 0)
        );
        assert_eq!(produce(&spu, "events", &["c"]).await, (ErrorCode::None, 2));

        let offsets = spu
            .request(&FetchOffsetsRequest::new("events", 0))
            .await
            .unwrap();
        let p = offsets
            .find_partition(&ReplicaKey::new("events", 0))
            .unwrap();
        assert_eq!(
            (p.error_code.clone(), p.start_offset, p.last_stable_offset),
            (ErrorCode::None, 0, 3)
        );

        let fetch = FetchRequest::single("events", 0, 1, 1 << 20, Isolation::ReadCommitted);
        let res = spu.request(&fetch).await.unwrap();
        let p = res.find_partition("events", 0).unwrap();
        assert_eq!(p.high_watermark, 3);
        assert_eq!(values(&p.records.batches, 1), ["b", "c"]);
        assert_eq!(p.records.batches[1].base_offset, 2);
    })
    .await;
}

#[tokio::test]
async fn only_the_leader_serves_a_partition_and_compression_must_match() {
    bounded(async {
        let cluster = cluster(2).await;
        let sc = connect(cluster.sc_addr()).await;
        let mut spec = TopicSpec::computed(1, 1);
        spec.compression_type = CompressionAlgorithm::Gzip;
        create_topic(&sc, "gz", spec).await;
        let ids = cluster.spu_ids();
        let leader = connect(cluster.spu_addr(ids[0]).unwrap()).await;
        let follower = connect(cluster.spu_addr(ids[1]).unwrap()).await;

        let plain = produce_request("gz", 0, vec![batch(&["x"], Compression::None)]);
        let res = leader.request(&plain).await.unwrap();
        assert_eq!(
            res.find_partition("gz", 0).unwrap().error_code,
            ErrorCode::CompressionError
        );
        let gzip = produce_request("gz", 0, vec![batch(&["x"], Compression::Gzip)]);
        let res = leader.request(&gzip).await.unwrap();
        assert_eq!(
            res.find_partition("gz", 0).unwrap().error_code,
            ErrorCode::None
        );

        let res = follower.request(&gzip).await.unwrap();
        assert_eq!(
            res.find_partition("gz", 0).unwrap().error_code,
            ErrorCode::NotLeaderForPartition
        );
        let offsets = follower
            .request(&FetchOffsetsRequest::new("gz", 0))
            .await
            .unwrap();
        let p = offsets.find_partition(&ReplicaKey::new("gz", 0)).unwrap();
        assert_eq!(p.error_code, ErrorCode::PartitionNotLeader);
        let mut stream = follower
            .stream(&StreamFetchRequest::new("gz", 0, 0))
            .await
            .unwrap();
        let frame = stream.next().await.unwrap().unwrap();
        assert_eq!(frame.stream_id, 0);
        assert_eq!(frame.partition.error_code, ErrorCode::NotLeaderForPartition);
    })
    .await;
}

#[tokio::test]
async fn stream_fetch_waits_for_acknowledgements_and_resends_from_them() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "s", TopicSpec::computed(1, 1)).await;
        let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
        produce(&spu, "s", &["a", "b"]).await;
        produce(&spu, "s", &["c"]).await;

        let mut stream = spu
            .stream(&StreamFetchRequest::new("s", 0, 1))
            .await
            .unwrap();
        let frame = stream.next().await.unwrap().unwrap();
        let p = &frame.partition;
        assert_eq!(p.error_code, ErrorCode::None);
        assert_eq!(p.high_watermark, 3);
        // Data starts at the batch holding offset 1.
        assert_eq!(p.records.batches[0].base_offset, 0);
        assert_eq!(values(&p.records.batches, 1), ["b", "c"]);
        let next = p.next_offset_for_fetch().unwrap().unwrap();
        assert_eq!(next, 3);

        // Unacknowledged: new data is not sent.
        produce(&spu, "s", &["d"]).await;
        let idle = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(
            idle.is_err(),
            "nothing may arrive before the acknowledgement"
        );

        // Acknowledge only up to 2: the SPU resends from 2.
        let ack = UpdateOffsetsRequest::single(frame.stream_id, 2);
        let status = spu.request(&ack).await.unwrap();
        assert_eq!(status.status[0].error, ErrorCode::None);
        let frame = stream.next().await.unwrap().unwrap();
        assert_eq!(values(&frame.partition.records.batches, 2), ["c", "d"]);

        // Acknowledge everything: silence until the next produce.
        spu.request(&UpdateOffsetsRequest::single(frame.stream_id, 4))
            .await
            .unwrap();
        let idle = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(idle.is_err(), "no frame while idle");
        produce(&spu, "s", &["e"]).await;
        let frame = stream.next().await.unwrap().unwrap();
        assert_eq!(values(&frame.partition.records.batches, 4), ["e"]);

        let unknown = spu
            .request(&UpdateOffsetsRequest::single(999, 1))
            .await
            .unwrap();
        assert_eq!(unknown.status[0].error, ErrorCode::FetchSessionNotFoud);
    })
    .await;
}

#[tokio::test]
async fn stream_fetch_cuts_at_max_bytes_and_reports_bad_offsets() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "cut", TopicSpec::computed(1, 1)).await;
        let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
        produce(&spu, "cut", &["aaaaaaaaaa", "bbbbbbbbbb"]).await;
        produce(&spu, "cut", &["cccccccccc"]).await;
        let first_len = actix_fluvio::protocol::Encode::encoded_len(
            &batch(&["aaaaaaaaaa", "bbbbbbbbbb"], Compression::None),
            0,
        );
        let req = StreamFetchRequest::new("cut", 0, 0).with_max_bytes(first_len as i32 + 10);
        let mut stream = spu.stream(&req).await.unwrap();
        let frame = stream.next().await.unwrap().unwrap();
        assert_eq!(frame.partition.records.batches.len(), 1);
        assert_eq!(frame.partition.records.truncated_bytes, 10);

        let beyond = spu.stream(&StreamFetchRequest::new("cut", 0, 10)).await;
        let frame = beyond.unwrap().next().await.unwrap().unwrap();
        assert_eq!(
            frame.partition.error_code,
            ErrorCode::Other("start offset: 10 is greater than leo: 3".into())
        );
        cluster.evict_records_before("cut", 0, 2).unwrap();
        let evicted = spu.stream(&StreamFetchRequest::new("cut", 0, 0)).await;
        let frame = evicted.unwrap().next().await.unwrap().unwrap();
        assert_eq!(
            frame.partition.error_code,
            ErrorCode::OffsetEvicted {
                offset: 0,
                next_available: 2
            }
        );
    })
    .await;
}

#[tokio::test]
async fn smartmodule_invocations_get_the_engineless_spu_errors() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "sm", TopicSpec::computed(1, 1)).await;
        let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
        let filter = SmartModuleInvocation::filter(SmartModuleWasm::predefined("nope"));
        let req = StreamFetchRequest::new("sm", 0, 0).with_smartmodule(filter.clone());
        let frame = spu
            .stream(&req)
            .await
            .unwrap()
            .next()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            frame.partition.error_code,
            ErrorCode::SmartModuleNotFound {
                name: "nope".into()
            }
        );

        let mut produce = produce_request("sm", 0, vec![batch(&["x"], Compression::None)]);
        produce.smartmodules.push(SmartModuleInvocation::filter(
            SmartModuleWasm::adhoc(b"\0asm").unwrap(),
        ));
        let res = spu.request(&produce).await.unwrap();
        let error = &res.find_partition("sm", 0).unwrap().error_code;
        assert!(
            matches!(error, ErrorCode::SmartModuleInvalid { .. }),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn consumer_offsets_are_stored_listed_and_deleted() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "c", TopicSpec::computed(1, 1)).await;
        let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
        produce(&spu, "c", &["a", "b"]).await;

        let anonymous = spu
            .stream(&StreamFetchRequest::new("c", 0, 0))
            .await
            .unwrap();
        let mut anonymous = anonymous;
        let frame = anonymous.next().await.unwrap().unwrap();
        let res = spu
            .request(&UpdateConsumerOffsetRequest::new(1, frame.stream_id))
            .await
            .unwrap();
        assert_eq!(
            res.error_code,
            ErrorCode::Other("stream without consumer id".into())
        );

        let req = StreamFetchRequest::new("c", 0, 0).with_consumer_id("reader");
        let mut stream = spu.stream(&req).await.unwrap();
        let frame = stream.next().await.unwrap().unwrap();
        let res = spu
            .request(&UpdateConsumerOffsetRequest::new(1, frame.stream_id))
            .await
            .unwrap();
        assert_eq!((res.offset, res.error_code), (1, ErrorCode::None));

        let all = spu
            .request(&FetchConsumerOffsetsRequest::default())
            .await
            .unwrap();
        assert_eq!(all.consumers.len(), 1);
        assert_eq!(all.consumers[0].consumer_id, "reader");
        assert_eq!(all.consumers[0].replica_id, ReplicaKey::new("c", 0));
        assert_eq!(all.consumers[0].offset, 1);
        let other = FetchConsumerOffsetsRequest::with_opts(None, Some("other".into()));
        assert!(spu.request(&other).await.unwrap().consumers.is_empty());

        let delete = DeleteConsumerOffsetRequest::new("c", 0, "reader");
        assert_eq!(
            spu.request(&delete).await.unwrap().error_code,
            ErrorCode::None
        );
        let all = spu
            .request(&FetchConsumerOffsetsRequest::default())
            .await
            .unwrap();
        assert!(all.consumers.is_empty());
    })
    .await;
}

#[actix_rt::test]
async fn the_cluster_runs_under_an_actix_runtime() {
    bounded(async {
        let cluster = cluster(1).await;
        let sc = connect(cluster.sc_addr()).await;
        create_topic(&sc, "actix", TopicSpec::computed(1, 1)).await;
        let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
        assert_eq!(produce(&spu, "actix", &["a"]).await, (ErrorCode::None, 0));
        cluster.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_sc_handshake_without_a_semver_client_version_is_dropped() {
    use actix_fluvio::codec::{FrameCodec, RawFrame};
    use actix_fluvio::protocol::{ApiVersionsRequest, Encode, RequestMessage};
    use futures_util::{SinkExt, StreamExt};
    bounded(async {
        let cluster = cluster(1).await;
        let tcp = tokio::net::TcpStream::connect(cluster.sc_addr())
            .await
            .unwrap();
        let mut framed = tokio_util::codec::Framed::new(tcp, FrameCodec::default());
        let req = RequestMessage::new(ApiVersionsRequest::default(), 2, 1, "raw");
        framed
            .send(RawFrame(req.to_bytes(0).unwrap().freeze()))
            .await
            .unwrap();
        assert!(
            framed.next().await.is_none(),
            "the SC closes the connection"
        );
        // Garbage is dropped too, on an SPU.
        let tcp = tokio::net::TcpStream::connect(cluster.spu_addr(5001).unwrap())
            .await
            .unwrap();
        let mut framed = tokio_util::codec::Framed::new(tcp, FrameCodec::default());
        framed
            .send(RawFrame(bytes::Bytes::from_static(b"\x00\x00\xff")))
            .await
            .unwrap();
        assert!(
            framed.next().await.is_none(),
            "the SPU closes the connection"
        );
    })
    .await;
}
