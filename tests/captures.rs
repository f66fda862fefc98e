//! Real traffic: every frame the official CLI (client crates 0.50.2) exchanged with a real
//! Fluvio 0.18 cluster decodes with our request and response decoders, and re-encodes to the
//! same bytes.

use std::collections::BTreeMap;

use actix_fluvio::protocol::{AnyRequest, AnyResponse, Encode, Server};
use bytes::Bytes;
use serde_json::Value;

const CAPTURE: &str = include_str!("data/fluvio-0.18-cli-session.jsonl");

struct Frame {
    server: Server,
    request: bool,
    api_key: u16,
    api_version: i16,
    bytes: Bytes,
}

fn frames() -> Vec<Frame> {
    CAPTURE
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("json line");
            Frame {
                server: match v["server_port"].as_u64() {
                    Some(9003) => Server::Sc,
                    Some(9010) => Server::Spu,
                    other => panic!("unexpected port {other:?}"),
                },
                request: v["dir"] == "request",
                api_key: v["api_key"].as_u64().unwrap() as u16,
                api_version: v["api_version"].as_i64().unwrap() as i16,
                bytes: hex::decode(v["frame_hex"].as_str().unwrap())
                    .unwrap()
                    .into(),
            }
        })
        .collect()
}

#[test]
fn every_captured_frame_decodes_and_re_encodes_byte_for_byte() {
    let mut seen: BTreeMap<(String, u16, &str), usize> = BTreeMap::new();
    let frames = frames();
    assert!(frames.len() > 400, "capture has {} frames", frames.len());
    for (i, f) in frames.iter().enumerate() {
        let mut input = f.bytes.clone();
        let encoded = if f.request {
            let message = AnyRequest::decode_frame(f.server, &mut input)
                .unwrap_or_else(|e| panic!("frame {i} (request {}): {e}", f.api_key));
            assert_eq!(message.header.api_key, f.api_key);
            message.to_bytes(0).unwrap()
        } else {
            let message = AnyResponse::decode_frame(f.server, f.api_key, f.api_version, &mut input)
                .unwrap_or_else(|e| panic!("frame {i} (response {}): {e}", f.api_key));
            message.to_bytes(f.api_version).unwrap()
        };
        assert!(
            input.is_empty(),
            "frame {i}: {} bytes left over",
            input.len()
        );
        assert_eq!(
            hex::encode(&encoded),
            hex::encode(&f.bytes),
            "frame {i} (api {} v{}) re-encodes differently",
            f.api_key,
            f.api_version
        );
        let dir = if f.request { "request" } else { "response" };
        *seen
            .entry((format!("{:?}", f.server), f.api_key, dir))
            .or_default() += 1;
    }
    println!("frames per (server, api key, direction): {seen:#?}");
    // Every API the session used is covered on both sides.
    for key in [18u16, 1001, 1002, 1003, 1004] {
        assert!(
            seen.contains_key(&("Sc".into(), key, "request")),
            "SC {key}"
        );
    }
    for key in [18u16, 0, 1002, 1003, 1005, 1006, 1007, 1008] {
        assert!(
            seen.contains_key(&("Spu".into(), key, "request")),
            "SPU {key}"
        );
        assert!(
            seen.contains_key(&("Spu".into(), key, "response")),
            "SPU {key}"
        );
    }
}
