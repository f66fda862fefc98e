//! Pipelines: a topic's records through user actors (workers) to a sink topic, with
//! at-least-once offset commits, a failure policy (retry, dead-letter, skip or stop), worker
//! restarts with redelivery, and drain.
//!
//! Each partition's records reach its worker (`partition % workers`) in order, without
//! waiting for the previous answer (up to [`PipelineConfig::max_in_flight`] records between
//! the stream and their acknowledgement); answers are taken in order, so the sink receives
//! each partition's outputs in order. The worker's answer acknowledges the record once its
//! outputs are acknowledged by the sink (or by the topics they name: [`Output::to_topic`]).
//! Offsets are committed under the pipeline's consumer id only up to the last record below
//! which everything was acknowledged, in batches (and on the interval when the partition is
//! idle).
//!
//! **Failures.** A record whose worker answers an error, panics (the worker stops on its own
//! arbiter) or times out, whose outputs the sink refuses, or that a typed worker cannot
//! decode, fails; the partition resumes from the last committed offset, so nothing after it
//! is skipped (redeliveries are counted: `fluvio_pipeline_redelivered_records_total`). A batch
//! that failed is delivered again one record at a time, down to the failing record (or
//! straight to it when the worker names it: [`WorkerError::at`]); that record is retried
//! with backoff and then, by [`PipelineConfig::failure`], dead-lettered (the default, to
//! `<source>-dlq`, in a [`DeadLetter`] envelope; [`replay`] writes such records back),
//! skipped, or the pipeline stops. A worker that panicked or hung is replaced on a new
//! arbiter. One poison record costs that record, not the pipeline.
//!
//! Workers come in three styles. A **batch worker** handles [`ProcessBatch`]: one partition's
//! records as the stream delivered them (up to `max_in_flight` and the read-ahead), one message
//! and one answer per batch: the fast path, with acknowledgement, ordering, commits and
//! redelivery per batch. A **per-record worker** handles [`Process`], one message per record,
//! in order per partition; the pipeline hands a partition's records to a relay on the worker's
//! own thread, which sends them there (a message within one thread costs a third of one between
//! two), a few at a time, and passes the answers back as they come (a worker that keeps up,
//! in runs of up to 64 records), so records answered are sent on and committed without
//! waiting for the rest of their batch. A **typed worker** handles
//! [`Decoded`] records, their key and value decoded by a codec ([`Json`] built in), and
//! answers [`TypedOutput`]s ([`Worker::json`], [`Worker::typed`]). The factory passed to
//! [`start_pipeline`] returns any of them. A worker that keeps state per
//! partition also handles [`PartitionEvent`] ([`Worker::with_partition_events`]): it hears when
//! a partition starts at it, and when it stops, before its final commit (drain, end, handed to
//! another group member) or without one (lost with a group lease).
//!
//! ```no_run
//! use actix::prelude::*;
//! use actix_fluvio::pipeline::{Output, ProcessBatch, WorkerError};
//!
//! struct Upper;
//!
//! impl Actor for Upper {
//!     type Context = Context<Self>;
//! }
//!
//! impl Handler<ProcessBatch> for Upper {
//!     type Result = Result<Vec<Output>, WorkerError>;
//!
//!     fn handle(&mut self, msg: ProcessBatch, _: &mut Context<Self>) -> Self::Result {
//!         let outputs = msg.records.into_iter().map(|record| {
//!             let value = record.value.to_ascii_uppercase();
//!             match record.key {
//!                 Some(key) => Output::keyed(key, value),
//!                 None => Output::value(value),
//!             }
//!         });
//!         Ok(outputs.collect())
//!     }
//! }
//!
//! # async fn run(client: actix_fluvio::cluster::FluvioClient) {
//! let mut config = actix_fluvio::pipeline::PipelineConfig::new("orders", "orders-upper");
//! config.sink = Some("orders-upper".into());
//! let pipeline = actix_fluvio::pipeline::start_pipeline(&client, config, |_| {
//!     Upper::create(|_| Upper).recipient::<ProcessBatch>()
//! })
//! .await
//! .unwrap();
//! # }
//! ```
//!
//! The source's consumer options (start offset, isolation, fetch size, SmartModules,
//! read-ahead) and the sink's producer options (compression, batching, linger, partitioner,
//! delivery) are [`PipelineConfig::consumer`] and [`PipelineConfig::producer`]; an
//! [`Output`] can set its key and its sink partition.
//!
//! A per-record worker may hand a record on to more actors of its own and answer when they are done;
//! the pipeline keeps the order of answers either way:
//!
//! ```no_run
//! use actix::prelude::*;
//! use actix_fluvio::pipeline::{Output, Process, WorkerError};
//!
//! /// A second stage: looks something up for a value.
//! #[derive(Message)]
//! #[rtype(result = "String")]
//! struct Enrich(String);
//!
//! struct Parse {
//!     enrich: Recipient<Enrich>,
//! }
//!
//! impl Actor for Parse {
//!     type Context = Context<Self>;
//! }
//!
//! impl Handler<Process> for Parse {
//!     type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;
//!
//!     fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
//!         let enrich = self.enrich.clone();
//!         let value = String::from_utf8_lossy(&msg.0.value).into_owned();
//!         Box::pin(async move {
//!             let enriched = enrich
//!                 .send(Enrich(value))
//!                 .await
//!                 .map_err(|e| WorkerError::new(e.to_string()))?;
//!             Ok(vec![Output::value(enriched)])
//!         })
//!     }
//! }
//! ```
//!
//! With a group as [`PipelineConfig::committer`], pipelines in any number of processes share
//! the source's partitions as a consumer group ([`crate::group`]): each runs the partitions assigned to
//! it, hands over revoked ones after finishing and committing their records in flight,
//! commits under the group's name, and leaves the group when drained.
//!
//! [`PipelineHandle::drain_on_shutdown`] drains on Ctrl-C, SIGTERM or `System` stop; when one
//! partition fails for good, the others drain and the pipeline stops with that error.

mod codec;
mod committer;
mod config;
mod dead_letter;
mod dlq_topic;
mod failure;
mod group;
mod mirror_metrics;
mod partition;
mod partition_metrics;
mod policy;
mod relay;
mod replay;
mod run;
mod shutdown;
mod stats;
mod status;
mod tracker;
mod typed;
mod units;
mod worker;
mod workers;

pub use codec::{CodecError, Decode, Encode, Json, Raw, Utf8};
pub use committer::Committer;
pub use config::{PipelineConfig, PipelineConfigBuilder};
pub use dead_letter::{DeadLetter, EnvelopeError, ErrorInfo, Payload};
pub use failure::{Failure, FailureKind};
pub use policy::{Backoff, FailurePolicy, GiveUp};
pub use replay::{replay, ReplayError, ReplayOptions, ReplayStats};
pub use run::{start_pipeline, PipelineError, PipelineHandle};
pub use shutdown::{shutdown_signal, system_stopped};
pub use stats::PipelineStats;
pub use status::{PipelineState, PipelineStatus};
pub use tracker::OffsetTracker;
pub use typed::{Decoded, TypedOutput};
pub use worker::{Output, PartitionEvent, Process, ProcessBatch, Worker, WorkerError};
