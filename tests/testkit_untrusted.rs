//! Every byte from the network is untrusted: the test cluster's servers are fed random
//! bodies under every API key and truncated or oversized frames, must never panic, and keep
//! serving well-formed clients afterwards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_fluvio::codec::{FrameCodec, RawFrame};
use actix_fluvio::connection::{Connection, ConnectionConfig, ReconnectPolicy};
use actix_fluvio::protocol::record::{Batch, RecordSet};
use actix_fluvio::protocol::sc::{
    AddPartition, CreateRequest, DeleteRequest, TopicSpec, UpdateRequest, UpdateTopicAction,
};
use actix_fluvio::protocol::spu::{
    DeleteConsumerOffsetRequest, FetchOffsetsRequest, FetchRequest, Isolation, ProduceRequest,
    StreamFetchRequest, UpdateConsumerOffsetRequest, UpdateOffsetsRequest,
};
use actix_fluvio::protocol::{Encode, RequestHeader};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::Framed;

const SC_KEYS: &[u16] = &[18, 1001, 1002, 1003, 1004, 1005, 1006, 7];
const SPU_KEYS: &[u16] = &[18, 0, 1, 1002, 1003, 1005, 1006, 1007, 1008, 2000, 9];

/// A frame with a valid header for `api_key` at `version` and `body` after it.
fn frame(api_key: u16, version: i16, body: &[u8]) -> Bytes {
    let header = RequestHeader {
        api_key,
        api_version: version,
        correlation_id: 1,
        client_id: "fuzz".into(),
    };
    let mut buf = BytesMut::new();
    header.encode(&mut buf, 0).unwrap();
    buf.put_slice(body);
    buf.freeze()
}

/// Send `payload` as one frame and wait (briefly) for a reply or the close.
async fn poke(addr: &str, payload: Bytes) {
    let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let mut framed = Framed::new(tcp, FrameCodec::default());
    if framed.send(RawFrame(payload)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_millis(50), framed.next()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_panic_a_server() {
    let panics = Arc::new(AtomicUsize::new(0));
    let counter = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));

    tokio::time::timeout(Duration::from_secs(60), async {
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let sc = cluster.sc_addr();
        let spu = cluster.spu_addr(cluster.spu_ids()[0]).unwrap();
        let mut rng = fastrand::Rng::with_seed(0x7e57);
        for round in 0..400 {
            let (addr, keys) = if round % 2 == 0 {
                (&sc, SC_KEYS)
            } else {
                (&spu, SPU_KEYS)
            };
            let key = keys[rng.usize(..keys.len())];
            let version = [0, 1, 2, 10, 11, 13, 16, 18, 19, 23, 25, -1, i16::MAX][rng.usize(..13)];
            let len = rng.usize(..64);
            let mut body: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            // Bias towards plausible lengths and tags: many zeros and small numbers.
            for b in body.iter_mut() {
                if rng.bool() {
                    *b = rng.u8(..4);
                }
            }
            poke(addr, frame(key, version, &body)).await;
        }
        // Truncated header, negative size, oversized size, and a half-sent frame.
        poke(&spu, Bytes::from_static(b"\x00")).await;
        for raw in [
            &b"\xff\xff\xff\xff"[..],
            b"\x7f\xff\xff\xff",
            b"\x00\x00\x00\x10abc",
        ] {
            let mut tcp = tokio::net::TcpStream::connect(&sc).await.unwrap();
            tcp.write_all(raw).await.unwrap();
            drop(tcp);
        }

        hostile_but_well_formed(&cluster).await;

        // Still serving.
        let config = ConnectionConfig::builder()
            .reconnect(ReconnectPolicy::disabled())
            .request_timeout(Duration::from_secs(5))
            .build();
        let conn = Connection::connect(sc, config).await.unwrap();
        let status = conn
            .request(&CreateRequest::new("after-fuzz", TopicSpec::computed(1, 1)))
            .await
            .unwrap();
        assert!(status.is_ok(), "{status:?}");
    })
    .await
    .expect("test timed out");
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a server task panicked");
}

/// Requests that decode but ask for the absurd: extreme offsets and sizes, unknown topics
/// and sessions, odd batches.
async fn hostile_but_well_formed(cluster: &TestCluster) {
    let config = ConnectionConfig::builder()
        .reconnect(ReconnectPolicy::disabled())
        .request_timeout(Duration::from_secs(5))
        .build();
    let sc = Connection::connect(cluster.sc_addr(), config.clone())
        .await
        .unwrap();
    let spu_addr = cluster.spu_addr(cluster.spu_ids()[0]).unwrap();
    let spu = Connection::connect(spu_addr, config).await.unwrap();
    let huge = CreateRequest::new("huge", TopicSpec::computed(u32::MAX, u32::MAX));
    assert!(!sc.request(&huge).await.unwrap().is_ok());
    assert!(sc
        .request(&CreateRequest::new("h", TopicSpec::computed(1, 1)))
        .await
        .unwrap()
        .is_ok());
    let add = UpdateTopicAction::AddPartition(AddPartition { count: u32::MAX });
    assert!(!sc
        .request(&UpdateRequest::<TopicSpec>::new("h", add))
        .await
        .unwrap()
        .is_ok());
    let _ = sc
        .request(&DeleteRequest::<TopicSpec>::new(""))
        .await
        .unwrap();

    let odd = Batch {
        last_offset_delta: -7,
        ..Batch::default()
    };
    let mut produce = ProduceRequest::new(Isolation::ReadCommitted, Duration::ZERO);
    produce.push("h", 0, RecordSet::new(vec![odd.clone(), odd]));
    produce.push("nowhere", 7, RecordSet::default());
    spu.request(&produce).await.unwrap();
    for offset in [i64::MIN, -1, i64::MAX] {
        let fetch = FetchRequest::single("h", 0, offset, i32::MIN, Isolation::ReadCommitted);
        spu.request(&fetch).await.unwrap();
        let stream = StreamFetchRequest::new("h", 0, offset).with_max_bytes(i32::MIN);
        let mut stream = spu.stream(&stream).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
    }
    spu.request(&FetchOffsetsRequest::new("nowhere", u32::MAX))
        .await
        .unwrap();
    spu.request(&UpdateOffsetsRequest::single(u32::MAX, i64::MIN))
        .await
        .unwrap();
    spu.request(&UpdateConsumerOffsetRequest::new(i64::MAX, 0))
        .await
        .unwrap();
    spu.request(&DeleteConsumerOffsetRequest::new("nowhere", 0, ""))
        .await
        .unwrap();
}
