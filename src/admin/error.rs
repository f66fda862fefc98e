//! Typed admin errors: the server's code and message, never a bare string.

use thiserror::Error;

use crate::cluster::ClientError;
use crate::connection::ConnectionError;
use crate::protocol::sc::Status;
use crate::protocol::ErrorCode;

/// Why an admin operation failed.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum AdminError {
    /// A topic with this name exists.
    #[error("topic '{0}' already exists")]
    TopicAlreadyExists(String),
    /// No topic has this name.
    #[error("topic '{0}' not found")]
    TopicNotFound(String),
    /// The topic's name is not valid.
    #[error("invalid topic name '{name}'{}", detail(.message))]
    InvalidTopicName {
        /// The name.
        name: String,
        /// The server's message.
        message: Option<String>,
    },
    /// The request's configuration was refused.
    #[error("invalid configuration for '{name}' ({code}){}", detail(.message))]
    InvalidConfiguration {
        /// The object's name.
        name: String,
        /// The server's code.
        code: ErrorCode,
        /// The server's message.
        message: Option<String>,
    },
    /// The client may not do this.
    #[error("not authorized to change '{name}'{}", detail(.message))]
    NotAuthorized {
        /// The object's name.
        name: String,
        /// The server's message.
        message: Option<String>,
    },
    /// The SmartModule does not exist.
    #[error("SmartModule '{0}' not found")]
    SmartModuleNotFound(String),
    /// No remote cluster has this id here (11001): register it on the home cluster first
    /// ([`crate::admin::Admin::register_remote`]).
    #[error("remote cluster '{0}' is not registered on this cluster (register it first)")]
    MirrorNotFound(String),
    /// The remote is registered already, or already has a partition of the topic (11002).
    #[error("mirror '{name}' exists already{}", detail(.message))]
    MirrorAlreadyExists {
        /// The remote's id.
        name: String,
        /// The server's message.
        message: Option<String>,
    },
    /// The name is this cluster's home, not a remote registered here (11005): mirror
    /// topics are created and extended on the home cluster.
    #[error("'{name}' is a home cluster, not a remote registered here{}", detail(.message))]
    MirrorInvalidType {
        /// The name.
        name: String,
        /// The server's message.
        message: Option<String>,
    },
    /// The topic is a remote's copy of a mirror topic (11004): delete it on the home
    /// cluster, which removes the copies.
    #[error("topic '{0}' mirrors a home cluster's topic: delete it on the home cluster")]
    MirrorDeleteFromRemote(String),
    /// A remote export file that is not what `fluvio remote export` writes.
    #[error("invalid remote export: {0}")]
    InvalidExport(String),
    /// Any other error the server returned.
    #[error("server refused '{name}': {code}{}", detail(.message))]
    Server {
        /// The object's name.
        name: String,
        /// The server's code.
        code: ErrorCode,
        /// The server's message.
        message: Option<String>,
    },
    /// The request could not be carried out (connection, metadata).
    #[error(transparent)]
    Client(#[from] ClientError),
}

fn detail(message: &Option<String>) -> String {
    message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

impl From<ConnectionError> for AdminError {
    fn from(e: ConnectionError) -> Self {
        AdminError::Client(e.into())
    }
}

impl AdminError {
    /// The server's error code, when the server refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            AdminError::TopicAlreadyExists(_) => ErrorCode::TopicAlreadyExists,
            AdminError::TopicNotFound(_) => ErrorCode::TopicNotFound,
            AdminError::InvalidTopicName { .. } => ErrorCode::TopicInvalidName,
            AdminError::NotAuthorized { .. } => ErrorCode::PermissionDenied,
            AdminError::SmartModuleNotFound(_) => ErrorCode::SmartModuleNotFound {
                name: String::new(),
            },
            AdminError::MirrorNotFound(_) => ErrorCode::MirrorNotFound,
            AdminError::MirrorAlreadyExists { .. } => ErrorCode::MirrorAlreadyExists,
            AdminError::MirrorInvalidType { .. } => ErrorCode::MirrorInvalidType,
            AdminError::MirrorDeleteFromRemote(_) => ErrorCode::MirrorDeleteFromRemote,
            AdminError::InvalidExport(_) => return None,
            AdminError::InvalidConfiguration { code, .. } | AdminError::Server { code, .. } => {
                code.clone()
            }
            AdminError::Client(ClientError::Server { code, .. }) => code.clone(),
            AdminError::Client(_) => return None,
        })
    }
}

impl AdminError {
    /// This error with the mirror errors naming `remote` (an update names the topic).
    pub(crate) fn about_remote(self, remote: &str) -> Self {
        match self {
            AdminError::MirrorNotFound(_) => AdminError::MirrorNotFound(remote.to_owned()),
            AdminError::MirrorAlreadyExists { message, .. } => AdminError::MirrorAlreadyExists {
                name: remote.to_owned(),
                message,
            },
            AdminError::MirrorInvalidType { message, .. } => AdminError::MirrorInvalidType {
                name: remote.to_owned(),
                message,
            },
            other => other,
        }
    }
}

/// `Ok` for a successful status, else the typed error for its code.
pub(crate) fn check(status: Status) -> Result<(), AdminError> {
    let Status {
        name,
        error_code,
        error_message,
    } = status;
    let message = error_message;
    Err(match error_code {
        ErrorCode::None => return Ok(()),
        ErrorCode::TopicAlreadyExists => AdminError::TopicAlreadyExists(name),
        ErrorCode::TopicNotFound => AdminError::TopicNotFound(name),
        ErrorCode::TopicInvalidName => AdminError::InvalidTopicName { name, message },
        ErrorCode::PermissionDenied => AdminError::NotAuthorized { name, message },
        ErrorCode::SmartModuleNotFound { .. } => AdminError::SmartModuleNotFound(name),
        ErrorCode::MirrorNotFound => AdminError::MirrorNotFound(name),
        ErrorCode::MirrorAlreadyExists => AdminError::MirrorAlreadyExists { name, message },
        ErrorCode::MirrorInvalidType => AdminError::MirrorInvalidType { name, message },
        ErrorCode::MirrorDeleteFromRemote => AdminError::MirrorDeleteFromRemote(name),
        code @ (ErrorCode::TopicInvalidConfiguration
        | ErrorCode::InvalidCreateRequest
        | ErrorCode::InvalidDeleteRequest
        | ErrorCode::TopicInvalidReplicaType
        | ErrorCode::TopicError) => AdminError::InvalidConfiguration {
            name,
            code,
            message,
        },
        code => AdminError::Server {
            name,
            code,
            message,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_typed_errors_with_their_codes() {
        let status = |code: ErrorCode, msg: Option<&str>| Status {
            name: "t".into(),
            error_code: code,
            error_message: msg.map(Into::into),
        };
        assert!(check(status(ErrorCode::None, None)).is_ok());
        let err = check(status(ErrorCode::TopicAlreadyExists, None)).unwrap_err();
        assert!(matches!(&err, AdminError::TopicAlreadyExists(n) if n == "t"));
        assert_eq!(err.code(), Some(ErrorCode::TopicAlreadyExists));
        let err = check(status(
            ErrorCode::TopicInvalidConfiguration,
            Some("0 partitions"),
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 't' (the topic configuration is invalid): 0 partitions"
        );
        let err = check(status(ErrorCode::StorageError, None)).unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::StorageError));
    }
}
