//! The official client against the embedded test cluster.
