//! Conformance of the SPU messages with `fluvio-spu-schema`, and decoding of a real SPU
//! session captured from the 0.18 CLI.

use std::fmt::Debug;

use proptest::prelude::*;

use super::{conform, round_trip};
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

const CAPTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/fluvio-0.18-cli-session.jsonl"
));

/// One SPU frame of the capture.
struct Frame {
    request: bool,
    api_key: u16,
    api_version: Version,
    bytes: Vec<u8>,
}

fn spu_frames() -> Vec<Frame> {
    CAPTURE
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json line"))
        .filter(|v| v["server_port"] == 9010)
        .map(|v| Frame {
            request: v["dir"] == "request",
            api_key: v["api_key"].as_u64().expect("api_key") as u16,
            api_version: v["api_version"].as_i64().expect("api_version") as Version,
            bytes: hex::decode(v["frame_hex"].as_str().expect("frame_hex")).expect("hex"),
        })
        .collect()
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
    let (b, v) = (&frame.bytes[..], frame.api_version);
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
        .map(|f| response_frame::<FetchOffsetsResponse>(&f.bytes, f.api_version))
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
