//! A pipeline owns its workers' threads: a worker that panics and is restarted 1,000 times
//! leaves the process with as many threads as before (each restart used to leave the failed
//! worker's arbiter thread behind). A test binary of its own: it counts the process's
//! threads.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_fluvio::pipeline::{
    start_pipeline, Backoff, FailurePolicy, GiveUp, Output, PipelineConfig, Process, WorkerError,
};
use actix_fluvio::producer::ProducerOptions;
use common::embedded::cluster_with_topics;

/// Panics on every record it is given, noting the thread it runs on.
struct AlwaysFails(Arc<Mutex<HashSet<std::thread::ThreadId>>>);

impl Actor for AlwaysFails {
    type Context = Context<Self>;
}

impl Handler<Process> for AlwaysFails {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, _: Process, _: &mut Context<Self>) -> Self::Result {
        self.0.lock().unwrap().insert(std::thread::current().id());
        panic!("always")
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[actix_rt::test]
#[cfg(target_os = "linux")]
async fn a_thousand_worker_restarts_leave_no_thread_behind() {
    let (_cluster, client) = cluster_with_topics(1, &[("poison", 1)]).await;
    let producer = client.producer(ProducerOptions::default());
    producer
        .send("poison", None, b"bad".as_slice())
        .await
        .unwrap();
    producer.flush().await.unwrap();
    let mut config = PipelineConfig::new("poison", "restarter");
    // Retried for ever, a millisecond apart: a restart per attempt.
    config.failure = FailurePolicy {
        retries: u32::MAX,
        backoff: Backoff::fixed(Duration::from_millis(1)),
        then: GiveUp::Stop,
    };
    let ran_on = Arc::new(Mutex::new(HashSet::new()));
    let factory_ran_on = ran_on.clone();
    let pipeline = start_pipeline(&client, config, move |_| {
        AlwaysFails(factory_ran_on.clone()).start().recipient()
    })
    .await
    .unwrap();
    let started = Instant::now();
    while pipeline.stats().restarts < 10 {
        assert!(started.elapsed() < Duration::from_secs(30), "no restarts");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = threads();
    while pipeline.stats().restarts < 1_010 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} restarts",
            pipeline.stats().restarts
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Stopped arbiters' threads end a moment later.
    let mut after = threads();
    let settling = Instant::now();
    while after > before + 2 && settling.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = threads();
    }
    println!("threads: {before} after 10 restarts, {after} after 1,010");
    assert!(after <= before + 2, "{before} threads became {after}");
    // Each incarnation ran on a thread of its own, never the caller's.
    let ran_on = ran_on.lock().unwrap().clone();
    assert!(!ran_on.contains(&std::thread::current().id()));
    assert!(
        ran_on.len() > 1_000,
        "{} threads ran the worker",
        ran_on.len()
    );
    pipeline.drain().await.unwrap();
}
