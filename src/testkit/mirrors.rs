//! The SC object "Mirror" (one end of a mirroring pair) as the 0.18 SC keeps it: create
//! registers a remote (or stores this cluster's home), delete unregisters it, with the SC's
//! error codes and messages (`fluvio-sc/src/services/public_api/mirror/`).
//!
//! Nothing pairs: the testkit never dials a home nor answers a remote, so every Mirror keeps
//! the status it was created with (Waiting/Waiting, Offline, never seen).

use super::state::{MirrorEntry, State};
use crate::protocol::sc::{MirrorSpec, MirrorType, Status};
use crate::protocol::ErrorCode;

fn status(name: &str, error_code: ErrorCode, message: Option<String>) -> Status {
    Status {
        name: name.to_owned(),
        error_code,
        error_message: message,
    }
}

/// Create Mirror `name`: a Remote must be new (`MirrorAlreadyExists`), a Home replaces
/// whatever was stored under its name (as `fluvio home connect` re-run does).
///
/// Unlike the real SC, `name` must equal the id inside `spec`: the SC stores the object
/// under the name but its SPUs and the mirroring links look it up by the id, so a mismatch
/// is a Mirror that never pairs. The testkit fails it at once (`InvalidCreateRequest`).
pub(crate) fn register(state: &mut State, name: &str, spec: MirrorSpec) -> Status {
    if name != spec.id() {
        let message = format!(
            "mirror name {name:?} differs from the id {:?} in its spec",
            spec.id()
        );
        return status(name, ErrorCode::InvalidCreateRequest, Some(message));
    }
    let existing = state.mirrors.get(name).map(|m| &m.spec.mirror_type);
    if let Some(MirrorType::Remote(_)) = existing {
        let message = format!("remote cluster {name:?} already exists");
        return status(name, ErrorCode::MirrorAlreadyExists, Some(message));
    }
    let entry = MirrorEntry {
        spec,
        status: Default::default(),
    };
    state.mirrors.insert(name.to_owned(), entry);
    status(name, ErrorCode::None, None)
}

/// Delete Mirror `name` (`MirrorNotFound` when there is none). Topics that name it are left
/// alone, as on the real SC.
pub(crate) fn unregister(state: &mut State, name: &str) -> Status {
    if state.mirrors.remove(name).is_none() {
        let message = format!("remote cluster {name:?} not found");
        return status(name, ErrorCode::MirrorNotFound, Some(message));
    }
    status(name, ErrorCode::None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::sc::{HomeCluster, MirrorConnection, MirrorPairStatus, RemoteCluster};

    fn remote(id: &str) -> MirrorSpec {
        MirrorSpec {
            mirror_type: MirrorType::Remote(RemoteCluster { id: id.into() }),
        }
    }

    fn home(id: &str, endpoint: &str) -> MirrorSpec {
        MirrorSpec {
            mirror_type: MirrorType::Home(HomeCluster {
                id: id.into(),
                remote_id: "edge1".into(),
                public_endpoint: endpoint.into(),
                client_tls: None,
            }),
        }
    }

    #[test]
    fn a_remote_registers_once_with_the_default_status() {
        let mut state = State::default();
        assert!(register(&mut state, "edge1", remote("edge1")).is_ok());
        let status = &state.mirrors["edge1"].status;
        assert_eq!(status.pairing_sc, MirrorPairStatus::Waiting);
        assert_eq!(status.pairing_spu, MirrorPairStatus::Waiting);
        assert_eq!(status.connection_status, MirrorConnection::Offline);
        assert_eq!(status.connection_stat.last_seen, 0);

        let again = register(&mut state, "edge1", remote("edge1"));
        assert_eq!(again.error_code, ErrorCode::MirrorAlreadyExists);
        assert_eq!(
            again.error_message.as_deref(),
            Some(r#"remote cluster "edge1" already exists"#)
        );
    }

    #[test]
    fn a_home_is_overwritten_and_may_replace_nothing_else() {
        let mut state = State::default();
        assert!(register(&mut state, "home1", home("home1", "127.0.0.1:1")).is_ok());
        assert!(register(&mut state, "home1", home("home1", "127.0.0.1:2")).is_ok());
        let MirrorType::Home(stored) = &state.mirrors["home1"].spec.mirror_type else {
            panic!("a home is stored");
        };
        assert_eq!(stored.public_endpoint, "127.0.0.1:2");
        // A Remote may take a Home's name (the SC checks only existing Remotes).
        assert!(register(&mut state, "home1", remote("home1")).is_ok());
    }

    #[test]
    fn the_name_must_be_the_id_in_the_spec() {
        let mut state = State::default();
        let wrong = register(&mut state, "edge2", remote("edge1"));
        assert_eq!(wrong.error_code, ErrorCode::InvalidCreateRequest);
        assert!(state.mirrors.is_empty());
    }

    #[test]
    fn unregistering_a_missing_mirror_is_not_found() {
        let mut state = State::default();
        let missing = unregister(&mut state, "edge9");
        assert_eq!(missing.error_code, ErrorCode::MirrorNotFound);
        assert_eq!(
            missing.error_message.as_deref(),
            Some(r#"remote cluster "edge9" not found"#)
        );
        assert!(register(&mut state, "edge1", remote("edge1")).is_ok());
        assert!(unregister(&mut state, "edge1").is_ok());
        assert!(state.mirrors.is_empty());
    }
}
