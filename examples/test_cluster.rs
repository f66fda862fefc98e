//! Run the embedded test cluster until Ctrl-C: `cargo run --example test_cluster [SPUS]`.
//! Prints the SC address to use as `FLUVIO_SC_ADDR` (handy for trying the examples, or the
//! real-cluster test suite, without a Fluvio install).

use actix_fluvio::testkit::{TestCluster, TestClusterConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spus = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let cluster = TestCluster::start(TestClusterConfig {
        spus,
        ..TestClusterConfig::default()
    })
    .await?;
    println!("FLUVIO_SC_ADDR={}", cluster.sc_addr());
    tokio::signal::ctrl_c().await?;
    cluster.shutdown().await;
    Ok(())
}
