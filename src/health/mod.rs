//! Liveness and readiness of a worker process: [`Health`] watches clients and pipelines and
//! answers the two questions an orchestrator asks. With the `web` feature, [`web`] serves
//! them as `/healthz` and `/readyz` (actix-web handlers to mount in your own app, or a
//! small server of their own next to `/metrics`).
//!
//! - **Liveness** ([`Health::liveness`]): every watched client's actors (the cluster
//!   supervisor and the SC connection) answer a message within [`PROBE_TIMEOUT`]. They serve
//!   their mailboxes also while the SC is away, so an outage does not make a worker "dead":
//!   restarting it would not help.
//! - **Readiness** ([`Health::readiness`]): every watched client is connected to its SC,
//!   and every watched pipeline is running with each of its partitions streaming. When not,
//!   the check lists why, one sentence per reason:
//!   - `SC connection to ADDR is connecting|backing_off|closed`;
//!   - `pipeline 'ID' is draining|stopped`;
//!   - `partition TOPIC-P of pipeline 'ID': it is starting | its stream is resuming | its
//!     worker is restarting | it ended`.
//!
//! ```no_run
//! # async fn demo(client: actix_fluvio::cluster::FluvioClient, pipeline: actix_fluvio::pipeline::PipelineHandle) {
//! use actix_fluvio::health::Health;
//!
//! let health = Health::new();
//! health.watch_client(&client);
//! health.watch_pipeline(pipeline.status());
//! let ready = health.readiness();
//! if !ready.is_ok() {
//!     eprintln!("not ready: {}", ready.reasons().join("; "));
//! }
//! # }
//! ```

#[cfg(feature = "web")]
pub mod web;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cluster::FluvioClient;
use crate::connection::ConnectionState;
use crate::pipeline::PipelineStatus;

/// How long an actor may take to answer a liveness probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The outcome of a check: passed, or the reasons it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    reasons: Vec<String>,
}

impl Check {
    /// Whether the check passed.
    pub fn is_ok(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Why it did not pass (empty when it did).
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }
}

/// The clients and pipelines a process's health is made of; cheap to clone (clones share
/// what they watch). A process that watches nothing is live and ready.
#[derive(Debug, Clone, Default)]
pub struct Health {
    watched: Arc<Mutex<Watched>>,
}

#[derive(Debug, Default)]
struct Watched {
    clients: Vec<FluvioClient>,
    pipelines: Vec<PipelineStatus>,
}

impl Health {
    /// Watching nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Watch `client`: its actors for liveness, its SC connection for readiness.
    pub fn watch_client(&self, client: &FluvioClient) {
        self.watched().clients.push(client.clone());
    }

    /// Watch a pipeline (from [`crate::pipeline::PipelineHandle::status`]) for readiness.
    pub fn watch_pipeline(&self, status: PipelineStatus) {
        self.watched().pipelines.push(status);
    }

    /// Whether every watched client's actors answer within [`PROBE_TIMEOUT`].
    pub async fn liveness(&self) -> Check {
        let clients = self.watched().clients.clone();
        let mut reasons = Vec::new();
        for client in clients {
            if !client.actors_answer(PROBE_TIMEOUT).await {
                let (endpoint, _) = client.endpoint();
                reasons.push(format!(
                    "the actors of the client of {endpoint} did not answer within {PROBE_TIMEOUT:?}"
                ));
            }
        }
        Check { reasons }
    }

    /// Whether every watched client is connected to its SC and every watched pipeline is
    /// running with all its partitions streaming (see the module docs for the reasons).
    pub fn readiness(&self) -> Check {
        let watched = self.watched();
        let mut reasons = Vec::new();
        for client in &watched.clients {
            let sc = client.sc();
            let state = sc.state();
            if state != ConnectionState::Up {
                reasons.push(format!(
                    "SC connection to {} is {}",
                    sc.addr(),
                    state.as_str()
                ));
            }
        }
        for pipeline in &watched.pipelines {
            reasons.extend(pipeline.not_ready());
        }
        Check { reasons }
    }

    fn watched(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }
}
