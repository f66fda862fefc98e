//! Connections to Fluvio servers: one actix actor per socket, with correlation-id
//! multiplexing, one-shot and streaming replies, timeouts, a bound on requests in flight,
//! version negotiation, TLS, TCP keepalive and supervised reconnects with backoff.

mod actor;
mod backoff;
mod config;
mod correlation;
mod error;
mod handle;
mod keepalive;
mod quickack;
mod state;
mod stream;
mod tls;
pub(crate) mod transport;
mod versions;

pub use backoff::ReconnectPolicy;
pub use config::{ConnectionConfig, ConnectionConfigBuilder};
pub use error::ConnectionError;
pub use handle::Connection;
pub use keepalive::Keepalive;
pub use state::ConnectionState;
pub use stream::ResponseStream;
pub use tls::{Pem, TlsPolicy};
pub use versions::ServerVersions;
