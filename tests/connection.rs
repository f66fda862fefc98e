//! The connection actor against scripted servers on loopback: multiplexing, unknown ids,
//! dropped sockets, timeouts, streams, oversized frames, reconnects, versions and TLS.
//!
//! (Above 400 lines on purpose: each test scripts its own server on loopback next to its
//! assertions, so a test reads on its own.)

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_fluvio::codec::{FrameCodec, FrameError, RawFrame};
use actix_fluvio::connection::{
    Connection, ConnectionConfig, ConnectionError, Pem, ReconnectPolicy, TlsPolicy,
};
use actix_fluvio::protocol::{
    ApiVersionKey, ApiVersionsRequest, ApiVersionsResponse, Decode, Encode, RequestHeader,
};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

use common::{bounded, connection_config};

/// One accepted connection of a scripted server.
struct Peer<S> {
    framed: Framed<S, FrameCodec>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Peer<S> {
    /// Read a request: its header and raw body.
    async fn recv(&mut self) -> Option<(RequestHeader, Bytes)> {
        let mut frame = self.framed.next().await?.ok()?;
        let header = RequestHeader::decode(&mut frame, 0).ok()?;
        Some((header, frame))
    }

    /// Answer correlation id `id` with `body`.
    async fn reply<T: Encode>(&mut self, id: i32, body: &T, version: i16) {
        let mut buf = BytesMut::new();
        buf.put_i32(id);
        body.encode(&mut buf, version).unwrap();
        self.framed.send(RawFrame(buf.freeze())).await.unwrap();
    }

    /// Answer the ApiVersions handshake, advertising `ranges`.
    async fn handshake(&mut self, ranges: &[(i16, i16, i16)], platform: &str) {
        let (header, _) = self.recv().await.expect("handshake");
        assert_eq!(header.api_key, 18);
        self.reply(
            header.correlation_id,
            &versions(ranges, platform),
            header.api_version,
        )
        .await;
    }
}

fn versions(ranges: &[(i16, i16, i16)], platform: &str) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: ranges
            .iter()
            .map(|&(api_key, min_version, max_version)| ApiVersionKey {
                api_key,
                min_version,
                max_version,
            })
            .collect(),
        platform_version: platform.into(),
        ..Default::default()
    }
}

const V: &[(i16, i16, i16)] = &[(18, 0, 2)];

/// A server on 127.0.0.1:0 that runs `script` on each accepted connection, in order.
async fn server<F, Fut>(script: F) -> SocketAddr
where
    F: Fn(usize, Peer<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let script = Arc::new(script);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((stream, _)) = listener.accept().await {
            let peer = Peer {
                framed: Framed::new(stream, FrameCodec::new(1 << 20)),
            };
            tokio::spawn(script(n, peer));
            n += 1;
        }
    });
    addr
}

/// A request whose response (an `ApiVersionsResponse`) tells which request it answers.
fn ping() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
}

#[tokio::test]
async fn responses_out_of_order_reach_their_requests() {
    let addr = server(|_, mut peer| async move {
        peer.handshake(V, "0.18.1").await;
        let mut pending = Vec::new();
        for _ in 0..3 {
            pending.push(peer.recv().await.unwrap().0);
        }
        for header in pending.iter().rev() {
            let answer = versions(&[], &format!("0.0.{}", header.correlation_id));
            peer.reply(header.correlation_id, &answer, header.api_version)
                .await;
        }
        let _ = peer.recv().await;
    })
    .await;
    bounded(async {
        let conn = Connection::connect(addr.to_string(), connection_config())
            .await
            .unwrap();
        assert_eq!(conn.versions().platform, "0.18.1");
        let p = ping();
        let (a, b, c) = tokio::join!(conn.request(&p), conn.request(&p), conn.request(&p));
        let mut got: Vec<String> = [a, b, c]
            .into_iter()
            .map(|r| r.unwrap().platform_version)
            .collect();
        got.sort();
        assert_eq!(got, vec!["0.0.1", "0.0.2", "0.0.3"]);
    })
    .await;
}

#[tokio::test]
async fn unknown_correlation_ids_are_skipped() {
    let addr = server(|_, mut peer| async move {
        peer.handshake(V, "0.18.1").await;
        let (header, _) = peer.recv().await.unwrap();
        peer.reply(999, &versions(&[], "9.9.9"), 2).await;
        peer.reply(header.correlation_id, &versions(&[], "1.2.3"), 2)
            .await;
        let _ = peer.recv().await;
    })
    .await;
    bounded(async {
        let conn = Connection::connect(addr.to_string(), connection_config())
            .await
            .unwrap();
        assert_eq!(
            conn.request(&ping()).await.unwrap().platform_version,
            "1.2.3"
        );
    })
    .await;
}

#[tokio::test]
async fn a_dropped_socket_fails_every_request_in_flight() {
    let addr = server(|_, mut peer| async move {
        peer.handshake(V, "0.18.1").await;
        for _ in 0..3 {
            peer.recv().await.unwrap();
        }
        drop(peer);
    })
    .await;
    bounded(async {
        let conn = Connection::connect(addr.to_string(), connection_config())
            .await
            .unwrap();
        let started = Instant::now();
        let p = ping();
        let (a, b, c) = tokio::join!(conn.request(&p), conn.request(&p), conn.request(&p));
        for result in [a, b, c] {
            let err = result.unwrap_err();
            assert!(err.is_retriable(), "{err}");
            assert!(matches!(err, ConnectionError::Lost { .. }), "{err}");
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        let err = conn.request(&ping()).await.unwrap_err();
        assert!(matches!(err, ConnectionError::Closed { .. }), "{err}");
        assert!(conn.is_closed());
    })
    .await;
}

#[tokio::test]
async fn an_unanswered_request_times_out_and_its_late_reply_is_dropped() {
    let addr = server(|_, mut peer| async move {
        peer.handshake(V, "0.18.1").await;
        let (late, _) = peer.recv().await.unwrap();
        let (next, _) = peer.recv().await.unwrap();
        peer.reply(late.correlation_id, &versions(&[], "0.0.1"), 2)
            .await;
        peer.reply(next.correlation_id, &versions(&[], "0.0.2"), 2)
            .await;
        let _ = peer.recv().await;
    })
    .await;
    bounded(async {
        let conn = Connection::connect(
            addr.to_string(),
            connection_config()
                .into_builder()
                .request_timeout(Duration::from_millis(200))
                .build(),
        )
        .await
        .unwrap();
        let err = conn.request(&ping()).await.unwrap_err();
        assert!(
            matches!(err, ConnectionError::RequestTimeout { api_key: 18, .. }),
            "{err}"
        );
        assert_eq!(
            conn.request(&ping()).await.unwrap().platform_version,
            "0.0.2"
        );
    })
    .await;
}

#[tokio::test]
async fn a_stream_gets_every_response_on_its_correlation_id() {
    let addr = server(|_, mut peer| async move {
        peer.handshake(V, "0.18.1").await;
        let (header, _) = peer.recv().await.unwrap();
        for i in 0..3 {
            peer.reply(
                header.correlation_id,
                &versions(&[], &format!("0.0.{i}")),
                2,
            )
            .await;
        }
        let _ = peer.recv().await;
    })
    .await;
    bounded(async {
        let conn = Connection::connect(addr.to_string(), connection_config())
            .await
            .unwrap();
        let mut stream = conn.stream(&ping()).await.unwrap();
        for i in 0..3 {
            let response = stream.next().await.unwrap().unwrap();
            assert_eq!(response.platform_version, format!("0.0.{i}"));
        }
    })
    .await;
}

/// Send a response frame to `id` announcing `size` bytes, its body in 64 KiB writes.
async fn oversized<S: AsyncRead + AsyncWrite + Unpin>(peer: &mut Peer<S>, id: i32, size: usize) {
    use tokio::io::AsyncWriteExt;
    let stream = peer.framed.get_mut();
    let mut header = BytesMut::new();
    header.put_i32(size as i32);
    header.put_i32(id);
    stream.write_all(&header).await.unwrap();
    let chunk = vec![0xab; 64 * 1024];
    let mut left = size - 4;
    while left > 0 {
        let n = left.min(chunk.len());
        stream.write_all(&chunk[..n]).await.unwrap();
        left -= n;
    }
}

/// A client whose frames are at most 1 MiB.
fn small_frames() -> ConnectionConfig {
    connection_config()
        .into_builder()
        .max_frame_len(1 << 20)
        .build()
}

fn is_too_large(error: &ConnectionError, size: usize) -> bool {
    matches!(error, ConnectionError::Frame { cause, .. }
        if matches!(**cause, FrameError::TooLarge { limit, actual } if limit == 1 << 20 && actual == size))
}

#[tokio::test]
async fn an_oversized_response_fails_its_request_only_and_the_socket_goes_on() {
    const SIZE: usize = 4 << 20;
    let addr = server(|_, mut peer| async move {
        peer.handshake(V, "0.18.1").await;
        let (a, _) = peer.recv().await.unwrap();
        let (b, _) = peer.recv().await.unwrap();
        // 4 MiB for `a` (over the client's 1 MiB), then `b`'s answer on the same socket.
        oversized(&mut peer, a.correlation_id, SIZE).await;
        peer.reply(b.correlation_id, &versions(&[], "b"), b.api_version)
            .await;
        let (c, _) = peer.recv().await.unwrap();
        peer.reply(c.correlation_id, &versions(&[], "c"), c.api_version)
            .await;
        let _ = peer.recv().await;
    })
    .await;
    bounded(async {
        let conn = Connection::connect(addr.to_string(), small_frames())
            .await
            .unwrap();
        let p = ping();
        let (a, b) = tokio::join!(conn.request(&p), conn.request(&p));
        let a = a.unwrap_err();
        assert!(is_too_large(&a, SIZE), "{a}");
        assert!(a.to_string().contains("exceeds"), "{a}");
        assert_eq!(b.unwrap().platform_version, "b");
        assert_eq!(conn.request(&p).await.unwrap().platform_version, "c");
        assert_eq!(conn.reconnects(), 0);
        assert!(!conn.is_closed());
    })
    .await;
}

#[tokio::test]
async fn an_oversized_response_on_a_stream_ends_that_stream_only() {
    const SIZE: usize = (1 << 20) + 1;
    let addr = server(|_, mut peer| async move {
        peer.handshake(V, "0.18.1").await;
        let (s, _) = peer.recv().await.unwrap();
        peer.reply(s.correlation_id, &versions(&[], "s0"), s.api_version)
            .await;
        let (u, _) = peer.recv().await.unwrap();
        oversized(&mut peer, s.correlation_id, SIZE).await;
        peer.reply(u.correlation_id, &versions(&[], "u"), u.api_version)
            .await;
        let _ = peer.recv().await;
    })
    .await;
    bounded(async {
        let conn = Connection::connect(addr.to_string(), small_frames())
            .await
            .unwrap();
        let mut stream = conn.stream(&ping()).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap().platform_version, "s0");
        let p = ping();
        let (unary, ended) = tokio::join!(conn.request(&p), async {
            let error = stream.next().await.unwrap().unwrap_err();
            (error, stream.next().await.is_none())
        });
        assert_eq!(unary.unwrap().platform_version, "u");
        let (error, ended) = ended;
        assert!(is_too_large(&error, SIZE), "{error}");
        assert!(ended, "the stream ends after its error");
        assert_eq!(conn.reconnects(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_server_older_than_we_support_is_named_with_both_ranges() {
    let addr = server(|_, mut peer| async move {
        peer.handshake(&[(18, 5, 9)], "0.18.1").await;
        let _ = peer.recv().await;
    })
    .await;
    bounded(async {
        let conn = Connection::connect(addr.to_string(), connection_config())
            .await
            .unwrap();
        let err = conn.request(&ping()).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("v5..=v9") && text.contains("v0..=v2"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refused_connect_is_a_retriable_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = bounded(Connection::connect(addr.to_string(), connection_config()))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectionError::Connect { .. }), "{err}");
    assert!(err.is_retriable());
}

#[actix_rt::test]
async fn reconnects_at_once_after_a_loss_and_requests_wait_for_it() {
    let addr = server(|n, mut peer| async move {
        peer.handshake(V, if n == 0 { "0.18.1" } else { "0.18.2" })
            .await;
        if n == 0 {
            let _ = peer.recv().await.unwrap();
            return; // drop the socket with a request pending
        }
        while let Some((header, _)) = peer.recv().await {
            peer.reply(header.correlation_id, &versions(&[], "after"), 2)
                .await;
        }
    })
    .await;
    bounded(async {
        let policy = ReconnectPolicy {
            initial_delay: Duration::from_millis(300),
            jitter: 0.0,
            ..ReconnectPolicy::default()
        };
        let conn = Connection::connect(
            addr.to_string(),
            connection_config().into_builder().reconnect(policy).build(),
        )
        .await
        .unwrap();
        let err = conn.request(&ping()).await.unwrap_err();
        assert!(matches!(err, ConnectionError::Lost { .. }), "{err}");
        let lost_at = Instant::now();
        // The server is up: the first attempt after the loss goes at once, and a request
        // made meanwhile waits for it instead of failing (the 300 ms backoff applies only
        // after a failed attempt).
        let response = conn.request(&ping()).await.expect("sent on the new socket");
        assert_eq!(response.platform_version, "after");
        assert!(
            lost_at.elapsed() < Duration::from_millis(250),
            "{:?}",
            lost_at.elapsed()
        );
        assert_eq!(conn.reconnects(), 1);
        assert_eq!(conn.versions().platform, "0.18.2");
    })
    .await;
}

/// Answer pings on every connection `listener` accepts.
async fn serve_pings(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut peer = Peer {
                framed: Framed::new(stream, FrameCodec::new(1 << 20)),
            };
            peer.handshake(V, "0.18.1").await;
            while let Some((header, _)) = peer.recv().await {
                peer.reply(header.correlation_id, &versions(&[], "pong"), 2)
                    .await;
            }
        });
    }
}

#[actix_rt::test]
async fn a_connection_in_use_is_back_within_a_second_of_its_server_not_its_backoff() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = tokio::spawn(serve_pings(listener));
    bounded(async {
        let conn = Connection::connect(
            addr.to_string(),
            connection_config()
                .into_builder()
                .reconnect(ReconnectPolicy {
                    initial_delay: Duration::from_secs(8),
                    max_delay: Duration::from_secs(8),
                    jitter: 0.0,
                    ..ReconnectPolicy::default()
                })
                .build(),
        )
        .await
        .unwrap();
        conn.request(&ping()).await.unwrap();
        // The server goes away (its sockets and its listener): the first reconnect, at
        // once, is refused, and the next waits 8 s.
        first.abort();
        let _ = first.await;
        let _ = conn.request(&ping()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listener = TcpListener::bind(addr).await.expect("the port again");
        tokio::spawn(serve_pings(listener));
        let back = Instant::now();
        // A caller retrying every 100 ms gets through within about a second.
        loop {
            if conn.request(&ping()).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            back.elapsed() < Duration::from_secs(2),
            "back after {:?} (backoff 8 s)",
            back.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn reconnecting_gives_up_after_max_attempts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Peer {
            framed: Framed::new(stream, FrameCodec::new(1 << 20)),
        };
        peer.handshake(V, "0.18.1").await;
        drop(peer);
        drop(listener); // nothing listens any more
    });
    bounded(async {
        let conn = Connection::connect(
            addr.to_string(),
            connection_config()
                .into_builder()
                .reconnect(ReconnectPolicy {
                    max_attempts: Some(2),
                    initial_delay: Duration::from_millis(20),
                    ..ReconnectPolicy::default()
                })
                .build(),
        )
        .await
        .unwrap();
        loop {
            match conn.request(&ping()).await {
                Err(ConnectionError::Closed { cause, .. }) => {
                    assert!(cause.contains("gave up after 2"), "{cause}");
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                Ok(_) => panic!("no server should answer"),
            }
        }
    })
    .await;
}

mod tls {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    struct Authority {
        ca_pem: String,
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    }

    fn authority(domain: &str) -> Authority {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![domain.to_string()]).unwrap();
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        Authority {
            ca_pem: ca.pem(),
            cert: cert.der().clone(),
            key: PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
        }
    }

    async fn tls_server(auth: &Authority) -> SocketAddr {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![auth.cert.clone()], auth.key.clone_key())
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut peer = Peer {
                        framed: Framed::new(stream, FrameCodec::new(1 << 20)),
                    };
                    peer.handshake(V, "0.18.1").await;
                    while let Some((header, _)) = peer.recv().await {
                        peer.reply(header.correlation_id, &versions(&[], "tls"), 2)
                            .await;
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn tls_is_accepted_with_the_right_ca() {
        let auth = authority("sc.fluvio.test");
        let addr = tls_server(&auth).await;
        let conn = bounded(Connection::connect(
            addr.to_string(),
            connection_config()
                .into_builder()
                .tls(TlsPolicy::Verified {
                    domain: "sc.fluvio.test".into(),
                    ca: Pem::Inline(auth.ca_pem.clone()),
                })
                .build(),
        ))
        .await
        .unwrap();
        assert_eq!(
            bounded(conn.request(&ping()))
                .await
                .unwrap()
                .platform_version,
            "tls"
        );
    }

    #[tokio::test]
    async fn tls_is_refused_with_a_wrong_ca() {
        let auth = authority("sc.fluvio.test");
        let other = authority("sc.fluvio.test");
        let addr = tls_server(&auth).await;
        let err = bounded(Connection::connect(
            addr.to_string(),
            connection_config()
                .into_builder()
                .tls(TlsPolicy::Verified {
                    domain: "sc.fluvio.test".into(),
                    ca: Pem::Inline(other.ca_pem),
                })
                .build(),
        ))
        .await
        .unwrap_err();
        assert!(matches!(err, ConnectionError::Tls { .. }), "{err}");
    }

    #[tokio::test]
    async fn anonymous_tls_skips_verification_only_when_asked() {
        let auth = authority("sc.fluvio.test");
        let addr = tls_server(&auth).await;
        let conn = bounded(Connection::connect(
            addr.to_string(),
            connection_config()
                .into_builder()
                .tls(TlsPolicy::DangerAcceptAnyCertificate)
                .build(),
        ))
        .await
        .unwrap();
        assert_eq!(
            bounded(conn.request(&ping()))
                .await
                .unwrap()
                .platform_version,
            "tls"
        );
    }
}
