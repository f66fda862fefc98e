//! This crate's mirroring API on the embedded test cluster: `Admin`'s remote and home
//! commands, mirror topics, `FluvioClient::mirror_partition`, `Producer::mirror_partition`
//! and the pipeline's `source_mirror` / `sink_mirror`, with every typed error. Each test
//! plays one side (the testkit does not pair clusters); the data flow between clusters is
//! tested in `real_cluster_mirroring.rs`.

mod common;

use actix::prelude::*;
use actix_fluvio::admin::{AdminError, MirrorDirection, TopicConfig, TopicMirror};
use actix_fluvio::cluster::{ClientError, FluvioClient};
use actix_fluvio::pipeline::{
    start_pipeline, Output, PipelineConfig, PipelineError, Process, WorkerError,
};
use actix_fluvio::producer::{ProducerError, ProducerOptions};
use actix_fluvio::protocol::sc::{
    CreateRequest, MirrorConfig, RemoteMirrorConfig, ReplicaSpec, SpuMirrorConfig, TopicSpec,
};
use actix_fluvio::protocol::ErrorCode;

use common::bounded;
use common::embedded::{client, cluster};
use common::read_values;

/// Copies each record's value.
struct Copy;

impl Actor for Copy {
    type Context = Context<Self>;
}

impl Handler<Process> for Copy {
    type Result = Result<Vec<Output>, WorkerError>;
    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        Ok(vec![Output::value(msg.0.value)])
    }
}

async fn copy_to_end(client: &FluvioClient, mut config: PipelineConfig) {
    config.exit_at_end = true;
    let pipeline = start_pipeline(client, config, |_| Copy.start().recipient())
        .await
        .unwrap();
    pipeline.wait().await.unwrap();
}

async fn write(client: &FluvioClient, topic: &str, partition: u32, values: &[&str]) {
    let producer = client.producer(ProducerOptions::default());
    for value in values {
        producer
            .enqueue_to(topic, partition, None, value.as_bytes())
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
}

#[actix_rt::test]
async fn a_home_registers_remotes_and_mirror_topics_with_typed_refusals() {
    bounded(async {
        let cluster = cluster(2).await;
        let client = client(&cluster).await;
        let admin = client.admin();
        admin.register_remote("edge1").await.unwrap();
        admin.register_remote("edge2").await.unwrap();
        let err = admin.register_remote("edge1").await.unwrap_err();
        assert!(matches!(err, AdminError::MirrorAlreadyExists { .. }), "{err}");
        assert_eq!(err.code(), Some(ErrorCode::MirrorAlreadyExists));
        let remotes = admin.list_remotes().await.unwrap();
        let ids: Vec<&str> = remotes.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["edge1", "edge2"]);
        assert!(remotes.iter().all(|r| !r.is_connected() && r.last_seen.is_none()));
        assert!(admin.home_status().await.unwrap().is_empty(), "a home has no home");

        let export = admin
            .export_remote("edge1", None, Some("home1"))
            .await
            .unwrap();
        assert_eq!(export.home.public_endpoint, client.endpoint().0);
        assert_eq!((export.home.id.as_str(), export.home.remote_id.as_str()), ("home1", "edge1"));
        let default_home = admin.export_remote("edge2", Some("edge.example:9003"), None);
        let default_home = default_home.await.unwrap();
        assert_eq!(default_home.home.id, "home");
        assert_eq!(default_home.home.public_endpoint, "edge.example:9003");
        let err = admin.export_remote("edge9", None, None).await.unwrap_err();
        assert!(matches!(&err, AdminError::MirrorNotFound(n) if n == "edge9"), "{err}");
        let err = admin.unregister_remote("edge9").await.unwrap_err();
        assert!(matches!(err, AdminError::MirrorNotFound(_)), "{err}");

        // Remote to home: one partition per remote, written on the remotes.
        admin
            .create_mirror_topic("telemetry", &["edge1", "edge2"], false)
            .await
            .unwrap();
        let err = admin
            .create_mirror_topic("other", &["edge1", "edge9"], false)
            .await
            .unwrap_err();
        assert!(matches!(&err, AdminError::MirrorNotFound(n) if n == "edge9"), "{err}");
        let spec = admin.get_topic("telemetry").await.unwrap().unwrap().spec;
        assert_eq!(
            TopicMirror::of(&spec),
            Some(TopicMirror::Home {
                remotes: vec!["edge1".into(), "edge2".into()],
                direction: MirrorDirection::RemoteToHome,
            })
        );
        let edge2 = client.mirror_partition("telemetry", "edge2").await.unwrap();
        assert_eq!(edge2.partition, 1);
        assert!(!edge2.accepts_produce());
        let err = client.mirror_partition("telemetry", "edge9").await.unwrap_err();
        assert!(
            matches!(&err, ClientError::MirrorNotFound { partners, .. } if partners == &["edge1", "edge2"]),
            "{err}"
        );
        assert!(err.to_string().contains("edge1, edge2"), "{err}");
        admin.create_topic("plain", TopicConfig::new(1)).await.unwrap();
        let err = client.mirror_partition("plain", "edge1").await.unwrap_err();
        assert!(matches!(err, ClientError::NotAMirrorTopic(_)), "{err}");
        let err = client.mirror_partition("missing", "edge1").await.unwrap_err();
        assert!(matches!(err, ClientError::TopicNotFound(_)), "{err}");

        // The home does not write it: refused by name, and by the SPU by number.
        let producer = client.producer(ProducerOptions::default());
        let err = producer.mirror_partition("telemetry", "edge1").await.unwrap_err();
        assert!(
            matches!(&err, ProducerError::MirrorDirection { code: ErrorCode::MirrorProduceFromHome, partition: 0, .. }),
            "{err}"
        );
        let receipt = producer.enqueue_to("telemetry", 1, None, b"x").await.unwrap();
        let err = receipt.wait().await.unwrap_err();
        assert!(
            matches!(&err, ProducerError::MirrorDirection { code: ErrorCode::MirrorProduceFromHome, partition: 1, .. }),
            "{err}"
        );

        // Adding remotes.
        let err = admin.add_mirror("telemetry", "edge1").await.unwrap_err();
        assert!(matches!(&err, AdminError::MirrorAlreadyExists { name, .. } if name == "edge1"), "{err}");
        let err = admin.add_mirror("telemetry", "edge3").await.unwrap_err();
        assert!(matches!(&err, AdminError::MirrorNotFound(n) if n == "edge3"), "{err}");
        let err = admin.add_mirror("plain", "edge1").await.unwrap_err();
        assert!(matches!(err, AdminError::InvalidConfiguration { .. }), "{err}");
        admin.register_remote("edge3").await.unwrap();
        admin.add_mirror("telemetry", "edge3").await.unwrap();
        let edge3 = client.mirror_partition("telemetry", "edge3").await.unwrap();
        assert_eq!(edge3.partition, 2);
        admin.unregister_remote("edge3").await.unwrap();
        assert_eq!(admin.list_remotes().await.unwrap().len(), 2);
    })
    .await;
}

#[actix_rt::test]
async fn a_home_writes_each_remote_s_partition_and_pipelines_pick_them_by_name() {
    bounded(async {
        let cluster = cluster(2).await;
        let client = client(&cluster).await;
        let admin = client.admin();
        for id in ["edge1", "edge2"] {
            admin.register_remote(id).await.unwrap();
        }
        admin
            .create_mirror_topic("commands", &["edge1", "edge2"], true)
            .await
            .unwrap();
        let spec = admin.get_topic("commands").await.unwrap().unwrap().spec;
        assert_eq!(
            TopicMirror::of(&spec).unwrap().to_string(),
            "to-remote edge1,edge2"
        );
        let producer = client.producer(ProducerOptions::default());
        for (name, values) in [("edge1", ["a1", "a2"]), ("edge2", ["b1", "b2"])] {
            let partition = producer.mirror_partition("commands", name).await.unwrap();
            write(&client, "commands", partition, &values).await;
        }

        // edge2's partition, by name, copied to a plain topic.
        admin
            .create_topic("copied", TopicConfig::new(1))
            .await
            .unwrap();
        let mut config = PipelineConfig::new("commands", "edge2-reader");
        config.source_mirror = Some("edge2".into());
        config.sink = Some("copied".into());
        copy_to_end(&client, config).await;
        assert_eq!(read_values(&client, "copied", 1).await, ["b1", "b2"]);

        // A plain topic's records fanned into edge1's partition.
        admin
            .create_topic("orders", TopicConfig::new(2))
            .await
            .unwrap();
        let orders = client.producer(ProducerOptions::default());
        for i in 0..10 {
            orders
                .enqueue("orders", None, format!("o{i}").as_bytes())
                .await
                .unwrap();
        }
        orders.flush().await.unwrap();
        let mut config = PipelineConfig::new("orders", "orders-to-edge1");
        config.sink = Some("commands".into());
        config.sink_mirror = Some("edge1".into());
        copy_to_end(&client, config).await;
        let edge1 = client.mirror_partition("commands", "edge1").await.unwrap();
        let (_, end) = client
            .partition_offsets("commands", edge1.partition)
            .await
            .unwrap();
        assert_eq!(end, 12, "edge1's two commands and ten orders");
        let edge2 = client.mirror_partition("commands", "edge2").await.unwrap();
        let (_, end) = client
            .partition_offsets("commands", edge2.partition)
            .await
            .unwrap();
        assert_eq!(end, 2, "edge2 got no orders");

        // Refused at start: the wrong side, a name with a partition, a mirror without a sink.
        admin
            .create_mirror_topic("telemetry", &["edge1"], false)
            .await
            .unwrap();
        let mut wrong_side = PipelineConfig::new("orders", "orders-to-telemetry");
        wrong_side.sink = Some("telemetry".into());
        wrong_side.sink_mirror = Some("edge1".into());
        let mut both = PipelineConfig::new("commands", "both");
        both.source_mirror = Some("edge1".into());
        both.partition = Some(0);
        let mut no_sink = PipelineConfig::new("orders", "no-sink");
        no_sink.sink_mirror = Some("edge1".into());
        for config in [wrong_side, both, no_sink] {
            let refused = start_pipeline(&client, config, |_| Copy.start().recipient()).await;
            assert!(
                matches!(refused, Err(PipelineError::InvalidConfig(_))),
                "{:?}",
                refused.err()
            );
        }
        let mut unknown = PipelineConfig::new("commands", "unknown");
        unknown.source_mirror = Some("edge9".into());
        let refused = start_pipeline(&client, unknown, |_| Copy.start().recipient()).await;
        let Err(err) = refused else {
            panic!("an unknown mirror is refused");
        };
        assert!(err.to_string().contains("edge9"), "{err}");
    })
    .await;
}

/// A remote's copy of a mirror topic as its SC creates it (one partition).
fn copy_of_home(home: &str, home_to_remote: bool) -> TopicSpec {
    TopicSpec {
        replicas: ReplicaSpec::Mirror(MirrorConfig::Remote(RemoteMirrorConfig {
            home_cluster: home.into(),
            home_spus: vec![SpuMirrorConfig {
                id: 5001,
                key: "home-spu".into(),
                endpoint: "127.0.0.1:1".into(),
            }],
            target: home_to_remote,
        })),
        ..TopicSpec::default()
    }
}

#[actix_rt::test]
async fn a_remote_connects_home_and_writes_only_what_flows_home() {
    bounded(async {
        let cluster = cluster(1).await;
        let client = client(&cluster).await;
        let admin = client.admin();
        let export = actix_fluvio::admin::RemoteExport::from_json(
            r#"{"topics":[],"home":{"id":"home1","remoteId":"edge1","publicEndpoint":"127.0.0.1:19003"}}"#,
        )
        .unwrap();
        admin.connect_home(&export).await.unwrap();
        let homes = admin.home_status().await.unwrap();
        assert_eq!(homes.len(), 1);
        assert_eq!(
            (homes[0].id.as_str(), homes[0].remote_id.as_str(), homes[0].public_endpoint.as_str()),
            ("home1", "edge1", "127.0.0.1:19003")
        );
        assert!(admin.list_remotes().await.unwrap().is_empty(), "a remote has no remotes");

        for (topic, home_to_remote) in [("telemetry", false), ("commands", true)] {
            let request = CreateRequest::new(topic, copy_of_home("home1", home_to_remote));
            let status = client.low_level().sc().request(&request).await.unwrap();
            assert_eq!(status.error_code, ErrorCode::None, "{status:?}");
        }
        let producer = client.producer(ProducerOptions::default());
        let partition = producer.mirror_partition("telemetry", "home1").await.unwrap();
        assert_eq!(partition, 0);
        write(&client, "telemetry", partition, &["r1", "r2"]).await;
        assert_eq!(read_values(&client, "telemetry", 1).await, ["r1", "r2"]);
        let err = producer.mirror_partition("commands", "home1").await.unwrap_err();
        assert!(
            matches!(&err, ProducerError::MirrorDirection { code: ErrorCode::MirrorProduceFromRemoteNotAllowed, .. }),
            "{err}"
        );
        let err = producer.send("commands", None, b"x").await.unwrap_err();
        assert!(
            matches!(&err, ProducerError::MirrorDirection { code: ErrorCode::MirrorProduceFromRemoteNotAllowed, .. }),
            "{err}"
        );
        let err = client.mirror_partition("telemetry", "edge1").await.unwrap_err();
        assert!(matches!(&err, ClientError::MirrorNotFound { partners, .. } if partners == &["home1"]), "{err}");
        let err = admin.delete_topic("telemetry").await.unwrap_err();
        assert!(matches!(&err, AdminError::MirrorDeleteFromRemote(t) if t == "telemetry"), "{err}");
        assert!(err.to_string().contains("delete it on the home cluster"), "{err}");
    })
    .await;
}
