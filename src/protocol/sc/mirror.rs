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
