//! A pipeline worker that hangs on a caught-up partition shows in `/metrics` (what
//! `FluvioWorkerStuck` in `config/alert-rules.yml` reads): its records stay in flight and the
//! partition's progress timestamp stops, while the lag, written as of the last frame, stays
//! 0. An idle partition holds nothing in flight.

use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::pipeline::{start_pipeline, Output, PipelineConfig, Process, WorkerError};
use actix_fluvio::producer::ProducerOptions;

mod common;

use common::embedded::cluster_with_topics;
use common::prometheus::{metrics_addr, scrape, value};

/// Answers every record at once, except `hang`, which it never answers.
struct HangsOnOne;

impl Actor for HangsOnOne {
    type Context = Context<Self>;
}

impl Handler<Process> for HangsOnOne {
    type Result = ResponseFuture<Result<Vec<Output>, WorkerError>>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        if &msg.0.value[..] == b"hang" {
            Box::pin(std::future::pending())
        } else {
            Box::pin(async { Ok(Vec::new()) })
        }
    }
}

const LABELS: &str = r#"{consumer="stuck",topic="stuck-in",partition="0"}"#;

/// The partition's in-flight records, progress timestamp and lag, in one scrape.
async fn partition(addr: std::net::SocketAddr) -> (f64, f64, f64) {
    let body = scrape(addr).await;
    let at = |name: &str| {
        value(&body, &format!("{name}{LABELS}")).unwrap_or_else(|| panic!("{name}: {body}"))
    };
    (
        at("fluvio_pipeline_records_in_flight"),
        at("fluvio_pipeline_last_progress_timestamp_seconds"),
        at("fluvio_consumer_lag_records"),
    )
}

#[actix_rt::test]
async fn a_worker_that_hangs_on_a_caught_up_partition_stops_its_progress_clock() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let addr = metrics_addr();
        let (_cluster, client) = cluster_with_topics(1, &[("stuck-in", 1)]).await;
        let producer = client.producer(ProducerOptions::default());
        let records = (0..3).map(|i| (None::<String>, format!("r{i}")));
        producer.send_batch("stuck-in", records).await.unwrap();
        let config = PipelineConfig::new("stuck-in", "stuck");
        let pipeline = start_pipeline(&client, config, |_| HangsOnOne.start().recipient())
            .await
            .unwrap();
        while pipeline.stats().acked < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Caught up and idle: nothing in flight, so no age of progress to alert on.
        let (in_flight, idle_since, lag) = partition(addr).await;
        assert_eq!((in_flight, lag), (0.0, 0.0));
        assert!(idle_since > 1.7e9, "{idle_since}");

        // A record reaches the idle worker, which hangs on it: the clock restarts then...
        tokio::time::sleep(Duration::from_millis(1100)).await;
        producer.send("stuck-in", None, b"hang").await.unwrap();
        let stuck_since = loop {
            let (in_flight, since, _) = partition(addr).await;
            if in_flight == 1.0 {
                break since;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            stuck_since >= idle_since + 1.0,
            "{idle_since} then {stuck_since}"
        );

        // ...and stays put while the record is in flight; the lag (as of the last frame,
        // which carried the record) says nothing.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(partition(addr).await, (1.0, stuck_since, 0.0));
    })
    .await
    .expect("test timed out");
}
