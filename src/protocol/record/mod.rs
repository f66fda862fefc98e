//! The record model: records, batches, record sets and batch compression.
