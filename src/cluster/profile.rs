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

use serde::Deserialize;

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
/// An unreadable or malformed file, or a current profile that names a missing cluster.
pub fn load(path: &Path) -> Result<Option<Profile>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The current profile of a config file's text.
///
/// # Errors
/// Malformed TOML, or a current profile that names a missing profile or cluster.
pub fn parse(text: &str) -> Result<Option<Profile>, String> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let Some(name) = file.current_profile else {
        return Ok(None);
    };
    let profile = file
        .profile
        .get(&name)
        .ok_or_else(|| format!("current profile '{name}' is not defined"))?;
    let cluster = file.cluster.get(&profile.cluster).ok_or_else(|| {
        format!(
            "profile '{name}' names missing cluster '{}'",
            profile.cluster
        )
    })?;
    Ok(Some(Profile {
        name,
        endpoint: cluster.endpoint.clone(),
        use_spu_local_address: cluster.use_spu_local_address,
        tls: tls_policy(cluster.tls.as_ref())?,
    }))
}

fn tls_policy(tls: Option<&TlsEntry>) -> Result<TlsPolicy, String> {
    let Some(tls) = tls else {
        return Ok(TlsPolicy::Disabled);
    };
    match tls.tls_policy.as_deref().unwrap_or("disabled") {
        "disabled" => Ok(TlsPolicy::Disabled),
        "anonymous" => Ok(TlsPolicy::DangerAcceptAnyCertificate),
        "verified" => {
            let certs = tls
                .certs
                .as_ref()
                .ok_or("tls_policy \"verified\" needs a [certs] table")?;
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
        other => Err(format!("unknown tls_policy '{other}'")),
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
        assert!(parse(text).unwrap_err().contains("missing cluster"));
        assert_eq!(load(Path::new("/nonexistent/fluvio/config")).unwrap(), None);
    }
}
