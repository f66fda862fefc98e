//! Unit tests of `topics.rs`.

use super::*;
use crate::protocol::sc::TopicStorageConfig;
use crate::testkit::state::SpuEntry;

fn state(spus: &[i32]) -> State {
    let mut state = State::default();
    for &id in spus {
        state.spus.insert(
            id,
            SpuEntry {
                port: 1,
                online: true,
            },
        );
    }
    state
}

#[test]
fn computed_topics_spread_leaders_over_spus() {
    let mut s = state(&[5001, 5002]);
    assert!(create(&mut s, "t", TopicSpec::computed(3, 2), false).is_ok());
    let map = replica_map(&s, "t");
    assert_eq!(map[&0], vec![5001, 5002]);
    assert_eq!(map[&1], vec![5002, 5001]);
    assert_eq!(map[&2], vec![5001, 5002]);
    assert_eq!(s.partitions[&("t".into(), 1)].leader, 5002);
    let again = create(&mut s, "t", TopicSpec::computed(1, 1), false);
    assert_eq!(again.error_code, ErrorCode::TopicAlreadyExists);
}

#[test]
fn invalid_requests_get_the_sc_codes() {
    let mut s = state(&[5001]);
    let bad_name = create(&mut s, "Bad_Name", TopicSpec::computed(1, 1), false);
    assert_eq!(bad_name.error_code, ErrorCode::TopicInvalidName);
    let zero = create(&mut s, "z", TopicSpec::computed(0, 1), false);
    assert_eq!(zero.error_code, ErrorCode::TopicError);
    let huge = create(&mut s, "h", TopicSpec::computed(u32::MAX, 1), false);
    assert_eq!(huge.error_code, ErrorCode::TopicError);
    assert!(create(&mut s, "ok", TopicSpec::computed(1, 1), false).is_ok());
    let overflow = add_partitions(&mut s, "ok", u32::MAX);
    assert_eq!(overflow.error_code, ErrorCode::TopicError);
    let mut small = TopicSpec::computed(1, 1);
    small.storage = Some(TopicStorageConfig {
        segment_size: Some(10),
        max_partition_size: None,
    });
    let small = create(&mut s, "small", small, false);
    assert_eq!(small.error_code, ErrorCode::TopicInvalidConfiguration);
    let wide = create(&mut s, "wide", TopicSpec::computed(1, 2), false);
    assert_eq!(wide.error_code, ErrorCode::TopicNotProvisioned);
    let unknown_spu = TopicSpec::assigned(vec![PartitionMap {
        id: 0,
        replicas: vec![9],
        mirror: None,
    }]);
    let unknown_spu = create(&mut s, "a", unknown_spu, false);
    assert_eq!(
        unknown_spu.error_message.as_deref(),
        Some("invalid spu id: 9")
    );
}

#[test]
fn dry_runs_create_nothing_and_partitions_can_be_added() {
    let mut s = state(&[5001, 5002]);
    assert!(create(&mut s, "d", TopicSpec::computed(1, 1), true).is_ok());
    assert!(s.topics.is_empty());
    assert!(create(&mut s, "d", TopicSpec::computed(1, 1), false).is_ok());
    assert!(add_partitions(&mut s, "d", 2).is_ok());
    assert_eq!(replica_map(&s, "d").len(), 3);
    assert!(delete(&mut s, "d", false).is_ok());
    assert!(s.partitions.is_empty());
    assert_eq!(
        delete(&mut s, "d", false).error_code,
        ErrorCode::TopicNotFound
    );
}

#[test]
fn qualified_smartmodule_names_map_to_store_ids() {
    assert_eq!(
        smartmodule_store_id("infinyon/jolt@0.4.1"),
        "jolt-infinyon-0.4.1"
    );
    assert_eq!(smartmodule_store_id("plain"), "plain");
}
