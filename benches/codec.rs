//! Codec benchmarks (written with the record model).
fn main() {}
