use super::*;
use crate::admin::error::check;
use crate::protocol::sc::{MirrorConnectionStat, RemoteMirrorConfig, Status};
use crate::protocol::ErrorCode;

/// What `fluvio remote export edge1 --file F --public-endpoint 127.0.0.1:19003 --home-id
/// home1` wrote (Fluvio 0.18.2).
const CLI_EXPORT: &str = r#"{
  "topics": [],
  "home": {
    "id": "home1",
    "remoteId": "edge1",
    "publicEndpoint": "127.0.0.1:19003"
  }
}"#;

fn export() -> RemoteExport {
    RemoteExport {
        topics: Vec::new(),
        home: HomeExport {
            id: "home1".into(),
            remote_id: "edge1".into(),
            public_endpoint: "127.0.0.1:19003".into(),
            client_tls: None,
        },
    }
}

#[test]
fn an_export_is_written_and_read_as_the_official_cli_does() {
    assert_eq!(export().to_json(), CLI_EXPORT);
    assert_eq!(RemoteExport::from_json(CLI_EXPORT).unwrap(), export());
    let mut tls = export();
    tls.home.client_tls = Some(ExportTls {
        domain: "home.local".into(),
        ca_cert: "CA".into(),
        client_cert: "CERT".into(),
        client_key: "KEY".into(),
    });
    let json = tls.to_json();
    assert!(json.contains(r#""clientTls": {"#), "{json}");
    assert!(json.contains(r#""caCert": "CA""#), "{json}");
    assert_eq!(RemoteExport::from_json(&json).unwrap(), tls);
    let err = RemoteExport::from_json(r#"{"home":{"id":"h"}}"#).unwrap_err();
    assert!(matches!(err, AdminError::InvalidExport(_)), "{err}");
}

#[test]
fn connecting_home_stores_the_export_as_a_home_object_named_by_its_id() {
    let spec = export().home_spec();
    assert_eq!(spec.id(), "home1");
    let MirrorType::Home(home) = spec.mirror_type else {
        panic!("not a home: {spec:?}");
    };
    assert_eq!(
        (home.remote_id.as_str(), home.public_endpoint.as_str()),
        ("edge1", "127.0.0.1:19003")
    );
}

#[test]
fn pairing_reads_the_status_as_the_cli_shows_it() {
    let status = MirrorStatus {
        connection_status: MirrorConnection::Online,
        pairing_sc: MirrorPairStatus::Successful,
        pairing_spu: MirrorPairStatus::DetailFailure("refused".into()),
        connection_stat: MirrorConnectionStat {
            last_seen: 1_700_000_000_123,
        },
    };
    let pairing = Pairing::from_status(&status);
    assert!(pairing.online);
    assert!(!pairing.is_connected());
    assert_eq!(pairing.sc.as_str(), "Connected");
    assert_eq!(pairing.spu.as_str(), "Failed");
    assert_eq!(pairing.errors().as_deref(), Some("refused"));
    assert_eq!(
        pairing.last_seen,
        Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123))
    );
    let never = Pairing::from_status(&MirrorStatus::default());
    assert_eq!((never.last_seen, never.errors()), (None, None));
    assert_eq!(never.sc.as_str(), "Waiting");
}

fn home_topic(remotes: &[&str], source: bool) -> TopicSpec {
    TopicSpec {
        replicas: ReplicaSpec::Mirror(MirrorConfig::Home(HomeMirrorConfig {
            partitions: remotes
                .iter()
                .map(|r| HomePartitionConfig {
                    remote_cluster: (*r).into(),
                    remote_replica: "t-0".into(),
                    source,
                })
                .collect(),
            source,
        })),
        ..TopicSpec::default()
    }
}

fn remote_topic(home: &str, target: bool) -> TopicSpec {
    TopicSpec {
        replicas: ReplicaSpec::Mirror(MirrorConfig::Remote(RemoteMirrorConfig {
            home_cluster: home.into(),
            home_spus: Vec::new(),
            target,
        })),
        ..TopicSpec::default()
    }
}

#[test]
fn a_mirror_topic_shows_its_side_direction_and_partners() {
    let home = TopicMirror::of(&home_topic(&["edge1", "edge2"], false)).unwrap();
    assert_eq!(home.to_string(), "from-remote edge1,edge2");
    assert_eq!(
        TopicMirror::of(&home_topic(&["edge1"], true))
            .unwrap()
            .kind(),
        "to-remote"
    );
    assert_eq!(
        TopicMirror::of(&remote_topic("home1", false))
            .unwrap()
            .to_string(),
        "to-home home1"
    );
    assert_eq!(
        TopicMirror::of(&remote_topic("home1", true))
            .unwrap()
            .kind(),
        "from-home"
    );
    assert_eq!(TopicMirror::of(&TopicSpec::default()), None);
}

#[test]
fn a_name_picks_the_remote_s_partition_at_home_and_the_only_one_on_a_remote() {
    let home = home_topic(&["edge1", "edge2", "edge3"], false);
    let mirror = home.mirror().unwrap();
    let edge2 = mirror.partition_of("edge2").unwrap();
    assert_eq!(edge2.partition, 1);
    assert!(
        !edge2.accepts_produce(),
        "remote to home: not written at home"
    );
    assert_eq!(mirror.partition_of("edge9"), None);
    assert_eq!(mirror.partners(), ["edge1", "edge2", "edge3"]);
    let to_remote = home_topic(&["edge1"], true);
    assert!(to_remote
        .mirror()
        .unwrap()
        .partition_of("edge1")
        .unwrap()
        .accepts_produce());
    let remote = remote_topic("home1", false);
    let home1 = remote.mirror().unwrap().partition_of("home1").unwrap();
    assert_eq!(home1.partition, 0);
    assert!(
        home1.accepts_produce(),
        "remote to home: written on the remote"
    );
    let from_home = remote_topic("home1", true);
    assert!(!from_home
        .mirror()
        .unwrap()
        .partition_of("home1")
        .unwrap()
        .accepts_produce());
    assert_eq!(remote.mirror().unwrap().partition_of("edge1"), None);
    assert_eq!(TopicSpec::default().mirror(), None);
}

#[test]
fn every_mirror_refusal_of_the_sc_has_its_typed_error() {
    let refused = |code: ErrorCode| {
        check(Status {
            name: "edge1".into(),
            error_code: code,
            error_message: Some("why".into()),
        })
        .unwrap_err()
    };
    let cases = [
        ErrorCode::MirrorNotFound,
        ErrorCode::MirrorAlreadyExists,
        ErrorCode::MirrorDeleteFromRemote,
        ErrorCode::MirrorInvalidType,
    ];
    for code in cases {
        let err = refused(code.clone());
        assert_eq!(err.code(), Some(code.clone()), "{err}");
        assert!(!matches!(err, AdminError::Server { .. }), "untyped: {err}");
    }
    let err = refused(ErrorCode::MirrorInvalidType).about_remote("home1");
    assert_eq!(
        err.to_string(),
        "'home1' is a home cluster, not a remote registered here: why"
    );
}
