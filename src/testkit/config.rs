//! How a test cluster is shaped.

/// Settings of a [`TestCluster`](super::TestCluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestClusterConfig {
    /// How many SPUs to run (at least one).
    pub spus: usize,
    /// Serve TLS on every port, with certificates from a CA made for this cluster.
    pub tls: bool,
    /// The TLS domain: the SC's certificate is for `domain`, each SPU's for
    /// `<spu-name>.<domain>`.
    pub domain: String,
    /// The id of the first SPU; the others follow (the local Fluvio cluster starts at 5001).
    pub first_spu_id: i32,
}

impl Default for TestClusterConfig {
    /// One SPU, plain TCP, domain `fluvio.test`, SPU ids from 5001.
    fn default() -> Self {
        Self {
            spus: 1,
            tls: false,
            domain: "fluvio.test".into(),
            first_spu_id: 5001,
        }
    }
}
