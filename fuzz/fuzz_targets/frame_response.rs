//! Bytes off the network: the frame codec, then every response decoder of both servers at
//! every version; and the client's response codec with a small limit, so oversized frames
//! are reported and skipped. Decoding must return errors, never panic, hang or
//! over-allocate.
#![no_main]

use actix_fluvio::codec::{FrameCodec, Inbound, ResponseCodec};
use actix_fluvio::protocol::{AnyRequest, AnyResponse, Server};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

const KEYS: &[u16] = &[0, 1, 18, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008];

fuzz_target!(|data: &[u8]| {
    let mut responses = ResponseCodec::new(64);
    let mut wire = BytesMut::from(data);
    while let Ok(Some(item)) = responses.decode(&mut wire) {
        if let Inbound::Frame(frame) = item {
            assert!(frame.len() <= 64);
        }
    }
    let mut codec = FrameCodec::new(1 << 20);
    let mut wire = BytesMut::from(data);
    while let Ok(Some(frame)) = codec.decode(&mut wire) {
        // Choose the API and version from the first bytes, decode the rest.
        let (selector, body) = frame.split_at(frame.len().min(2));
        let key = KEYS[*selector.first().unwrap_or(&0) as usize % KEYS.len()];
        let version = i16::from(*selector.get(1).unwrap_or(&0) % 27);
        for server in [Server::Sc, Server::Spu] {
            let _ = AnyResponse::decode_frame(server, key, version, &mut &body[..]);
            let _ = AnyRequest::decode_frame(server, &mut &body[..]);
        }
    }
});
