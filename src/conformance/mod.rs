//! Conformance with the official Fluvio crates (dev-dependencies only).
//!
//! Each check takes a value of ours, encodes it with our encoder, decodes the bytes with the
//! official type and re-encodes them with the official encoder: the bytes must be identical
//! and decode with ours to the same value. That proves both directions on every generated
//! value: ours → theirs and theirs → ours.

use std::fmt::Debug;

use fluvio_protocol::{Decoder as TheirDecode, Encoder as TheirEncode};

use crate::protocol::{Decode, Encode, Version};

mod arb;
mod base;
mod record;
mod sc;
mod spu;

#[allow(unused_imports)]
pub(crate) use arb::*;

/// Assert that `ours` and the official type `T` agree byte for byte at `version`.
pub(crate) fn conform<O, T>(ours: &O, version: Version)
where
    O: Encode + Decode + PartialEq + Debug,
    T: TheirEncode + TheirDecode + Default + Debug,
{
    let ours_bytes = ours.to_bytes(version).expect("our encode");
    assert_eq!(
        ours_bytes.len(),
        ours.encoded_len(version),
        "our encoded_len is wrong for {ours:?}"
    );

    let mut theirs = T::default();
    let mut cursor = std::io::Cursor::new(&ours_bytes[..]);
    theirs
        .decode(&mut cursor, version)
        .unwrap_or_else(|e| panic!("official decode failed at v{version}: {e}\nvalue: {ours:?}"));
    assert_eq!(
        cursor.position() as usize,
        ours_bytes.len(),
        "official decoder left bytes at v{version}: {theirs:?}"
    );

    let mut their_bytes = Vec::new();
    theirs
        .encode(&mut their_bytes, version)
        .expect("official encode");
    assert_eq!(
        hex(&their_bytes),
        hex(&ours_bytes),
        "official re-encode differs at v{version}\nours:   {ours:?}\ntheirs: {theirs:?}"
    );

    let mut slice = &their_bytes[..];
    let back = O::decode(&mut slice, version).expect("our decode of official bytes");
    assert!(slice.is_empty(), "our decoder left {} bytes", slice.len());
    let mut again = &ours_bytes[..];
    let normalized = O::decode(&mut again, version).expect("our decode of our bytes");
    assert_eq!(back, normalized);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Assert that `value` survives our own encode → decode at `version` (fields outside the
/// version's range are compared after one normalising round).
pub(crate) fn round_trip<O>(value: &O, version: Version)
where
    O: Encode + Decode + PartialEq + Debug,
{
    let bytes = value.to_bytes(version).expect("encode");
    assert_eq!(bytes.len(), value.encoded_len(version));
    let mut slice = &bytes[..];
    let decoded = O::decode(&mut slice, version).expect("decode");
    assert!(slice.is_empty());
    let again = decoded.to_bytes(version).expect("re-encode");
    assert_eq!(bytes, again);
}

/// One frame of the captured CLI session (`tests/data/fluvio-0.18-cli-session.jsonl`).
pub(crate) struct Frame {
    pub(crate) request: bool,
    pub(crate) api_key: u16,
    pub(crate) version: Version,
    pub(crate) bytes: Vec<u8>,
}

/// The captured frames exchanged with the server on `port` (9003 = SC, 9010 = SPU).
pub(crate) fn captured_frames(port: u64) -> Vec<Frame> {
    const CAPTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fluvio-0.18-cli-session.jsonl"
    ));
    CAPTURE
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json line"))
        .filter(|v| v["server_port"] == port)
        .map(|v| Frame {
            request: v["dir"] == "request",
            api_key: v["api_key"].as_u64().expect("api_key") as u16,
            version: v["api_version"].as_i64().expect("api_version") as Version,
            bytes: hex::decode(v["frame_hex"].as_str().expect("frame_hex")).expect("hex"),
        })
        .collect()
}
