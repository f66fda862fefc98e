//! Fault injection on the embedded test cluster, observed through this crate's own
//! `Connection`: dropped sockets, slow responses, injected error codes, SPU stop and restart,
//! and TLS.

mod common;

use std::time::Duration;

use actix_fluvio::connection::{Connection, ConnectionError, Pem, ReconnectPolicy, TlsPolicy};
use actix_fluvio::protocol::record::{Batch, Compression, Record, RecordSet};
use actix_fluvio::protocol::sc::CREATE_KEY;
use actix_fluvio::protocol::sc::{
    CreateRequest, ListRequest, ListResponse, PartitionResolution, PartitionSpec, SpuSpec,
    SpuStatusResolution, TopicSpec,
};
use actix_fluvio::protocol::spu::{
    FetchOffsetsRequest, Isolation, ProduceRequest, ReplicaKey, StreamFetchRequest,
    DEFAULT_PRODUCE_TIMEOUT, PRODUCE_KEY,
};
use actix_fluvio::protocol::{ErrorCode, Server};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

use common::{bounded, connect, connection_config};

/// A one-SPU cluster with topic `t` (one partition); returns the cluster, SC and SPU
/// connections.
async fn setup() -> (TestCluster, Connection, Connection) {
    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .expect("cluster starts");
    let sc = connect(cluster.sc_addr()).await;
    let status = sc
        .request(&CreateRequest::new("t", TopicSpec::computed(1, 1)))
        .await
        .unwrap();
    assert!(status.is_ok(), "{status:?}");
    let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
    (cluster, sc, spu)
}

fn produce_request(value: &str) -> ProduceRequest {
    let batch = Batch::from_records(
        &[Record::new(0, value.as_bytes().to_vec())],
        1,
        Compression::None,
    )
    .unwrap();
    let mut req = ProduceRequest::new(Isolation::ReadCommitted, DEFAULT_PRODUCE_TIMEOUT);
    req.push("t", 0, RecordSet::new(vec![batch]));
    req
}

async fn produce(spu: &Connection, value: &str) -> (ErrorCode, i64) {
    let res = spu.request(&produce_request(value)).await.unwrap();
    let p = res.find_partition("t", 0).unwrap();
    (p.error_code.clone(), p.base_offset)
}

async fn high_watermark(spu: &Connection) -> i64 {
    let res = spu
        .request(&FetchOffsetsRequest::new("t", 0))
        .await
        .unwrap();
    let p = res.find_partition(&ReplicaKey::new("t", 0)).unwrap();
    assert_eq!(p.error_code, ErrorCode::None);
    p.last_stable_offset
}

#[tokio::test]
async fn dropped_connections_end_requests_and_streams_and_new_ones_work() {
    bounded(async {
        let (cluster, sc, spu) = setup().await;
        produce(&spu, "a").await;
        let mut stream = spu
            .stream(&StreamFetchRequest::new("t", 0, 0))
            .await
            .unwrap();
        stream.next().await.unwrap().unwrap();

        cluster.drop_connections();
        let end = stream.next().await;
        assert!(
            matches!(end, None | Some(Err(_))),
            "the stream ends: {end:?}"
        );
        let err = sc
            .request(&ListRequest::<TopicSpec>::new(vec![]))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectionError::Lost { .. } | ConnectionError::Closed { .. }
            ),
            "{err}"
        );

        let spu = connect(cluster.spu_addr(cluster.spu_ids()[0]).unwrap()).await;
        assert_eq!(produce(&spu, "b").await, (ErrorCode::None, 1));
    })
    .await;
}

#[tokio::test]
async fn a_response_delay_makes_requests_time_out_until_it_is_lifted() {
    bounded(async {
        let (cluster, _sc, _) = setup().await;
        let spu_addr = cluster.spu_addr(cluster.spu_ids()[0]).unwrap();
        let impatient = connection_config()
            .into_builder()
            .request_timeout(Duration::from_millis(200))
            .build();
        let spu = Connection::connect(spu_addr.clone(), impatient)
            .await
            .unwrap();
        cluster.set_response_delay(Duration::from_millis(600));
        let err = spu.request(&produce_request("slow")).await.unwrap_err();
        assert!(
            matches!(err, ConnectionError::RequestTimeout { .. }),
            "{err}"
        );
        // The write itself happened; only the answer was late.
        cluster.set_response_delay(Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(high_watermark(&spu).await, 1);
    })
    .await;
}

#[tokio::test]
async fn injected_errors_answer_exactly_the_next_requests() {
    bounded(async {
        let (cluster, sc, spu) = setup().await;
        cluster.fail_next_on(
            Server::Spu,
            PRODUCE_KEY,
            ErrorCode::NotLeaderForPartition,
            2,
        );
        assert_eq!(
            produce(&spu, "x").await,
            (ErrorCode::NotLeaderForPartition, 0)
        );
        assert_eq!(
            produce(&spu, "x").await,
            (ErrorCode::NotLeaderForPartition, 0)
        );
        assert_eq!(produce(&spu, "x").await, (ErrorCode::None, 0));
        assert_eq!(
            high_watermark(&spu).await,
            1,
            "failed produces wrote nothing"
        );
        assert_eq!(cluster.requests_served(Server::Spu, PRODUCE_KEY), 3);

        cluster.fail_next(CREATE_KEY, ErrorCode::TopicError, 1);
        let status = sc
            .request(&CreateRequest::new("u", TopicSpec::computed(1, 1)))
            .await
            .unwrap();
        assert_eq!(status.error_code, ErrorCode::TopicError);
        let status = sc
            .request(&CreateRequest::new("u", TopicSpec::computed(1, 1)))
            .await
            .unwrap();
        assert!(status.is_ok());

        // Stream fetch: the error arrives as the stream's only frame.
        cluster.fail_next_on(Server::Spu, 1003, ErrorCode::StorageError, 1);
        let mut stream = spu
            .stream(&StreamFetchRequest::new("t", 0, 0))
            .await
            .unwrap();
        let frame = stream.next().await.unwrap().unwrap();
        assert_eq!(frame.partition.error_code, ErrorCode::StorageError);

        // A list answer has no error field: the SC closes the connection instead.
        cluster.fail_next_on(Server::Sc, 1003, ErrorCode::Other("boom".into()), 1);
        assert!(sc
            .request(&ListRequest::<TopicSpec>::new(vec![]))
            .await
            .is_err());
    })
    .await;
}

#[tokio::test]
async fn a_stopped_spu_refuses_connections_and_restarts_with_its_data() {
    bounded(async {
        let (cluster, sc, spu) = setup().await;
        let id = cluster.spu_ids()[0];
        let addr = cluster.spu_addr(id).unwrap();
        produce(&spu, "kept").await;

        cluster.stop_spu(id).await.unwrap();
        // The open connection was closed by the stop (reconnects are disabled here).
        let err = spu.request(&produce_request("lost")).await.unwrap_err();
        assert!(
            matches!(
                err,
                ConnectionError::Lost { .. } | ConnectionError::Closed { .. }
            ),
            "{err}"
        );
        let refused = Connection::connect(addr.clone(), connection_config())
            .await
            .unwrap_err();
        assert!(
            matches!(refused, ConnectionError::Connect { .. }),
            "{refused}"
        );
        let spus: ListResponse<SpuSpec> = sc.request(&ListRequest::new(vec![])).await.unwrap();
        assert_eq!(
            spus.objects[0].status.resolution,
            SpuStatusResolution::Offline
        );
        let parts: ListResponse<PartitionSpec> =
            sc.request(&ListRequest::new(vec![])).await.unwrap();
        assert_eq!(
            parts.objects[0].status.resolution,
            PartitionResolution::LeaderOffline
        );

        cluster.restart_spu(id).await.unwrap();
        assert_eq!(cluster.spu_addr(id).unwrap(), addr, "same port");
        let spu = connect(addr).await;
        assert_eq!(high_watermark(&spu).await, 1, "data kept");
        assert_eq!(produce(&spu, "again").await, (ErrorCode::None, 1));
        let spus: ListResponse<SpuSpec> = sc.request(&ListRequest::new(vec![])).await.unwrap();
        assert_eq!(
            spus.objects[0].status.resolution,
            SpuStatusResolution::Online
        );
        assert!(cluster.stop_spu(1).await.is_err(), "unknown SPU");
    })
    .await;
}

#[tokio::test]
async fn tls_clusters_present_certificates_for_the_domain_and_spu_names() {
    bounded(async {
        let cluster = TestCluster::start(TestClusterConfig {
            tls: true,
            ..TestClusterConfig::default()
        })
        .await
        .unwrap();
        let ca = Pem::Inline(cluster.ca_pem().unwrap().to_owned());
        let verified = |domain: String| {
            connection_config()
                .into_builder()
                .tls(TlsPolicy::Verified {
                    domain,
                    ca: ca.clone(),
                })
                .build()
        };
        let sc = Connection::connect(cluster.sc_addr(), verified(cluster.domain().into()))
            .await
            .unwrap();
        let spus: ListResponse<SpuSpec> = sc.request(&ListRequest::new(vec![])).await.unwrap();
        let spu_name = &spus.objects[0].name;
        assert_eq!(spu_name, &TestCluster::spu_name(cluster.spu_ids()[0]));
        let spu_domain = format!("{spu_name}.{}", cluster.domain());
        let addr = cluster.spu_addr(cluster.spu_ids()[0]).unwrap();
        let spu = Connection::connect(addr.clone(), verified(spu_domain))
            .await
            .unwrap();
        let status = sc
            .request(&CreateRequest::new("t", TopicSpec::computed(1, 1)))
            .await
            .unwrap();
        assert!(status.is_ok());
        assert_eq!(produce(&spu, "secret").await, (ErrorCode::None, 0));

        // The SC's certificate is not valid for an SPU name, and plain TCP gets nowhere.
        let wrong = Connection::connect(addr.clone(), verified(cluster.domain().into())).await;
        assert!(
            matches!(wrong, Err(ConnectionError::Tls { .. })),
            "{wrong:?}"
        );
        assert!(Connection::connect(addr, connection_config())
            .await
            .is_err());
    })
    .await;
}

#[tokio::test]
async fn a_reconnecting_connection_recovers_after_an_spu_restart() {
    bounded(async {
        let (cluster, _sc, _) = setup().await;
        let id = cluster.spu_ids()[0];
        let patient = connection_config()
            .into_builder()
            .reconnect(ReconnectPolicy::default())
            .build();
        let spu = Connection::connect(cluster.spu_addr(id).unwrap(), patient)
            .await
            .unwrap();
        assert_eq!(produce(&spu, "before").await, (ErrorCode::None, 0));
        cluster.stop_spu(id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        cluster.restart_spu(id).await.unwrap();
        // Requests may fail while the connection notices and reconnects; then they work.
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            match spu.request(&produce_request("after")).await {
                Ok(res) => break res,
                Err(e) if attempts < 50 => {
                    assert!(e.is_retriable(), "{e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no recovery: {e}"),
            }
        };
        let p = result.find_partition("t", 0).unwrap();
        assert_eq!((p.error_code.clone(), p.base_offset), (ErrorCode::None, 1));
        assert!(spu.reconnects() >= 1);
    })
    .await;
}
