//! Spans against the embedded test cluster: every request, produce request, fetch frame and
//! pipeline record has its span with the documented fields, and requests made in a user's
//! span are its descendants.
//!
//! Spans are opened on other tasks and threads (the fetcher, the producer actor), so the
//! capturing subscriber must be the global default: every check is in the one test below.

mod common;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_fluvio::admin::TopicConfig;
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::connection::ConnectionConfig;
use actix_fluvio::consumer::ConsumerOptions;
use actix_fluvio::producer::{DeliveryGuarantee, ProducerOptions, RetryPolicy};
use actix_fluvio::protocol::sc::{CREATE_KEY, LIST_KEY};
use actix_fluvio::protocol::spu::{PRODUCE_KEY, STREAM_FETCH_KEY, UPDATE_CONSUMER_OFFSET_KEY};
use actix_fluvio::protocol::{ErrorCode, Server};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Instrument;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use common::bounded;

/// A closed span: its name, its recorded fields, and its ancestors' names (nearest first).
#[derive(Debug, Clone)]
struct Closed {
    name: &'static str,
    fields: HashMap<&'static str, String>,
    ancestors: Vec<&'static str>,
}

impl Closed {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    fn has(&self, names: &[&str]) -> bool {
        names.iter().all(|n| self.fields.contains_key(n))
    }

    fn under(&self, ancestor: &str) -> bool {
        self.ancestors.contains(&ancestor)
    }
}

#[derive(Default)]
struct Fields(HashMap<&'static str, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
}

/// Collects every span when it closes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Closed>>>);

impl Capture {
    fn spans(&self, name: &str) -> Vec<Closed> {
        let all = self.0.lock().unwrap();
        all.iter().filter(|s| s.name == name).cloned().collect()
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                values.record(fields);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let fields = span
            .extensions()
            .get::<Fields>()
            .map(|f| f.0.clone())
            .unwrap_or_default();
        let ancestors = span.scope().skip(1).map(|s| s.name()).collect();
        self.0.lock().unwrap().push(Closed {
            name: span.name(),
            fields,
            ancestors,
        });
    }
}

fn requests_with_api(capture: &Capture, api_key: u16) -> Vec<Closed> {
    let key = api_key.to_string();
    capture
        .spans("fluvio.request")
        .into_iter()
        .filter(|s| s.field("api_key") == Some(key.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_carry_their_fields_and_nest_under_the_callers_span() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let cluster = TestCluster::start(TestClusterConfig::default())
        .await
        .expect("cluster starts");
    bounded(async {
        let client = FluvioClient::connect(
            ClientConfig::builder()
                .sc_endpoint(cluster.sc_addr())
                .connection(
                    ConnectionConfig::builder()
                        .request_timeout(Duration::from_secs(5))
                        .build(),
                )
                .build(),
        )
        .await
        .expect("client connects");
        async {
            client
                .admin()
                .create_topic("traced", TopicConfig::new(1))
                .await
                .unwrap();
            let producer = client.producer(
                ProducerOptions::builder()
                    .delivery(DeliveryGuarantee::AtLeastOnce(RetryPolicy {
                        initial_delay: Duration::from_millis(10),
                        ..RetryPolicy::default()
                    }))
                    .build(),
            );
            // The first produce request is refused; the producer retries it.
            cluster.fail_next(PRODUCE_KEY, ErrorCode::NotLeaderForPartition, 1);
            for value in ["a", "bb", "ccc"] {
                producer
                    .send("traced", None, value.as_bytes())
                    .await
                    .unwrap();
            }
            let options = ConsumerOptions::builder()
                .disable_continuous(true)
                .consumer_id("tracer")
                .build();
            let mut stream = client
                .partition_consumer("traced", 0, options)
                .await
                .unwrap();
            let mut read = Vec::new();
            while let Some(record) = stream.next().await {
                read.push(record.unwrap().value);
            }
            assert_eq!(read, ["a", "bb", "ccc"]);
            stream
                .commit(2)
                .instrument(tracing::info_span!("user.commit"))
                .await
                .unwrap();
            // A list answer has no error field: the SC closes the connection instead.
            cluster.fail_next_on(Server::Sc, LIST_KEY, ErrorCode::Other("boom".into()), 1);
            assert!(client.admin().list_topics().await.is_err());
        }
        .instrument(tracing::info_span!("user.op"))
        .await;
        // Let the spans on other tasks (stream acknowledgements) close.
        tokio::time::sleep(Duration::from_millis(300)).await;
    })
    .await;

    // Every request: correlation id, API key and frame size.
    let requests = capture.spans("fluvio.request");
    assert!(!requests.is_empty());
    for request in &requests {
        if request.field("error_kind") != Some("version") {
            assert!(
                request.has(&["correlation_id", "api_key", "bytes", "addr"]),
                "{request:?}"
            );
        }
    }

    // A unary admin request is a descendant of the caller's span.
    let create = requests_with_api(&capture, CREATE_KEY);
    assert_eq!(create.len(), 1, "{create:?}");
    assert!(create[0].under("user.op"), "{create:?}");
    assert_eq!(create[0].field("error_code"), Some("none"));

    // Produce: one span per produce request, the request nested in it, under the caller's.
    let produces = capture.spans("fluvio.produce");
    assert!(
        produces.len() >= 4,
        "one refused, three accepted: {produces:?}"
    );
    for produce in &produces {
        assert!(
            produce.has(&["topic", "partition", "records", "bytes", "error_code"]),
            "{produce:?}"
        );
        assert_eq!(produce.field("topic"), Some("traced"));
        assert!(produce.under("user.op"), "{produce:?}");
    }
    let refused: Vec<_> = produces
        .iter()
        .filter(|p| p.field("error_code") == Some("NotLeaderForPartition"))
        .collect();
    assert_eq!(refused.len(), 1, "{produces:?}");
    let accepted: Vec<_> = produces
        .iter()
        .filter(|p| p.field("error_code") == Some("none"))
        .collect();
    assert_eq!(accepted.len(), 3, "{produces:?}");
    let mut offsets: Vec<_> = accepted.iter().map(|p| p.field("base_offset")).collect();
    offsets.sort();
    assert_eq!(offsets, [Some("0"), Some("1"), Some("2")]);
    let produce_requests = requests_with_api(&capture, PRODUCE_KEY);
    assert!(produce_requests.iter().all(|r| r.under("fluvio.produce")));
    assert!(
        produce_requests
            .iter()
            .any(|r| r.field("error_code") == Some("NotLeaderForPartition")),
        "the refused request records its error code: {produce_requests:?}"
    );

    // Fetch: a span per stream frame, under the span the consumer was started in.
    let fetches = capture.spans("fluvio.fetch");
    assert!(!fetches.is_empty());
    for fetch in &fetches {
        assert!(
            fetch.has(&[
                "topic",
                "partition",
                "offset",
                "next",
                "records",
                "bytes",
                "error_code",
                "stream_id"
            ]),
            "{fetch:?}"
        );
        assert!(fetch.under("user.op"), "{fetch:?}");
    }
    let records: usize = fetches
        .iter()
        .map(|f| f.field("records").unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(records, 3, "{fetches:?}");
    let streams: Vec<_> = requests_with_api(&capture, STREAM_FETCH_KEY)
        .into_iter()
        .filter(|r| r.field("stream") == Some("true"))
        .collect();
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert!(streams[0].has(&["correlation_id", "bytes", "version"]));
    assert!(streams[0].under("user.op"), "{streams:?}");

    // A commit runs on the fetcher's task, in the committing caller's span.
    let commits = requests_with_api(&capture, UPDATE_CONSUMER_OFFSET_KEY);
    assert_eq!(commits.len(), 1, "{commits:?}");
    assert!(commits[0].under("user.commit"), "{commits:?}");

    // A request that failed records why.
    // (The stream fetch shares the list request's key, on the SPU.)
    let lists = requests_with_api(&capture, LIST_KEY);
    let failed: Vec<_> = lists
        .iter()
        .filter(|r| r.under("user.op") && r.has(&["error", "error_kind"]))
        .collect();
    assert_eq!(failed.len(), 1, "{lists:?}");

    cluster.shutdown().await;
}
