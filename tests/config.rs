//! The configuration types as a user writes them in a file: each round-trips through TOML
//! (defaults and every field changed), a misspelt key is an error naming it, durations are
//! humantime strings, a key left out keeps its default, the builders set every field; and
//! the `worker` example's loader (`examples/common/worker_config.rs`) reads
//! config/worker.toml and takes environment overrides.

// `figment::Jail`'s closures return `figment::Error`, as large as it is.
#![allow(clippy::result_large_err)]

#[path = "../examples/common/worker_config.rs"]
#[allow(dead_code)]
mod worker_config;

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_fluvio::cluster::ClientConfig;
use actix_fluvio::connection::{ConnectionConfig, Keepalive, Pem, ReconnectPolicy, TlsPolicy};
use actix_fluvio::consumer::{ConsumerOptions, Offset};
use actix_fluvio::group::GroupConfig;
use actix_fluvio::pipeline::{Backoff, FailurePolicy, GiveUp, PipelineConfig};
use actix_fluvio::producer::{
    DeliveryGuarantee, KeyHashRoundRobin, PartitionerKind, ProducerOptions, RetryPolicy,
};
use actix_fluvio::protocol::record::Compression;
use actix_fluvio::protocol::spu::{Isolation, Lookback, SmartModuleInvocation, SmartModuleWasm};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// `value` written as TOML reads back equal; the text.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> String {
    let text = toml::to_string(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
    let back: T = toml::from_str(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
    assert_eq!(&back, value, "{text}");
    text
}

/// The error reading `text` as a `T`.
fn refused<T: DeserializeOwned + Debug>(text: &str) -> String {
    toml::from_str::<T>(text)
        .map(|v| panic!("{text} read as {v:?}"))
        .unwrap_err()
        .to_string()
}

fn connection() -> ConnectionConfig {
    let mut c = ConnectionConfig::default();
    c.client_id = "billing".into();
    c.connect_timeout = Duration::from_millis(2500);
    c.request_timeout = Duration::from_secs(90);
    c.max_in_flight = 7;
    c.max_frame_len = 1 << 20;
    c.reconnect = ReconnectPolicy {
        max_attempts: Some(4),
        jitter: 0.0,
        ..ReconnectPolicy::disabled()
    };
    c.tls = TlsPolicy::Mutual {
        domain: "fluvio.local".into(),
        ca: Pem::File("/etc/fluvio/ca.crt".into()),
        cert: Pem::Inline("-----BEGIN CERTIFICATE-----\n...".into()),
        key: Pem::File("client.key".into()),
    };
    c.keepalive = None;
    c
}

fn producer() -> ProducerOptions {
    let mut p = ProducerOptions::default();
    p.batch_size = 1000;
    p.linger = Duration::from_millis(5);
    p.max_request_size = 2 << 20;
    p.buffer_bytes = 1 << 20;
    p.compression = Compression::Zstd;
    p.partitioner = PartitionerKind::Specific(3);
    p.isolation = Isolation::ReadUncommitted;
    p.server_timeout = Duration::from_secs(3);
    p.delivery = DeliveryGuarantee::AtLeastOnce(RetryPolicy {
        max_retries: 9,
        multiplier: 1.5,
        timeout: Duration::from_secs(45),
        ..RetryPolicy::default()
    });
    p.drain_deadline = Duration::from_secs(1);
    p
}

fn consumer() -> ConsumerOptions {
    let mut c = ConsumerOptions::default();
    c.offset = Offset::FromEnd(10);
    c.max_bytes = 1 << 20;
    c.max_bytes_ceiling = 1 << 24;
    c.isolation = Isolation::ReadUncommitted;
    c.smartmodules = vec![
        SmartModuleInvocation::filter(SmartModuleWasm::predefined("my-filter"))
            .with_param("needle", "paid"),
        SmartModuleInvocation::aggregate(SmartModuleWasm::predefined("sum"), "0")
            .with_lookback(Lookback::age(Duration::from_secs(3600), Some(5)))
            .with_name("total"),
        SmartModuleInvocation::generic(SmartModuleWasm::predefined("detected")),
    ];
    c.disable_continuous = true;
    c.consumer_id = Some("reader".into());
    c.auto_commit = Some(Duration::from_millis(1500));
    c.buffer_records = 5;
    c.buffer_bytes = 1 << 10;
    c.reconnect = ReconnectPolicy {
        max_attempts: Some(2),
        ..ReconnectPolicy::default()
    };
    c.idle_probe = None;
    c
}

fn pipeline() -> PipelineConfig {
    let mut group = GroupConfig::new("billers", "");
    group.member_id = Some("member-1".into());
    group.session_timeout = Duration::from_secs(30);
    let mut p = PipelineConfig::new("orders", group);
    p.partition = Some(2);
    p.source_mirror = Some("edge1".into());
    p.sink = Some("orders-upper".into());
    p.sink_mirror = Some("edge2".into());
    p.workers = 4;
    p.max_in_flight = 10;
    p.max_in_flight_bytes = 1 << 10;
    p.commit_every = 5;
    p.commit_interval = Duration::from_millis(250);
    p.worker_timeout = Some(Duration::from_secs(30));
    p.failure = FailurePolicy {
        retries: 5,
        backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(30)),
        then: GiveUp::DeadLetter(Some("orders-rejected".into())),
    };
    p.exit_at_end = true;
    p.consumer = consumer();
    p.producer = producer();
    p
}

#[test]
fn every_config_round_trips_through_toml() {
    round_trips(&ConnectionConfig::default());
    round_trips(&connection());
    round_trips(&ClientConfig::default());
    let mut client = ClientConfig::new("10.0.0.1:9003");
    client.connection = connection();
    client.use_spu_local_address = true;
    client.metadata_timeout = Duration::from_secs(5);
    round_trips(&client);

    round_trips(&ProducerOptions::default());
    round_trips(&producer());
    let mut at_most_once = producer();
    at_most_once.delivery = DeliveryGuarantee::AtMostOnce;
    at_most_once.partitioner = PartitionerKind::KeyHashRoundRobin;
    round_trips(&at_most_once);

    round_trips(&ConsumerOptions::default());
    round_trips(&consumer());

    round_trips(&PipelineConfig::new("orders", "billing"));
    round_trips(&pipeline());
    for then in [GiveUp::DeadLetter(None), GiveUp::Skip, GiveUp::Stop] {
        let mut p = pipeline();
        p.failure.then = then;
        round_trips(&p);
    }
    for offset in [
        Offset::Beginning,
        Offset::End,
        Offset::Absolute(42),
        Offset::FromBeginning(7),
    ] {
        let mut c = consumer();
        c.offset = offset;
        round_trips(&c);
    }
    let mut tls = connection();
    for policy in [
        TlsPolicy::Disabled,
        TlsPolicy::DangerAcceptAnyCertificate,
        TlsPolicy::Verified {
            domain: "d".into(),
            ca: Pem::Inline("x".into()),
        },
    ] {
        tls.tls = policy;
        tls.keepalive = Some(Keepalive::default());
        round_trips(&tls);
    }
}

#[test]
fn files_read_as_documented() {
    let text = round_trips(&pipeline());
    for line in [
        "commit_interval = \"250ms\"",
        "worker_timeout = \"30s\"",
        "compression = \"zstd\"",
        "isolation = \"read-uncommitted\"",
        "idle_probe = \"off\"",
    ] {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
    let c: ConsumerOptions = toml::from_str("offset = \"end\"\nauto_commit = \"1m 30s\"").unwrap();
    assert_eq!(c.offset, Offset::End);
    assert_eq!(c.auto_commit, Some(Duration::from_secs(90)));
    assert_eq!(c.buffer_records, ConsumerOptions::default().buffer_records);
    let p: ProducerOptions = toml::from_str("delivery = \"at-most-once\"").unwrap();
    assert_eq!(p.delivery, DeliveryGuarantee::AtMostOnce);
    let p: ProducerOptions =
        toml::from_str("delivery = { at-least-once = { timeout = \"10s\" } }").unwrap();
    let DeliveryGuarantee::AtLeastOnce(retry) = p.delivery else {
        panic!("{:?}", p.delivery)
    };
    assert_eq!(
        (retry.timeout, retry.max_retries),
        (Duration::from_secs(10), RetryPolicy::default().max_retries)
    );
    let c: ConnectionConfig = toml::from_str("keepalive = { idle = \"5s\" }").unwrap();
    assert_eq!(
        c.keepalive,
        Some(Keepalive {
            idle: Duration::from_secs(5),
            ..Keepalive::default()
        })
    );
}

#[test]
fn a_misspelt_key_is_refused_by_name_at_every_level() {
    let err = refused::<ClientConfig>("sc_endpiont = \"x:1\"");
    assert!(err.contains("sc_endpiont"), "{err}");
    let err = refused::<ClientConfig>("[connection]\nrequest_timout = \"1s\"");
    assert!(err.contains("request_timout"), "{err}");
    let err = refused::<ConnectionConfig>("reconnect = { max_attempt = 3 }");
    assert!(err.contains("max_attempt"), "{err}");
    let err = refused::<ConnectionConfig>("keepalive = { idel = \"1s\" }");
    assert!(err.contains("idel"), "{err}");
    let err = refused::<ConnectionConfig>("tls = { verified = { domian = \"d\" } }");
    assert!(err.contains("domian"), "{err}");
    let err = refused::<ProducerOptions>("delivery = { at-least-once = { timeuot = \"1s\" } }");
    assert!(err.contains("timeuot"), "{err}");
    let err = refused::<ProducerOptions>("compression = \"zstandard\"");
    assert!(err.contains("zstandard") && err.contains("zstd"), "{err}");
    let err =
        refused::<ConsumerOptions>("[[smartmodules]]\nname = \"f\"\nkind = \"filter\"\nparam = {}");
    assert!(err.contains("param"), "{err}");
    let err = refused::<ConsumerOptions>("[[smartmodules]]\nname = \"f\"\nkind = \"join\"");
    assert!(err.contains("join") && err.contains("filter-map"), "{err}");
    let err =
        refused::<PipelineConfig>("source = \"s\"\ncommitter.consumer_id = \"c\"\nworker = 2");
    assert!(err.contains("worker"), "{err}");
    let err = refused::<PipelineConfig>(
        "source = \"s\"\ncommitter.consumer_id = \"c\"\nfailure = { then = \"retry-forever\" }",
    );
    assert!(err.contains("retry-forever"), "{err}");
    let err = refused::<PipelineConfig>("committer.consumer_id = \"c\"");
    assert!(err.contains("source"), "{err}");
    let err = refused::<PipelineConfig>("source = \"s\"");
    assert!(err.contains("committer"), "{err}");
    // The old keys, and both committers at once, are refused rather than ignored.
    let err = refused::<PipelineConfig>("source = \"s\"\nconsumer_id = \"c\"");
    assert!(err.contains("consumer_id"), "{err}");
    let err = refused::<PipelineConfig>(
        "source = \"s\"\ncommitter = { consumer_id = \"c\", group = { group = \"g\" } }",
    );
    assert!(err.contains("committer"), "{err}");
    let err = refused::<PipelineConfig>(
        "source = \"s\"\ncommitter.group = { group = \"g\", heartbeet = \"1s\" }",
    );
    assert!(err.contains("heartbeet"), "{err}");
    let err = refused::<PipelineConfig>("source = \"s\"\ncommitter.consumer = \"c\"");
    assert!(
        err.contains("consumer") && err.contains("consumer_id"),
        "{err}"
    );
}

#[test]
fn what_has_no_file_form_fails_to_serialize_rather_than_vanish() {
    let mut custom = ProducerOptions::default();
    custom.partitioner = PartitionerKind::Custom(Arc::new(KeyHashRoundRobin::default()));
    assert!(toml::to_string(&custom).is_err());
    let mut adhoc = ConsumerOptions::default();
    adhoc.smartmodules = vec![SmartModuleInvocation::filter(SmartModuleWasm::AdHoc(
        b"wasm".as_slice().into(),
    ))];
    let err = toml::to_string(&adhoc).unwrap_err().to_string();
    assert!(err.contains("ad-hoc"), "{err}");
}

#[test]
fn the_shipped_worker_config_reads_as_the_library_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/worker.toml");
    // In a jail of its own: the other tests' jails set `ACTIX_FLUVIO_…` overrides, which
    // `load` reads, and jails run one at a time.
    let mut loaded = None;
    figment::Jail::expect_with(|_| {
        loaded = Some(worker_config::load(&path).map_err(|e| *e)?);
        Ok(())
    });
    let config = loaded.unwrap();
    assert_eq!(config.pipeline.source, "orders");
    assert_eq!(config.pipeline.sink.as_deref(), Some("orders-upper"));
    assert_eq!(config.pipeline.workers, 2);
    assert_eq!(config.pipeline.commit_interval, Duration::from_secs(1));
    assert_eq!(
        config.pipeline.worker_timeout,
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        config.cluster.connection.request_timeout,
        Duration::from_secs(60)
    );
    assert_eq!(
        config.cluster.connection.reconnect,
        ReconnectPolicy::default()
    );
    assert_eq!(config.pipeline.producer, ProducerOptions::default());
    assert_eq!(config.metrics.unwrap().addr, "127.0.0.1:9898");
}

#[test]
fn the_environment_overrides_the_worker_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "worker.toml",
            "[pipeline]\nsource = \"in\"\nsink = \"out\"\ncommitter.consumer_id = \"w\"\nworkers = 2\n",
        )?;
        jail.set_env("ACTIX_FLUVIO_PIPELINE__WORKERS", "4");
        jail.set_env("ACTIX_FLUVIO_PIPELINE__PRODUCER__LINGER", "5ms");
        jail.set_env("ACTIX_FLUVIO_PIPELINE__CONSUMER__OFFSET", "end");
        jail.set_env("ACTIX_FLUVIO_CLUSTER__SC_ENDPOINT", "10.0.0.1:9003");
        jail.set_env("ACTIX_FLUVIO_WORKER__TAG", "w-1");
        let config = worker_config::load(Path::new("worker.toml")).map_err(|e| *e)?;
        assert_eq!(config.pipeline.workers, 4);
        assert_eq!(config.pipeline.producer.linger, Duration::from_millis(5));
        assert_eq!(config.pipeline.consumer.offset, Offset::End);
        assert_eq!(config.cluster.sc_endpoint.as_deref(), Some("10.0.0.1:9003"));
        assert_eq!(config.worker.tag.as_deref(), Some("w-1"));

        jail.set_env("ACTIX_FLUVIO_PIPELINE__PRODUCER__LINGR", "5ms");
        let err = worker_config::load(Path::new("worker.toml")).unwrap_err();
        assert!(err.to_string().contains("lingr"), "{err}");
        Ok(())
    });
}

#[test]
fn the_worker_needs_its_file_and_a_sink() {
    figment::Jail::expect_with(|jail| {
        assert!(worker_config::load(Path::new("missing.toml")).is_err());
        jail.create_file(
            "worker.toml",
            "[pipeline]\nsource = \"in\"\ncommitter.consumer_id = \"w\"\n",
        )?;
        let err = worker_config::load(Path::new("worker.toml")).unwrap_err();
        assert!(err.to_string().contains("pipeline.sink"), "{err}");
        Ok(())
    });
}

#[test]
fn the_builders_set_what_the_fields_hold() {
    let c = connection();
    let built = ConnectionConfig::builder()
        .client_id("billing")
        .connect_timeout(c.connect_timeout)
        .request_timeout(c.request_timeout)
        .max_in_flight(c.max_in_flight)
        .max_frame_len(c.max_frame_len)
        .reconnect(c.reconnect.clone())
        .tls(c.tls.clone())
        .keepalive(None)
        .build();
    assert_eq!(built, c);
    let client = ClientConfig::builder()
        .sc_endpoint("10.0.0.1:9003")
        .connection(c)
        .use_spu_local_address(true)
        .metadata_timeout(Duration::from_secs(5))
        .build();
    assert_eq!(client.sc_endpoint.as_deref(), Some("10.0.0.1:9003"));

    let p = producer();
    let built = ProducerOptions::builder()
        .batch_size(p.batch_size)
        .linger(p.linger)
        .max_request_size(p.max_request_size)
        .buffer_bytes(p.buffer_bytes)
        .compression(p.compression)
        .partitioner(p.partitioner.clone())
        .isolation(p.isolation)
        .server_timeout(p.server_timeout)
        .delivery(p.delivery.clone())
        .drain_deadline(p.drain_deadline)
        .build();
    assert_eq!(built, p);

    let c = consumer();
    let built = ConsumerOptions::builder()
        .offset(c.offset)
        .max_bytes(c.max_bytes)
        .max_bytes_ceiling(c.max_bytes_ceiling)
        .isolation(c.isolation)
        .smartmodules(c.smartmodules.clone())
        .disable_continuous(c.disable_continuous)
        .consumer_id("reader")
        .auto_commit(c.auto_commit)
        .buffer_records(c.buffer_records)
        .buffer_bytes(c.buffer_bytes)
        .reconnect(c.reconnect.clone())
        .idle_probe(c.idle_probe)
        .build();
    assert_eq!(built, c);

    let p = pipeline();
    let built = PipelineConfig::builder("x", "y")
        .source("orders")
        .committer(p.committer.clone())
        .partition(2)
        .source_mirror("edge1")
        .sink("orders-upper")
        .sink_mirror("edge2")
        .workers(p.workers)
        .max_in_flight(p.max_in_flight)
        .max_in_flight_bytes(p.max_in_flight_bytes)
        .commit_every(p.commit_every)
        .commit_interval(p.commit_interval)
        .worker_timeout(p.worker_timeout)
        .failure(p.failure.clone())
        .exit_at_end(true)
        .consumer(p.consumer.clone())
        .producer(p.producer.clone())
        .build();
    assert_eq!(built, p);
    // A builder can start from any settings.
    assert_eq!(p.clone().into_builder().workers(9).build().workers, 9);
}
