//! Mirroring configuration carried by mirrored topics and their partitions.

wire_struct! {
    /// A home-cluster SPU as a remote cluster sees it.
    pub struct SpuMirrorConfig {
        /// The SPU id.
        pub id: i32,
        /// The SPU key.
        pub key: String,
        /// The SPU endpoint (`host:port`).
        pub endpoint: String,
    }
}

wire_struct! {
    /// A topic mirrored from a home cluster (on the remote side).
    pub struct RemoteMirrorConfig {
        /// The home cluster's name.
        pub home_cluster: String,
        /// The home cluster's SPUs.
        pub home_spus: Vec<SpuMirrorConfig>,
        /// Whether this side is the target (v18+).
        pub target: bool => 18..,
    }
}

wire_struct! {
    /// A topic mirrored to remote clusters (on the home side).
    pub struct HomeMirrorConfig {
        /// One entry per partition.
        pub partitions: Vec<HomePartitionConfig>,
        /// Whether this side is the source (v18+).
        pub source: bool => 18..,
    }
}

wire_union! {
    /// Which side of a mirror a topic is on.
    pub enum MirrorConfig (default Remote) {
        /// Mirrored from a home cluster.
        Remote(RemoteMirrorConfig) = 0,
        /// Mirrored to remote clusters.
        Home(HomeMirrorConfig) = 1,
    }
}

wire_struct! {
    /// A home partition's mirror on a remote cluster.
    pub struct HomePartitionConfig {
        /// The remote cluster's name.
        pub remote_cluster: String,
        /// The replica on the remote cluster.
        pub remote_replica: String,
        /// Whether this side is the source (v18+).
        pub source: bool => 18..,
    }
}

wire_struct! {
    /// A remote partition's home.
    pub struct RemotePartitionConfig {
        /// The home cluster's name.
        pub home_cluster: String,
        /// The home SPU's key.
        pub home_spu_key: String,
        /// The home SPU's id.
        pub home_spu_id: i32,
        /// The home SPU's endpoint.
        pub home_spu_endpoint: String,
        /// Whether this side is the target (v18+).
        pub target: bool => 18..,
    }
}

wire_union! {
    /// Which side of a mirror a partition is on.
    pub enum PartitionMirrorConfig (default Remote) {
        /// A partition mirrored from a home cluster.
        Remote(RemotePartitionConfig) = 0,
        /// A partition mirrored to a remote cluster.
        Home(HomePartitionConfig) = 1,
    }
}

/// The partition of a mirror topic that belongs to one partner: on a home cluster a
/// remote's, on a remote cluster its home's (its only partition).
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorPartition {
    /// The partition number.
    pub partition: u32,
    /// Its mirror configuration.
    pub config: PartitionMirrorConfig,
}

impl MirrorPartition {
    /// Whether this side takes produce requests for the partition, as the SPU decides it
    /// (`accept_traffic` upstream): a home partition when the topic flows home to remote, a
    /// remote's partition when it flows remote to home.
    pub fn accepts_produce(&self) -> bool {
        match &self.config {
            PartitionMirrorConfig::Home(home) => home.source,
            PartitionMirrorConfig::Remote(remote) => !remote.target,
        }
    }
}

impl MirrorConfig {
    /// The partition that belongs to partner `name` (a remote's id on the home side, the
    /// home's id on a remote), if `name` is one.
    pub fn partition_of(&self, name: &str) -> Option<MirrorPartition> {
        match self {
            MirrorConfig::Home(home) => {
                let index = home
                    .partitions
                    .iter()
                    .position(|p| p.remote_cluster == name)?;
                Some(MirrorPartition {
                    partition: u32::try_from(index).ok()?,
                    config: PartitionMirrorConfig::Home(home.partitions[index].clone()),
                })
            }
            MirrorConfig::Remote(remote) if remote.home_cluster == name => {
                let spu = remote.home_spus.first().cloned().unwrap_or_default();
                Some(MirrorPartition {
                    partition: 0,
                    config: PartitionMirrorConfig::Remote(RemotePartitionConfig {
                        home_cluster: remote.home_cluster.clone(),
                        home_spu_key: spu.key,
                        home_spu_id: spu.id,
                        home_spu_endpoint: spu.endpoint,
                        target: remote.target,
                    }),
                })
            }
            MirrorConfig::Remote(_) => None,
        }
    }

    /// The partners' names: the remotes in partition order, or the home.
    pub fn partners(&self) -> Vec<String> {
        match self {
            MirrorConfig::Home(home) => home
                .partitions
                .iter()
                .map(|p| p.remote_cluster.clone())
                .collect(),
            MirrorConfig::Remote(remote) => vec![remote.home_cluster.clone()],
        }
    }
}
