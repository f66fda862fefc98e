//! Conformance of the sc messages with the official crates.
