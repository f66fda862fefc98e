//! Unit tests of `mirror_topics.rs`, through the topic and Mirror functions the SC calls.

use super::*;
use crate::protocol::sc::{
    HomeCluster, HomeMirrorConfig, MirrorSpec, RemoteCluster, RemoteMirrorConfig, SpuMirrorConfig,
    TopicSpec,
};
use crate::testkit::mirrors::register;
use crate::testkit::state::SpuEntry;
use crate::testkit::topics::{add_partitions, create, delete};

fn state(spus: &[(i32, bool)]) -> State {
    let mut state = State::default();
    for &(id, online) in spus {
        state.spus.insert(id, SpuEntry { port: 1, online });
    }
    for remote in ["edge1", "edge2", "edge3"] {
        let spec = MirrorSpec {
            mirror_type: MirrorType::Remote(RemoteCluster { id: remote.into() }),
        };
        assert!(register(&mut state, remote, spec).is_ok());
    }
    state
}

fn home_partition(remote: &str, topic: &str, source: bool) -> HomePartitionConfig {
    HomePartitionConfig {
        remote_cluster: remote.into(),
        remote_replica: format!("{topic}-0"),
        source,
    }
}

fn home_topic(topic: &str, remotes: &[&str], source: bool) -> TopicSpec {
    let partitions = remotes
        .iter()
        .map(|r| home_partition(r, topic, source))
        .collect();
    TopicSpec {
        replicas: ReplicaSpec::Mirror(MirrorConfig::Home(HomeMirrorConfig { partitions, source })),
        ..TopicSpec::default()
    }
}

fn remote_topic(home_spus: Vec<SpuMirrorConfig>, target: bool) -> TopicSpec {
    TopicSpec {
        replicas: ReplicaSpec::Mirror(MirrorConfig::Remote(RemoteMirrorConfig {
            home_cluster: "home1".into(),
            home_spus,
            target,
        })),
        ..TopicSpec::default()
    }
}

fn home_spu() -> SpuMirrorConfig {
    SpuMirrorConfig {
        id: 5001,
        key: "custom-spu-5001".into(),
        endpoint: "127.0.0.1:19010".into(),
    }
}

#[test]
fn a_home_topic_has_one_single_replica_partition_per_remote() {
    let mut s = state(&[(5001, true), (5002, true)]);
    let spec = home_topic("m", &["edge1", "edge2", "edge3"], false);
    assert!(create(&mut s, "m", spec, false).is_ok());
    let status = &s.topics["m"].status;
    assert_eq!(status.resolution, TopicResolution::Provisioned);
    let replicas: Vec<_> = status.replica_map.values().cloned().collect();
    assert_eq!(replicas, [vec![5001], vec![5002], vec![5001]]);
    for (i, remote) in ["edge1", "edge2", "edge3"].iter().enumerate() {
        let expected = PartitionMirrorConfig::Home(home_partition(remote, "m", false));
        assert_eq!(status.mirror_map[&(i as u32)], expected);
    }
    assert_eq!(s.partitions[&("m".into(), 1)].leader, 5002);
}

#[test]
fn a_home_topic_without_partitions_or_spus_waits_for_resources() {
    let mut s = state(&[(5001, true)]);
    assert!(create(&mut s, "empty", home_topic("empty", &[], true), false).is_ok());
    let status = &s.topics["empty"].status;
    assert_eq!(status.resolution, TopicResolution::InsufficientResources);
    assert!(status.replica_map.is_empty() && status.mirror_map.is_empty());

    let mut down = state(&[(5001, false)]);
    assert!(create(&mut down, "m", home_topic("m", &["edge1"], false), false).is_ok());
    let status = &down.topics["m"].status;
    assert_eq!(status.resolution, TopicResolution::InsufficientResources);
    assert!(down.partitions.is_empty());
}

#[test]
fn a_remote_topic_has_one_partition_per_home_spu() {
    let mut s = state(&[(6001, true)]);
    assert!(create(&mut s, "m", remote_topic(vec![home_spu()], true), false).is_ok());
    let status = &s.topics["m"].status;
    assert_eq!(status.resolution, TopicResolution::Provisioned);
    let expected = PartitionMirrorConfig::Remote(RemotePartitionConfig {
        home_cluster: "home1".into(),
        home_spu_key: "custom-spu-5001".into(),
        home_spu_id: 5001,
        home_spu_endpoint: "127.0.0.1:19010".into(),
        target: true,
    });
    assert_eq!(status.mirror_map.len(), 1);
    assert_eq!(status.mirror_map[&0], expected);
    assert_eq!(status.replica_map[&0], vec![6001]);
}

#[test]
fn only_the_sending_side_accepts_produce() {
    let home = |source| PartitionMirrorConfig::Home(home_partition("edge1", "m", source));
    assert_eq!(
        refuses_produce(&home(false)),
        Some(ErrorCode::MirrorProduceFromHome)
    );
    assert_eq!(refuses_produce(&home(true)), None);
    let remote = |target| {
        PartitionMirrorConfig::Remote(RemotePartitionConfig {
            target,
            ..RemotePartitionConfig::default()
        })
    };
    assert_eq!(
        refuses_produce(&remote(true)),
        Some(ErrorCode::MirrorProduceFromRemoteNotAllowed)
    );
    assert_eq!(refuses_produce(&remote(false)), None);
}

#[test]
fn a_remote_copy_cannot_be_deleted_even_with_force() {
    let mut s = state(&[(6001, true)]);
    assert!(create(&mut s, "m", remote_topic(vec![home_spu()], false), false).is_ok());
    for force in [false, true] {
        let refused = delete(&mut s, "m", force);
        assert_eq!(refused.error_code, ErrorCode::MirrorDeleteFromRemote);
        assert_eq!(
            refused.error_message.as_deref(),
            Some("cannot delete mirrored topic from remote")
        );
    }
    assert!(create(&mut s, "h", home_topic("h", &["edge1"], false), false).is_ok());
    assert!(delete(&mut s, "h", false).is_ok());
}

#[test]
fn add_mirror_appends_a_partition_with_the_topics_source() {
    let mut s = state(&[(5001, true), (5002, true)]);
    assert!(create(&mut s, "m", home_topic("m", &[], true), false).is_ok());
    assert!(add_mirror(&mut s, "m", "edge1").is_ok());
    assert!(add_mirror(&mut s, "m", "edge2").is_ok());
    let entry = &s.topics["m"];
    assert_eq!(entry.status.resolution, TopicResolution::Provisioned);
    let ReplicaSpec::Mirror(MirrorConfig::Home(home)) = &entry.spec.replicas else {
        panic!("still a home topic");
    };
    let expected = [
        home_partition("edge1", "m", true),
        home_partition("edge2", "m", true),
    ];
    assert_eq!(home.partitions, expected);
    let expected = PartitionMirrorConfig::Home(expected[1].clone());
    assert_eq!(entry.status.mirror_map[&1], expected);
    assert_eq!(entry.status.replica_map[&1], vec![5002]);
    assert_eq!(s.partitions[&("m".into(), 0)].leader, 5001);
}

#[test]
fn add_mirror_errors_come_in_the_scs_order() {
    let mut s = state(&[(5001, true)]);
    let home = MirrorSpec {
        mirror_type: MirrorType::Home(HomeCluster {
            id: "home1".into(),
            ..HomeCluster::default()
        }),
    };
    assert!(register(&mut s, "home1", home).is_ok());
    assert!(create(&mut s, "m", home_topic("m", &["edge1"], false), false).is_ok());
    assert!(create(&mut s, "plain", TopicSpec::computed(1, 1), false).is_ok());
    let remote = remote_topic(vec![home_spu()], false);
    assert!(create(&mut s, "r", remote, false).is_ok());

    let code = |s: &mut State, topic, remote| add_mirror(s, topic, remote);
    let missing = code(&mut s, "nope", "edge1");
    assert_eq!(missing.error_code, ErrorCode::TopicNotFound);
    let unknown = code(&mut s, "m", "edge9");
    assert_eq!(unknown.error_code, ErrorCode::MirrorNotFound);
    assert_eq!(unknown.error_message.as_deref(), Some("not found"));
    let not_remote = code(&mut s, "m", "home1");
    assert_eq!(not_remote.error_code, ErrorCode::MirrorInvalidType);
    assert_eq!(
        not_remote.error_message.as_deref(),
        Some("remote cluster is not a remote mirror")
    );
    let twice = code(&mut s, "m", "edge1");
    assert_eq!(twice.error_code, ErrorCode::MirrorAlreadyExists);
    assert_eq!(
        twice.error_message.as_deref(),
        Some(r#"remote "edge1" is already assigned to partition: "0""#)
    );
    let computed = code(&mut s, "plain", "edge1");
    assert_eq!(computed.error_code, ErrorCode::TopicError);
    assert_eq!(
        computed.error_message.as_deref(),
        Some("invalid replica type")
    );
    // A remote copy passes the SC's first type check and fails its second.
    let on_remote = code(&mut s, "r", "edge1");
    assert_eq!(on_remote.error_code, ErrorCode::TopicInvalidReplicaType);
    // Adding partitions is for computed topics only.
    let partitions = add_partitions(&mut s, "m", 1);
    assert_eq!(partitions.error_code, ErrorCode::TopicInvalidReplicaType);
}
