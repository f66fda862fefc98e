//! Accepting and serving connections: a listener task per server, and per connection a reader
//! (decode a frame, hand it to the service) and a writer (a queue of encoded responses).
//!
//! ```text
//!  socket ──FramedRead──▶ AnyRequest::decode_frame ──▶ Service::dispatch ──▶ handler tasks
//!    ▲                       (error: drop socket)                              │
//!    └────────── writer task ◀── unbounded queue ◀── Conn::reply (delay) ◀─────┘
//! ```
//! A connection ends when the client closes it, a frame does not decode, the service asks
//! to close it, its server stops, or the faults drop every connection. A stalled connection
//! (see [`super::TestCluster::stall_connections`]) stays open but reads and drops every
//! request and sends nothing, until the client closes it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::state::Shared;
use super::stream::Sessions;
use crate::codec::FrameCodec;
use crate::protocol::{AnyRequest, Encode, RequestMessage, Server};

/// Longest a TLS handshake may take before the socket is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A server's request handling.
pub(crate) trait Service: Send + Sync + 'static {
    /// Which server this is (API keys mean different things on each).
    const SERVER: Server;

    /// Handle one decoded request; `false` closes the connection.
    fn dispatch(self: &Arc<Self>, msg: RequestMessage<AnyRequest>, conn: &Arc<Conn>) -> bool;
}

/// One client connection, as handlers see it.
#[derive(Debug)]
pub(crate) struct Conn {
    tx: mpsc::UnboundedSender<Bytes>,
    token: CancellationToken,
    shared: Arc<Shared>,
    sessions: Sessions,
}

impl Conn {
    /// The stream fetch sessions of this connection.
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Send `body` as the response to `correlation_id`, encoded at `version`, after the
    /// injected delay. Returns `false` once the connection is gone.
    pub(crate) async fn reply<T: Encode>(
        &self,
        correlation_id: i32,
        version: i16,
        body: &T,
    ) -> bool {
        let mut buf = BytesMut::with_capacity(4 + body.encoded_len(version));
        buf.put_i32(correlation_id);
        if body.encode(&mut buf, version).is_err() {
            self.close();
            return false;
        }
        self.send_raw(buf.freeze()).await
    }

    /// As [`Conn::reply`], on a task of its own (handlers answer without waiting).
    pub(crate) fn spawn_reply<T: Encode + Send + Sync + 'static>(
        self: &Arc<Self>,
        correlation_id: i32,
        version: i16,
        body: T,
    ) {
        let conn = self.clone();
        tokio::spawn(async move {
            conn.reply(correlation_id, version, &body).await;
        });
    }

    /// Send an encoded response payload (correlation id and body) after the injected delay.
    pub(crate) async fn send_raw(&self, payload: Bytes) -> bool {
        let delay = self.shared.faults.delay();
        if !delay.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.token.cancelled() => return false,
            }
        }
        !self.token.is_cancelled() && self.tx.send(payload).is_ok()
    }

    /// Close the connection.
    pub(crate) fn close(&self) {
        self.token.cancel();
    }

    /// Cancelled when the connection ends.
    pub(crate) fn closed(&self) -> &CancellationToken {
        &self.token
    }

    /// The cluster state.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// Something a connection can run over: TCP or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// Bind `addr`, then accept connections for `service` until `stop` is cancelled. The
/// listening socket is closed when the returned task ends.
pub(crate) async fn listen<S: Service>(
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    stop: CancellationToken,
    shared: Arc<Shared>,
    service: Arc<S>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let Ok((tcp, _)) = accepted else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let (stop, shared, service, tls) =
                (stop.clone(), shared.clone(), service.clone(), tls.clone());
            tokio::spawn(async move {
                let io: Box<dyn IoBox> = match tls {
                    None => Box::new(tcp),
                    Some(acceptor) => {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(stream)) => Box::new(stream),
                            _ => return,
                        }
                    }
                };
                serve(io, stop, shared, service).await;
            });
        }
    });
    Ok((local, task))
}

/// Object-safe form of [`Io`].
trait IoBox: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: Io> IoBox for T {}

async fn serve<S: Service>(
    io: Box<dyn IoBox>,
    stop: CancellationToken,
    shared: Arc<Shared>,
    service: Arc<S>,
) {
    let generation = shared.faults.connections_token();
    let stall = shared.faults.stall_token(S::SERVER);
    let (read, mut write) = tokio::io::split(io);
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let token = CancellationToken::new();
    let conn = Arc::new(Conn {
        tx,
        token: token.clone(),
        shared,
        sessions: Sessions::default(),
    });
    let writer_token = token.clone();
    let writer_stall = stall.clone();
    let writer = tokio::spawn(async move {
        loop {
            let payload = tokio::select! {
                _ = writer_token.cancelled() => break,
                payload = rx.recv() => payload,
            };
            let Some(payload) = payload else { break };
            if writer_stall.is_cancelled() {
                continue; // stalled: nothing goes out
            }
            let mut frame = BytesMut::with_capacity(4 + payload.len());
            frame.put_u32(payload.len() as u32);
            frame.extend_from_slice(&payload);
            if write.write_all(&frame).await.is_err() {
                break;
            }
        }
        writer_token.cancel();
        let _ = write.shutdown().await;
    });
    let mut frames = FramedRead::new(read, FrameCodec::default());
    loop {
        let frame = tokio::select! {
            // A dropped connection reads nothing more, even a request that arrived with the
            // drop: a reset socket delivers nothing after it (unbiased, a request sent after
            // `drop_connections` was handled half the time, and its answer lost).
            biased;
            _ = token.cancelled() => break,
            _ = stop.cancelled() => break,
            _ = generation.cancelled() => break,
            frame = next_frame(&mut frames) => frame,
        };
        // End of stream, a framing error, or an undecodable request: drop the connection
        // without a reply, like the real servers.
        let Some(Ok(mut frame)) = frame else { break };
        if stall.is_cancelled() {
            continue; // stalled: read and dropped, never answered
        }
        let Ok(msg) = AnyRequest::decode_frame(S::SERVER, &mut frame) else {
            break;
        };
        if !service.dispatch(msg, &conn) {
            break;
        }
    }
    token.cancel();
    let _ = writer.await;
}

async fn next_frame<R: AsyncRead + Unpin>(
    frames: &mut FramedRead<R, FrameCodec>,
) -> Option<Result<Bytes, crate::codec::FrameError>> {
    use futures_core::Stream;
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *frames).poll_next(cx)).await
}
