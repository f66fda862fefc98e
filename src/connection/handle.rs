//! `Connection`: the cloneable handle over a [`ConnectionActor`].

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::Addr;
use bytes::{Bytes, BytesMut};
use tokio::sync::{oneshot, Semaphore};

use super::actor::{Abandon, Cancel, Close, ConnectionActor, Ping, Shared, Submit};
use super::config::ConnectionConfig;
use super::correlation::Reply;
use super::error::ConnectionError;
use super::state::ConnectionState;
use super::stream::decode_body;
use super::transport::Target;
use super::versions::ServerVersions;
use crate::codec::FrameError;
use crate::protocol::{Encode, Request};
use crate::runtime::start_supervised;
use crate::telemetry;

/// A multiplexed connection to one Fluvio server (SC or SPU).
///
/// Cheap to clone; every clone talks to the same socket. Requests are matched to responses
/// by correlation id, so many may be in flight at once. Works from any tokio runtime: inside
/// an actix system the actor runs on the current arbiter, elsewhere on a background one.
///
/// ```no_run
/// # async fn demo() -> Result<(), actix_fluvio::connection::ConnectionError> {
/// use actix_fluvio::connection::{Connection, ConnectionConfig};
/// use actix_fluvio::protocol::sc::{ListRequest, TopicSpec};
///
/// let sc = Connection::connect("127.0.0.1:9003", ConnectionConfig::default()).await?;
/// let topics = sc.request(&ListRequest::<TopicSpec>::new(vec![])).await?;
/// for topic in topics.objects {
///     println!("{}", topic.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connection {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) actor: Addr<ConnectionActor>,
    shared: Arc<Shared>,
    pub(super) config: Arc<ConnectionConfig>,
    pub(super) target: Arc<Target>,
    next_id: AtomicI32,
    permits: Semaphore,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.actor.do_send(Close);
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.inner.target.addr)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Connect to `addr` (`host:port`) and run the ApiVersions handshake.
    ///
    /// # Errors
    /// The connect, TLS or handshake failure, or [`ConnectionError::ConnectTimeout`].
    pub async fn connect(
        addr: impl Into<String>,
        config: ConnectionConfig,
    ) -> Result<Self, ConnectionError> {
        let target = Target {
            addr: addr.into().into(),
            tls_prefix: None,
        };
        Self::open(target, Arc::new(config)).await
    }

    /// Connect to `target` with a shared config.
    pub(crate) async fn open(
        target: Target,
        config: Arc<ConnectionConfig>,
    ) -> Result<Self, ConnectionError> {
        let target = Arc::new(target);
        let tls = config.tls.setup().map_err(|message| ConnectionError::Tls {
            addr: target.addr.clone(),
            message: message.into(),
        })?;
        let shared = Arc::new(Shared::new(&target.addr));
        let (first_tx, first_rx) = oneshot::channel();
        let actor = {
            let (target, config, shared) = (target.clone(), config.clone(), shared.clone());
            start_supervised(move |_| ConnectionActor::new(target, config, tls, shared, first_tx))
        };
        let permits = Semaphore::new(config.max_in_flight.max(1));
        let connection = Connection {
            inner: Arc::new(Inner {
                actor,
                shared,
                config,
                target: target.clone(),
                next_id: AtomicI32::new(1),
                permits,
            }),
        };
        match first_rx.await {
            Ok(Ok(())) => Ok(connection),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ConnectionError::Closed {
                addr: target.addr.clone(),
                cause: "the connection actor stopped".into(),
            }),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> &str {
        &self.inner.target.addr
    }

    /// What the server said in the latest handshake.
    pub fn versions(&self) -> Arc<ServerVersions> {
        self.inner
            .shared
            .versions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many times the connection was re-established.
    pub fn reconnects(&self) -> u64 {
        self.inner.shared.reconnects.load(Ordering::Relaxed)
    }

    /// Whether the connection is closed for good.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.closed.load(Ordering::Acquire)
    }

    /// Where the connection is now: connecting, up, backing off before a reconnect, or
    /// closed.
    pub fn state(&self) -> ConnectionState {
        self.inner.shared.state.get()
    }

    /// Whether the connection's actor answers a message within `timeout` (it serves its
    /// mailbox also while it reconnects or after it closed).
    pub async fn actor_answers(&self, timeout: std::time::Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.inner.actor.send(Ping)).await,
            Ok(Ok(()))
        )
    }

    /// Close the connection: pending and later requests fail with
    /// [`ConnectionError::Closed`].
    pub fn close(&self) {
        self.inner.actor.do_send(Close);
    }

    /// The version `R` is sent at on this connection.
    ///
    /// # Errors
    /// [`ConnectionError::UnsupportedVersion`].
    pub fn version_of<R: Request>(&self) -> Result<i16, ConnectionError> {
        self.versions().negotiate::<R>(&self.inner.target.addr)
    }

    /// Send `request` and wait for its response.
    ///
    /// # Errors
    /// Timeout, a lost or closed connection, or a response that does not decode.
    pub async fn request<R: Request>(&self, request: &R) -> Result<R::Response, ConnectionError> {
        let version = self.version_of::<R>()?;
        self.request_at(request, version).await
    }

    /// As [`Connection::request`], at an explicit version.
    ///
    /// # Errors
    /// As [`Connection::request`].
    pub async fn request_at<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, ConnectionError> {
        self.request_timed(request, version, self.inner.config.request_timeout)
            .await
    }

    /// The configured request timeout.
    pub(crate) fn request_timeout(&self) -> std::time::Duration {
        self.inner.config.request_timeout
    }

    /// As [`Connection::request`], waiting at most `timeout` instead of the configured
    /// request timeout (a probe of a connection that may have gone silent).
    pub(crate) async fn request_within<R: Request>(
        &self,
        request: &R,
        timeout: std::time::Duration,
    ) -> Result<R::Response, ConnectionError> {
        let version = self.version_of::<R>()?;
        self.request_timed(request, version, timeout).await
    }

    /// Treat the socket as dead if it is still the one `generation` names (the
    /// [`Connection::reconnects`] count when the caller started using it): for a server
    /// that stopped answering without closing the socket. Pending requests and streams fail
    /// with a retriable [`ConnectionError::Lost`] and the connection reconnects (or closes,
    /// when it does not reconnect). A socket opened since is left alone, so callers that
    /// notice the same silence cause one reconnect.
    pub(crate) fn abandon_socket(&self, generation: u64, cause: impl Into<String>) {
        self.inner.actor.do_send(Abandon {
            generation,
            cause: cause.into(),
        });
    }

    async fn request_timed<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: std::time::Duration,
    ) -> Result<R::Response, ConnectionError> {
        use tracing::Instrument;
        let span = tracing::debug_span!(
            "fluvio.request",
            api_key = R::API_KEY,
            version,
            addr = %self.inner.target.addr,
            correlation_id = tracing::field::Empty,
            bytes = tracing::field::Empty,
            error_code = tracing::field::Empty,
            error_kind = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        let api = R::API_NAME;
        metrics::counter!(telemetry::REQUESTS, "api" => api).increment(1);
        metrics::gauge!(telemetry::REQUESTS_IN_FLIGHT).increment(1.0);
        let started = Instant::now();
        let result = self
            .request_inner(request, version, timeout, &span)
            .instrument(span.clone())
            .await;
        metrics::gauge!(telemetry::REQUESTS_IN_FLIGHT).decrement(1.0);
        match &result {
            Ok(response) => {
                if let Some(code) = R::response_error_code(response) {
                    span.record("error_code", tracing::field::display(telemetry::code(code)));
                    if *code != crate::protocol::ErrorCode::None {
                        telemetry::count_response_error(R::API_NAME, code);
                    }
                }
                metrics::histogram!(telemetry::REQUEST_DURATION, "api" => api)
                    .record(started.elapsed().as_secs_f64())
            }
            Err(error) => {
                telemetry::record_error(&span, error.kind(), error);
                metrics::counter!(telemetry::REQUEST_ERRORS, "api" => api, "kind" => error.kind())
                    .increment(1);
            }
        }
        result
    }

    async fn request_inner<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: std::time::Duration,
        span: &tracing::Span,
    ) -> Result<R::Response, ConnectionError> {
        let deadline = Instant::now() + timeout;
        let timed_out = || self.timeout_error(R::API_KEY, timeout);
        let _permit = tokio::time::timeout_at(deadline.into(), self.inner.permits.acquire())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| self.closed_error())?;
        let (id, frame) = self.frame(request, version)?;
        span.record("correlation_id", id);
        span.record("bytes", frame.len());
        let (tx, rx) = oneshot::channel();
        let submitted = self.inner.actor.send(Submit {
            id,
            frame,
            reply: Reply::Unary(tx),
        });
        let wait = async {
            submitted.await.map_err(|_| self.closed_error())?;
            rx.await.map_err(|_| self.closed_error())?
        };
        let body = match tokio::time::timeout_at(deadline.into(), wait).await {
            Ok(result) => result?,
            Err(_) => {
                self.inner.actor.do_send(Cancel(id));
                return Err(timed_out());
            }
        };
        decode_body::<R::Response>(body, R::API_KEY, version)
    }

    pub(super) fn frame<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<(i32, Bytes), ConnectionError> {
        let id = self.next_id();
        let header = crate::protocol::RequestHeader {
            api_key: R::API_KEY,
            api_version: version,
            correlation_id: id,
            client_id: self.inner.config.client_id.clone(),
        };
        let len = header.encoded_len(version) + request.encoded_len(version);
        if len > self.inner.config.max_frame_len {
            return Err(ConnectionError::Frame {
                addr: self.inner.target.addr.clone(),
                cause: Arc::new(FrameError::TooLarge {
                    limit: self.inner.config.max_frame_len,
                    actual: len,
                }),
            });
        }
        let mut buf = BytesMut::with_capacity(len);
        header.encode(&mut buf, version)?;
        request.encode(&mut buf, version)?;
        Ok((id, buf.freeze()))
    }

    /// The next correlation id: positive, skipping 0 (the handshake's).
    fn next_id(&self) -> i32 {
        loop {
            let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
            if id > 0 {
                return id;
            }
            let _ = self.inner.next_id.compare_exchange(
                id + 1,
                1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    pub(super) fn timeout_error(
        &self,
        api_key: u16,
        timeout: std::time::Duration,
    ) -> ConnectionError {
        ConnectionError::RequestTimeout {
            addr: self.inner.target.addr.clone(),
            api_key,
            timeout,
        }
    }

    pub(super) fn closed_error(&self) -> ConnectionError {
        ConnectionError::Closed {
            addr: self.inner.target.addr.clone(),
            cause: "the connection actor stopped".into(),
        }
    }
}
