//! Connection settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::backoff::ReconnectPolicy;
use super::keepalive::Keepalive;
use super::tls::TlsPolicy;
use crate::builder::builder;
use crate::codec::DEFAULT_MAX_FRAME_LEN;

/// Settings shared by every connection of a client.
///
/// In a file (see [`ClientConfig`](crate::cluster::ClientConfig)) durations are humantime
/// strings, `keepalive = "off"` leaves the system default, and a key left out keeps its
/// default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// Sent in every request header.
    pub client_id: String,
    /// Longest time to open a connection (TCP, TLS and the ApiVersions handshake).
    #[serde(with = "crate::config_serde::duration")]
    pub connect_timeout: Duration,
    /// Longest time a request waits for its response (from the moment it is submitted).
    #[serde(with = "crate::config_serde::duration")]
    pub request_timeout: Duration,
    /// Most unary requests awaiting a response at once; more wait for a slot.
    pub max_in_flight: usize,
    /// Largest frame sent or accepted.
    pub max_frame_len: usize,
    /// What happens when the socket drops.
    pub reconnect: ReconnectPolicy,
    /// TLS.
    pub tls: TlsPolicy,
    /// TCP keepalive on every socket (SC and SPUs, plain and TLS), so a peer gone without
    /// closing the socket is noticed by the kernel and the connection reconnects; `None`
    /// leaves the system default (usually off). It guards idle connections; a stream that
    /// waits on a live socket whose server stopped answering is caught by the consumer's
    /// idle probe ([`crate::consumer::ConsumerOptions::idle_probe`]).
    #[serde(with = "crate::config_serde::off_or")]
    pub keepalive: Option<Keepalive>,
}

impl Default for ConnectionConfig {
    /// Connect timeout 30 s, request timeout 60 s, 1,024 requests in flight, 64 MiB frames,
    /// the default reconnect policy, no TLS, keepalive probes after 30 s of silence
    /// ([`Keepalive::default`]).
    fn default() -> Self {
        Self {
            client_id: "actix-fluvio".into(),
            connect_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_in_flight: 1024,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            reconnect: ReconnectPolicy::default(),
            tls: TlsPolicy::Disabled,
            keepalive: Some(Keepalive::default()),
        }
    }
}

impl ConnectionConfig {
    /// A builder from the defaults.
    pub fn builder() -> ConnectionConfigBuilder {
        Self::default().into_builder()
    }
}

builder! {
    /// Builds a [`ConnectionConfig`] from the defaults, a setter per field:
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_fluvio::connection::{ConnectionConfig, ReconnectPolicy};
    ///
    /// let config = ConnectionConfig::builder()
    ///     .client_id("billing")
    ///     .request_timeout(Duration::from_secs(5))
    ///     .reconnect(ReconnectPolicy { max_attempts: Some(10), ..ReconnectPolicy::default() })
    ///     .keepalive(None)
    ///     .build();
    /// assert_eq!(config.client_id, "billing");
    /// assert_eq!(config.connect_timeout, ConnectionConfig::default().connect_timeout);
    /// ```
    ConnectionConfigBuilder => ConnectionConfig {
        client_id: String => into,
        connect_timeout: Duration,
        request_timeout: Duration,
        max_in_flight: usize,
        max_frame_len: usize,
        reconnect: ReconnectPolicy,
        tls: TlsPolicy,
        keepalive: Option<Keepalive>,
    }
}
