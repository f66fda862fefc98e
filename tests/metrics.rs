//! `/metrics` scraped over HTTP reports the records that flowed, and a scrape of a process
//! running two pipelines follows the Prometheus naming guide and the documented table; a
//! pipeline reading a mirror topic labels its partitions with their remotes.
//!
//! (Above 400 lines on purpose: the scrape parser and the naming-guide checks are shared by
//! both tests.)

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::connection::ConnectionState;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::pipeline::{
    start_pipeline, Output, PipelineConfig, PipelineHandle, Process, WorkerError,
};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::telemetry::{
    self, Metric, MetricKind, BATCH_BYTES_BUCKETS, BATCH_RECORDS_BUCKETS, LATENCY_BUCKETS, METRICS,
};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

mod common;

use common::prometheus::{metrics_addr, scrape, value};

#[test]
fn a_second_recorder_is_refused_with_a_typed_error() {
    metrics_addr();
    let refused = telemetry::install_prometheus().unwrap_err();
    assert!(
        matches!(refused, telemetry::PrometheusError::RecorderInstalled(_)),
        "{refused}"
    );
}

#[tokio::test]
async fn counters_match_the_records_that_flowed() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let port = metrics_addr();
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let client = FluvioClient::connect(ClientConfig::new(cluster.sc_addr()))
            .await
            .unwrap();
        client
            .admin()
            .create_topic("m", TopicConfig::new(1))
            .await
            .unwrap();
        // A refused request: the answer's error code is counted by name.
        client
            .admin()
            .create_topic("m", TopicConfig::new(1))
            .await
            .unwrap_err();
        let producer = client.producer(ProducerOptions::default());
        producer
            .send_batch("m", (0..25).map(|i| (None::<&[u8]>, format!("{i:02}"))))
            .await
            .unwrap();
        let options = ConsumerOptions::builder().disable_continuous(true).build();
        let mut stream = client.partition_consumer("m", 0, options).await.unwrap();
        let mut n = 0;
        while let Some(r) = stream.next().await {
            r.unwrap();
            n += 1;
        }
        assert_eq!(n, 25);
        // A continuous stream of the same partition is counted while it is open, and no
        // longer once it is dropped (a group member that handed the partition over).
        let streams = "fluvio_consumer_streams{consumer=\"\",topic=\"m\",partition=\"0\"}";
        let at_end = ConsumerOptions::builder()
            .offset(actix_fluvio::consumer::Offset::End)
            .build();
        let live = client.partition_consumer("m", 0, at_end).await.unwrap();
        drop(stream);
        let body = scrape(port).await;
        assert_eq!(value(&body, streams), Some(1.0), "{body}");
        drop(live);
        let mut body = scrape(port).await;
        while value(&body, streams) != Some(0.0) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            body = scrape(port).await;
        }
        assert_eq!(
            value(&body, "fluvio_produced_records_total{topic=\"m\"}"),
            Some(25.0),
            "{body}"
        );
        assert_eq!(
            value(&body, "fluvio_produced_bytes_total{topic=\"m\"}").map(|b| b > 0.0),
            Some(true)
        );
        assert_eq!(
            value(
                &body,
                "fluvio_consumed_records_total{consumer=\"\",topic=\"m\",partition=\"0\"}"
            ),
            Some(25.0),
            "{body}"
        );
        assert!(
            body.contains("fluvio_requests_total{api=\"produce\"}"),
            "{body}"
        );
        assert!(body.contains("fluvio_request_duration_seconds"), "{body}");
        let refused = body.lines().find(|l| {
            l.starts_with("fluvio_response_errors_total{")
                && l.contains("code=\"TopicAlreadyExists\"")
        });
        assert_eq!(
            refused.and_then(|l| l.rsplit(' ').next()),
            Some("1"),
            "{body}"
        );
    })
    .await
    .expect("test timed out");
}

/// A worker that fails once on each value of `fail` (then it is restarted).
struct FailOnce {
    fail: Arc<Mutex<HashSet<String>>>,
}

impl Actor for FailOnce {
    type Context = Context<Self>;
}

impl Handler<Process> for FailOnce {
    type Result = Result<Vec<Output>, WorkerError>;

    fn handle(&mut self, msg: Process, _: &mut Context<Self>) -> Self::Result {
        let value = String::from_utf8_lossy(&msg.0.value).into_owned();
        if self.fail.lock().unwrap().remove(&value) {
            return Err(WorkerError::new(format!("fails once on {value}")));
        }
        Ok(vec![Output::value(value.to_uppercase())])
    }
}

/// One sample of a scrape: its series name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The `fluvio_` samples of a scrape, and the declared `# TYPE` and `# HELP` of each metric.
fn parse(body: &str) -> (Vec<Sample>, BTreeMap<String, (String, String)>) {
    let mut samples = Vec::new();
    let mut types = BTreeMap::<String, (String, String)>::new();
    for line in body.lines().filter(|l| l.contains("fluvio_")) {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declared.split_once(' ').unwrap();
            types.entry(name.to_owned()).or_default().0 = kind.to_owned();
            continue;
        }
        if let Some(declared) = line.strip_prefix("# HELP ") {
            let (name, help) = declared.split_once(' ').unwrap();
            types.entry(name.to_owned()).or_default().1 = help.to_owned();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k.to_owned(), v.trim_matches('"').to_owned())
            })
            .collect();
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value: value.parse().unwrap(),
        });
    }
    (samples, types)
}

/// The value of the one sample of `name` whose labels include `labels`.
fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// The documented metric a series name belongs to (a histogram's series by their suffix).
fn documented(series: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| {
        m.name == series
            || (m.kind == MetricKind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| series.strip_suffix(s) == Some(m.name)))
    })
}

async fn start(
    client: &FluvioClient,
    consumer: &str,
    n: &str,
    fail: HashSet<String>,
) -> PipelineHandle {
    let mut config = PipelineConfig::new(format!("fleet-in-{n}"), consumer);
    config.sink = Some(format!("fleet-out-{n}"));
    config.workers = 2;
    config.commit_every = 5;
    config.failure.backoff = actix_fluvio::pipeline::Backoff::fixed(Duration::from_millis(20));
    let fail = Arc::new(Mutex::new(fail));
    start_pipeline(client, config, move |_| {
        let fail = fail.clone();
        FailOnce::create(|_| FailOnce { fail }).recipient()
    })
    .await
    .unwrap()
}

#[actix_rt::test]
async fn a_scrape_of_two_pipelines_follows_the_naming_guide_and_the_table() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let addr = metrics_addr();
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let client = cluster.client().await.unwrap();
        for (topic, partitions) in [
            ("fleet-in-a", 2),
            ("fleet-in-b", 1),
            ("fleet-out-a", 1),
            ("fleet-out-b", 1),
        ] {
            client
                .admin()
                .create_topic(topic, TopicConfig::new(partitions))
                .await
                .unwrap();
        }
        let producer = client.producer(ProducerOptions::default());
        for (n, count) in [("a", 40), ("b", 20)] {
            let records = (0..count).map(|i| (Some(format!("k{i}")), format!("{n}-{i}")));
            producer
                .send_batch(&format!("fleet-in-{n}"), records)
                .await
                .unwrap();
        }
        let a = start(&client, "fleet-a", "a", ["a-7".to_owned()].into()).await;
        let b = start(&client, "fleet-b", "b", HashSet::new()).await;
        let acked = |p: &PipelineHandle| p.stats().acked;
        while acked(&a) < 40 || acked(&b) < 20 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A reconnect of every connection (counted by server address).
        cluster.drop_connections();
        while client.low_level().sc().reconnects() == 0
            || client.low_level().sc().state() != ConnectionState::Up
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Scrape once every partition committed after its last record (commit age restarts).
        let partitions = [
            ("fleet-a", "fleet-in-a", "0"),
            ("fleet-a", "fleet-in-a", "1"),
            ("fleet-b", "fleet-in-b", "0"),
        ];
        let (body, samples, types) = loop {
            let body = scrape(addr).await;
            let (samples, types) = parse(&body);
            let committed_after_records = partitions.iter().all(|&(consumer, topic, partition)| {
                let labels = [
                    ("consumer", consumer),
                    ("topic", topic),
                    ("partition", partition),
                ];
                let at = |name| {
                    sample(&samples, name, &labels)
                        .unwrap_or_else(|| panic!("{name} {labels:?}: {body}"))
                };
                let (commit, record) = (
                    at("fluvio_consumer_last_commit_timestamp_seconds"),
                    at("fluvio_consumer_last_record_timestamp_seconds"),
                );
                assert!(record > 1.7e9 && commit > 1.7e9, "{labels:?}: {body}");
                commit >= record
            });
            if committed_after_records {
                break (body, samples, types);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };

        // Every metric is documented, with its documented type (histograms, no summaries),
        // help text and exactly its documented labels.
        for (name, (kind, help)) in &types {
            let metric = documented(name).unwrap_or_else(|| panic!("{name} is not in the table"));
            assert_eq!(metric.name, name);
            let expected = match metric.kind {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
                MetricKind::Histogram => "histogram",
            };
            assert_eq!(kind, expected, "{name}");
            assert_eq!(help, metric.help, "{name}");
        }
        for s in &samples {
            let metric =
                documented(&s.name).unwrap_or_else(|| panic!("{} is not in the table", s.name));
            let mut labels: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
            if s.name.ends_with("_bucket") {
                assert!(labels.remove("le"), "{s:?}");
            }
            let documented: BTreeSet<&str> = metric.labels.iter().copied().collect();
            assert_eq!(labels, documented, "{s:?}");
            if let Some(api) = s.labels.get("api") {
                assert!(
                    api.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{s:?}"
                );
            }
        }

        // Histograms with the documented buckets.
        for (name, labels, buckets) in [
            (
                "fluvio_request_duration_seconds_bucket",
                &[("api", "produce")][..],
                LATENCY_BUCKETS,
            ),
            (
                "fluvio_request_duration_seconds_bucket",
                &[("api", "update_consumer_offset")][..],
                LATENCY_BUCKETS,
            ),
            (
                "fluvio_produce_batch_records_bucket",
                &[][..],
                BATCH_RECORDS_BUCKETS,
            ),
            (
                "fluvio_produce_batch_bytes_bucket",
                &[][..],
                BATCH_BYTES_BUCKETS,
            ),
        ] {
            let les: Vec<f64> = samples
                .iter()
                .filter(|s| {
                    s.name == name
                        && labels
                            .iter()
                            .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
                })
                .map(|s| s.labels["le"].parse::<f64>().unwrap())
                .collect();
            let mut expected = buckets.to_vec();
            expected.push(f64::INFINITY);
            assert_eq!(les, expected, "{name} {labels:?}");
        }
        for api in ["produce", "stream_fetch", "fetch_offsets", "list", "watch"] {
            assert!(
                sample(&samples, "fluvio_requests_total", &[("api", api)]).is_some(),
                "api {api}: {body}"
            );
        }

        // Per pipeline and per partition.
        for (consumer, topic, partitions, records) in [
            ("fleet-a", "fleet-in-a", 2, 40.0),
            ("fleet-b", "fleet-in-b", 1, 20.0),
        ] {
            let pipeline = [("consumer", consumer)];
            assert!(
                sample(&samples, "fluvio_pipeline_acked_records_total", &pipeline) >= Some(records),
                "{consumer}"
            );
            assert_eq!(
                sample(
                    &samples,
                    "fluvio_pipelines",
                    &[("consumer", consumer), ("state", "running")]
                ),
                Some(1.0)
            );
            assert_eq!(
                sample(
                    &samples,
                    "fluvio_pipelines",
                    &[("consumer", consumer), ("state", "draining")]
                ),
                Some(0.0)
            );
            for p in 0..partitions {
                let partition = p.to_string();
                let labels = [
                    ("consumer", consumer),
                    ("topic", topic),
                    ("partition", partition.as_str()),
                ];
                assert!(sample(&samples, "fluvio_consumer_lag_records", &labels).is_some());
                assert!(sample(&samples, "fluvio_pipeline_records_in_flight", &labels).is_some());
                let progress = "fluvio_pipeline_last_progress_timestamp_seconds";
                assert!(sample(&samples, progress, &labels) > Some(1.7e9), "{body}");
            }
        }
        // The record that failed once was retried once, by kind; the worker (which answered
        // an error) was not restarted. Counters read with `increase()` are there at 0 from
        // the partition's start, for every kind and the partition's worker.
        let retried = [("consumer", "fleet-a"), ("kind", "worker")];
        let name = "fluvio_pipeline_retried_records_total";
        assert_eq!(sample(&samples, name, &retried), Some(1.0), "{body}");
        for name in [
            "fluvio_pipeline_dead_lettered_records_total",
            "fluvio_pipeline_skipped_records_total",
        ] {
            let labels = [("consumer", "fleet-a"), ("kind", "panic")];
            assert_eq!(sample(&samples, name, &labels), Some(0.0), "{name}: {body}");
        }
        assert_eq!(
            sample(
                &samples,
                "fluvio_pipeline_worker_restarts_total",
                &[("consumer", "fleet-a")]
            ),
            Some(0.0)
        );
        // Registered for each pipeline (what was acknowledged is committed before a retry,
        // so the retry here may redeliver nothing).
        for consumer in ["fleet-a", "fleet-b"] {
            let redelivered = [("consumer", consumer)];
            let name = "fluvio_pipeline_redelivered_records_total";
            assert!(sample(&samples, name, &redelivered).is_some(), "{body}");
        }
        assert_eq!(
            sample(
                &samples,
                "fluvio_pipeline_worker_restarts_total",
                &[("consumer", "fleet-b")]
            ),
            Some(0.0)
        );
        let sc = [("addr", client.low_level().sc().addr())];
        assert!(
            sample(&samples, "fluvio_reconnects_total", &sc) >= Some(1.0),
            "{body}"
        );
        assert!(
            sample(&samples, "fluvio_connections", &[sc[0], ("state", "up")]) >= Some(1.0),
            "{body}"
        );

        a.drain().await.unwrap();
        b.drain().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[actix_rt::test]
async fn a_home_pipeline_labels_each_partition_of_a_mirror_topic_with_its_remote() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let addr = metrics_addr();
        let cluster = TestCluster::start(TestClusterConfig::default())
            .await
            .unwrap();
        let client = cluster.client().await.unwrap();
        let admin = client.admin();
        for remote in ["plant-a", "plant-b"] {
            admin.register_remote(remote).await.unwrap();
        }
        admin
            .create_mirror_topic("plant-readings", &["plant-a", "plant-b"], false)
            .await
            .unwrap();
        let pipeline = start_pipeline(
            &client,
            PipelineConfig::new("plant-readings", "plant-reader"),
            |_| {
                FailOnce::create(|_| FailOnce {
                    fail: Arc::default(),
                })
                .recipient()
            },
        )
        .await
        .unwrap();
        // Once both partitions stream (their lag gauges exist).
        let lag_of = |partition| {
            [
                ("consumer", "plant-reader"),
                ("topic", "plant-readings"),
                ("partition", partition),
            ]
        };
        let (body, samples) = loop {
            let body = scrape(addr).await;
            let (samples, _) = parse(&body);
            let lag = |p| sample(&samples, "fluvio_consumer_lag_records", &lag_of(p));
            if lag("0").is_some() && lag("1").is_some() {
                break (body, samples);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        for (partition, remote) in [("0", "plant-a"), ("1", "plant-b")] {
            let labels = [
                ("topic", "plant-readings"),
                ("partition", partition),
                ("mirror", remote),
                ("direction", "from-remote"),
            ];
            assert_eq!(
                sample(&samples, "fluvio_mirror_partition_info", &labels),
                Some(1.0),
                "{body}"
            );
        }
        pipeline.drain().await.unwrap();
    })
    .await
    .expect("test timed out");
}
