//! SC object API against `fluvio-sc-schema` / `fluvio-controlplane-metadata`: every spec,
//! status, message body and envelope at every version from 11 to 19, and every SC frame of a
//! real CLI session.
//!
//! (Test code only, above 400 lines on purpose: one round-trip property per object kind,
//! side by side, so a kind missing from the list stands out.)

use std::fmt::Debug;

use bytes::{Buf, BufMut};
use proptest::prelude::*;

use super::{captured_frames, conform, round_trip, Frame};
use crate::protocol::sc::*;
use crate::protocol::{
    Decode, DecodeError, Encode, EncodeError, ErrorCode, RequestMessage, ResponseMessage, Version,
};

use fluvio_controlplane_metadata::mirror as their_mirror;
use fluvio_controlplane_metadata::partition as their_partition;
use fluvio_controlplane_metadata::smartmodule as their_sm;
use fluvio_controlplane_metadata::spu as their_spu;
use fluvio_controlplane_metadata::topic as their_topic;
use fluvio_sc_schema::objects as their;

/// A message body without its envelope, to compare with the official generic body types.
#[derive(Debug, PartialEq)]
struct Body<T>(T);

impl<T: ObjectBody> Encode for Body<T> {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.0.encode_body(buf, version)
    }
    fn encoded_len(&self, version: Version) -> usize {
        self.0.body_len(version)
    }
}

impl<T: ObjectBody> Decode for Body<T> {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        T::decode_body(buf, version).map(Body)
    }
}

fn version() -> impl Strategy<Value = Version> {
    11i16..=19
}

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9-]{0,12}"
}

fn metadata<S>() -> impl Strategy<Value = Metadata<S>>
where
    S: ObjectSpec + Arbitrary,
    S::Status: Arbitrary,
{
    (name(), any::<S>(), any::<S::Status>()).prop_map(|(name, spec, status)| Metadata {
        name,
        spec,
        status,
    })
}

fn metadata_update<S>() -> impl Strategy<Value = MetadataUpdate<S>>
where
    S: ObjectSpec + Arbitrary,
    S::Status: Arbitrary,
{
    let change = (any::<MsgType>(), metadata::<S>())
        .prop_map(|(header, content)| Message { header, content });
    (
        any::<i64>(),
        proptest::collection::vec(change, 0..3),
        proptest::collection::vec(metadata::<S>(), 0..3),
    )
        .prop_map(|(epoch, changes, all)| MetadataUpdate {
            epoch,
            changes,
            all,
        })
}

fn list_request<S: ObjectSpec>() -> impl Strategy<Value = ListRequest<S>> {
    (
        proptest::collection::vec(name(), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(names, summary, system)| {
            ListRequest::new(names)
                .with_summary(summary)
                .with_system(system)
        })
}

fn watch_request<S: ObjectSpec>() -> impl Strategy<Value = WatchRequest<S>> {
    (any::<i64>(), any::<bool>()).prop_map(|(epoch, summary)| {
        let mut request = WatchRequest::with_summary(summary);
        request.epoch = epoch;
        request
    })
}

fn create_request<S: CreatableSpec + Arbitrary>() -> impl Strategy<Value = CreateRequest<S>> {
    (any::<CommonCreateRequest>(), any::<S>())
        .prop_map(|(common, spec)| CreateRequest { common, spec })
}

fn delete_request<S>() -> impl Strategy<Value = DeleteRequest<S>>
where
    S: DeletableSpec,
    S::DeleteKey: Arbitrary,
{
    (any::<S::DeleteKey>(), any::<bool>()).prop_map(|(key, force)| DeleteRequest { key, force })
}

fn update_request<S>() -> impl Strategy<Value = UpdateRequest<S>>
where
    S: UpdatableSpec,
    S::UpdateKey: Arbitrary,
    S::UpdateAction: Arbitrary,
{
    (any::<S::UpdateKey>(), any::<S::UpdateAction>())
        .prop_map(|(key, action)| UpdateRequest { key, action })
}

/// Body and envelope conformance of one typed message.
fn conform_object<O, TheirBody, TheirEnvelope>(value: O, version: Version)
where
    O: ObjectBody + Encode + Decode + PartialEq + Debug,
    TheirBody: fluvio_protocol::Encoder + fluvio_protocol::Decoder + Default + Debug,
    TheirEnvelope: fluvio_protocol::Encoder + fluvio_protocol::Decoder + Default + Debug,
{
    conform::<_, TheirEnvelope>(&value, version);
    round_trip(&value, version);
    conform::<_, TheirBody>(&Body(value), version);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn topic_types_conform(spec in any::<TopicSpec>(), status in any::<TopicStatus>(),
                           action in any::<UpdateTopicAction>(), v in version()) {
        conform::<_, their_topic::TopicSpec>(&spec, v);
        conform::<_, their_topic::ReplicaSpec>(&spec.replicas, v);
        conform::<_, their_topic::TopicStatus>(&status, v);
        conform::<_, their_topic::UpdateTopicAction>(&action, v);
        round_trip(&spec, v);
    }

    #[test]
    fn topic_options_conform(dedup in any::<Deduplication>(), mirror in any::<MirrorConfig>(),
                             v in version()) {
        conform::<_, their_topic::Deduplication>(&dedup, v);
        conform::<_, their_topic::MirrorConfig>(&mirror, v);
    }

    #[test]
    fn partition_types_conform(spec in any::<PartitionSpec>(), status in any::<PartitionStatus>(),
                               mirror in any::<PartitionMirrorConfig>(), v in version()) {
        conform::<_, their_partition::PartitionSpec>(&spec, v);
        conform::<_, their_partition::PartitionStatus>(&status, v);
        conform::<_, their_partition::PartitionMirrorConfig>(&mirror, v);
    }

    #[test]
    fn spu_types_conform(spec in any::<SpuSpec>(), status in any::<SpuStatus>(),
                         custom in any::<CustomSpuSpec>(), key in any::<CustomSpuKey>(),
                         v in version()) {
        conform::<_, their_spu::SpuSpec>(&spec, v);
        conform::<_, their_spu::SpuStatus>(&status, v);
        conform::<_, their_spu::CustomSpuSpec>(&custom, v);
        conform::<_, their_spu::CustomSpuKey>(&key, v);
    }

    #[test]
    fn smartmodule_types_conform(spec in any::<SmartModuleSpec>(),
                                 status in any::<SmartModuleStatus>(), v in version()) {
        conform::<_, their_sm::SmartModuleSpec>(&spec, v);
        conform::<_, their_sm::SmartModuleStatus>(&status, v);
    }

    #[test]
    fn mirror_types_conform(spec in any::<MirrorSpec>(), status in any::<MirrorStatus>(),
                            v in version()) {
        conform::<_, their_mirror::MirrorSpec>(&spec, v);
        conform::<_, their_mirror::MirrorStatus>(&status, v);
    }

    #[test]
    fn mirror_messages_conform(create in create_request::<MirrorSpec>(),
                               delete in delete_request::<MirrorSpec>(),
                               list in list_request::<MirrorSpec>(),
                               one in metadata::<MirrorSpec>(),
                               objects in proptest::collection::vec(metadata::<MirrorSpec>(), 0..3),
                               v in version()) {
        conform::<_, their::Metadata<their_mirror::MirrorSpec>>(&one, v);
        conform_object::<_, their::CreateRequest<their_mirror::MirrorSpec>, their::ObjectApiCreateRequest>(create, v);
        conform_object::<_, their::DeleteRequest<their_mirror::MirrorSpec>, their::ObjectApiDeleteRequest>(delete, v);
        conform_object::<_, their::ListRequest<their_mirror::MirrorSpec>, their::ObjectApiListRequest>(list, v);
        conform_object::<_, their::ListResponse<their_mirror::MirrorSpec>, their::ObjectApiListResponse>(ListResponse { objects }, v);
    }

    #[test]
    fn status_and_type_buffer_conform(status in any::<Status>(), raw in any::<TypeBuffer>(),
                                      v in version()) {
        conform::<_, fluvio_sc_schema::Status>(&status, v);
        conform::<_, their::TypeBuffer>(&raw, v);
    }

    #[test]
    fn metadata_conforms(topic in metadata::<TopicSpec>(), partition in metadata::<PartitionSpec>(),
                         spu in metadata::<SpuSpec>(), sm in metadata::<SmartModuleSpec>(),
                         v in version()) {
        conform::<_, their::Metadata<their_topic::TopicSpec>>(&topic, v);
        conform::<_, their::Metadata<their_partition::PartitionSpec>>(&partition, v);
        conform::<_, their::Metadata<their_spu::SpuSpec>>(&spu, v);
        conform::<_, their::Metadata<their_sm::SmartModuleSpec>>(&sm, v);
    }

    #[test]
    fn create_requests_conform(topic in create_request::<TopicSpec>(),
                               custom in create_request::<CustomSpuSpec>(),
                               sm in create_request::<SmartModuleSpec>(), v in version()) {
        conform::<_, their::CommonCreateRequest>(&topic.common, v);
        conform_object::<_, their::CreateRequest<their_topic::TopicSpec>, their::ObjectApiCreateRequest>(topic, v);
        conform_object::<_, their::CreateRequest<their_spu::CustomSpuSpec>, their::ObjectApiCreateRequest>(custom, v);
        conform_object::<_, their::CreateRequest<their_sm::SmartModuleSpec>, their::ObjectApiCreateRequest>(sm, v);
    }

    #[test]
    fn delete_requests_conform(topic in delete_request::<TopicSpec>(),
                               custom in delete_request::<CustomSpuSpec>(),
                               sm in delete_request::<SmartModuleSpec>(), v in version()) {
        conform_object::<_, their::DeleteRequest<their_topic::TopicSpec>, their::ObjectApiDeleteRequest>(topic, v);
        conform_object::<_, their::DeleteRequest<their_spu::CustomSpuSpec>, their::ObjectApiDeleteRequest>(custom, v);
        conform_object::<_, their::DeleteRequest<their_sm::SmartModuleSpec>, their::ObjectApiDeleteRequest>(sm, v);
    }

    #[test]
    fn update_requests_conform(topic in update_request::<TopicSpec>(),
                               custom in update_request::<CustomSpuSpec>(),
                               sm in update_request::<SmartModuleSpec>(), v in version()) {
        conform_object::<_, their::UpdateRequest<their_topic::TopicSpec>, their::ObjectApiUpdateRequest>(topic, v);
        conform_object::<_, their::UpdateRequest<their_spu::CustomSpuSpec>, their::ObjectApiUpdateRequest>(custom, v);
        conform_object::<_, their::UpdateRequest<their_sm::SmartModuleSpec>, their::ObjectApiUpdateRequest>(sm, v);
    }

    #[test]
    fn list_requests_conform(topic in list_request::<TopicSpec>(),
                             partition in list_request::<PartitionSpec>(),
                             spu in list_request::<SpuSpec>(),
                             custom in list_request::<CustomSpuSpec>(),
                             sm in list_request::<SmartModuleSpec>(), v in version()) {
        conform_object::<_, their::ListRequest<their_topic::TopicSpec>, their::ObjectApiListRequest>(topic, v);
        conform_object::<_, their::ListRequest<their_partition::PartitionSpec>, their::ObjectApiListRequest>(partition, v);
        conform_object::<_, their::ListRequest<their_spu::SpuSpec>, their::ObjectApiListRequest>(spu, v);
        conform_object::<_, their::ListRequest<their_spu::CustomSpuSpec>, their::ObjectApiListRequest>(custom, v);
        conform_object::<_, their::ListRequest<their_sm::SmartModuleSpec>, their::ObjectApiListRequest>(sm, v);
    }

    #[test]
    fn list_responses_conform(topic in proptest::collection::vec(metadata::<TopicSpec>(), 0..3),
                              partition in proptest::collection::vec(metadata::<PartitionSpec>(), 0..3),
                              spu in proptest::collection::vec(metadata::<SpuSpec>(), 0..3),
                              custom in proptest::collection::vec(metadata::<CustomSpuSpec>(), 0..3),
                              sm in proptest::collection::vec(metadata::<SmartModuleSpec>(), 0..3),
                              v in version()) {
        conform_object::<_, their::ListResponse<their_topic::TopicSpec>, their::ObjectApiListResponse>(ListResponse { objects: topic }, v);
        conform_object::<_, their::ListResponse<their_partition::PartitionSpec>, their::ObjectApiListResponse>(ListResponse { objects: partition }, v);
        conform_object::<_, their::ListResponse<their_spu::SpuSpec>, their::ObjectApiListResponse>(ListResponse { objects: spu }, v);
        conform_object::<_, their::ListResponse<their_spu::CustomSpuSpec>, their::ObjectApiListResponse>(ListResponse { objects: custom }, v);
        conform_object::<_, their::ListResponse<their_sm::SmartModuleSpec>, their::ObjectApiListResponse>(ListResponse { objects: sm }, v);
    }

    #[test]
    fn watch_requests_conform(topic in watch_request::<TopicSpec>(),
                              partition in watch_request::<PartitionSpec>(),
                              spu in watch_request::<SpuSpec>(),
                              custom in watch_request::<CustomSpuSpec>(),
                              sm in watch_request::<SmartModuleSpec>(), v in version()) {
        conform_object::<_, their::WatchRequest<their_topic::TopicSpec>, their::ObjectApiWatchRequest>(topic, v);
        conform_object::<_, their::WatchRequest<their_partition::PartitionSpec>, their::ObjectApiWatchRequest>(partition, v);
        conform_object::<_, their::WatchRequest<their_spu::SpuSpec>, their::ObjectApiWatchRequest>(spu, v);
        conform_object::<_, their::WatchRequest<their_spu::CustomSpuSpec>, their::ObjectApiWatchRequest>(custom, v);
        conform_object::<_, their::WatchRequest<their_sm::SmartModuleSpec>, their::ObjectApiWatchRequest>(sm, v);
    }

    #[test]
    fn watch_responses_conform(topic in metadata_update::<TopicSpec>(),
                               partition in metadata_update::<PartitionSpec>(),
                               spu in metadata_update::<SpuSpec>(),
                               custom in metadata_update::<CustomSpuSpec>(),
                               sm in metadata_update::<SmartModuleSpec>(), v in version()) {
        conform::<_, their::MetadataUpdate<their_topic::TopicSpec>>(&topic, v);
        conform_object::<_, their::WatchResponse<their_topic::TopicSpec>, their::ObjectApiWatchResponse>(WatchResponse { update: topic }, v);
        conform_object::<_, their::WatchResponse<their_partition::PartitionSpec>, their::ObjectApiWatchResponse>(WatchResponse { update: partition }, v);
        conform_object::<_, their::WatchResponse<their_spu::SpuSpec>, their::ObjectApiWatchResponse>(WatchResponse { update: spu }, v);
        conform_object::<_, their::WatchResponse<their_spu::CustomSpuSpec>, their::ObjectApiWatchResponse>(WatchResponse { update: custom }, v);
        conform_object::<_, their::WatchResponse<their_sm::SmartModuleSpec>, their::ObjectApiWatchResponse>(WatchResponse { update: sm }, v);
    }

    #[test]
    fn untyped_messages_decode_what_typed_ones_encode(
        topic in create_request::<TopicSpec>(),
        update in metadata_update::<PartitionSpec>(),
        raw in any::<TypeBuffer>(),
        v in version(),
    ) {
        // Version-gated fields fall away, so compare with the typed decode of the same bytes.
        let bytes = topic.to_bytes(v).expect("encode");
        let typed = CreateRequest::<TopicSpec>::decode(&mut &bytes[..], v).expect("decode");
        let create = ScRequest::decode_body(CREATE_KEY, &mut &bytes[..], v).expect("decode");
        prop_assert_eq!(&create, &ScRequest::Create(Box::new(typed.into())));
        prop_assert_eq!(create.to_bytes(v).expect("encode"), bytes);

        let bytes = WatchResponse { update }.to_bytes(v).expect("encode");
        let typed = WatchResponse::<PartitionSpec>::decode(&mut &bytes[..], v).expect("decode");
        let any = ScResponse::decode_body(WATCH_KEY, &mut &bytes[..], v).expect("decode");
        prop_assert_eq!(&any, &ScResponse::Watch(typed.into()));
        prop_assert_eq!(any.to_bytes(v).expect("encode"), bytes);

        // Unmodelled labels survive as bytes; modelled ones must decode fully.
        let mut raw = raw;
        raw.label = "SpuGroup".into();
        let bytes = raw.to_bytes(v).expect("encode");
        let any = AnyListRequest::decode(&mut &bytes[..], v).expect("decode");
        prop_assert_eq!(any.label(), "SpuGroup");
        prop_assert_eq!(any, AnyListRequest::Other(raw));
    }

    #[test]
    fn sc_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96),
                               key in 1001u16..=1006, v in version()) {
        let _ = ScRequest::decode_body(key, &mut &bytes[..], v);
        let _ = ScResponse::decode_body(key, &mut &bytes[..], v);
        let _ = ScRequest::decode_message(&mut &bytes[..]);
        let _ = TopicSpec::decode(&mut &bytes[..], v);
        let _ = SmartModuleSpec::decode(&mut &bytes[..], v);
    }
}

#[test]
fn typed_envelope_rejects_another_label() {
    let bytes = ListRequest::<SpuSpec>::new(vec![])
        .to_bytes(19)
        .expect("encode");
    let err = ListRequest::<TopicSpec>::decode(&mut &bytes[..], 19).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::Invalid {
            what: "object type label",
            ..
        }
    ));
}

#[test]
fn envelope_body_must_be_consumed() {
    let raw = TypeBuffer {
        label: "Topic".into(),
        body: bytes::Bytes::from_static(&[0; 12]),
    };
    let bytes = raw.to_bytes(19).expect("encode");
    let err = WatchRequest::<TopicSpec>::decode(&mut &bytes[..], 19).unwrap_err();
    assert!(matches!(err, DecodeError::TrailingBytes { .. }));
}

// ---- the captured CLI session ----------------------------------------------------------

fn sc_frames() -> Vec<Frame> {
    captured_frames(9003)
        .into_iter()
        .filter(|f| (1001..=1006).contains(&f.api_key) && f.api_key != MIRRORING_KEY)
        .collect()
}

enum Decoded {
    Request(ScRequest),
    Response(ScResponse),
}

/// Decode a captured frame and re-encode it.
fn decode_frame(frame: &Frame) -> Result<(Vec<u8>, Decoded), DecodeError> {
    let mut buf = &frame.bytes[..];
    if frame.request {
        let message = ScRequest::decode_message(&mut buf)?;
        assert!(buf.is_empty(), "request left {} bytes", buf.len());
        assert_eq!(message.header.api_key, frame.api_key);
        let again = message.to_bytes(0).expect("encode").to_vec();
        Ok((again, Decoded::Request(message.request)))
    } else {
        let correlation_id = i32::decode(&mut buf, frame.version)?;
        let response = ScResponse::decode_body(frame.api_key, &mut buf, frame.version)?;
        assert!(buf.is_empty(), "response left {} bytes", buf.len());
        let message = ResponseMessage {
            correlation_id,
            response,
        };
        let again = message.to_bytes(frame.version).expect("encode").to_vec();
        Ok((again, Decoded::Response(message.response)))
    }
}

#[test]
fn every_captured_sc_frame_decodes_and_reencodes_identically() {
    let frames = sc_frames();
    assert!(frames.len() > 250, "only {} SC object frames", frames.len());
    let mut requests = Vec::new();
    let mut responses = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let (again, decoded) = decode_frame(frame)
            .unwrap_or_else(|e| panic!("frame {i} (key {}): {e}", frame.api_key));
        assert_eq!(hex::encode(&again), hex::encode(&frame.bytes), "frame {i}");
        match decoded {
            Decoded::Request(r) => requests.push(r),
            Decoded::Response(r) => responses.push(r),
        }
    }

    // Everything in the session is a modelled object type.
    let labels: Vec<&str> = requests
        .iter()
        .map(|r| match r {
            ScRequest::Create(r) => r.label(),
            ScRequest::Delete(r) => r.label(),
            ScRequest::List(r) => r.label(),
            ScRequest::Watch(r) => r.label(),
            ScRequest::Update(r) => r.label(),
        })
        .collect();
    for label in ["Topic", "Partition", "SPU", "SmartModule"] {
        assert!(labels.contains(&label), "no {label} request");
    }
    assert!(!requests.iter().any(|r| matches!(
        r,
        ScRequest::List(AnyListRequest::Other(_)) | ScRequest::Watch(AnyWatchRequest::Other(_))
    )));

    // The topic the session created.
    let created = requests.iter().find_map(|r| match r {
        ScRequest::Create(c) => match &**c {
            AnyCreateRequest::Topic(t) => Some(t.clone()),
            _ => None,
        },
        _ => None,
    });
    let created = created.expect("a topic create");
    assert_eq!(created.common.name, "golden-topic");
    assert!(matches!(
        created.spec.replicas,
        ReplicaSpec::Computed(TopicReplicaParam { partitions: 2, .. })
    ));

    // One success and the duplicate's error.
    let statuses: Vec<&Status> = responses
        .iter()
        .filter_map(|r| match r {
            ScResponse::Status(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(statuses
        .iter()
        .any(|s| s.is_ok() && s.name == "golden-topic"));
    assert!(statuses
        .iter()
        .any(|s| s.error_code == ErrorCode::TopicAlreadyExists));

    // Partitions are named "<topic>-<n>", and an SPU advertises where to connect.
    let partitions: Vec<String> = responses
        .iter()
        .flat_map(|r| match r {
            ScResponse::List(AnyListResponse::Partition(l)) => {
                l.objects.iter().map(|m| m.name.clone()).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    assert!(partitions
        .iter()
        .any(|n| split_partition_name(n) == Some(("golden-topic", 1))));
    let spu = responses.iter().find_map(|r| match r {
        ScResponse::Watch(AnyWatchResponse::Spu(w)) => w.update.all.first().cloned(),
        _ => None,
    });
    let spu = spu.expect("an SPU snapshot");
    assert_eq!(spu.spec.public_address().as_deref(), Some("localhost:9010"));
}

#[test]
fn request_messages_carry_the_request_key() {
    use crate::protocol::Request;
    let message = RequestMessage::new(WatchRequest::<SpuSpec>::new(), 19, 1, "dummy");
    let bytes = message.to_bytes(0).expect("encode");
    // The official client's first watch, from the capture.
    assert_eq!(
        hex::encode(&bytes),
        "03ec001300000001000564756d6d79000353505500000009000000000000000000"
    );
    assert_eq!(<WatchRequest<SpuSpec> as Request>::API_KEY, WATCH_KEY);
}
