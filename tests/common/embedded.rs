//! The embedded test cluster and a client of it, as the client-stack tests use them:
//! short timeouts, quick reconnects.

use std::time::Duration;

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::connection::{ConnectionConfig, ReconnectPolicy};
use actix_fluvio::consumer::{ConsumerOptions, ConsumerRecord};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

/// An embedded cluster with `spus` SPUs.
pub async fn cluster(spus: usize) -> TestCluster {
    TestCluster::start(TestClusterConfig {
        spus,
        ..TestClusterConfig::default()
    })
    .await
    .expect("cluster starts")
}

/// 5 s request and connect timeouts, reconnects every 50 ms (20 attempts), 10 s metadata waits.
pub fn client_config(cluster: &TestCluster) -> ClientConfig {
    ClientConfig::builder()
        .sc_endpoint(cluster.sc_addr())
        .connection(
            ConnectionConfig::builder()
                .request_timeout(Duration::from_secs(5))
                .connect_timeout(Duration::from_secs(5))
                .reconnect(ReconnectPolicy {
                    initial_delay: Duration::from_millis(50),
                    max_attempts: Some(20),
                    ..ReconnectPolicy::default()
                })
                .build(),
        )
        .metadata_timeout(Duration::from_secs(10))
        .build()
}

/// An embedded cluster with `spus` SPUs, its own client ([`TestCluster::client`]), and
/// `topics` created with their partition counts.
pub async fn cluster_with_topics(
    spus: usize,
    topics: &[(&str, u32)],
) -> (TestCluster, FluvioClient) {
    let cluster = cluster(spus).await;
    let client = cluster.client().await.expect("client connects");
    for (topic, partitions) in topics {
        client
            .admin()
            .create_topic(topic, actix_fluvio::admin::TopicConfig::new(*partitions))
            .await
            .expect("topic created");
    }
    (cluster, client)
}

/// A client of `cluster` with [`client_config`].
pub async fn client(cluster: &TestCluster) -> FluvioClient {
    FluvioClient::connect(client_config(cluster))
        .await
        .expect("client connects")
}

/// Every record `options` gives of `topic`/`partition` until the stream ends.
pub async fn read_all(
    client: &FluvioClient,
    topic: &str,
    partition: u32,
    options: ConsumerOptions,
) -> Vec<ConsumerRecord> {
    let mut stream = client
        .partition_consumer(topic, partition, options)
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(record) = stream.next().await {
        out.push(record.unwrap());
    }
    out
}

/// Read to the end of the partition as it is now, then stop.
pub fn to_end() -> ConsumerOptions {
    ConsumerOptions::builder().disable_continuous(true).build()
}
