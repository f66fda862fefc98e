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
    /// The SC's port on 127.0.0.1 (0: any free port, the default; a fixed one for a
    /// cluster that programs started elsewhere find at a known address). SPUs always take
    /// free ports: clients learn theirs from the SC.
    pub sc_port: u16,
}

impl Default for TestClusterConfig {
    /// One SPU, plain TCP, domain `fluvio.test`, SPU ids from 5001, any free SC port.
    fn default() -> Self {
        Self {
            spus: 1,
            tls: false,
            domain: "fluvio.test".into(),
            first_spu_id: 5001,
            sc_port: 0,
        }
    }
}
