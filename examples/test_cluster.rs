//! Run the embedded test cluster until Ctrl-C:
//! `cargo run --example test_cluster [SPUS] [--port PORT]`.
//! Prints the SC address to use as `FLUVIO_SC_ADDR` (handy for trying the examples, or the
//! real-cluster test suite, without a Fluvio install).

use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use clap::Parser;

/// Run the embedded test cluster until Ctrl-C; prints the SC address as FLUVIO_SC_ADDR=...
#[derive(Debug, Parser)]
struct Cli {
    /// How many SPUs.
    #[arg(default_value_t = 1)]
    spus: usize,
    /// The SC's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let cluster = TestCluster::start(TestClusterConfig {
        spus: cli.spus,
        sc_port: cli.port,
        ..TestClusterConfig::default()
    })
    .await?;
    println!("FLUVIO_SC_ADDR={}", cluster.sc_addr());
    tokio::signal::ctrl_c().await?;
    cluster.shutdown().await;
    Ok(())
}
