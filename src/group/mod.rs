//! Consumer groups on Fluvio alone: members of a group share the partitions of a topic,
//! each partition owned by one live member, rebalanced on join, leave, crash and new
//! partitions. Offsets are committed under the group's name as consumer id, so a new owner
//! resumes where the previous one committed.
//!
//! ```text
//!  member A ─┐ join / heartbeat / released / leave / expire / partitions / snapshot
//!  member B ─┼──────────────▶ topic consumer-group-NAME (1 partition,  ──▶ every member reads
//!  member C ─┘                 up to 3 replicas, read committed)          it in order, from
//!                                                                         the latest snapshot
//!                                   GroupView (same log ⇒ same view) ──▶ Assigned / Revoked / Lost
//! ```
//!
//! # Protocol
//!
//! Each group coordinates through one topic, `consumer-group-NAME` (one partition, created
//! by the first member with as many replicas as there are online SPUs, up to 3; an existing
//! one with more partitions is refused with [`GroupError::CoordinationTopic`]). Members
//! only append to it and read it in order, both *read committed* (a record counts once every
//! replica has it, so a leader failover never takes back a record a member applied), so
//! they all apply the same records in the same order, and [`GroupView`] — a pure function
//! of the log — is the same everywhere. No clock is compared across machines: time enters
//! only as records a member chose to write.
//!
//! Members start reading at the latest snapshot's point (stored as the offset of consumer
//! [`snapshot_consumer`] on the log), so joining costs the records since that snapshot, not
//! the group's whole history.
//!
//! - **Membership.** A member (id, random incarnation) is live from its `join` until its
//!   `leave`, or an `expire` of it. (Two processes started with one id are two members; the
//!   error is logged.) An `expire` carries the offset of the member's last record the
//!   writer had read, and counts only if it is still the member's last record where the
//!   expiry lands: a stale observer cannot expire a member that heartbeat since.
//! - **Generation.** It grows by one whenever the live members or the partition count (the
//!   largest `partitions` record) change; each generation computes a new assignment with
//!   [`assign`]: balanced, sticky (moves as few partitions as possible), deterministic.
//! - **Handover.** A partition is *held* by its owner, or by its previous owner while that
//!   one is live and has not written `released(partition)`. An owner starts a partition
//!   only when it holds it. A member that loses a partition gets [`Assignment::Revoked`],
//!   finishes and commits, answers through [`Release`], and only then writes the release,
//!   with the generation its view is at then: a release frees a partition only when it is
//!   no older than the generation that revoked it, so a release landing again after a
//!   producer retry frees nothing, and a partition given back and revoked again while it
//!   was being released waits for a release as recent. A partition the view has a member
//!   hold for another owner while nothing runs it there (it moved before the member started
//!   it, or came back and went again while its release was on its way) is released by that
//!   member at once, and again whenever it is revoked anew before the view hands it over,
//!   so a handover never waits for good on a release that came too early. A member that leaves
//!   releases everything first. A member that expired holds nothing. An application that
//!   does not release within [`GroupConfig::revoke_timeout`] costs its member the lease
//!   (below).
//! - **Lease.** A member's lease runs for `session_timeout` from the *send* time (its own
//!   clock since boot, which counts time the machine spent suspended) of its latest join or
//!   heartbeat that it has *read back* from the log while still a member. Without a lease it
//!   processes nothing: it gets [`Assignment::Lost`], its [`Fence`] turns invalid, it stops
//!   heartbeating; after the takeover margin it writes a leave for that incarnation (its
//!   partitions move then), and rejoins as a new incarnation once that leave is stored and
//!   it has read the log past it (when the leave failed, up to the log's end as it was
//!   then): a member whose reads are stuck, or whose log cannot store anything for a while
//!   (its leader down, its replicas waiting), does not join and leave over and over.
//! - **Expiry.** Each live member notes when it read each peer's last record; when a peer
//!   stays silent for `session_timeout + takeover_margin` on its clock, it appends an
//!   expiry of that peer, and appends it again if it is not read back within a session
//!   timeout (its append failed).
//!
//! ## The bound on double processing
//!
//! Let member X send its last heartbeat that is read back at time `s` (X's clock). X's
//! lease ends at `s + session_timeout`. Any peer reads that heartbeat at some time `r ≥ s`,
//! and the expiry it writes, the only way X's partitions move without X's own release or
//! leave, is written no earlier than `r + session_timeout + takeover_margin`. So with clocks
//! that run at the same rate, X's lease has ended at least `takeover_margin` before
//! another member may start X's partitions. Two members process a partition at once only
//! if X's application keeps going after its lease ended by more than `takeover_margin`
//! (less the clocks' rate drift over a session timeout): check [`Fence::is_valid`] before
//! processing or committing each record to stay inside the bound (pipelines do);
//! [`Assignment::Lost`]
//! arrives at most one tick (`min(heartbeat, takeover_margin) / 4`) after the lease ends.
//! A crashed member's partitions start again elsewhere within `session_timeout +
//! takeover_margin` plus one tick, plus the time to append and read back the expiry.
//!
//! ## Failure cases
//!
//! - **Crash** (the [`GroupMember`] dropped, the process killed): its partitions move once
//!   it is expired, `session_timeout + takeover_margin` after its last record was read.
//!   Records it processed after its last commit are processed again (at least once).
//! - **Pause or partition** (a stopped process, a lost network path, appends failing, or
//!   reads stuck): its heartbeats are not read back, its lease ends, it stops everything
//!   (`Lost`) before the others expire it; it rejoins as a new member once it can.
//! - **Appends work, reads do not**: the same; it stops heartbeating once its lease ends,
//!   so the others expire it.
//! - **An application that never answers `Revoked`**: the partition waits for
//!   `revoke_timeout`; then the member gives up its lease (as above) and the new owner
//!   starts it after the takeover margin. Dropping the [`Release`] answers.
//! - **The coordination topic unavailable**: no one can renew a lease; every member stops
//!   after the session timeout, and they regroup when it is back. Records count once every
//!   replica has them: with Fluvio 0.18 (whose high watermark waits for every replica), a
//!   replica's SPU that stays down holds the group up the same way until it is back.
//! - **Two live processes with the same member id**: two members (incarnations are random);
//!   each logs the error.
//! - **Records that are not group records** (another writer): skipped by every reader.
//! - **Snapshots and retention.** The first live member (one writer) writes a snapshot of
//!   the view every `snapshot_every` records and when it reads another member's join (each
//!   with the offset it is as of), and stores the point of each one it reads back. A member
//!   whose read starts after that point, or after records removed by retention, takes the
//!   view from the first snapshot whose point it can complete with the records still there,
//!   then applies them, and so holds the same view as members that read on; until then it
//!   processes nothing. When no snapshot comes within the session timeout of its join, it
//!   reads the log as if it were whole (members whose join was removed are unknown to it
//!   until they rejoin). A member that finds records removed *while* it reads (it was too far
//!   behind) stops everything and reloads from the next snapshot.
//! - **A process paused** (SIGSTOP, a stalled thread) past its lease: on resuming, every
//!   check of its [`Fence`] fails, so a pipeline's partition tasks hand nothing more to their
//!   workers, send nothing to the sink and commit nothing (a guarded commit also refuses to
//!   move a committed offset backwards), before `Lost` even reaches them.
//!
//! ## Layout
//! - `record`: the log's records; `view`: the state they build; `replay`: reading the log
//!   from its start or from a snapshot; `assign`: the assignment.
//! - `lease`: a member's own lease and its [`Fence`]; `handover`: what a member starts,
//!   revokes or loses; `task`: the member's loop; `member`: the [`GroupMember`] handle;
//!   `event`: [`Assignment`] and [`Release`]; `describe`: [`describe_group`], [`list_groups`].

mod assign;
mod clock;
mod config;
mod describe;
mod error;
mod event;
mod handover;
mod lease;
mod member;
mod record;
mod replay;
mod task;
mod view;

pub use assign::assign;
pub use config::{coordination_topic, snapshot_consumer, GroupConfig, COORDINATION_PREFIX};
pub use describe::{describe_group, list_groups, GroupDescription};
pub use error::GroupError;
pub use event::{Assignment, Release};
pub use lease::Fence;
pub use member::GroupMember;
pub use record::{GroupRecord, MemberKey};
pub use view::{Applied, GroupView};
