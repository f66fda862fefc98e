//! `ConnectionActor`: owns one socket, writes frames, routes responses by correlation id,
//! and reconnects through actix supervision.
//!
//! ```text
//!  Connection (handle) ──Submit{id, frame, reply}──▶ ConnectionActor ──frames──▶ socket
//!        ▲                                                │
//!        └──── oneshot / stream channel ◀── Correlations ◀┘◀── frames ── socket
//! ```
//! When the socket dies every pending request fails at once with one shared
//! [`ConnectionError::Lost`]; the actor then stops and its `Supervisor` restarts it, and
//! `started` reconnects after the policy's backoff (by default forever). While it
//! reconnects, new requests fail at once with a retriable [`ConnectionError::NotSent`]
//! ("reconnecting"), so callers retry on their own terms instead of waiting out their
//! timeout. When a bounded policy gives up, the actor stays up in a closed state and answers
//! everything with [`ConnectionError::Closed`]. An outage logs a warning when it starts, when
//! it ends, and every tenth failed attempt in between. A socket lost within 5 s of coming up
//! (a server that accepts, then drops) counts as a failed attempt: the reconnects back off
//! and log like one, instead of looping at once. A request made while the connection backs
//! off fails at once but asks for an attempt, at most one a second after the last one
//! failed: a connection in use is back within about a second of its server, not after the
//! backoff's `max_delay`.
//!
//! A response frame over `max_frame_len` is not the socket's death: its body is skipped
//! unread ([`crate::codec::ResponseCodec`]) and only the request it answers fails, with
//! [`ConnectionError::Frame`] (a stream ends with it); the other requests go on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use bytes::Bytes;
use tokio::io::WriteHalf;
use tokio::sync::oneshot;
use tokio_util::codec::FramedRead;

use super::config::ConnectionConfig;
use super::correlation::{Correlations, Dispatch, Reply};
use super::error::ConnectionError;
use super::state::{ConnectionState, StateCell};
use super::tls::TlsSetup;
use super::transport::{open, Io, Opened, Target};
use super::versions::ServerVersions;
use crate::codec::{FrameCodec, FrameError, Inbound, RawFrame, ResponseCodec};

/// State the actor shares with its handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) versions: RwLock<Arc<ServerVersions>>,
    pub(crate) closed: AtomicBool,
    pub(crate) reconnects: AtomicU64,
    pub(crate) state: StateCell,
}

impl Shared {
    /// The shared state of a new connection to `addr`.
    pub(crate) fn new(addr: &str) -> Self {
        Self {
            versions: RwLock::default(),
            closed: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            state: StateCell::new(addr),
        }
    }
}

/// Send a request frame and route its response(s) to `reply`.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Submit {
    pub(crate) id: i32,
    pub(crate) frame: Bytes,
    pub(crate) reply: Reply,
}

/// Forget a request whose caller stopped waiting.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Cancel(pub(crate) i32);

/// Close the connection for good.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Close;

/// Drop the socket as lost if it is still the one opened after `generation` reconnects.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Abandon {
    pub(crate) generation: u64,
    pub(crate) cause: String,
}

/// Answered at once: the actor is serving its mailbox (a liveness probe).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Ping;

type Writer = FramedWrite<RawFrame, WriteHalf<Box<dyn Io>>, FrameCodec>;

/// The actor behind a [`super::Connection`].
pub(crate) struct ConnectionActor {
    target: Arc<Target>,
    config: Arc<ConnectionConfig>,
    tls: Option<TlsSetup>,
    shared: Arc<Shared>,
    writer: Option<Writer>,
    /// A writer taken out of service while it may still be borrowed (we are called from its
    /// own error callback); dropped on restart or on the next loss.
    retired: Option<Writer>,
    table: Correlations,
    /// Failed reconnect attempts since the last success (or, for a server that keeps
    /// dropping connections right after accepting them, since the last stable one).
    attempt: u32,
    /// When the current socket came up.
    up_since: Option<Instant>,
    /// Sockets in a row lost within [`STABLE_AFTER`] of coming up.
    flaps: u32,
    /// When the last reconnect attempt failed (cleared once a request cut its backoff).
    failed_at: Option<Instant>,
    /// Cuts a reconnect backoff short: someone is waiting to send.
    wake: Arc<tokio::sync::Notify>,
    ever_connected: bool,
    first: Option<oneshot::Sender<Result<(), ConnectionError>>>,
    closed: Option<ConnectionError>,
    /// Requests submitted while a reconnect attempt is under way: sent when it succeeds,
    /// failed (retriable) when it fails. While backing off, requests fail at once.
    parked: Vec<Submit>,
}

/// A socket up this long before it is lost was a working connection: the next reconnect
/// goes at once. One lost sooner backs off (see `ConnectionActor::lost`).
const STABLE_AFTER: Duration = Duration::from_secs(5);

/// Shortest time between a failed reconnect attempt and one a request asks for.
const DEMAND_RETRY: Duration = Duration::from_secs(1);

impl ConnectionActor {
    pub(crate) fn new(
        target: Arc<Target>,
        config: Arc<ConnectionConfig>,
        tls: Option<TlsSetup>,
        shared: Arc<Shared>,
        first: oneshot::Sender<Result<(), ConnectionError>>,
    ) -> Self {
        Self {
            target,
            config,
            tls,
            shared,
            writer: None,
            retired: None,
            table: Correlations::default(),
            attempt: 0,
            up_since: None,
            flaps: 0,
            failed_at: None,
            wake: Arc::new(tokio::sync::Notify::new()),
            ever_connected: false,
            first: Some(first),
            closed: None,
            parked: Vec::new(),
        }
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        // The first attempt after a loss goes at once (a dropped socket to a live server
        // comes back in milliseconds); later ones back off.
        let delay = (self.ever_connected && self.attempt > 0)
            .then(|| self.config.reconnect.delay(self.attempt - 1));
        if self.ever_connected && delay.is_none() {
            self.shared.state.set(ConnectionState::Connecting);
        }
        let (target, config, tls) = (self.target.clone(), self.config.clone(), self.tls.clone());
        if let Some(delay) = delay {
            tracing::debug!(addr = %target.addr, attempt = self.attempt + 1, ?delay, "reconnecting");
            self.shared.state.set(ConnectionState::BackingOff);
        }
        let (shared, wake) = (self.shared.clone(), self.wake.clone());
        let fut = async move {
            if let Some(delay) = delay {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = wake.notified() => {}
                }
            }
            shared.state.set(ConnectionState::Connecting);
            open(&target, &config, tls.as_ref()).await
        };
        // Spawned, not awaited: the mailbox keeps being served; requests submitted while
        // backing off fail fast, those submitted while connecting wait for the outcome.
        ctx.spawn(fut.into_actor(self).map(|result, act, ctx| match result {
            Ok(opened) => act.install(opened, ctx),
            Err(error) => act.connect_failed(error, ctx),
        }));
    }

    fn install(&mut self, opened: Opened, ctx: &mut Context<Self>) {
        let Opened {
            io,
            leftover,
            versions,
        } = opened;
        let (read, write) = tokio::io::split(io);
        let mut reader = FramedRead::new(read, ResponseCodec::new(self.config.max_frame_len));
        reader.read_buffer_mut().extend_from_slice(&leftover);
        ctx.add_stream(reader);
        let codec = FrameCodec::new(self.config.max_frame_len);
        self.writer = Some(FramedWrite::new(write, codec, ctx));
        *self
            .shared
            .versions
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(versions);
        self.shared.state.set(ConnectionState::Up);
        if self.ever_connected {
            self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(crate::telemetry::RECONNECTS, "addr" => self.target.addr.to_string())
                .increment(1);
            if self.flaps == 0 {
                tracing::info!(addr = %self.target.addr, failed_attempts = self.attempt, "reconnected");
            } else {
                tracing::debug!(addr = %self.target.addr, flaps = self.flaps, "reconnected");
            }
        }
        self.ever_connected = true;
        self.up_since = Some(Instant::now());
        self.attempt = 0;
        if let Some(first) = self.first.take() {
            let _ = first.send(Ok(()));
        }
        for msg in std::mem::take(&mut self.parked) {
            self.submit(msg);
        }
    }

    /// Send `msg` now, park it while a connection attempt is under way, or fail it.
    fn submit(&mut self, msg: Submit) {
        if msg.reply.is_closed() {
            return; // the caller timed out while the request waited
        }
        if let Some(error) = &self.closed {
            return msg.reply.fail(error.clone());
        }
        match &mut self.writer {
            Some(writer) => {
                self.table.insert(msg.id, msg.reply);
                writer.write(RawFrame(msg.frame));
            }
            None if self.shared.state.get() == ConnectionState::Connecting => {
                self.parked.push(msg);
            }
            None => {
                msg.reply.fail(ConnectionError::NotSent {
                    addr: self.target.addr.clone(),
                    cause: "not connected (reconnecting)".into(),
                });
                // Backing off, and someone wants to send: try again now, at most once a
                // second — an idle connection waits out its backoff (up to `max_delay`),
                // a busy one is back within a second of its server.
                if self
                    .failed_at
                    .is_some_and(|at| at.elapsed() >= DEMAND_RETRY)
                {
                    self.failed_at = None;
                    self.wake.notify_one();
                }
            }
        }
    }

    /// Fail the requests parked for a reconnect attempt.
    fn fail_parked(&mut self, error: &ConnectionError) {
        for msg in std::mem::take(&mut self.parked) {
            msg.reply.fail(error.clone());
        }
    }

    fn connect_failed(&mut self, error: ConnectionError, ctx: &mut Context<Self>) {
        self.failed_at = Some(Instant::now());
        if !self.ever_connected {
            if let Some(first) = self.first.take() {
                let _ = first.send(Err(error.clone()));
            }
            self.close(error.to_string());
            return;
        }
        self.fail_parked(&ConnectionError::NotSent {
            addr: self.target.addr.clone(),
            cause: format!("reconnecting: {error}").into(),
        });
        self.attempt += 1;
        if self.attempt % 10 == 1 {
            tracing::warn!(addr = %self.target.addr, attempt = self.attempt, %error, "reconnect failed; retrying with backoff");
        } else {
            tracing::debug!(addr = %self.target.addr, attempt = self.attempt, %error, "reconnect failed");
        }
        if self.config.reconnect.allows(self.attempt) {
            ctx.stop();
        } else {
            self.close(format!(
                "gave up after {} reconnect attempts: {error}",
                self.attempt
            ));
        }
    }

    /// The socket died: fail everything pending, then reconnect or close.
    fn lost(&mut self, cause: String, ctx: &mut Context<Self>) {
        let Some(writer) = self.writer.take() else {
            return; // already handled (read and write side both report)
        };
        self.retired = Some(writer);
        // A server that accepts, then drops (a crash loop, a proxy without a backend) must
        // not turn the immediate reconnect into a busy loop: a socket lost soon after it
        // came up backs off like a failed attempt, and logs like one.
        let stable = self
            .up_since
            .take()
            .is_some_and(|since| since.elapsed() >= STABLE_AFTER);
        self.flaps = if stable { 0 } else { self.flaps + 1 };
        if self.flaps == 0 || self.flaps % 10 == 1 {
            tracing::warn!(addr = %self.target.addr, %cause, pending = self.table.len(), flaps = self.flaps, "connection lost");
        } else {
            tracing::debug!(addr = %self.target.addr, %cause, pending = self.table.len(), flaps = self.flaps, "connection lost again soon after reconnecting");
        }
        let error = ConnectionError::Lost {
            addr: self.target.addr.clone(),
            cause: cause.clone().into(),
        };
        self.table.fail_all(&error);
        if self.config.reconnect.allows(self.flaps) {
            self.shared.state.set(ConnectionState::Connecting);
            // The first quick loss reconnects at once (it may be a one-off); from the
            // second in a row on, the backoff applies.
            self.attempt = self.flaps.saturating_sub(1);
            ctx.stop();
        } else {
            self.close(cause);
        }
    }

    /// A response frame over `max_frame_len` answered `id`: fail that request (end that
    /// stream) with `error`; its body is skipped, and the socket and the other requests on
    /// it go on.
    fn refuse(&mut self, id: i32, error: Option<FrameError>) {
        let Some(error) = error else { return };
        tracing::warn!(addr = %self.target.addr, correlation_id = id, %error, "response too large; failing its request");
        let error = ConnectionError::Frame {
            addr: self.target.addr.clone(),
            cause: Arc::new(error),
        };
        if self.table.fail(id, error) == Dispatch::Unknown {
            tracing::warn!(addr = %self.target.addr, correlation_id = id, "oversized response to an unknown request skipped");
        }
    }

    fn close(&mut self, cause: String) {
        let error = ConnectionError::Closed {
            addr: self.target.addr.clone(),
            cause: cause.into(),
        };
        self.table.fail_all(&error);
        self.fail_parked(&error);
        self.writer = None;
        self.shared.closed.store(true, Ordering::Release);
        self.shared.state.set(ConnectionState::Closed);
        self.closed = Some(error);
    }
}

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.closed.is_none() {
            self.connect(ctx);
        }
    }
}

impl Supervised for ConnectionActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.writer = None;
        self.retired = None;
    }
}

impl Handler<Submit> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: Submit, _: &mut Context<Self>) {
        self.submit(msg);
    }
}

impl Handler<Cancel> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: Cancel, _: &mut Context<Self>) {
        self.table.cancel(msg.0);
    }
}

impl Handler<Close> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        if let Some(mut writer) = self.writer.take() {
            writer.close();
        }
        self.close("closed by the client".into());
        // Drop the read half too, so the socket is released now (with live handles the
        // supervisor restarts the actor, which stays closed).
        ctx.stop();
    }
}

impl Handler<Abandon> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: Abandon, ctx: &mut Context<Self>) {
        let current = self.shared.reconnects.load(Ordering::Relaxed) == msg.generation;
        if current && self.writer.is_some() {
            self.lost(msg.cause, ctx);
        }
    }
}

impl Handler<Ping> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

impl StreamHandler<Result<Inbound, FrameError>> for ConnectionActor {
    fn handle(&mut self, item: Result<Inbound, FrameError>, ctx: &mut Context<Self>) {
        let frame = match item {
            Ok(Inbound::Frame(frame)) => frame,
            Ok(too_large @ Inbound::TooLarge { correlation_id, .. }) => {
                return self.refuse(correlation_id, too_large.error());
            }
            Err(error) => return self.lost(error.to_string(), ctx),
        };
        if frame.len() < 4 {
            return self.lost(format!("{}-byte response frame", frame.len()), ctx);
        }
        let id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        match self.table.dispatch(id, frame.slice(4..)) {
            Dispatch::Delivered | Dispatch::Abandoned => {}
            Dispatch::Unknown => {
                tracing::warn!(addr = %self.target.addr, correlation_id = id, "response to an unknown request skipped");
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.lost("closed by the server".into(), ctx);
    }
}

impl WriteHandler<FrameError> for ConnectionActor {
    fn error(&mut self, error: FrameError, ctx: &mut Context<Self>) -> Running {
        self.lost(error.to_string(), ctx);
        Running::Continue
    }

    fn finished(&mut self, _: &mut Context<Self>) {}
}
