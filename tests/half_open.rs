//! Half-open connections are noticed: TCP keepalive on every socket the client opens (SC
//! and SPUs, plain and TLS); an idle probe that resumes a stream whose SPU went silent
//! without closing the socket, on a new socket, with no record lost or repeated — and that
//! leaves a quiet but healthy stream alone; and stream acknowledgements that are retried,
//! then reopen the stream, instead of leaving it waiting forever for a frame.

mod common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::connection::Keepalive;
use actix_fluvio::consumer::{ConsumerOptions, PartitionStream, StreamState};
use actix_fluvio::producer::ProducerOptions;
use actix_fluvio::protocol::spu::{FETCH_OFFSETS_KEY, STREAM_FETCH_KEY, UPDATE_OFFSETS_KEY};
use actix_fluvio::protocol::{ErrorCode, Server};
use actix_fluvio::testkit::TestCluster;
use common::embedded::{client_config, cluster};
use common::within;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Quiet time before a probe in these tests.
const IDLE: Duration = Duration::from_millis(500);
/// The client's request timeout, and so the probe's.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The consumer's first resume backoff (the default policy).
const BACKOFF: Duration = Duration::from_millis(100);
/// Reconnecting, reopening the stream and scheduling, on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

/// Warnings logged by the client, as (message, `topic` field); one subscriber for the
/// binary, so each test reads only its own topic's.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<(String, String)>>>);

#[derive(Default)]
struct Fields {
    message: String,
    topic: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "topic" => self.topic = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() <= tracing::Level::WARN {
            let mut fields = Fields::default();
            event.record(&mut fields);
            self.0.lock().unwrap().push((fields.message, fields.topic));
        }
    }
}

impl Warnings {
    fn get() -> &'static Warnings {
        static WARNINGS: OnceLock<Warnings> = OnceLock::new();
        WARNINGS.get_or_init(|| {
            let warnings = Warnings::default();
            let subscriber = tracing_subscriber::registry().with(warnings.clone());
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            warnings
        })
    }

    /// How many times `topic`'s stream was reported lost.
    fn streams_lost(&self, topic: &str) -> usize {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .filter(|(message, t)| message == "stream lost; resuming" && t == topic)
            .count()
    }
}

/// A client of `cluster` whose requests (and probes) time out after [`PROBE_TIMEOUT`].
async fn impatient_client(cluster: &TestCluster) -> FluvioClient {
    let mut config = client_config(cluster);
    config.connection.request_timeout = PROBE_TIMEOUT;
    FluvioClient::connect(config).await.unwrap()
}

async fn with_topic(client: &FluvioClient, topic: &str) {
    let config = actix_fluvio::admin::TopicConfig::new(1);
    client.admin().create_topic(topic, config).await.unwrap();
}

/// Produce `n{i}` for every `i` in `range` to `topic` through `client`.
async fn produce(client: &FluvioClient, topic: &str, range: std::ops::Range<i64>) {
    let values = range.map(|i| (None::<&[u8]>, format!("n{i}")));
    let producer = client.producer(ProducerOptions::default());
    producer.send_batch(topic, values).await.unwrap();
}

/// The offsets of the next `n` records, checked against their values.
async fn offsets(stream: &mut PartitionStream, n: usize) -> Vec<i64> {
    let mut out = Vec::new();
    for _ in 0..n {
        let record = stream.next().await.expect("a record").expect("no error");
        assert_eq!(record.value, format!("n{}", record.offset).into_bytes());
        out.push(record.offset);
    }
    out
}

fn probing(every: Option<Duration>) -> ConsumerOptions {
    ConsumerOptions::builder().idle_probe(every).build()
}

/// The SPU stops answering on the stream's socket without closing it. The idle probe gets
/// no answer, the socket is dropped (its connection reconnects once, not handed out again)
/// and the stream resumes on a new one: offsets 50..100 follow 0..50 with none lost or
/// repeated, the first of them within idle_probe + probe timeout + backoff of the stall.
#[tokio::test]
async fn a_stream_whose_spu_stalls_resumes_on_a_new_socket_within_the_probe_bounds() {
    let warnings = Warnings::get();
    within(60, "the test", async {
        let (cluster, topic) = (cluster(1).await, "stalled");
        let client = impatient_client(&cluster).await;
        with_topic(&client, topic).await;
        produce(&client, topic, 0..50).await;
        let mut stream = client
            .partition_consumer(topic, 0, probing(Some(IDLE)))
            .await
            .unwrap();
        let mut got = offsets(&mut stream, 50).await;
        let spu = client
            .low_level()
            .leader_connection(topic, 0)
            .await
            .unwrap();
        assert_eq!(spu.reconnects(), 0);

        cluster.stall_connections(Server::Spu);
        let stalled = Instant::now();
        // Another client's sockets are new, so served: it writes what the stream must get.
        produce(&cluster.client().await.unwrap(), topic, 50..100).await;
        got.extend(offsets(&mut stream, 1).await);
        let resumed_after = stalled.elapsed();
        got.extend(offsets(&mut stream, 49).await);

        assert_eq!(got, (0..100).collect::<Vec<_>>());
        let bound = IDLE + PROBE_TIMEOUT + BACKOFF + SLACK;
        assert!(
            resumed_after >= PROBE_TIMEOUT - IDLE && resumed_after <= bound,
            "resumed after {resumed_after:?}, bound {bound:?}"
        );
        assert_eq!(spu.reconnects(), 1, "the silent socket was replaced");
        assert_eq!(cluster.requests_served(Server::Spu, STREAM_FETCH_KEY), 2);
        assert_eq!(stream.status().state(), StreamState::Streaming);
        assert_eq!(warnings.streams_lost(topic), 1);
    })
    .await;
}

/// The same stall without the probe: the stream believes it is streaming and nothing
/// arrives — what the probe is for.
#[tokio::test]
async fn without_the_probe_a_stalled_stream_waits_for_ever() {
    within(60, "the test", async {
        let (cluster, topic) = (cluster(1).await, "unprobed");
        let client = impatient_client(&cluster).await;
        with_topic(&client, topic).await;
        produce(&client, topic, 0..5).await;
        let mut stream = client
            .partition_consumer(topic, 0, probing(None))
            .await
            .unwrap();
        assert_eq!(offsets(&mut stream, 5).await, (0..5).collect::<Vec<_>>());
        cluster.stall_connections(Server::Spu);
        produce(&cluster.client().await.unwrap(), topic, 5..10).await;
        let waited = IDLE + PROBE_TIMEOUT + BACKOFF + SLACK;
        let next = tokio::time::timeout(waited, stream.next()).await;
        assert!(next.is_err(), "{next:?}");
        assert_eq!(stream.status().state(), StreamState::Streaming);
    })
    .await;
}

/// A quiet stream on a live SPU is probed about every idle_probe and stays: one stream
/// fetch, no reconnect, no loss reported, status streaming throughout, and the next record
/// arrives as usual.
#[tokio::test]
async fn a_quiet_healthy_stream_is_probed_and_left_alone() {
    let warnings = Warnings::get();
    within(60, "the test", async {
        let (cluster, topic) = (cluster(1).await, "quiet");
        let client = impatient_client(&cluster).await;
        with_topic(&client, topic).await;
        produce(&client, topic, 0..10).await;
        let every = Duration::from_millis(300);
        let mut stream = client
            .partition_consumer(topic, 0, probing(Some(every)))
            .await
            .unwrap();
        assert_eq!(offsets(&mut stream, 10).await, (0..10).collect::<Vec<_>>());
        let probes_before = cluster.requests_served(Server::Spu, FETCH_OFFSETS_KEY);
        let status = stream.status();
        let quiet_since = Instant::now();
        let quiet_until = quiet_since + Duration::from_secs(3);
        while Instant::now() < quiet_until {
            assert_eq!(status.state(), StreamState::Streaming);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let probes = cluster.requests_served(Server::Spu, FETCH_OFFSETS_KEY) - probes_before;
        // One per 300 ms of quiet at most (10 in 3 s); some at least, however slow the machine.
        let most = (quiet_since.elapsed().as_millis() / every.as_millis()) as u64;
        assert!(
            (4..=most).contains(&probes),
            "{probes} probes, at most {most}"
        );
        assert_eq!(cluster.requests_served(Server::Spu, STREAM_FETCH_KEY), 1);
        let spu = client
            .low_level()
            .leader_connection(topic, 0)
            .await
            .unwrap();
        assert_eq!(spu.reconnects(), 0);
        assert_eq!(warnings.streams_lost(topic), 0);
        produce(&client, topic, 10..11).await;
        assert_eq!(offsets(&mut stream, 1).await, vec![10]);
    })
    .await;
}

/// Records 0..20 of a new `topic` read by one stream whose first acknowledgement the SPU
/// refuses `refusals` times: they must come once each, in order.
async fn read_through_refused_acknowledgements(
    topic: &str,
    refusals: u32,
) -> (TestCluster, FluvioClient) {
    let cluster = cluster(1).await;
    let client = impatient_client(&cluster).await;
    with_topic(&client, topic).await;
    produce(&client, topic, 0..10).await;
    let refused = ErrorCode::StorageError;
    cluster.fail_next_on(Server::Spu, UPDATE_OFFSETS_KEY, refused, refusals);
    let mut stream = client
        .partition_consumer(topic, 0, probing(Some(IDLE)))
        .await
        .unwrap();
    let mut got = offsets(&mut stream, 10).await;
    produce(&client, topic, 10..20).await;
    got.extend(offsets(&mut stream, 10).await);
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    (cluster, client)
}

/// The SPU refuses the first acknowledgement twice: it is sent again (100 ms, then 200 ms
/// later), the SPU takes the third, and the same stream goes on to the next records.
#[tokio::test]
async fn a_refused_acknowledgement_is_sent_again_and_the_stream_goes_on() {
    let warnings = Warnings::get();
    within(60, "the test", async {
        let topic = "refused";
        let (cluster, _client) = read_through_refused_acknowledgements(topic, 2).await;
        assert_eq!(cluster.requests_served(Server::Spu, STREAM_FETCH_KEY), 1);
        assert!(cluster.requests_served(Server::Spu, UPDATE_OFFSETS_KEY) >= 3);
        assert_eq!(warnings.streams_lost(topic), 0);
    })
    .await;
}

/// The SPU refuses every attempt at the first acknowledgement (4): the stream is reopened
/// on the same, healthy connection from the offset acknowledged, and the next records come
/// once each.
#[tokio::test]
async fn an_acknowledgement_never_taken_reopens_the_stream_where_it_stopped() {
    let warnings = Warnings::get();
    within(60, "the test", async {
        let topic = "unacknowledged";
        let (cluster, client) = read_through_refused_acknowledgements(topic, 4).await;
        assert_eq!(cluster.requests_served(Server::Spu, STREAM_FETCH_KEY), 2);
        assert!(cluster.requests_served(Server::Spu, UPDATE_OFFSETS_KEY) >= 4);
        assert_eq!(warnings.streams_lost(topic), 1);
        let spu = client
            .low_level()
            .leader_connection(topic, 0)
            .await
            .unwrap();
        assert_eq!(spu.reconnects(), 0, "the connection answered: it stays");
    })
    .await;
}

/// Every established socket from this process to `ports` (client side), with its timer
/// from `/proc/net/tcp`: (timer kind, clock ticks left); kind 2 is the keepalive timer.
#[cfg(target_os = "linux")]
fn client_sockets(ports: &[u16]) -> Vec<(u8, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next().unwrap(), 16).unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (remote, state, timer) = (fields[2], fields[3], fields[5]);
            (state == "01" && ports.contains(&port(remote))).then(|| {
                let (kind, left) = timer.split_once(':').unwrap();
                let kind = u8::from_str_radix(kind, 16).unwrap();
                (kind, u64::from_str_radix(left, 16).unwrap())
            })
        })
        .collect()
}

/// The kernel keeps a keepalive timer on the client's SC and SPU sockets, plain and TLS,
/// as configured (41 s, shown in 1/100 s), and none when keepalive is off.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn every_socket_the_client_opens_keeps_alive_as_configured() {
    use actix_fluvio::connection::{Pem, TlsPolicy};
    use actix_fluvio::testkit::TestClusterConfig;
    within(60, "the test", async {
        let idle = Duration::from_secs(41);
        let keepalive = Keepalive {
            idle,
            ..Keepalive::default()
        };
        for (tls, keepalive) in [
            (false, Some(keepalive)),
            (true, Some(keepalive)),
            (false, None),
        ] {
            let cluster = TestCluster::start(TestClusterConfig {
                tls,
                ..TestClusterConfig::default()
            })
            .await
            .unwrap();
            let mut config = ClientConfig::new(cluster.sc_addr());
            config.connection.keepalive = keepalive;
            if tls {
                config.connection.tls = TlsPolicy::Verified {
                    domain: cluster.domain().into(),
                    ca: Pem::Inline(cluster.ca_pem().unwrap().into()),
                };
            }
            let client = FluvioClient::connect(config).await.unwrap();
            with_topic(&client, "t").await;
            produce(&client, "t", 0..1).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let port = |addr: String| addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
            let (sc, spu) = (
                port(cluster.sc_addr()),
                port(cluster.spu_addr(5001).unwrap()),
            );
            for server in [sc, spu] {
                let sockets = client_sockets(&[server]);
                assert!(!sockets.is_empty(), "tls {tls}: no socket to {server}");
                for (kind, left) in sockets {
                    match keepalive {
                        Some(_) => assert!(
                            kind == 2 && left > 3_000 && left <= 4_100,
                            "tls {tls}, port {server}: timer {kind}, {left} ticks left"
                        ),
                        None => assert_eq!(kind, 0, "tls {tls}, port {server}: no keepalive"),
                    }
                }
            }
        }
    })
    .await;
}
