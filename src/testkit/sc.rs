//! The SC: the ApiVersions handshake (semver client version required, as the real SC) and
//! the object API — create, delete, update, list and watch.

use std::sync::Arc;

use super::conn::{Conn, Service};
use super::state::Shared;
use super::views::View;
use super::watch;
use super::{mirror_topics, mirrors, topics};
use crate::protocol::sc::{
    AnyCreateRequest, AnyDeleteRequest, AnyListRequest, AnyListResponse, AnyUpdateRequest,
    AnyWatchRequest, CustomSpuKey, CustomSpuSpec, ListRequest, ListResponse, MirrorSpec,
    PartitionSpec, ScRequest, SmartModuleSpec, SpuSpec, Status, TopicSpec, UpdateTopicAction,
};
use crate::protocol::sc::{CREATE_KEY, DELETE_KEY, LIST_KEY, UPDATE_KEY, WATCH_KEY};
use crate::protocol::{
    AnyRequest, ApiVersionKey, ApiVersionsRequest, ApiVersionsResponse, ErrorCode, RequestMessage,
    Server,
};

/// The platform version the testkit SC reports.
pub const SC_PLATFORM_VERSION: &str = "0.18.1";

/// The version ranges the 0.18 SC advertises (Mirroring, 1005, is left out: the testkit
/// does not serve it).
const SC_VERSIONS: &[(u16, i16, i16)] = &[
    (CREATE_KEY, 9, 19),
    (DELETE_KEY, 1, 19),
    (LIST_KEY, 15, 19),
    (WATCH_KEY, 15, 19),
    (UPDATE_KEY, 1, 19),
];

/// Longest a create, delete or update answer waits for watches to announce the change.
const WATCH_BARRIER_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a successful change waits after the watches announced it before it is
/// answered (the real SC waits for SPUs to report; this is far shorter).
const SETTLE_TIME: std::time::Duration = std::time::Duration::from_millis(20);

/// Build an ApiVersions response from `(key, min, max)` ranges.
pub(crate) fn versions(ranges: &[(u16, i16, i16)], platform: &str) -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: ErrorCode::None,
        api_keys: ranges
            .iter()
            .map(|&(key, min_version, max_version)| ApiVersionKey {
                api_key: key as i16,
                min_version,
                max_version,
            })
            .collect(),
        platform_version: platform.into(),
    }
}

/// Whether `v` is a semantic version (`MAJOR.MINOR.PATCH[-pre][+build]`).
pub(crate) fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    parts.len() == 3 && parts.iter().all(numeric) && !v.ends_with(['-', '+'])
}

/// The testkit SC.
#[derive(Debug)]
pub(crate) struct Sc {
    pub(crate) shared: Arc<Shared>,
}

fn list<S: View>(shared: &Shared, req: &ListRequest<S>) -> ListResponse<S> {
    let state = shared.lock();
    let objects = S::objects(&state, shared.tls, req.summary, Some(req.system))
        .into_iter()
        .filter(|m| {
            // The SC's name filters match substrings (where it applies them at all).
            !S::NAME_FILTERS
                || req.name_filters.is_empty()
                || req.name_filters.iter().any(|f| m.name.contains(f.as_str()))
        })
        .collect();
    ListResponse { objects }
}

fn status(name: &str, error_code: ErrorCode, message: &str) -> Status {
    Status {
        name: name.into(),
        error_code,
        error_message: Some(message.into()),
    }
}

impl Sc {
    fn create(&self, req: AnyCreateRequest) -> Status {
        let mut state = self.shared.lock();
        let result = match req {
            AnyCreateRequest::Topic(c) => {
                topics::create(&mut state, &c.common.name, c.spec, c.common.dry_run)
            }
            AnyCreateRequest::SmartModule(c) => {
                let name = match &c.spec.meta {
                    Some(meta) if meta.package.name.is_empty() || meta.package.group.is_empty() => {
                        let msg = "invalid SmartModule package";
                        return status(&c.common.name, ErrorCode::SmartModuleError, msg);
                    }
                    Some(meta) => {
                        let p = &meta.package;
                        format!("{}-{}-{}", p.name, p.group, p.version)
                    }
                    None => c.common.name.clone(),
                };
                if !c.common.dry_run {
                    state.smartmodules.insert(name.clone(), c.spec);
                }
                Status {
                    name,
                    ..Status::default()
                }
            }
            AnyCreateRequest::CustomSpu(c) => {
                let msg = "the testkit cannot register custom SPUs";
                return status(&c.common.name, ErrorCode::SpuError, msg);
            }
            // The SC ignores dry_run (and the timeout) for Mirror.
            AnyCreateRequest::Mirror(c) => mirrors::register(&mut state, &c.common.name, c.spec),
            AnyCreateRequest::Other(_) => {
                return status("", ErrorCode::Other("unknown admin object type".into()), "")
            }
        };
        drop(state);
        if result.is_ok() {
            self.shared.meta_changed();
        }
        result
    }

    fn delete(&self, req: AnyDeleteRequest) -> Status {
        let mut state = self.shared.lock();
        let result = match req {
            AnyDeleteRequest::Topic(d) => topics::delete(&mut state, &d.key, d.force),
            AnyDeleteRequest::SmartModule(d) => {
                let id = topics::smartmodule_store_id(&d.key);
                if state.smartmodules.remove(&id).is_some() {
                    Status {
                        name: d.key,
                        ..Status::default()
                    }
                } else {
                    let code = ErrorCode::SmartModuleNotFound {
                        name: d.key.clone(),
                    };
                    status(&d.key, code, "not found")
                }
            }
            AnyDeleteRequest::CustomSpu(d) => {
                let name = match d.key {
                    CustomSpuKey::Name(n) => n,
                    CustomSpuKey::Id(id) => id.to_string(),
                };
                return status(&name, ErrorCode::SpuError, "the testkit cannot remove SPUs");
            }
            AnyDeleteRequest::Mirror(d) => mirrors::unregister(&mut state, &d.key),
            AnyDeleteRequest::Other(_) => {
                return status("", ErrorCode::Other("unknown admin object type".into()), "")
            }
        };
        drop(state);
        if result.is_ok() {
            self.shared.meta_changed();
        }
        result
    }

    fn update(&self, req: AnyUpdateRequest) -> Status {
        let mut state = self.shared.lock();
        let result = match req {
            AnyUpdateRequest::Topic(u) => match u.action {
                UpdateTopicAction::AddPartition(add) => {
                    topics::add_partitions(&mut state, &u.key, add.count)
                }
                UpdateTopicAction::AddMirror(add) => {
                    mirror_topics::add_mirror(&mut state, &u.key, &add.remote_cluster)
                }
            },
            other => {
                let name = other.label().to_owned();
                return status(
                    &name,
                    ErrorCode::Other("unknown admin object type".into()),
                    "",
                );
            }
        };
        drop(state);
        if result.is_ok() {
            self.shared.meta_changed();
        }
        result
    }

    /// Answer a change once every watch has queued the frames announcing it (see
    /// [`Shared::watches_reached`]), so clients that just created a topic find it in their
    /// metadata cache.
    fn reply_after_watches(&self, conn: &Arc<Conn>, id: i32, version: i16, status: Status) {
        let (conn, shared) = (conn.clone(), self.shared.clone());
        let epoch = shared.epoch();
        tokio::spawn(async move {
            shared.watches_reached(epoch, WATCH_BARRIER_LIMIT).await;
            if status.is_ok() {
                // The real SC answers once the SPUs report the new state, well after the
                // watch frames: give clients time to apply them to their caches.
                tokio::time::sleep(SETTLE_TIME).await;
            }
            conn.reply(id, version, &status).await;
        });
    }

    fn injected(&self, req: &AnyRequest, error: ErrorCode) -> Option<Status> {
        let name = match req {
            AnyRequest::Sc(ScRequest::Create(c)) => match c.as_ref() {
                AnyCreateRequest::Topic(c) => c.common.name.clone(),
                AnyCreateRequest::SmartModule(c) => c.common.name.clone(),
                AnyCreateRequest::CustomSpu(c) => c.common.name.clone(),
                AnyCreateRequest::Mirror(c) => c.common.name.clone(),
                AnyCreateRequest::Other(_) => String::new(),
            },
            AnyRequest::Sc(ScRequest::Delete(AnyDeleteRequest::Topic(d))) => d.key.clone(),
            AnyRequest::Sc(ScRequest::Delete(AnyDeleteRequest::SmartModule(d))) => d.key.clone(),
            AnyRequest::Sc(ScRequest::Delete(AnyDeleteRequest::Mirror(d))) => d.key.clone(),
            AnyRequest::Sc(ScRequest::Update(AnyUpdateRequest::Topic(u))) => u.key.clone(),
            AnyRequest::Sc(ScRequest::Delete(_) | ScRequest::Update(_)) => String::new(),
            _ => return None,
        };
        Some(Status {
            name,
            error_code: error,
            error_message: None,
        })
    }
}

/// The answer to a list, or `None` for an object type the testkit does not serve.
fn list_any(shared: &Shared, req: AnyListRequest) -> Option<AnyListResponse> {
    Some(match req {
        AnyListRequest::Topic(r) => list(shared, &r).into(),
        AnyListRequest::Partition(r) => list(shared, &r).into(),
        AnyListRequest::Spu(r) => list(shared, &r).into(),
        AnyListRequest::CustomSpu(r) => list(shared, &r).into(),
        AnyListRequest::SmartModule(r) => list(shared, &r).into(),
        AnyListRequest::Mirror(r) => list::<MirrorSpec>(shared, &r).into(),
        AnyListRequest::Other(_) => return None,
    })
}

/// Start a watch task; `false` for an object type the testkit does not serve, which ends
/// the connection as the real SC does. Mirror is one of them: the 0.18 SC has no watch of it
/// (`AnyWatchRequest` decodes it as `Other`).
fn spawn_watch(conn: &Arc<Conn>, id: i32, version: i16, req: AnyWatchRequest) -> bool {
    let conn = conn.clone();
    match req {
        AnyWatchRequest::Topic(r) => {
            tokio::spawn(watch::run::<TopicSpec>(conn, id, version, r.summary))
        }
        AnyWatchRequest::Partition(r) => {
            tokio::spawn(watch::run::<PartitionSpec>(conn, id, version, r.summary))
        }
        AnyWatchRequest::Spu(r) => {
            tokio::spawn(watch::run::<SpuSpec>(conn, id, version, r.summary))
        }
        AnyWatchRequest::CustomSpu(r) => {
            tokio::spawn(watch::run::<CustomSpuSpec>(conn, id, version, r.summary))
        }
        AnyWatchRequest::SmartModule(r) => {
            tokio::spawn(watch::run::<SmartModuleSpec>(conn, id, version, r.summary))
        }
        AnyWatchRequest::Other(_) => return false,
    };
    true
}

impl Service for Sc {
    const SERVER: Server = Server::Sc;

    fn dispatch(self: &Arc<Self>, msg: RequestMessage<AnyRequest>, conn: &Arc<Conn>) -> bool {
        let (id, version) = (msg.header.correlation_id, msg.header.api_version);
        if let Some(error) = self.shared.faults.take(Server::Sc, msg.header.api_key) {
            if let AnyRequest::ApiVersions(_) = msg.request {
                let body = ApiVersionsResponse {
                    error_code: error,
                    ..versions(SC_VERSIONS, SC_PLATFORM_VERSION)
                };
                conn.spawn_reply(id, version, body);
                return true;
            }
            // List and watch answers have no error field: the SC closes the connection.
            let Some(status) = self.injected(&msg.request, error) else {
                return false;
            };
            conn.spawn_reply(id, version, status);
            return true;
        }
        match msg.request {
            AnyRequest::ApiVersions(ApiVersionsRequest { client_version, .. }) => {
                // The real SC parses the client version as semver and drops the
                // connection when it cannot.
                if !is_semver(&client_version) {
                    return false;
                }
                let body = versions(SC_VERSIONS, SC_PLATFORM_VERSION);
                conn.spawn_reply(id, version, body);
            }
            AnyRequest::Sc(ScRequest::Create(req)) => {
                let status = self.create(*req);
                self.reply_after_watches(conn, id, version, status);
            }
            AnyRequest::Sc(ScRequest::Delete(req)) => {
                let status = self.delete(req);
                self.reply_after_watches(conn, id, version, status);
            }
            AnyRequest::Sc(ScRequest::Update(req)) => {
                let status = self.update(req);
                self.reply_after_watches(conn, id, version, status);
            }
            AnyRequest::Sc(ScRequest::List(req)) => match list_any(&self.shared, req) {
                Some(body) => conn.spawn_reply(id, version, body),
                None => return false,
            },
            AnyRequest::Sc(ScRequest::Watch(req)) => return spawn_watch(conn, id, version, req),
            // An SPU request cannot reach the SC (frames decode per server).
            AnyRequest::Spu(_) => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_is_required_like_the_real_sc() {
        assert!(is_semver("0.18.1"));
        assert!(is_semver("1.2.3-alpha.1+build"));
        assert!(!is_semver(""));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("01.2.3"));
        assert!(!is_semver("a.b.c"));
    }
}
