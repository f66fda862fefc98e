//! Helpers shared by the integration tests: each test file that needs them says `mod common;`
//! (not every file uses every helper).

#![allow(dead_code)]

#[cfg(feature = "testkit")]
pub mod embedded;
pub mod examples;
pub mod group_watch;
pub mod group_workers;
pub mod local_cluster;
pub mod official;
pub mod prometheus;
pub mod shapes;
pub mod smartmodules;

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_fluvio::cluster::FluvioClient;
use actix_fluvio::connection::{Connection, ConnectionConfig, ReconnectPolicy};
use actix_fluvio::consumer::ConsumerOptions;

/// The SC of the real cluster named by `FLUVIO_SC_ADDR`. The tests that call it are
/// `#[ignore]`d (skipped, and shown as such, by a plain `cargo test`); run with `--ignored`,
/// they fail when it is not set.
pub fn sc_addr() -> String {
    match std::env::var("FLUVIO_SC_ADDR") {
        Ok(addr) if !addr.is_empty() => addr,
        _ => panic!(
            "FLUVIO_SC_ADDR is not set: this test needs a real Fluvio cluster \
             (FLUVIO_SC_ADDR=127.0.0.1:9003 cargo test --all-features --test NAME -- --ignored)"
        ),
    }
}

/// `f`, failing the test if it takes longer than `secs`.
pub async fn within<T>(secs: u64, what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {secs} s"))
}

/// `f`, failing the test if it hangs for a minute.
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("test timed out")
}

/// Short timeouts and no reconnects: a test sees failures at once.
pub fn connection_config() -> ConnectionConfig {
    ConnectionConfig::builder()
        .request_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .reconnect(ReconnectPolicy::disabled())
        .build()
}

/// A [`Connection`] to `addr` with [`connection_config`].
pub async fn connect(addr: String) -> Connection {
    Connection::connect(addr, connection_config())
        .await
        .expect("connects")
}

/// `prefix` made unique to this process and moment (names on a shared real cluster).
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// Every value of `topic`'s first `partitions` partitions, partition by partition, up to
/// their ends when read.
pub async fn read_values(client: &FluvioClient, topic: &str, partitions: u32) -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..partitions {
        let options = ConsumerOptions::builder().disable_continuous(true).build();
        let mut stream = client.partition_consumer(topic, p, options).await.unwrap();
        while let Some(record) = stream.next().await {
            out.push(String::from_utf8(record.unwrap().value.to_vec()).unwrap());
        }
    }
    out
}

/// The offset committed under `consumer` on `partition` (of the one topic it reads).
pub async fn committed(client: &FluvioClient, consumer: &str, partition: u32) -> Option<i64> {
    let offsets = client.admin().list_consumer_offsets().await.unwrap();
    offsets
        .iter()
        .find(|o| o.consumer_id == consumer && o.replica_id.partition == partition)
        .map(|o| o.offset)
}

/// Create `topic` with `config`, retrying while the SC is not answering (it just came back);
/// says so for each failed attempt.
pub async fn create_when_ready(
    client: &FluvioClient,
    topic: &str,
    config: actix_fluvio::admin::TopicConfig,
) {
    loop {
        match client.admin().create_topic(topic, config.clone()).await {
            Ok(()) => return,
            Err(e) => {
                println!("create {topic}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
}
