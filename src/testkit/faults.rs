//! Injected faults: a delay before every response, error answers for the next requests of an
//! API, a switch that drops every open client connection, and one that stalls them (open,
//! but silent).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::protocol::{ErrorCode, Server};

/// Which server an injected failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultTarget {
    /// Requests with that API key on any server.
    Any,
    /// Only on the SC, or only on the SPUs.
    Only(Server),
}

impl FaultTarget {
    fn matches(self, server: Server) -> bool {
        match self {
            Self::Any => true,
            Self::Only(s) => s == server,
        }
    }
}

#[derive(Debug)]
struct Failure {
    target: FaultTarget,
    api_key: u16,
    error: ErrorCode,
    remaining: u32,
}

/// The faults in force.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    delay: Mutex<Duration>,
    failures: Mutex<Vec<Failure>>,
    connections: Mutex<Option<CancellationToken>>,
    stalls: Mutex<HashMap<Server, CancellationToken>>,
    served: Mutex<HashMap<(Server, u16), u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Faults {
    /// Delay every response by `delay`.
    pub(crate) fn set_delay(&self, delay: Duration) {
        *lock(&self.delay) = delay;
    }

    /// The delay in force.
    pub(crate) fn delay(&self) -> Duration {
        *lock(&self.delay)
    }

    /// Answer the next `count` requests with `api_key` on `target` with `error`.
    pub(crate) fn fail_next(
        &self,
        target: FaultTarget,
        api_key: u16,
        error: ErrorCode,
        count: u32,
    ) {
        lock(&self.failures).push(Failure {
            target,
            api_key,
            error,
            remaining: count,
        });
    }

    /// Count a request, and take the error it must be answered with, if one is injected.
    pub(crate) fn take(&self, server: Server, api_key: u16) -> Option<ErrorCode> {
        *lock(&self.served).entry((server, api_key)).or_default() += 1;
        let mut failures = lock(&self.failures);
        let index = failures
            .iter()
            .position(|f| f.api_key == api_key && f.target.matches(server) && f.remaining > 0)?;
        let failure = &mut failures[index];
        failure.remaining -= 1;
        let error = failure.error.clone();
        if failure.remaining == 0 {
            failures.remove(index);
        }
        Some(error)
    }

    /// How many requests with `api_key` `server` has received.
    pub(crate) fn served(&self, server: Server, api_key: u16) -> u64 {
        lock(&self.served)
            .get(&(server, api_key))
            .copied()
            .unwrap_or(0)
    }

    /// The token every connection accepted now watches; cancelled by [`Faults::drop_connections`].
    pub(crate) fn connections_token(&self) -> CancellationToken {
        lock(&self.connections)
            .get_or_insert_with(CancellationToken::new)
            .clone()
    }

    /// Close every open connection (new ones are accepted as usual).
    pub(crate) fn drop_connections(&self) {
        if let Some(token) = lock(&self.connections).take() {
            token.cancel();
        }
    }

    /// The token a connection to `server` accepted now watches; cancelled by
    /// [`Faults::stall_connections`].
    pub(crate) fn stall_token(&self, server: Server) -> CancellationToken {
        lock(&self.stalls).entry(server).or_default().clone()
    }

    /// Stall every open connection to `target` (new ones are served as usual).
    pub(crate) fn stall_connections(&self, target: FaultTarget) {
        lock(&self.stalls).retain(|server, token| {
            let stalled = target.matches(*server);
            if stalled {
                token.cancel();
            }
            !stalled
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_taken_count_times_and_per_server() {
        let faults = Faults::default();
        faults.fail_next(
            FaultTarget::Only(Server::Spu),
            0,
            ErrorCode::StorageError,
            2,
        );
        assert_eq!(faults.take(Server::Sc, 0), None);
        assert_eq!(faults.take(Server::Spu, 0), Some(ErrorCode::StorageError));
        assert_eq!(faults.take(Server::Spu, 0), Some(ErrorCode::StorageError));
        assert_eq!(faults.take(Server::Spu, 0), None);
        assert_eq!(faults.served(Server::Spu, 0), 3);
    }

    #[test]
    fn stalling_connections_cancels_only_the_current_generation_of_its_target() {
        let faults = Faults::default();
        let (sc, spu) = (
            faults.stall_token(Server::Sc),
            faults.stall_token(Server::Spu),
        );
        faults.stall_connections(FaultTarget::Only(Server::Spu));
        assert!(spu.is_cancelled() && !sc.is_cancelled());
        assert!(!faults.stall_token(Server::Spu).is_cancelled());
        faults.stall_connections(FaultTarget::Any);
        assert!(sc.is_cancelled());
    }

    #[test]
    fn dropping_connections_cancels_only_the_current_generation() {
        let faults = Faults::default();
        let old = faults.connections_token();
        faults.drop_connections();
        assert!(old.is_cancelled());
        assert!(!faults.connections_token().is_cancelled());
    }
}
