//! Pipelines: a topic's records through user actors (workers) to a sink topic, with
//! at-least-once offset commits, worker restarts with redelivery, and drain.
//!
//! Each partition's records reach its worker (`partition % workers`) one at a time and in
//! order; the worker's answer acknowledges the record (after its outputs are acknowledged by
//! the sink). Offsets are committed under the pipeline's consumer id only up to the last
//! record below which everything was acknowledged, in batches. A worker that fails (answers
//! an error, or stops — e.g. panics on its own arbiter) is restarted after a backoff and the
//! partition resumes from the last committed offset, so nothing is skipped; redeliveries are
//! counted (`fluvio_pipeline_redelivered_total`).
//!
//! [`PipelineHandle::drain_on_shutdown`] drains on Ctrl-C, SIGTERM or `System` stop; when one
//! partition fails for good, the others drain and the pipeline stops with that error.

mod config;
mod run;
mod shutdown;
mod tracker;
mod worker;

pub use config::PipelineConfig;
pub use run::{start_pipeline, PipelineError, PipelineHandle, PipelineStats};
pub use shutdown::{shutdown_signal, system_stopped};
pub use tracker::OffsetTracker;
pub use worker::{Output, Process, WorkerError};
