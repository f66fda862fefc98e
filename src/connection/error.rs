//! Errors of the connection layer.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::codec::FrameError;
use crate::protocol::{DecodeError, EncodeError, ErrorCode};

/// Why a request on a connection failed.
///
/// Cheap to clone: a failure that reaches every pending request at once (a dropped socket) is
/// one shared value.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The TCP connection could not be opened.
    #[error("cannot connect to {addr}: {cause}")]
    Connect {
        /// The address dialled.
        addr: Arc<str>,
        /// What the OS said.
        cause: Arc<std::io::Error>,
    },
    /// Opening the connection (TCP, TLS and handshake) took longer than the connect timeout.
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The address dialled.
        addr: Arc<str>,
        /// The configured connect timeout.
        timeout: Duration,
    },
    /// TLS could not be set up or the handshake failed.
    #[error("TLS with {addr}: {message}")]
    Tls {
        /// The peer.
        addr: Arc<str>,
        /// What failed.
        message: Arc<str>,
    },
    /// The server answered the ApiVersions handshake with an error.
    #[error("ApiVersions handshake with {addr} failed: {code}")]
    Handshake {
        /// The peer.
        addr: Arc<str>,
        /// The server's error.
        code: ErrorCode,
    },
    /// No response arrived within the request timeout.
    #[error("request (api key {api_key}) to {addr} timed out after {timeout:?}")]
    RequestTimeout {
        /// The peer.
        addr: Arc<str>,
        /// The request's API key.
        api_key: u16,
        /// The configured request timeout.
        timeout: Duration,
    },
    /// The socket died while the request was pending; the request may be retried.
    #[error("connection to {addr} lost: {cause}")]
    Lost {
        /// The peer.
        addr: Arc<str>,
        /// Why the socket died.
        cause: Arc<str>,
    },
    /// The request was never written: the connection was down, waiting to reconnect. A
    /// retry cannot store it twice (compare [`ConnectionError::Lost`]).
    #[error("request not sent to {addr}: {cause}")]
    NotSent {
        /// The peer.
        addr: Arc<str>,
        /// Why the connection was down.
        cause: Arc<str>,
    },
    /// The connection is closed for good (closed by the user, or reconnecting gave up).
    #[error("connection to {addr} is closed: {cause}")]
    Closed {
        /// The peer.
        addr: Arc<str>,
        /// Why.
        cause: Arc<str>,
    },
    /// The server speaks no version of this API that we speak.
    #[error(
        "{addr} speaks API {api_key} at v{server_min}..=v{server_max}, \
         we speak v{client_min}..=v{client_max}"
    )]
    UnsupportedVersion {
        /// The peer.
        addr: Arc<str>,
        /// The API key.
        api_key: u16,
        /// Lowest version we speak.
        client_min: i16,
        /// Highest version we speak.
        client_max: i16,
        /// Lowest version the server speaks.
        server_min: i16,
        /// Highest version the server speaks.
        server_max: i16,
    },
    /// A frame could not be encoded or was refused by the codec.
    #[error("frame error on {addr}: {cause}")]
    Frame {
        /// The peer.
        addr: Arc<str>,
        /// What the codec said.
        cause: Arc<FrameError>,
    },
    /// A request could not be encoded.
    #[error("cannot encode request: {0}")]
    Encode(#[from] EncodeError),
    /// A response could not be decoded.
    #[error("cannot decode response to api key {api_key} v{version}: {cause}")]
    Decode {
        /// The request's API key.
        api_key: u16,
        /// The version it was sent at.
        version: i16,
        /// What the decoder said.
        cause: DecodeError,
    },
}

impl ConnectionError {
    /// A short name for the error's kind (a metric label).
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectionError::Connect { .. } => "connect",
            ConnectionError::ConnectTimeout { .. } => "connect_timeout",
            ConnectionError::Tls { .. } => "tls",
            ConnectionError::Handshake { .. } => "handshake",
            ConnectionError::RequestTimeout { .. } => "timeout",
            ConnectionError::Lost { .. } => "lost",
            ConnectionError::NotSent { .. } => "not_sent",
            ConnectionError::Closed { .. } => "closed",
            ConnectionError::UnsupportedVersion { .. } => "version",
            ConnectionError::Frame { .. } => "frame",
            ConnectionError::Encode(_) => "encode",
            ConnectionError::Decode { .. } => "decode",
        }
    }

    /// `true` when retrying the same request may succeed (a lost connection, a timeout, or a
    /// refused connect while the server restarts).
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            ConnectionError::Lost { .. }
                | ConnectionError::NotSent { .. }
                | ConnectionError::RequestTimeout { .. }
                | ConnectionError::Connect { .. }
                | ConnectionError::ConnectTimeout { .. }
        )
    }

    /// `true` when the server may have received and acted on the request though no answer
    /// came (the socket died or the answer was late): a retried produce request may then
    /// store its records twice. `false` for requests never written, or answered.
    pub fn may_have_reached_the_server(&self) -> bool {
        matches!(
            self,
            ConnectionError::Lost { .. } | ConnectionError::RequestTimeout { .. }
        )
    }
}
