//! Conformance of the spu messages with the official crates.
