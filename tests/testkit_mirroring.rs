//! Mirroring metadata on the embedded test cluster, proven with the official client
//! (`fluvio` 0.50.1, a dev-dependency only) where it has the API, and with this crate's
//! low-level SC requests: Mirror objects, home and remote mirror topics, AddMirror, and the
//! SC's and SPU's mirror error codes. No data crosses clusters (the testkit does not pair):
//! each test plays one side.
//!
//! (Above 400 lines on purpose: the same mirroring types are driven through two clients,
//! the official one and this crate's, so the imports come twice, and each error code gets
//! its assertion with its exact message.)

mod common;

use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::connection::Connection;
use actix_fluvio::producer::{ProducerError as OurProducerError, ProducerOptions};
use actix_fluvio::protocol::sc::{
    AddMirror as OurAddMirror, CreatableSpec, CreateRequest, DeleteRequest, HomeCluster,
    HomeMirrorConfig as OurHomeConfig, HomePartitionConfig as OurHomePartition, ListRequest,
    ListResponse, MirrorConfig as OurMirrorConfig, MirrorSpec as OurMirrorSpec,
    MirrorType as OurMirrorType, PartitionMirrorConfig as OurPartitionMirror,
    PartitionSpec as OurPartitionSpec, RemoteCluster, ReplicaSpec as OurReplicaSpec,
    TopicResolution, TopicSpec as OurTopicSpec, UpdateRequest,
    UpdateTopicAction as OurUpdateAction, WatchRequest,
};
use actix_fluvio::protocol::ErrorCode as OurCode;
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use fluvio::consumer::ConsumerConfigExt;
use fluvio::metadata::partition::{PartitionMirrorConfig, PartitionSpec};
use fluvio::metadata::topic::{
    AddMirror, HomeMirrorConfig, MirrorConfig, RemoteMirrorConfig, ReplicaSpec, SpuMirrorConfig,
    TopicSpec, UpdateTopicAction,
};
use fluvio::{Fluvio, FluvioAdmin, FluvioClusterConfig, Offset, RecordKey};
use fluvio::{FluvioError, ProducerError, TopicProducerConfigBuilder};
use fluvio_protocol::link::ErrorCode;
use fluvio_sc_schema::mirror::{Home, MirrorSpec, MirrorStatus, MirrorType, Remote};
use fluvio_sc_schema::ApiError;
use futures_util::StreamExt;

use common::bounded;

async fn start(spus: usize) -> (TestCluster, Fluvio) {
    let config = TestClusterConfig {
        spus,
        ..TestClusterConfig::default()
    };
    let cluster = TestCluster::start(config).await.expect("cluster starts");
    let config = FluvioClusterConfig::new(cluster.sc_addr());
    let fluvio = Fluvio::connect_with_config(&config)
        .await
        .expect("the official client connects");
    (cluster, fluvio)
}

fn remote(id: &str) -> MirrorSpec {
    MirrorSpec {
        mirror_type: MirrorType::Remote(Remote { id: id.into() }),
    }
}

async fn register(admin: &FluvioAdmin, id: &str) {
    admin
        .create(id.to_string(), false, remote(id))
        .await
        .expect("remote registered");
}

/// The SC's code and message inside an official admin error (an `anyhow::Error`, a type
/// this crate does not name: a macro, so that `downcast_ref` resolves on it).
macro_rules! api_error {
    ($err:expr) => {{
        let err = $err;
        match err.downcast_ref::<ApiError>() {
            Some(ApiError::Code(code, message)) => {
                (code.clone(), message.clone().unwrap_or_default())
            }
            _ => panic!("not an SC error code: {err:?}"),
        }
    }};
}

/// A home topic as `fluvio topic create NAME --mirror-apply` makes it.
fn home_topic(name: &str, remotes: &[&str], home_to_remote: bool) -> TopicSpec {
    let remotes = remotes.iter().map(|r| r.to_string()).collect();
    let mut config = MirrorConfig::Home(HomeMirrorConfig::from_simple(name, remotes));
    config.set_home_to_remote(home_to_remote).unwrap();
    TopicSpec::new_mirror(config)
}

/// A remote's copy of a home topic, as its SC creates it.
fn remote_topic(target: bool) -> TopicSpec {
    TopicSpec::new_mirror(MirrorConfig::Remote(RemoteMirrorConfig {
        home_cluster: "home1".into(),
        home_spus: vec![SpuMirrorConfig {
            id: 5001,
            key: "custom-spu-5001".into(),
            endpoint: "127.0.0.1:19010".into(),
        }],
        target,
    }))
}

/// Send one record with the official producer; the SPU's answer.
async fn official_send(fluvio: &Fluvio, topic: &str, partition: u32) -> Result<i64, ErrorCode> {
    let config = TopicProducerConfigBuilder::default()
        .set_specific_partitioner(partition)
        .build()
        .unwrap();
    let producer = fluvio
        .topic_producer_with_config(topic, config)
        .await
        .expect("producer");
    let sent = producer
        .send(RecordKey::NULL, "hello")
        .await
        .expect("queued");
    producer.flush().await.expect("flushed");
    match sent.wait().await {
        Ok(metadata) => Ok(metadata.offset()),
        Err(FluvioError::Producer(ProducerError::SpuErrorCode(code))) => Err(code),
        Err(err) => panic!("not an SPU error code: {err:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_admin_registers_lists_and_unregisters_mirrors() {
    bounded(async {
        let (_cluster, fluvio) = start(1).await;
        let admin = fluvio.admin().await;
        register(&admin, "edge1").await;
        register(&admin, "edge2").await;
        let home = MirrorType::Home(Home {
            id: "home1".into(),
            remote_id: "edge1".into(),
            public_endpoint: "127.0.0.1:19003".into(),
            client_tls: None,
        });
        let home = MirrorSpec { mirror_type: home };
        admin
            .create("home1".into(), false, home.clone())
            .await
            .unwrap();
        // A Home is overwritten; a Remote is not.
        admin.create("home1".into(), false, home).await.unwrap();
        let again = admin.create("edge1".into(), false, remote("edge1")).await;
        let (code, message) = api_error!(again.unwrap_err());
        assert_eq!(code, ErrorCode::MirrorAlreadyExists);
        assert_eq!(message, r#"remote cluster "edge1" already exists"#);

        // The SC ignores name filters for Mirrors.
        let listed = admin
            .list::<MirrorSpec, _>(vec!["edge1".to_string()])
            .await
            .unwrap();
        let names: Vec<_> = listed.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["edge1", "edge2", "home1"]);
        assert_eq!(listed[0].spec, remote("edge1"));
        assert_eq!(listed[0].status, MirrorStatus::default(), "never paired");
        assert!(matches!(listed[2].spec.mirror_type, MirrorType::Home(_)));

        admin.delete::<MirrorSpec>("edge2").await.unwrap();
        let (code, message) = api_error!(admin.delete::<MirrorSpec>("edge2").await.unwrap_err());
        assert_eq!(code, ErrorCode::MirrorNotFound);
        assert_eq!(message, r#"remote cluster "edge2" not found"#);
        assert_eq!(admin.all::<MirrorSpec>().await.unwrap().len(), 2);

        // The testkit's own check: the name is the id in the spec.
        let renamed = admin.create("edge3".into(), false, remote("edge1")).await;
        assert_eq!(
            api_error!(renamed.unwrap_err()).0,
            ErrorCode::InvalidCreateRequest
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_home_topics_refuse_produce_unless_home_to_remote() {
    bounded(async {
        let (cluster, fluvio) = start(2).await;
        let admin = fluvio.admin().await;
        register(&admin, "edge1").await;
        register(&admin, "edge2").await;
        let from_spec = home_topic("from-edge", &["edge1", "edge2"], false);
        admin
            .create("from-edge".into(), false, from_spec.clone())
            .await
            .unwrap();
        let spec = home_topic("to-edge", &["edge1", "edge2"], true);
        admin.create("to-edge".into(), false, spec).await.unwrap();

        // The metadata carries the configs as on the real SC.
        let topics = admin.all::<TopicSpec>().await.unwrap();
        let from = topics.iter().find(|t| t.name == "from-edge").unwrap();
        assert_eq!(from.spec.replicas(), from_spec.replicas());
        assert_eq!(from.status.mirror_map.len(), 2);
        let partitions = admin.all::<PartitionSpec>().await.unwrap();
        let second = partitions.iter().find(|p| p.name == "from-edge-1").unwrap();
        let Some(PartitionMirrorConfig::Home(mirror)) = &second.spec.mirror else {
            panic!("a home partition: {second:?}");
        };
        assert_eq!(
            (mirror.remote_cluster.as_str(), mirror.source),
            ("edge2", false)
        );
        assert_eq!(second.spec.leader, cluster.spu_ids()[1]);

        // From remote to home: the home side only receives (11003 on every partition).
        for partition in 0..2 {
            let refused = official_send(&fluvio, "from-edge", partition).await;
            assert_eq!(refused, Err(ErrorCode::MirrorProduceFromHome));
        }
        // From home to remote: accepted, and consumed by choosing the partition by remote.
        assert_eq!(official_send(&fluvio, "to-edge", 1).await, Ok(0));
        let config = ConsumerConfigExt::builder()
            .topic("to-edge")
            .mirror("edge2")
            .offset_start(Offset::beginning())
            .disable_continuous(true)
            .build()
            .unwrap();
        let mut stream = fluvio.consumer_with_config(config).await.unwrap();
        let record = stream.next().await.expect("a record").unwrap();
        assert_eq!((record.partition(), record.value()), (1, &b"hello"[..]));
        assert!(stream.next().await.is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_remote_copies_take_produce_only_toward_home_and_stay_undeleted() {
    bounded(async {
        let (_cluster, fluvio) = start(1).await;
        let admin = fluvio.admin().await;
        admin
            .create("to-home".into(), false, remote_topic(false))
            .await
            .unwrap();
        admin
            .create("from-home".into(), false, remote_topic(true))
            .await
            .unwrap();
        let partitions = admin.all::<PartitionSpec>().await.unwrap();
        let copy = partitions.iter().find(|p| p.name == "to-home-0").unwrap();
        let Some(PartitionMirrorConfig::Remote(mirror)) = &copy.spec.mirror else {
            panic!("a remote partition: {copy:?}");
        };
        assert_eq!(mirror.home_cluster, "home1");
        assert_eq!((mirror.home_spu_id, mirror.target), (5001, false));

        assert_eq!(official_send(&fluvio, "to-home", 0).await, Ok(0));
        let refused = official_send(&fluvio, "from-home", 0).await;
        assert_eq!(refused, Err(ErrorCode::MirrorProduceFromRemoteNotAllowed));
        // Consumers choose the remote's single partition by the home's id.
        let config = ConsumerConfigExt::builder()
            .topic("to-home")
            .mirror("home1")
            .offset_start(Offset::beginning())
            .disable_continuous(true)
            .build()
            .unwrap();
        let mut stream = fluvio.consumer_with_config(config).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap().value(), b"hello");

        let refused = admin.delete::<TopicSpec>("to-home").await.unwrap_err();
        let (code, message) = api_error!(refused);
        assert_eq!(code, ErrorCode::MirrorDeleteFromRemote);
        assert_eq!(message, "cannot delete mirrored topic from remote");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_add_mirror_provisions_an_empty_home_topic() {
    bounded(async {
        let (_cluster, fluvio) = start(1).await;
        let admin = fluvio.admin().await;
        register(&admin, "edge1").await;
        // `fluvio topic create --mirror`: no partitions yet.
        admin
            .create("grow".into(), false, home_topic("grow", &[], false))
            .await
            .unwrap();
        let add = |remote: &str| {
            UpdateTopicAction::AddMirror(AddMirror {
                remote_cluster: remote.into(),
                home_to_mirror: true,
            })
        };
        admin
            .update::<TopicSpec>("grow", add("edge1"))
            .await
            .unwrap();
        let topics = admin.all::<TopicSpec>().await.unwrap();
        let ReplicaSpec::Mirror(MirrorConfig::Home(home)) = topics[0].spec.replicas() else {
            panic!("a home topic");
        };
        let partition = &home.partitions()[0];
        assert_eq!(partition.remote_replica, "grow-0");
        assert!(!partition.source, "home_to_mirror is ignored, as upstream");
        let error = admin
            .update::<TopicSpec>("grow", add("edge1"))
            .await
            .unwrap_err();
        let (code, message) = api_error!(error);
        assert_eq!(code, ErrorCode::MirrorAlreadyExists);
        assert_eq!(
            message,
            r#"remote "edge1" is already assigned to partition: "0""#
        );
    })
    .await;
}

/// AddMirror on `topic` through this crate's low-level SC request; the SC's code.
async fn add_mirror(sc: &Connection, topic: &str, remote: &str) -> OurCode {
    let action = OurUpdateAction::AddMirror(OurAddMirror {
        remote_cluster: remote.into(),
        home_to_mirror: false,
    });
    let request = UpdateRequest::<OurTopicSpec>::new(topic, action);
    sc.request(&request).await.unwrap().error_code
}

/// Create an object through this crate's low-level SC request; the SC's code.
async fn create<S: CreatableSpec>(sc: &Connection, name: &str, spec: S) -> OurCode {
    let request = CreateRequest::new(name, spec);
    sc.request(&request).await.unwrap().error_code
}

fn our_mirror(mirror_type: OurMirrorType) -> OurMirrorSpec {
    OurMirrorSpec { mirror_type }
}

/// This crate's own SC requests and producer: every SC-side mirror error code of AddMirror
/// and Mirror create/delete, the partition watch, and the SPU's 11003.
#[tokio::test]
async fn our_sc_requests_register_mirrors_and_add_them_to_topics() {
    bounded(async {
        let cluster = common::embedded::cluster(1).await;
        let client = cluster.client().await.expect("client");
        let sc = client.low_level().sc();
        let edge1 = our_mirror(OurMirrorType::Remote(RemoteCluster { id: "edge1".into() }));
        assert_eq!(create(sc, "edge1", edge1.clone()).await, OurCode::None);
        let again = create(sc, "edge1", edge1).await;
        assert_eq!(again, OurCode::MirrorAlreadyExists);
        let home = HomeCluster {
            id: "home1".into(),
            ..HomeCluster::default()
        };
        let home = our_mirror(OurMirrorType::Home(home));
        assert_eq!(create(sc, "home1", home).await, OurCode::None);
        let filtered = ListRequest::<OurMirrorSpec>::new(vec!["nope".into()]);
        let mirrors = sc.request(&filtered).await.unwrap();
        assert_eq!(mirrors.objects.len(), 2, "name filters are ignored");
        let missing = DeleteRequest::<OurMirrorSpec>::new("edge9");
        let missing = sc.request(&missing).await.unwrap().error_code;
        assert_eq!(missing, OurCode::MirrorNotFound);

        let empty = OurTopicSpec {
            replicas: OurReplicaSpec::Mirror(OurMirrorConfig::Home(OurHomeConfig::default())),
            ..OurTopicSpec::default()
        };
        assert_eq!(create(sc, "m", empty).await, OurCode::None);
        let topics: ListResponse<OurTopicSpec> =
            sc.request(&ListRequest::new(vec![])).await.unwrap();
        let waiting = topics.objects[0].status.resolution;
        assert_eq!(waiting, TopicResolution::InsufficientResources);
        let plain = TopicConfig::new(1);
        client.admin().create_topic("plain", plain).await.unwrap();

        assert_eq!(
            add_mirror(sc, "nope", "edge1").await,
            OurCode::TopicNotFound
        );
        assert_eq!(add_mirror(sc, "m", "edge9").await, OurCode::MirrorNotFound);
        assert_eq!(
            add_mirror(sc, "m", "home1").await,
            OurCode::MirrorInvalidType
        );
        assert_eq!(add_mirror(sc, "plain", "edge1").await, OurCode::TopicError);
        assert_eq!(add_mirror(sc, "m", "edge1").await, OurCode::None);
        let twice = add_mirror(sc, "m", "edge1").await;
        assert_eq!(twice, OurCode::MirrorAlreadyExists);

        // The partition watch carries the new partition's mirror.
        let watch = WatchRequest::<OurPartitionSpec>::new();
        let mut watch = sc.stream(&watch).await.unwrap();
        let snapshot = watch.next().await.unwrap().unwrap().update.all;
        let m0 = snapshot.iter().find(|p| p.name == "m-0").expect("placed");
        let expected = OurHomePartition {
            remote_cluster: "edge1".into(),
            remote_replica: "m-0".into(),
            source: false,
        };
        assert_eq!(m0.spec.mirror, Some(OurPartitionMirror::Home(expected)));

        // This crate's producer gets the SPU's refusal (11003) for the home partition.
        let producer = client.producer(ProducerOptions::default());
        let refused = producer.send("m", None, b"x").await.unwrap_err();
        let code = match &refused {
            OurProducerError::MirrorDirection { code, .. } => code,
            other => panic!("not the SPU's mirror refusal: {other}"),
        };
        assert_eq!(code, &OurCode::MirrorProduceFromHome);
    })
    .await;
}

#[tokio::test]
async fn a_mirror_watch_ends_the_connection_as_on_the_real_sc() {
    bounded(async {
        let cluster = common::embedded::cluster(1).await;
        let sc = common::connect(cluster.sc_addr()).await;
        let watch = WatchRequest::<OurMirrorSpec>::new();
        let mut watch = sc.stream(&watch).await.unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(5), watch.next()).await;
        assert!(!matches!(ended, Ok(Some(Ok(_)))), "no Mirror watch frame");
        let list = ListRequest::<OurMirrorSpec>::new(vec![]);
        assert!(sc.request(&list).await.is_err(), "the connection is gone");
    })
    .await;
}
