//! SC watch streams: a snapshot frame at once (`all` = every object), then one frame per
//! change of that object type (`changes` = updated and deleted objects), until the
//! connection closes.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::conn::Conn;
use super::views::View;
use crate::protocol::sc::{Message, Metadata, MetadataUpdate, MsgType, WatchResponse};

/// What changed between two snapshots, by name.
pub(crate) fn diff<S: View>(
    before: &BTreeMap<String, Metadata<S>>,
    after: &BTreeMap<String, Metadata<S>>,
) -> Vec<Message<Metadata<S>>> {
    let mut changes = Vec::new();
    for (name, object) in after {
        if before.get(name) != Some(object) {
            changes.push(Message {
                header: MsgType::Update,
                content: object.clone(),
            });
        }
    }
    for (name, object) in before {
        if !after.contains_key(name) {
            changes.push(Message {
                header: MsgType::Delete,
                content: object.clone(),
            });
        }
    }
    changes
}

fn snapshot<S: View>(conn: &Conn, summary: bool) -> (i64, BTreeMap<String, Metadata<S>>) {
    let shared = conn.shared();
    let state = shared.lock();
    let objects = S::objects(&state, shared.tls, summary, None);
    let epoch = shared.epoch();
    drop(state);
    (
        epoch,
        objects.into_iter().map(|m| (m.name.clone(), m)).collect(),
    )
}

/// Serve one watch of object type `S` on `conn` under `correlation_id`.
pub(crate) async fn run<S: View>(
    conn: Arc<Conn>,
    correlation_id: i32,
    version: i16,
    summary: bool,
) {
    let mut events = conn.shared().meta_events();
    events.mark_unchanged();
    let (epoch, current) = snapshot::<S>(&conn, summary);
    let id = conn.shared().watch_started(epoch);
    let first = WatchResponse::<S> {
        update: MetadataUpdate {
            epoch,
            changes: Vec::new(),
            all: current.values().cloned().collect(),
        },
    };
    if conn.reply(correlation_id, version, &first).await {
        follow(&conn, id, correlation_id, version, summary, current, events).await;
    }
    conn.shared().watch_ended(id);
}

/// Send one frame per change until the connection closes.
async fn follow<S: View>(
    conn: &Conn,
    id: u64,
    correlation_id: i32,
    version: i16,
    summary: bool,
    mut current: BTreeMap<String, Metadata<S>>,
    mut events: tokio::sync::watch::Receiver<u64>,
) {
    loop {
        tokio::select! {
            _ = conn.closed().cancelled() => return,
            changed = events.changed() => if changed.is_err() { return },
        }
        let (epoch, next) = snapshot::<S>(conn, summary);
        let changes = diff(&current, &next);
        current = next;
        if !changes.is_empty() {
            let frame = WatchResponse::<S> {
                update: MetadataUpdate {
                    epoch,
                    changes,
                    all: Vec::new(),
                },
            };
            if !conn.reply(correlation_id, version, &frame).await {
                return;
            }
        }
        conn.shared().watch_sent(id, epoch);
    }
}
