//! Topic mirroring, administered: remote clusters registered on a home cluster, a remote's
//! connection to its home, mirror topics and their remotes.
//!
//! The model (Fluvio 0.18): a **home** cluster registers each **remote** by id
//! ([`Admin::register_remote`]) and exports what the remote needs to reach it
//! ([`Admin::export_remote`], the file `fluvio remote export` writes). The remote stores
//! that as its home ([`Admin::connect_home`], as `fluvio home connect`); its SC then dials
//! the home's SC, and its SPUs the home's SPUs. A **mirror topic** is created on the home
//! with one partition per remote ([`Admin::create_mirror_topic`]); each remote then has a
//! one-partition topic of the same name. By default records flow remote → home: producers
//! write on the remote and consumers read the remote's partition at home. A home-to-remote
//! topic reverses that: producers write the remote's partition at home and each remote
//! reads its copy. [`crate::cluster::FluvioClient::mirror_partition`] picks a partition
//! by a remote's or the home's name, for consumers, producers and pipelines.
//!
//! ```no_run
//! # async fn demo(home: actix_fluvio::cluster::FluvioClient,
//! #               edge: actix_fluvio::cluster::FluvioClient) -> Result<(), actix_fluvio::admin::AdminError> {
//! // On the home cluster.
//! home.admin().register_remote("edge1").await?;
//! let export = home.admin().export_remote("edge1", None, Some("home1")).await?;
//! home.admin().create_mirror_topic("telemetry", &["edge1"], false).await?;
//! // On the remote cluster, with the exported file's contents.
//! edge.admin().connect_home(&export).await?;
//! for home in edge.admin().home_status().await? {
//!     println!("{}: SC {}, SPU {}", home.id, home.sc.as_str(), home.spu.as_str());
//! }
//! # Ok(()) }
//! ```

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::error::{check, AdminError};
use super::handle::Admin;
use crate::protocol::sc::{
    AddMirror, CreateRequest, DeleteRequest, HomeCluster, HomeMirrorConfig, HomePartitionConfig,
    ListRequest, MirrorClientTls, MirrorConfig, MirrorConnection, MirrorPairStatus, MirrorSpec,
    MirrorStatus, MirrorType, RemoteCluster, ReplicaSpec, TopicSpec, UpdateRequest,
    UpdateTopicAction,
};

/// The home id [`Admin::export_remote`] writes when none is given (as the official CLI).
pub const DEFAULT_HOME_ID: &str = "home";

/// How a mirroring pair stands, from one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// The SC-to-SC link.
    pub sc: MirrorPairStatus,
    /// The SPU-to-SPU link.
    pub spu: MirrorPairStatus,
    /// Whether the other side's SC is connected now.
    pub online: bool,
    /// When the other side was last heard from (`None`: never).
    pub last_seen: Option<SystemTime>,
}

impl Pairing {
    fn from_status(status: &MirrorStatus) -> Self {
        let last_seen = match status.connection_stat.last_seen {
            0 => None,
            ms => SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms)),
        };
        Self {
            sc: status.pairing_sc.clone(),
            spu: status.pairing_spu.clone(),
            online: status.connection_status == MirrorConnection::Online,
            last_seen,
        }
    }

    /// Both links paired.
    pub fn is_connected(&self) -> bool {
        self.sc == MirrorPairStatus::Successful && self.spu == MirrorPairStatus::Successful
    }

    /// The links' failure details, as the official CLI's ERRORS column (`None`: none).
    pub fn errors(&self) -> Option<String> {
        match (self.sc.detail(), self.spu.detail()) {
            (Some(sc), Some(spu)) => Some(format!("SC: {sc} - SPU: {spu}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
            (None, None) => None,
        }
    }
}

/// A remote cluster registered on this (home) cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteInfo {
    /// The remote's id.
    pub id: String,
    /// Its pairing with this cluster.
    pub pairing: Pairing,
}

/// The home cluster this (remote) cluster connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeInfo {
    /// The home's id.
    pub id: String,
    /// This cluster's id at the home.
    pub remote_id: String,
    /// The home SC's endpoint this cluster dials.
    pub public_endpoint: String,
    /// The pairing with the home.
    pub pairing: Pairing,
}

impl std::ops::Deref for HomeInfo {
    type Target = Pairing;
    fn deref(&self) -> &Pairing {
        &self.pairing
    }
}

impl std::ops::Deref for RemoteInfo {
    type Target = Pairing;
    fn deref(&self) -> &Pairing {
        &self.pairing
    }
}

/// What a remote cluster needs to connect to its home: the JSON file `fluvio remote export`
/// writes and `fluvio home connect` reads (camelCase keys; `topics` is unused by 0.18).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteExport {
    /// Unused by Fluvio 0.18 (always empty in its exports).
    #[serde(default)]
    pub topics: Vec<String>,
    /// The home to connect to.
    pub home: HomeExport,
}

/// The home part of a [`RemoteExport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeExport {
    /// The home's id.
    pub id: String,
    /// The remote's id, as registered on the home.
    pub remote_id: String,
    /// The home SC's public endpoint, as the remote reaches it.
    pub public_endpoint: String,
    /// TLS material for the remote, when the home asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tls: Option<ExportTls>,
}

/// TLS material in a [`RemoteExport`] (PEM text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportTls {
    /// The home's TLS domain.
    pub domain: String,
    /// The CA certificate.
    pub ca_cert: String,
    /// The remote's certificate (its common name is the remote's id).
    pub client_cert: String,
    /// The remote's private key.
    pub client_key: String,
}

impl RemoteExport {
    /// The JSON the official CLI writes (pretty-printed).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an export is plain strings")
    }

    /// Read an export file's contents.
    ///
    /// # Errors
    /// [`AdminError::InvalidExport`]: not JSON of this shape.
    pub fn from_json(json: &str) -> Result<Self, AdminError> {
        serde_json::from_str(json).map_err(|e| AdminError::InvalidExport(e.to_string()))
    }

    fn home_spec(&self) -> MirrorSpec {
        let home = &self.home;
        MirrorSpec {
            mirror_type: MirrorType::Home(HomeCluster {
                id: home.id.clone(),
                remote_id: home.remote_id.clone(),
                public_endpoint: home.public_endpoint.clone(),
                client_tls: home.client_tls.as_ref().map(|t| MirrorClientTls {
                    domain: t.domain.clone(),
                    ca_cert: t.ca_cert.clone(),
                    client_cert: t.client_cert.clone(),
                    client_key: t.client_key.clone(),
                }),
            }),
        }
    }
}

/// Which way a mirror topic's records flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorDirection {
    /// Written on each remote, read at home (the default).
    RemoteToHome,
    /// Written at home (the remote's partition), read on each remote.
    HomeToRemote,
}

/// A mirror topic as one side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicMirror {
    /// On the home cluster: the remotes, partition `i` being `remotes[i]`'s.
    Home {
        /// The remotes, in partition order.
        remotes: Vec<String>,
        /// Which way records flow.
        direction: MirrorDirection,
    },
    /// On a remote cluster: the home it mirrors (one partition).
    Remote {
        /// The home's id.
        home: String,
        /// Which way records flow.
        direction: MirrorDirection,
    },
}

impl TopicMirror {
    /// The mirroring of `spec`, or `None` for a topic that is not a mirror topic.
    pub fn of(spec: &TopicSpec) -> Option<Self> {
        let ReplicaSpec::Mirror(config) = &spec.replicas else {
            return None;
        };
        let direction = |home_to_remote: bool| {
            if home_to_remote {
                MirrorDirection::HomeToRemote
            } else {
                MirrorDirection::RemoteToHome
            }
        };
        Some(match config {
            MirrorConfig::Home(home) => Self::Home {
                remotes: home
                    .partitions
                    .iter()
                    .map(|p| p.remote_cluster.clone())
                    .collect(),
                direction: direction(home.source),
            },
            MirrorConfig::Remote(remote) => Self::Remote {
                home: remote.home_cluster.clone(),
                direction: direction(remote.target),
            },
        })
    }

    /// The partners: the remotes in partition order at home, the home on a remote.
    pub fn partners(&self) -> Vec<String> {
        match self {
            Self::Home { remotes, .. } => remotes.clone(),
            Self::Remote { home, .. } => vec![home.clone()],
        }
    }

    /// The type the official CLI's `topic list` shows: `from-remote`, `to-remote`,
    /// `to-home` or `from-home`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Home {
                direction: MirrorDirection::RemoteToHome,
                ..
            } => "from-remote",
            Self::Home { .. } => "to-remote",
            Self::Remote {
                direction: MirrorDirection::RemoteToHome,
                ..
            } => "to-home",
            Self::Remote { .. } => "from-home",
        }
    }
}

impl std::fmt::Display for TopicMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Home { remotes, .. } => write!(f, "{} {}", self.kind(), remotes.join(",")),
            Self::Remote { home, .. } => write!(f, "{} {home}", self.kind()),
        }
    }
}

impl Admin {
    async fn mirrors(&self) -> Result<Vec<(MirrorSpec, MirrorStatus)>, AdminError> {
        // The SC ignores name filters for mirrors: it always answers with all of them.
        let request = ListRequest::<MirrorSpec>::new(vec![]);
        let response = self.client().sc().request(&request).await?;
        Ok(response
            .objects
            .into_iter()
            .map(|m| (m.spec, m.status))
            .collect())
    }

    /// Register remote cluster `id` on this (home) cluster, as `fluvio remote register`.
    ///
    /// # Errors
    /// [`AdminError::MirrorAlreadyExists`] when `id` is registered already,
    /// [`AdminError::InvalidConfiguration`] for a name the SC refuses.
    pub async fn register_remote(&self, id: &str) -> Result<(), AdminError> {
        let spec = MirrorSpec {
            mirror_type: MirrorType::Remote(RemoteCluster { id: id.to_owned() }),
        };
        check(
            self.client()
                .sc()
                .request(&CreateRequest::new(id, spec))
                .await?,
        )
    }

    /// Remove remote cluster `id` from this (home) cluster, as `fluvio remote unregister`.
    /// (A Fluvio 0.18 home keeps serving a remote that was connected until its SC restarts.)
    ///
    /// # Errors
    /// [`AdminError::MirrorNotFound`] when `id` is not registered.
    pub async fn unregister_remote(&self, id: &str) -> Result<(), AdminError> {
        let request = DeleteRequest::<MirrorSpec>::new(id.to_owned());
        check(self.client().sc().request(&request).await?)
    }

    /// The remote clusters registered on this (home) cluster, with their pairing.
    ///
    /// # Errors
    /// A connection failure.
    pub async fn list_remotes(&self) -> Result<Vec<RemoteInfo>, AdminError> {
        Ok(self
            .mirrors()
            .await?
            .into_iter()
            .filter_map(|(spec, status)| match spec.mirror_type {
                MirrorType::Remote(remote) => Some(RemoteInfo {
                    id: remote.id,
                    pairing: Pairing::from_status(&status),
                }),
                MirrorType::Home(_) => None,
            })
            .collect())
    }

    /// What remote `id` needs to connect to this (home) cluster, as `fluvio remote export`:
    /// `public_endpoint` defaults to this client's SC endpoint and `home_id` to
    /// [`DEFAULT_HOME_ID`]. Write [`RemoteExport::to_json`] to a file for the official CLI.
    ///
    /// # Errors
    /// [`AdminError::MirrorNotFound`] when `id` is not a registered remote.
    pub async fn export_remote(
        &self,
        id: &str,
        public_endpoint: Option<&str>,
        home_id: Option<&str>,
    ) -> Result<RemoteExport, AdminError> {
        let registered = self.list_remotes().await?.iter().any(|r| r.id == id);
        if !registered {
            return Err(AdminError::MirrorNotFound(id.to_owned()));
        }
        let endpoint = public_endpoint.unwrap_or_else(|| self.client().endpoint().0);
        Ok(RemoteExport {
            topics: Vec::new(),
            home: HomeExport {
                id: home_id.unwrap_or(DEFAULT_HOME_ID).to_owned(),
                remote_id: id.to_owned(),
                public_endpoint: endpoint.to_owned(),
                client_tls: None,
            },
        })
    }

    /// Connect this (remote) cluster to the home in `export`, as `fluvio home connect`: its
    /// SC dials the home within a second or so; see [`Admin::home_status`].
    ///
    /// # Errors
    /// The SC's refusal, or a connection failure.
    pub async fn connect_home(&self, export: &RemoteExport) -> Result<(), AdminError> {
        let spec = export.home_spec();
        check(
            self.client()
                .sc()
                .request(&CreateRequest::new(&export.home.id, spec))
                .await?,
        )
    }

    /// The home this (remote) cluster connects to, with the pairing (empty when none).
    ///
    /// # Errors
    /// A connection failure.
    pub async fn home_status(&self) -> Result<Vec<HomeInfo>, AdminError> {
        Ok(self
            .mirrors()
            .await?
            .into_iter()
            .filter_map(|(spec, status)| match spec.mirror_type {
                MirrorType::Home(home) => Some(HomeInfo {
                    id: home.id,
                    remote_id: home.remote_id,
                    public_endpoint: home.public_endpoint,
                    pairing: Pairing::from_status(&status),
                }),
                MirrorType::Remote(_) => None,
            })
            .collect())
    }

    /// Create mirror topic `name` on this (home) cluster with one partition per remote, in
    /// order, as `fluvio topic create --mirror-apply` (with `home_to_remote`:
    /// `--home-to-remote`). Each remote then gets a one-partition topic `name`.
    ///
    /// # Errors
    /// [`AdminError::MirrorNotFound`] naming the first remote that is not registered (the
    /// SC would accept it and never mirror it), [`AdminError::TopicAlreadyExists`], ...
    pub async fn create_mirror_topic(
        &self,
        name: &str,
        remotes: &[&str],
        home_to_remote: bool,
    ) -> Result<(), AdminError> {
        let registered = self.list_remotes().await?;
        if let Some(missing) = remotes
            .iter()
            .find(|id| !registered.iter().any(|r| r.id == **id))
        {
            return Err(AdminError::MirrorNotFound((*missing).to_owned()));
        }
        let partitions = remotes
            .iter()
            .map(|id| HomePartitionConfig {
                remote_cluster: (*id).to_owned(),
                remote_replica: format!("{name}-0"),
                source: home_to_remote,
            })
            .collect();
        let spec = TopicSpec {
            replicas: ReplicaSpec::Mirror(MirrorConfig::Home(HomeMirrorConfig {
                partitions,
                source: home_to_remote,
            })),
            ..TopicSpec::default()
        };
        check(
            self.client()
                .sc()
                .request(&CreateRequest::new(name, spec))
                .await?,
        )
    }

    /// Add remote `remote` to mirror topic `topic` (a new partition), as
    /// `fluvio topic add-mirror`; the topic keeps its direction.
    ///
    /// # Errors
    /// [`AdminError::MirrorNotFound`], [`AdminError::MirrorAlreadyExists`] (the remote has a
    /// partition already), [`AdminError::MirrorInvalidType`] (`remote` is this cluster's
    /// home), [`AdminError::TopicNotFound`], [`AdminError::InvalidConfiguration`] (not a
    /// mirror topic).
    pub async fn add_mirror(&self, topic: &str, remote: &str) -> Result<(), AdminError> {
        let request = UpdateRequest::<TopicSpec>::new(
            topic.to_owned(),
            UpdateTopicAction::AddMirror(AddMirror {
                remote_cluster: remote.to_owned(),
                home_to_mirror: false,
            }),
        );
        let status = self.client().sc().request(&request).await?;
        // The SC names the topic in the status; the mirror errors are about the remote.
        check(status).map_err(|e| e.about_remote(remote))
    }
}

#[cfg(test)]
mod tests;
