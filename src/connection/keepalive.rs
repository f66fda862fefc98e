//! TCP keepalive on client sockets: a peer that vanished without closing the socket (a
//! paused SPU's host gone, a NAT entry dropped, a cable pulled) is noticed by the kernel,
//! which then fails the socket's reads, and the connection reconnects.
//!
//! tokio's `TcpStream` has no keepalive setter, so the options are set through `socket2`
//! on the connected socket, before TLS wraps it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

/// TCP keepalive settings: after `idle` without traffic the kernel sends a probe every
/// `interval`, and drops the connection when `retries` probes in a row go unanswered. A
/// dead peer is noticed after about `idle + interval * retries` of silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Keepalive {
    /// Silence before the first probe.
    #[serde(with = "crate::config_serde::duration")]
    pub idle: Duration,
    /// Time between probes.
    #[serde(with = "crate::config_serde::duration")]
    pub interval: Duration,
    /// Unanswered probes before the kernel gives up on the peer (where the platform lets
    /// us set it; elsewhere the system default applies).
    pub retries: u32,
}

impl Default for Keepalive {
    /// First probe after 30 s of silence, then every 10 s, 3 of them: a dead peer is
    /// noticed within a minute (the system defaults wait two hours).
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            interval: Duration::from_secs(10),
            retries: 3,
        }
    }
}

impl Keepalive {
    /// The settings in `socket2`'s terms, for this platform.
    #[allow(clippy::let_and_return)] // the shadowing `let` is not there on every platform
    fn params(&self) -> socket2::TcpKeepalive {
        let params = socket2::TcpKeepalive::new().with_time(self.idle);
        // The platforms where socket2 sets both the interval and the probe count.
        #[cfg(any(
            target_os = "android",
            target_os = "dragonfly",
            target_os = "freebsd",
            target_os = "fuchsia",
            target_os = "illumos",
            target_os = "ios",
            target_os = "linux",
            target_os = "macos",
            target_os = "netbsd",
            target_os = "tvos",
            target_os = "watchos",
            target_os = "windows",
        ))]
        let params = params
            .with_interval(self.interval)
            .with_retries(self.retries);
        params
    }
}

/// Set up a freshly connected socket: no Nagle delay, and keepalive when configured.
/// Failures are logged, not returned: the connection works without either.
pub(crate) fn configure(tcp: &TcpStream, keepalive: Option<&Keepalive>) {
    let _ = tcp.set_nodelay(true);
    if let Some(keepalive) = keepalive {
        let socket = socket2::SockRef::from(tcp);
        if let Err(error) = socket.set_tcp_keepalive(&keepalive.params()) {
            tracing::debug!(%error, "cannot set TCP keepalive");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn connected() -> (TcpStream, tokio::net::TcpListener) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        (tcp, listener)
    }

    #[tokio::test]
    async fn a_configured_socket_probes_its_peer_as_asked() {
        let (tcp, _listener) = connected().await;
        let keepalive = Keepalive {
            idle: Duration::from_secs(41),
            interval: Duration::from_secs(7),
            retries: 5,
        };
        configure(&tcp, Some(&keepalive));
        let socket = socket2::SockRef::from(&tcp);
        assert!(socket.keepalive().unwrap());
        assert!(tcp.nodelay().unwrap());
        #[cfg(target_os = "linux")]
        {
            assert_eq!(socket.tcp_keepalive_time().unwrap(), keepalive.idle);
            assert_eq!(socket.tcp_keepalive_interval().unwrap(), keepalive.interval);
            assert_eq!(socket.tcp_keepalive_retries().unwrap(), keepalive.retries);
        }
    }

    #[tokio::test]
    async fn without_settings_the_socket_keeps_the_system_default() {
        let (tcp, _listener) = connected().await;
        configure(&tcp, None);
        assert!(!socket2::SockRef::from(&tcp).keepalive().unwrap());
        assert!(tcp.nodelay().unwrap());
    }
}
