//! Conformance of the SPU messages with `fluvio-spu-schema`, and decoding of a real SPU
//! session captured from the 0.18 CLI.
//!
//! (Test code only, above 400 lines on purpose: one round-trip property per message, side by
//! side, so a message missing from the list stands out.)

use std::fmt::Debug;

use proptest::prelude::*;

use super::{captured_frames, conform, round_trip, Frame};
use crate::protocol::spu::*;
use crate::protocol::{Decode, Encode, Request, RequestMessage, ResponseMessage, Version};

use fluvio_protocol::record::{RawRecords, RecordSet as TheirRecordSet};
use fluvio_spu_schema::fetch as theirs_fetch;
use fluvio_spu_schema::produce as theirs_produce;
use fluvio_spu_schema::server::consumer_offset as theirs_co;
use fluvio_spu_schema::server::fetch_offset as theirs_fo;
use fluvio_spu_schema::server::smartmodule::SmartModuleInvocation as TheirInvocation;
use fluvio_spu_schema::server::stream_fetch::{
    DefaultStreamFetchRequest as TheirStreamFetchRequest,
    DefaultStreamFetchResponse as TheirStreamFetchResponse,
};
use fluvio_spu_schema::server::update_offset as theirs_uo;
use fluvio_spu_schema::Isolation as TheirIsolation;

type TheirRecords = TheirRecordSet<RawRecords>;

/// Versions from `R::MIN_API_VERSION` to the highest the 0.18 SPU serves.
fn versions<R: Request>() -> impl Strategy<Value = Version> {
    R::MIN_API_VERSION..=R::MAX_API_VERSION
}

proptest! {
    #[test]
    fn isolation_conforms(i in any::<Isolation>(), v in 0i16..=25) {
        conform::<_, TheirIsolation>(&i, v);
    }

    #[test]
    fn smartmodule_invocation_conforms(s in any::<SmartModuleInvocation>(), v in 0i16..=25) {
        conform::<_, TheirInvocation>(&s, v);
        round_trip(&s, v);
    }

    #[test]
    fn produce_request_conforms(
        r in any::<ProduceRequest>(),
        v in versions::<ProduceRequest>(),
    ) {
        conform::<_, theirs_produce::DefaultProduceRequest>(&r, v);
        round_trip(&r, v);
    }

    #[test]
    fn produce_response_conforms(
        r in any::<ProduceResponse>(),
        v in versions::<ProduceRequest>(),
    ) {
        conform::<_, theirs_produce::ProduceResponse>(&r, v);
    }

    #[test]
    fn fetch_request_conforms(r in any::<FetchRequest>(), v in versions::<FetchRequest>()) {
        conform::<_, theirs_fetch::FetchRequest<TheirRecords>>(&r, v);
    }

    #[test]
    fn fetch_response_conforms(r in any::<FetchResponse>(), v in versions::<FetchRequest>()) {
        conform::<_, theirs_fetch::FetchResponse<TheirRecords>>(&r, v);
        round_trip(&r, v);
    }

    #[test]
    fn fetch_offsets_request_conforms(
        r in any::<FetchOffsetsRequest>(),
        v in versions::<FetchOffsetsRequest>(),
    ) {
        conform::<_, theirs_fo::FetchOffsetsRequest>(&r, v);
    }

    #[test]
    fn fetch_offsets_response_conforms(
        r in any::<FetchOffsetsResponse>(),
        v in versions::<FetchOffsetsRequest>(),
    ) {
        conform::<_, theirs_fo::FetchOffsetsResponse>(&r, v);
    }

    #[test]
    fn stream_fetch_request_conforms(
        r in any::<StreamFetchRequest>(),
        v in versions::<StreamFetchRequest>(),
    ) {
        conform::<_, TheirStreamFetchRequest>(&r, v);
    }

    #[test]
    fn stream_fetch_response_conforms(
        r in any::<StreamFetchResponse>(),
        v in versions::<StreamFetchRequest>(),
    ) {
        conform::<_, TheirStreamFetchResponse>(&r, v);
        round_trip(&r, v);
    }

    #[test]
    fn update_offsets_request_conforms(r in any::<UpdateOffsetsRequest>()) {
        conform::<_, theirs_uo::UpdateOffsetsRequest>(&r, 0);
    }

    #[test]
    fn update_offsets_response_conforms(r in any::<UpdateOffsetsResponse>()) {
        conform::<_, theirs_uo::UpdateOffsetsResponse>(&r, 0);
    }

    #[test]
    fn update_consumer_offset_request_conforms(
        r in any::<UpdateConsumerOffsetRequest>(),
        v in versions::<UpdateConsumerOffsetRequest>(),
    ) {
        conform::<_, theirs_co::UpdateConsumerOffsetRequest>(&r, v);
    }

    #[test]
    fn update_consumer_offset_response_conforms(
        r in any::<UpdateConsumerOffsetResponse>(),
        v in versions::<UpdateConsumerOffsetRequest>(),
    ) {
        conform::<_, theirs_co::UpdateConsumerOffsetResponse>(&r, v);
    }

    #[test]
    fn delete_consumer_offset_request_conforms(
        r in any::<DeleteConsumerOffsetRequest>(),
        v in versions::<DeleteConsumerOffsetRequest>(),
    ) {
        conform::<_, theirs_co::DeleteConsumerOffsetRequest>(&r, v);
    }

    #[test]
    fn delete_consumer_offset_response_conforms(
        r in any::<DeleteConsumerOffsetResponse>(),
        v in versions::<DeleteConsumerOffsetRequest>(),
    ) {
        conform::<_, theirs_co::DeleteConsumerOffsetResponse>(&r, v);
    }

    #[test]
    fn fetch_consumer_offsets_request_conforms(
        r in any::<FetchConsumerOffsetsRequest>(),
        v in versions::<FetchConsumerOffsetsRequest>(),
    ) {
        conform::<_, theirs_co::FetchConsumerOffsetsRequest>(&r, v);
    }

    #[test]
    fn fetch_consumer_offsets_response_conforms(
        r in any::<FetchConsumerOffsetsResponse>(),
        v in versions::<FetchConsumerOffsetsRequest>(),
    ) {
        conform::<_, theirs_co::FetchConsumerOffsetsResponse>(&r, v);
    }

    #[test]
    fn decoders_never_panic_on_garbage(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        v in 0i16..=25,
    ) {
        fn try_all<T: Decode>(bytes: &[u8], v: Version) {
            let mut slice = bytes;
            let _ = T::decode(&mut slice, v);
        }
        try_all::<SmartModuleInvocation>(&bytes, v);
        try_all::<ProduceRequest>(&bytes, v);
        try_all::<ProduceResponse>(&bytes, v);
        try_all::<FetchRequest>(&bytes, v);
        try_all::<FetchResponse>(&bytes, v);
        try_all::<StreamFetchResponse>(&bytes, v);
        try_all::<StreamFetchRequest>(&bytes, v);
        try_all::<FetchOffsetsRequest>(&bytes, v);
        try_all::<FetchOffsetsResponse>(&bytes, v);
        try_all::<UpdateOffsetsRequest>(&bytes, v);
        try_all::<UpdateOffsetsResponse>(&bytes, v);
        try_all::<UpdateConsumerOffsetResponse>(&bytes, v);
        try_all::<DeleteConsumerOffsetRequest>(&bytes, v);
        try_all::<FetchConsumerOffsetsRequest>(&bytes, v);
        try_all::<FetchConsumerOffsetsResponse>(&bytes, v);
    }
}

#[test]
fn adhoc_wasm_is_gzipped() {
    use std::io::Read;
    let raw = b"\0asm\x01\0\0\0 some module body".repeat(10);
    let SmartModuleWasm::AdHoc(gz) = SmartModuleWasm::adhoc(&raw).unwrap() else {
        panic!("not ad hoc");
    };
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, raw);
}

#[test]
fn invocation_constructors_pick_their_kinds() {
    let wasm = || SmartModuleWasm::predefined("m");
    let kinds = [
        (
            SmartModuleInvocation::filter(wasm()).kind,
            SmartModuleKind::Filter,
        ),
        (
            SmartModuleInvocation::map(wasm()).kind,
            SmartModuleKind::Map,
        ),
        (
            SmartModuleInvocation::filter_map(wasm()).kind,
            SmartModuleKind::FilterMap,
        ),
        (
            SmartModuleInvocation::array_map(wasm()).kind,
            SmartModuleKind::ArrayMap,
        ),
        (
            SmartModuleInvocation::aggregate(wasm(), "0").kind,
            SmartModuleKind::Aggregate {
                accumulator: "0".into(),
            },
        ),
    ];
    for (built, expected) in kinds {
        assert_eq!(built, expected);
    }
    let inv = SmartModuleInvocation::filter(wasm())
        .with_lookback(Lookback::age(std::time::Duration::from_secs(60), Some(5)));
    assert_eq!(
        inv.params.lookback,
        Some(Lookback {
            last: 5,
            age: Some(std::time::Duration::from_secs(60))
        })
    );
    // The lookback is dropped below v20 and its age below v21.
    for v in [19, 20, 25] {
        conform::<_, TheirInvocation>(&inv, v);
    }
    let lookback = Lookback::last(3);
    assert_eq!(lookback.to_bytes(20).unwrap().len(), 8);
    assert_eq!(lookback.to_bytes(21).unwrap().len(), 9);
}

// ---- the captured CLI session ----------------------------------------------------------------

fn spu_frames() -> Vec<Frame> {
    captured_frames(9010)
}

/// Decode a request frame (header + body) and check it re-encodes to the same bytes.
fn request_frame<R: Request + PartialEq + Debug>(bytes: &[u8]) -> R {
    let mut slice = bytes;
    let message = RequestMessage::<R>::decode(&mut slice, 0).expect("request decodes");
    assert!(slice.is_empty(), "{} bytes left", slice.len());
    assert_eq!(message.header.api_key, R::API_KEY);
    let version = message.header.api_version;
    assert!((R::MIN_API_VERSION..=R::MAX_API_VERSION).contains(&version));
    assert_eq!(&message.to_bytes(version).expect("encode")[..], bytes);
    message.request
}

/// Decode a response frame (correlation id + body) at `version` and check the round trip.
fn response_frame<R: Encode + Decode + PartialEq + Debug>(bytes: &[u8], version: Version) -> R {
    let mut slice = bytes;
    let message = ResponseMessage::<R>::decode(&mut slice, version).expect("response decodes");
    assert!(slice.is_empty(), "{} bytes left", slice.len());
    assert_eq!(&message.to_bytes(version).expect("encode")[..], bytes);
    message.response
}

/// Decode one frame with our type for its API key; `false` if the key is not ours to check.
fn check_frame(frame: &Frame) -> bool {
    let (b, v) = (&frame.bytes[..], frame.version);
    match (frame.api_key, frame.request) {
        (PRODUCE_KEY, true) => drop(request_frame::<ProduceRequest>(b)),
        (PRODUCE_KEY, false) => drop(response_frame::<ProduceResponse>(b, v)),
        (FETCH_KEY, true) => drop(request_frame::<FetchRequest>(b)),
        (FETCH_KEY, false) => drop(response_frame::<FetchResponse>(b, v)),
        (STREAM_FETCH_KEY, false) => drop(response_frame::<StreamFetchResponse>(b, v)),
        (FETCH_OFFSETS_KEY, true) => drop(request_frame::<FetchOffsetsRequest>(b)),
        (FETCH_OFFSETS_KEY, false) => drop(response_frame::<FetchOffsetsResponse>(b, v)),
        (STREAM_FETCH_KEY, true) => drop(request_frame::<StreamFetchRequest>(b)),
        (UPDATE_OFFSETS_KEY, true) => drop(request_frame::<UpdateOffsetsRequest>(b)),
        (UPDATE_OFFSETS_KEY, false) => drop(response_frame::<UpdateOffsetsResponse>(b, v)),
        (UPDATE_CONSUMER_OFFSET_KEY, true) => drop(request_frame::<UpdateConsumerOffsetRequest>(b)),
        (UPDATE_CONSUMER_OFFSET_KEY, false) => {
            drop(response_frame::<UpdateConsumerOffsetResponse>(b, v))
        }
        (DELETE_CONSUMER_OFFSET_KEY, true) => drop(request_frame::<DeleteConsumerOffsetRequest>(b)),
        (DELETE_CONSUMER_OFFSET_KEY, false) => {
            drop(response_frame::<DeleteConsumerOffsetResponse>(b, v))
        }
        (FETCH_CONSUMER_OFFSETS_KEY, true) => drop(request_frame::<FetchConsumerOffsetsRequest>(b)),
        (FETCH_CONSUMER_OFFSETS_KEY, false) => {
            drop(response_frame::<FetchConsumerOffsetsResponse>(b, v))
        }
        _ => return false,
    }
    true
}

#[test]
fn every_captured_spu_frame_decodes_and_reencodes_identically() {
    let frames = spu_frames();
    let checked = frames.iter().filter(|f| check_frame(f)).count();
    // 31+31 Produce, 8+8 FetchOffsets, 8+7 StreamFetch, 7+7 UpdateOffsets, 2+2 UpdateConsumerOffset,
    // 1+1 DeleteConsumerOffset, 3+3 FetchConsumerOffsets.
    assert_eq!(checked, 50 + 62 + 7);
}

fn captured_requests<R: Request + PartialEq + Debug>() -> Vec<R> {
    spu_frames()
        .iter()
        .filter(|f| f.request && f.api_key == R::API_KEY)
        .map(|f| request_frame::<R>(&f.bytes))
        .collect()
}

#[test]
fn cli_stream_fetches_match_our_constructors() {
    let requests = captured_requests::<StreamFetchRequest>();
    let base = |partition, offset| {
        StreamFetchRequest::new("golden-topic", partition, offset).with_max_bytes(1_048_890)
    };
    let filter = SmartModuleInvocation::generic(SmartModuleWasm::predefined("ceo-filter"))
        .with_param("needle", "an")
        .with_name("ceo-filter");
    let map =
        SmartModuleInvocation::generic(SmartModuleWasm::predefined("ceo-map")).with_name("ceo-map");
    let aggregate = SmartModuleInvocation::generic_aggregate(
        SmartModuleWasm::predefined("ceo-aggregate"),
        "10",
    )
    .with_name("ceo-aggregate");
    assert!(requests.contains(&base(0, 0)));
    assert!(requests.contains(&base(0, 0).with_smartmodule(filter)));
    assert!(requests.contains(&base(0, 0).with_smartmodule(map)));
    assert!(requests.contains(&base(1, 0).with_smartmodule(aggregate)));
    assert!(requests.contains(&base(0, 0).with_consumer_id("golden-consumer")));
    assert!(requests
        .iter()
        .all(|r| r.isolation == Isolation::ReadUncommitted));
    assert!(!requests.contains(&base(0, 0).with_isolation(Isolation::ReadCommitted)));
}

#[test]
fn cli_offset_requests_match_our_constructors() {
    let fetch = captured_requests::<FetchOffsetsRequest>();
    assert!(fetch.contains(&FetchOffsetsRequest::new("golden-topic", 1)));
    let acks = captured_requests::<UpdateOffsetsRequest>();
    assert!(acks.contains(&UpdateOffsetsRequest::single(1, 13)));
    let commits = captured_requests::<UpdateConsumerOffsetRequest>();
    assert!(commits.contains(&UpdateConsumerOffsetRequest::new(12, 1)));
    let deletes = captured_requests::<DeleteConsumerOffsetRequest>();
    assert_eq!(
        deletes,
        [DeleteConsumerOffsetRequest::new(
            "golden-topic",
            0,
            "golden-consumer"
        )]
    );
    let lists = captured_requests::<FetchConsumerOffsetsRequest>();
    assert!(lists.contains(&FetchConsumerOffsetsRequest::with_opts(
        Some(ReplicaKey::new("golden-topic", 0)),
        Some("golden-consumer".into()),
    )));
}

#[test]
fn captured_offsets_responses_are_found_by_replica() {
    let response = spu_frames()
        .iter()
        .find(|f| !f.request && f.api_key == FETCH_OFFSETS_KEY)
        .map(|f| response_frame::<FetchOffsetsResponse>(&f.bytes, f.version))
        .expect("a FetchOffsets response");
    let p = response
        .find_partition(&ReplicaKey::new("golden-topic", 0))
        .expect("partition 0");
    assert!(p.error_code.is_ok());
    assert_eq!((p.start_offset, p.last_stable_offset), (0, 13));
    assert!(response
        .find_partition(&ReplicaKey::new("golden-topic", 9))
        .is_none());
}

#[test]
fn cli_produce_requests_rebuild_with_push() {
    let requests = captured_requests::<ProduceRequest>();
    assert_eq!(requests.len(), 31);
    let mut rebuilt_count = 0;
    for captured in &requests {
        assert_eq!(captured.transactional_id, None);
        let mut rebuilt = ProduceRequest::new(Isolation::ReadUncommitted, DEFAULT_PRODUCE_TIMEOUT);
        for topic in &captured.topics {
            for p in &topic.partitions {
                rebuilt.push(&topic.name, p.partition_index, p.records.clone());
            }
        }
        // The CLI also flushes topics with no partitions, which `push` never creates.
        if captured.topics.iter().all(|t| !t.partitions.is_empty()) {
            assert_eq!(&rebuilt, captured);
            rebuilt_count += 1;
        }
    }
    assert_eq!(rebuilt_count, 19);
}

#[test]
fn produce_push_groups_partitions_by_topic() {
    let mut request = ProduceRequest::new(Isolation::ReadCommitted, DEFAULT_PRODUCE_TIMEOUT);
    request.push("a", 0, Default::default());
    request.push("b", 0, Default::default());
    request.push("a", 1, Default::default());
    let layout: Vec<_> = request
        .topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions.len()))
        .collect();
    assert_eq!(layout, [("a", 2), ("b", 1)]);
    // ReadCommitted travels as acks = -1, the timeout as i32 milliseconds.
    let bytes = request.to_bytes(25).unwrap();
    assert_eq!(&bytes[..7], &[0, 0xff, 0xff, 0, 0, 0x05, 0xdc]);
    conform::<_, theirs_produce::DefaultProduceRequest>(&request, 25);
}

#[test]
fn produce_timeout_must_fit_the_wire() {
    let too_long = ProduceRequest::new(Isolation::ReadUncommitted, std::time::Duration::MAX);
    assert!(too_long.to_bytes(25).is_err());
    // A negative timeout is rejected, as upstream does.
    let mut bytes = ProduceRequest::default().to_bytes(25).unwrap().to_vec();
    bytes[3..7].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(ProduceRequest::decode(&mut &bytes[..], 25).is_err());
}

#[test]
fn cli_produce_responses_report_consecutive_offsets() {
    let responses: Vec<ProduceResponse> = spu_frames()
        .iter()
        .filter(|f| !f.request && f.api_key == PRODUCE_KEY)
        .map(|f| response_frame(&f.bytes, f.version))
        .collect();
    let offsets = |partition| -> Vec<i64> {
        responses
            .iter()
            .filter_map(|r| r.find_partition("golden-topic", partition))
            .inspect(|p| assert!(p.error_code.is_ok()))
            .map(|p| p.base_offset)
            .collect()
    };
    assert_eq!(offsets(0), (0..13).collect::<Vec<_>>());
    assert_eq!(offsets(1), (0..6).collect::<Vec<_>>());
    assert!(responses[0].find_partition("other", 1).is_none());
}

#[test]
fn cli_stream_frames_give_the_offsets_to_acknowledge() {
    let frames: Vec<StreamFetchResponse> = spu_frames()
        .iter()
        .filter(|f| !f.request && f.api_key == STREAM_FETCH_KEY)
        .map(|f| response_frame(&f.bytes, f.version))
        .collect();
    let next: Vec<_> = frames
        .iter()
        .map(|f| f.partition.next_offset_for_fetch().unwrap())
        .collect();
    assert_eq!(next, [13, 6, 13, 6, 13, 13, 13].map(Some));
    // The map frame carries its position in next_filter_offset.
    assert_eq!(frames[2].partition.next_filter_offset, 13);
    // The aggregate over non-numbers fails in the SPU and says on which record.
    let crate::protocol::ErrorCode::SmartModuleRuntimeError(e) = &frames[3].partition.error_code
    else {
        panic!(
            "expected a runtime error: {:?}",
            frames[3].partition.error_code
        );
    };
    assert_eq!(e.hint, "invalid digit found in string");
    assert_eq!(e.record_value.0, "alpha");
    assert!(frames
        .iter()
        .all(|f| f.topic == "golden-topic" && f.stream_id == 1));
    let empty = FetchablePartitionResponse::default();
    assert_eq!(empty.next_offset_for_fetch(), Ok(None));
    // A hostile frame: a batch of 2 records at i64::MAX - 1 ends past i64::MAX.
    let batch = crate::protocol::record::Batch {
        base_offset: i64::MAX - 1,
        last_offset_delta: 1,
        ..Default::default()
    };
    let hostile = FetchablePartitionResponse {
        records: crate::protocol::record::RecordSet::new(vec![batch]),
        ..Default::default()
    };
    assert!(matches!(
        hostile.next_offset_for_fetch(),
        Err(crate::protocol::DecodeError::Overflow { .. })
    ));
}

#[test]
fn single_partition_fetch_request_and_lookup() {
    let request = FetchRequest::single("t", 2, 40, 1 << 20, Isolation::ReadCommitted);
    for v in [0, 3, 4, 5, 7, 9, 25] {
        conform::<_, theirs_fetch::FetchRequest<TheirRecords>>(&request, v);
    }
    let partition = &request.topics[0].fetch_partitions[0];
    assert_eq!((partition.partition_index, partition.fetch_offset), (2, 40));
    let response = FetchResponse {
        topics: vec![FetchableTopicResponse {
            name: "t".into(),
            partitions: vec![FetchablePartitionResponse {
                partition_index: 2,
                high_watermark: 41,
                ..Default::default()
            }],
        }],
        ..Default::default()
    };
    let found = response.find_partition("t", 2).expect("partition 2");
    assert_eq!(found.high_watermark, 41);
    assert!(response.find_partition("t", 3).is_none());
}
