//! An embedded Fluvio cluster for tests: an SC and SPUs in this process, on `127.0.0.1:0`
//! ports, speaking the real wire protocol through this crate's codec — so tests (ours and
//! users') need no Fluvio install. Enabled by the `testkit` feature.
//!
//! ## Layout
//! - [`TestCluster`] / [`TestClusterConfig`]: start, addresses, shutdown, faults
//!   (`cluster`, `config`, `faults`, `error`).
//! - `conn`: listeners and per-connection reader/writer tasks (plain tokio tasks, so the
//!   cluster runs under `#[tokio::test]` and `#[actix_rt::test]` alike).
//! - `sc`, `topics`, `views`, `watch`: the SC object API over the shared state;
//!   `mirrors` and `mirror_topics`: Mirror objects and mirror topics.
//! - `spu`, `data`, `stream`, `log`: the SPU data API over in-memory partition logs.
//! - `state`: the shared state and its change signals; `tls`: the rcgen CA.
//!
//! ## How it differs from a real cluster
//! - Storage is memory; every write counts as replicated at once (HW = LEO), so
//!   read-committed produces answer immediately and followers are never behind.
//! - Batches with a bad CRC fail to decode and drop the connection (the real SPU ignores
//!   the CRC).
//! - There is no SmartModule engine: an invocation naming an unknown stored module gets
//!   `SmartModuleNotFound` (as on any SPU); any other invocation gets `SmartModuleInvalid`
//!   ("no SmartModule engine") instead of being run. (An upstream SPU built without its
//!   `smartengine` feature would pass the records through untouched; failing loudly keeps
//!   tests from mistaking unfiltered records for filtered ones.)
//! - Topic creation answers at once; a computed topic that needs more SPUs than exist gets
//!   `TopicNotProvisioned` immediately (the real SC waits up to 90 s first).
//! - A topic may have at most 10,000 partitions (a request for billions would exhaust
//!   memory); computed placement uses the SPUs that are up, leaders round-robin by id.
//! - Consumer offsets live in one store shared by all SPUs (no forwarding to the leader of
//!   `consumer-offset/0`, though fetch and delete still require that leader, as the real SPU).
//! - Mirror objects are created, deleted and listed as on a 0.18 SC (a Mirror watch ends
//!   the connection, as the real SC has none), but nothing pairs: they keep their initial
//!   Waiting/Offline status. A Mirror's name must equal the id in its spec
//!   (`InvalidCreateRequest`; the real SC stores the mismatch, which then never pairs).
//! - Mirror topics are created and listed as on a 0.18 SC: home (one partition per remote)
//!   and remote (one per home SPU), with their mirror maps and partition mirrors, AddMirror
//!   and the SC's mirror error codes. A mirror topic created with no SPU up stays
//!   `InsufficientResources` (as on the real SC), but is not placed when SPUs come up
//!   later; AddMirror places what is missing. SPUs refuse produce on the receiving side:
//!   `MirrorProduceFromHome` on a home partition that is not a source,
//!   `MirrorProduceFromRemoteNotAllowed` on a remote partition that is a target.
//! - Mirroring is metadata only: the data flow between clusters is not simulated. No record
//!   is copied from a remote to its home or back, no remote copy appears or disappears with
//!   its home topic, and neither the Mirroring API (1005, not advertised) nor the
//!   SPU-to-SPU link is served. A test plays each side itself: a remote copy is created as
//!   a `MirrorConfig::Remote` topic, and records are produced where the other side would.
//! - No custom SPU registration, SPU groups or table formats.
//! - The one-shot Fetch returns whole batches only.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use actix_fluvio::protocol::ErrorCode;
//! use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
//!
//! let cluster = TestCluster::start(TestClusterConfig { spus: 2, ..Default::default() }).await?;
//! cluster.set_response_delay(Duration::from_millis(50));
//! cluster.fail_next(0, ErrorCode::NotLeaderForPartition, 1); // the next produce fails
//! let spu = cluster.spu_ids()[0];
//! cluster.stop_spu(spu).await?;
//! cluster.restart_spu(spu).await?;
//! cluster.truncate_partition("consumer-offset", 0, 0)?; // the log goes backwards
//! cluster.remove_spu(spu).await?; // unregistered: clients close their connections
//! cluster.restart_sc_empty().await?; // a new SC: empty snapshots
//! # Ok(()) }
//! ```

mod cluster;
mod config;
mod conn;
mod data;
mod error;
mod faults;
mod log;
mod mirror_topics;
mod mirrors;
mod sc;
mod spu;
mod state;
mod stream;
mod tls;
mod topics;
mod views;
mod watch;

pub use cluster::TestCluster;
pub use config::TestClusterConfig;
pub use error::TestkitError;
pub use sc::SC_PLATFORM_VERSION;
pub use spu::SPU_PLATFORM_VERSION;
pub use tls::ClientIdentity;
