//! Conformance of the record messages with the official crates.
