//! Profiles from the `fluvio` CLI's config file (`~/.fluvio/config`, or `FLV_PROFILE_PATH`).
//!
//! ```toml
//! version = "2.0"
//! current_profile = "local"
//! [profile.local]
//! cluster = "local"
//! [cluster.local]
//! endpoint = "127.0.0.1:9003"
//! [cluster.local.tls]
//! tls_policy = "verified"
//! tls_source = "files"
//! [cluster.local.tls.certs]
//! domain = "fluvio.local"
//! key = "/path/client.key"
//! cert = "/path/client.crt"
//! ca_cert = "/path/ca.crt"
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use thiserror::Error;

use crate::connection::{Pem, TlsPolicy};

/// The cluster a profile points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name.
    pub name: String,
    /// The SC's `host:port`.
    pub endpoint: String,
    /// Connect to SPUs through their local endpoints instead of their public ones.
    pub use_spu_local_address: bool,
    /// How to secure connections.
    pub tls: TlsPolicy,
}

#[derive(Debug, Deserialize)]
struct ConfigFile {
    current_profile: Option<String>,
    #[serde(default)]
    profile: HashMap<String, ProfileEntry>,
    #[serde(default)]
    cluster: HashMap<String, ClusterEntry>,
}

#[derive(Debug, Deserialize)]
struct ProfileEntry {
    cluster: String,
}

#[derive(Debug, Deserialize)]
struct ClusterEntry {
    #[serde(alias = "addr")]
    endpoint: String,
    #[serde(default)]
    use_spu_local_address: bool,
    #[serde(default)]
    tls: Option<TlsEntry>,
}

#[derive(Debug, Deserialize)]
struct TlsEntry {
    #[serde(default)]
    tls_policy: Option<String>,
    #[serde(default)]
    tls_source: Option<String>,
    #[serde(default)]
    certs: Option<CertsEntry>,
}

#[derive(Debug, Deserialize)]
struct CertsEntry {
    domain: String,
    key: String,
    cert: String,
    ca_cert: String,
}

/// Why [`load`] found no usable profile in a file that exists.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file exists but could not be read.
    #[error("{}: {cause}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        cause: Arc<std::io::Error>,
    },
    /// The file's content is not a usable profile.
    #[error("{}: {cause}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        cause: ProfileParseError,
    },
}

/// Why [`parse`] found no usable profile in a config file's text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProfileParseError {
    /// Not TOML, or not the shape the CLI writes.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// `current_profile` names no `[profile.<name>]` table.
    #[error("current profile '{0}' is not defined")]
    MissingProfile(String),
    /// The current profile names no `[cluster.<name>]` table.
    #[error("profile '{profile}' names missing cluster '{cluster}'")]
    MissingCluster {
        /// The current profile.
        profile: String,
        /// The cluster it names.
        cluster: String,
    },
    /// `tls_policy = "verified"` without a `[certs]` table.
    #[error("tls_policy \"verified\" needs a [certs] table")]
    MissingCerts,
    /// A `tls_policy` other than `disabled`, `anonymous` and `verified`.
    #[error("unknown tls_policy '{0}'")]
    UnknownTlsPolicy(String),
}

/// The config file the `fluvio` CLI uses: `$FLV_PROFILE_PATH`, else `~/.fluvio/config`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FLV_PROFILE_PATH") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".fluvio").join("config"))
}

/// The current profile of the config file at `path`; `Ok(None)` when the file does not exist.
///
/// # Errors
/// [`ProfileError::Read`] for a file that exists but cannot be read,
/// [`ProfileError::Invalid`] with what [`parse`] found wrong in it.
pub fn load(path: &Path) -> Result<Option<Profile>, ProfileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ProfileError::Read {
                path: path.to_owned(),
                cause: Arc::new(e),
            })
        }
    };
    parse(&text).map_err(|cause| ProfileError::Invalid {
        path: path.to_owned(),
        cause,
    })
}

/// The current profile of a config file's text.
///
/// # Errors
/// Malformed TOML ([`ProfileParseError::Toml`]), a current profile that names a missing
/// profile or cluster, or TLS settings that do not work.
pub fn parse(text: &str) -> Result<Option<Profile>, ProfileParseError> {
    let file: ConfigFile = toml::from_str(text)?;
    let Some(name) = file.current_profile else {
        return Ok(None);
    };
    let Some(profile) = file.profile.get(&name) else {
        return Err(ProfileParseError::MissingProfile(name));
    };
    let cluster =
        file.cluster
            .get(&profile.cluster)
            .ok_or_else(|| ProfileParseError::MissingCluster {
                profile: name.clone(),
                cluster: profile.cluster.clone(),
            })?;
    Ok(Some(Profile {
        name,
        endpoint: cluster.endpoint.clone(),
        use_spu_local_address: cluster.use_spu_local_address,
        tls: tls_policy(cluster.tls.as_ref())?,
    }))
}

fn tls_policy(tls: Option<&TlsEntry>) -> Result<TlsPolicy, ProfileParseError> {
    let Some(tls) = tls else {
        return Ok(TlsPolicy::Disabled);
    };
    match tls.tls_policy.as_deref().unwrap_or("disabled") {
        "disabled" => Ok(TlsPolicy::Disabled),
        "anonymous" => Ok(TlsPolicy::DangerAcceptAnyCertificate),
        "verified" => {
            let certs = tls.certs.as_ref().ok_or(ProfileParseError::MissingCerts)?;
            let pem = |value: &str| match tls.tls_source.as_deref() {
                Some("inline") => Pem::Inline(value.to_owned()),
                _ => Pem::File(PathBuf::from(value)),
            };
            Ok(TlsPolicy::Mutual {
                domain: certs.domain.clone(),
                ca: pem(&certs.ca_cert),
                cert: pem(&certs.cert),
                key: pem(&certs.key),
            })
        }
        other => Err(ProfileParseError::UnknownTlsPolicy(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_current_profile_as_the_cli_writes_it() {
        let text = r#"
version = "2.0"
current_profile = "local"

[profile.local]
cluster = "local"

[profile.other]
cluster = "remote"

[cluster.local]
endpoint = "127.0.0.1:9003"

[cluster.remote]
addr = "10.0.0.1:9003"
use_spu_local_address = true
"#;
        let profile = parse(text).unwrap().unwrap();
        assert_eq!(profile.name, "local");
        assert_eq!(profile.endpoint, "127.0.0.1:9003");
        assert_eq!(profile.tls, TlsPolicy::Disabled);
    }

    #[test]
    fn verified_tls_with_files_is_mutual_tls() {
        let text = r#"
version = "2.0"
current_profile = "secure"
[profile.secure]
cluster = "c"
[cluster.c]
endpoint = "sc.example:9003"
[cluster.c.tls]
tls_policy = "verified"
tls_source = "files"
[cluster.c.tls.certs]
domain = "fluvio.local"
key = "/k.pem"
cert = "/c.pem"
ca_cert = "/ca.pem"
"#;
        let profile = parse(text).unwrap().unwrap();
        assert_eq!(
            profile.tls,
            TlsPolicy::Mutual {
                domain: "fluvio.local".into(),
                ca: Pem::File("/ca.pem".into()),
                cert: Pem::File("/c.pem".into()),
                key: Pem::File("/k.pem".into()),
            }
        );
    }

    #[test]
    fn a_missing_cluster_is_an_error_and_a_missing_file_is_none() {
        let text = "current_profile = \"x\"\n[profile.x]\ncluster = \"nope\"\n";
        assert_eq!(
            parse(text).unwrap_err(),
            ProfileParseError::MissingCluster {
                profile: "x".into(),
                cluster: "nope".into(),
            }
        );
        assert_eq!(load(Path::new("/nonexistent/fluvio/config")).unwrap(), None);
    }
}
