//! Where a connection is in its life (connecting, up, backing off, closed), shared by its
//! actor and handles and reported as `fluvio_connections{addr, state}`.

use std::sync::atomic::{AtomicU8, Ordering};

use metrics::Gauge;

use crate::telemetry;

/// A connection's state, as [`super::Connection::state`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Opening the socket and handshaking (the first time, or after a backoff).
    Connecting,
    /// Connected: requests go out.
    Up,
    /// Lost; waiting out the reconnect backoff (requests fail fast, retriable).
    BackingOff,
    /// Closed for good (by the client, or a bounded reconnect policy gave up).
    Closed,
}

impl ConnectionState {
    /// The state's name as a metric label: `connecting`, `up`, `backing_off`, `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Up => "up",
            ConnectionState::BackingOff => "backing_off",
            ConnectionState::Closed => "closed",
        }
    }

    fn from_u8(n: u8) -> Self {
        match n {
            0 => ConnectionState::Connecting,
            1 => ConnectionState::Up,
            2 => ConnectionState::BackingOff,
            _ => ConnectionState::Closed,
        }
    }

    /// The gauge slot of a counted state (closed connections are not counted).
    fn slot(self) -> Option<usize> {
        match self {
            ConnectionState::Connecting => Some(0),
            ConnectionState::Up => Some(1),
            ConnectionState::BackingOff => Some(2),
            ConnectionState::Closed => None,
        }
    }
}

/// The current state and the gauges of the counted states, registered once per connection.
#[derive(Debug)]
pub(crate) struct StateCell {
    state: AtomicU8,
    gauges: [Gauge; 3],
}

impl StateCell {
    /// A connection to `addr`, connecting.
    pub(crate) fn new(addr: &str) -> Self {
        let gauge = |state: ConnectionState| metrics::gauge!(telemetry::CONNECTIONS, "addr" => addr.to_owned(), "state" => state.as_str());
        let cell = Self {
            state: AtomicU8::new(ConnectionState::Connecting as u8),
            gauges: [
                gauge(ConnectionState::Connecting),
                gauge(ConnectionState::Up),
                gauge(ConnectionState::BackingOff),
            ],
        };
        cell.gauges[0].increment(1.0);
        cell
    }

    /// The current state.
    pub(crate) fn get(&self) -> ConnectionState {
        ConnectionState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Move to `state` (a closed connection stays closed).
    pub(crate) fn set(&self, state: ConnectionState) {
        let closed = ConnectionState::Closed as u8;
        let swapped = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
                (old != closed && old != state as u8).then_some(state as u8)
            });
        let Ok(old) = swapped else {
            return;
        };
        if let Some(slot) = ConnectionState::from_u8(old).slot() {
            self.gauges[slot].decrement(1.0);
        }
        if let Some(slot) = state.slot() {
            self.gauges[slot].increment(1.0);
        }
    }
}

impl Drop for StateCell {
    fn drop(&mut self) {
        self.set(ConnectionState::Closed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_connection_stays_closed() {
        let cell = StateCell::new("127.0.0.1:1");
        assert_eq!(cell.get(), ConnectionState::Connecting);
        cell.set(ConnectionState::Up);
        cell.set(ConnectionState::BackingOff);
        assert_eq!(cell.get(), ConnectionState::BackingOff);
        cell.set(ConnectionState::Closed);
        cell.set(ConnectionState::Up);
        assert_eq!(cell.get(), ConnectionState::Closed);
    }
}
