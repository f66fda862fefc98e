//! The pool of SPU connections: one shared connection per SPU, opened on first use, and
//! closed once the SC no longer lists the SPU (it was removed, or the SC came back without
//! it).

use tokio::sync::oneshot;

use super::ClusterActor;
use crate::cluster::error::ClientError;
use crate::connection::Connection;

/// One SPU's entry in the pool.
pub(super) enum SpuSlot {
    /// Open (or reconnecting on its own).
    Ready(Connection),
    /// Being opened; these callers wait for it.
    Connecting(Vec<oneshot::Sender<Result<Connection, ClientError>>>),
}

impl ClusterActor {
    /// Opening the connection to SPU `id` finished: keep it (unless the SPU left meanwhile)
    /// and answer whoever waited for it.
    pub(super) fn spu_connected(&mut self, id: i32, result: Result<Connection, ClientError>) {
        let waiters = match self.spus.remove(&id) {
            Some(SpuSlot::Connecting(waiters)) => waiters,
            Some(SpuSlot::Ready(conn)) => {
                self.spus.insert(id, SpuSlot::Ready(conn));
                return;
            }
            None => Vec::new(),
        };
        if let Ok(conn) = &result {
            self.spus.insert(id, SpuSlot::Ready(conn.clone()));
        }
        for tx in waiters {
            let _ = tx.send(result.clone());
        }
        self.close_departed_spus();
    }

    /// Close and forget the connections to SPUs the SC no longer lists. Only once the SPU
    /// store is synced (before that, nothing is known), and connections still opening are
    /// left to finish (they are checked again when they do).
    pub(super) fn close_departed_spus(&mut self) {
        if !self.cache.spus.is_synced() {
            return;
        }
        let listed: Vec<i32> = self.cache.spus.values().map(|s| s.spec.id).collect();
        self.spus.retain(|id, slot| {
            let keep = listed.contains(id) || matches!(slot, SpuSlot::Connecting(_));
            if let (false, SpuSlot::Ready(conn)) = (keep, &slot) {
                tracing::info!(
                    spu = id,
                    addr = conn.addr(),
                    "SPU no longer listed by the SC; closing its connection"
                );
                conn.close();
            }
            keep
        });
    }
}
