//! Delivery deadlines on a real Fluvio cluster this test owns (an SC and one SPU from
//! `FLUVIO_RUN`): the SPU leading a topic is down for 130 s under a producer of 200 records a
//! second with the default 120 s delivery timeout. Each record must fail at its own deadline
//! (queued + 120 s, ± 5 s) if the outage outlasts it, and be delivered otherwise: records
//! queued in the outage's last 120 s are not failed with the older ones. The official
//! producer writes its own topic through the same outage; its outcome is printed beside ours.
//!
//! Ignored by a plain `cargo test` (listed as ignored); run with a `fluvio-run` binary:
//! `FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test
//! real_cluster_deadlines -- --ignored --nocapture`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::producer::{ProducerError, ProducerOptions};

use common::local_cluster::{fluvio_run, until, LocalCluster};

const RATE_PAUSE: Duration = Duration::from_millis(5);
const OUTAGE: Duration = Duration::from_secs(130);
const TIMEOUT: Duration = Duration::from_secs(120);
const SLACK: Duration = Duration::from_secs(5);

/// One record: when it was queued (since the start) and how it settled, when.
struct Settled {
    queued: Duration,
    settled: Duration,
    result: Result<(), String>,
    timed_out: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts its own cluster: FLUVIO_RUN=~/.fluvio/bin/fluvio-run cargo test --all-features --test real_cluster_deadlines -- --ignored"]
async fn a_130_s_outage_fails_each_record_at_its_own_deadline_and_delivers_the_younger() {
    // RUST_LOG=actix_fluvio=debug shows the client's side of the outage.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let mut cluster = LocalCluster::start(fluvio_run(), 1).await;
    let spu = *cluster.spus.keys().next().unwrap();
    let client = cluster.client().await;
    for topic in ["deadlines", "deadlines-official"] {
        client
            .admin()
            .create_topic(topic, TopicConfig::new(1))
            .await
            .unwrap();
        until("the topic takes records", Duration::from_secs(60), || {
            let producer = client.producer(ProducerOptions::default());
            async move { producer.send(topic, None, b"probe").await.is_ok() }
        })
        .await;
    }
    let fluvio =
        fluvio::Fluvio::connect_with_config(&fluvio::FluvioClusterConfig::new(&cluster.sc_public))
            .await
            .expect("the official client connects");
    let official = fluvio
        .topic_producer("deadlines-official".to_string())
        .await
        .unwrap();
    let run_for = Duration::from_secs(5) + OUTAGE + Duration::from_secs(20);
    // The official producer on its own task: its sends may block while the SPU is away.
    let official = tokio::spawn(async move {
        let started = Instant::now();
        let (mut sent, mut errors, mut outputs) = (0u64, Vec::new(), Vec::new());
        while started.elapsed() < run_for {
            match official.send(fluvio::RecordKey::NULL, "steady").await {
                Ok(output) => outputs.push(output),
                Err(e) => errors.push(format!("{:?}: {e}", started.elapsed())),
            }
            sent += 1;
            tokio::time::sleep(RATE_PAUSE).await;
        }
        let (mut acked, mut failed) = (0u64, 0u64);
        for output in outputs {
            match output.wait().await {
                Ok(_) => acked += 1,
                Err(e) => {
                    failed += 1;
                    if errors.len() < 3 {
                        errors.push(e.to_string());
                    }
                }
            }
        }
        errors.truncate(3);
        (sent, acked, failed, errors)
    });

    let producer = client.producer(ProducerOptions::default());
    let started = Instant::now();
    let settled = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    let mut down_at = None;
    let mut up_at = None;
    let mut serving = None;
    // 200 records a second from 0 to outage + 25 s; the SPU goes down at 5 s.
    while started.elapsed() < run_for {
        let now = started.elapsed();
        if down_at.is_none() && now >= Duration::from_secs(5) {
            cluster.kill_spu(spu);
            down_at = Some(started.elapsed());
        }
        if let (Some(down), None) = (down_at, up_at) {
            if now >= down + OUTAGE {
                cluster.start_spu(spu);
                up_at = Some(started.elapsed());
                // When a client with no history (no backoff, no cached state) can read the
                // partition again: the SPU and the SC's metadata are ready.
                let sc = cluster.sc_public.clone();
                serving = Some(tokio::spawn(async move {
                    loop {
                        let config = actix_fluvio::cluster::ClientConfig::new(sc.clone());
                        if let Ok(fresh) =
                            actix_fluvio::cluster::FluvioClient::connect(config).await
                        {
                            if fresh.partition_offsets("deadlines", 0).await.is_ok() {
                                return started.elapsed();
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }));
            }
        }
        let queued = started.elapsed();
        let receipt = producer
            .enqueue("deadlines", None, b"steady")
            .await
            .expect("queued");
        let settled = settled.clone();
        tasks.push(tokio::spawn(async move {
            let result = receipt.wait().await;
            let timed_out = matches!(result, Err(ProducerError::DeliveryTimeout { .. }));
            settled.lock().unwrap().push(Settled {
                queued,
                settled: started.elapsed(),
                result: result.map(|_| ()).map_err(|e| e.to_string()),
                timed_out,
            });
        }));
        tokio::time::sleep(RATE_PAUSE).await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (down, up) = (down_at.unwrap(), up_at.unwrap());
    let serving = serving.unwrap().await.unwrap();

    let settled = std::mem::take(&mut *settled.lock().unwrap());
    let (mut delivered, mut failed, mut late, mut early) = (0, 0, 0, 0);
    let mut wrongly_failed = 0;
    let mut wrongly_delivered = 0;
    let mut first_delivered_after = None::<Duration>;
    for record in settled.iter() {
        let deadline = record.queued + TIMEOUT;
        match &record.result {
            Ok(()) => {
                delivered += 1;
                if record.queued > down {
                    first_delivered_after = Some(
                        first_delivered_after.map_or(record.settled, |t| t.min(record.settled)),
                    );
                }
                // Queued in the outage and still waiting when its deadline passed.
                if record.queued > down && deadline + SLACK < serving {
                    wrongly_delivered += 1;
                }
            }
            Err(e) => {
                failed += 1;
                assert!(record.timed_out, "only delivery timeouts: {e}");
                if record.settled > deadline + SLACK {
                    late += 1;
                }
                if record.settled + SLACK < deadline {
                    early += 1;
                }
                // Its deadline came after the partition could be read and written again
                // (with time to deliver it).
                if deadline > serving + SLACK {
                    wrongly_failed += 1;
                }
            }
        }
    }
    let (official_sent, official_acked, official_failed, official_errors) = official.await.unwrap();
    println!(
        "SPU down {down:?}..{up:?}, the partition served a new client again at {serving:?}, our first record queued in the outage delivered at {first_delivered_after:?}; ours: {} records, delivered {delivered}, failed {failed} (late {late}, early {early}, failed though their deadline came after the SPU was back {wrongly_failed}); \
         official: sent {official_sent}, acknowledged {official_acked}, failed {official_failed} ({official_errors:?})",
        settled.len()
    );
    assert!(failed > 0, "records queued early in the outage fail");
    assert_eq!(
        (late, early),
        (0, 0),
        "each fails at its own deadline ± {SLACK:?}"
    );
    assert_eq!(
        wrongly_failed, 0,
        "records younger than the outage are delivered"
    );
    assert_eq!(
        wrongly_delivered, 0,
        "records older than their deadline are not delivered"
    );
}
