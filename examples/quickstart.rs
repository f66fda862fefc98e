//! The quickstart: `cargo run --example quickstart`.
//!
//! Uses a reachable Fluvio cluster (`FLUVIO_SC_ADDR`, then the current profile, then
//! 127.0.0.1:9003) or, when none answers, starts the embedded test cluster and says so.
//! Then it creates a topic, and wires a producer actor and a partition consumer actor to a
//! small user actor that prints what flows.

use std::time::Duration;

use actix::prelude::*;
use actix_fluvio::admin::{AdminError, TopicConfig};
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::connection::{ConnectionConfig, ReconnectPolicy};
use actix_fluvio::consumer::{
    ConsumerOptions, Offset, PartitionConsumerActor, Records, StreamEnded,
};
use actix_fluvio::producer::{Produce, ProducerOptions};
use actix_fluvio::testkit::{TestCluster, TestClusterConfig};
use actix_fluvio::Call;
use bytes::Bytes;
use clap::Parser;
use tokio::sync::oneshot;

/// Create a topic, produce ten records through a producer actor and print them as a
/// partition consumer actor hands them to a small user actor.
///
/// Uses a reachable Fluvio cluster (FLUVIO_SC_ADDR, then the current fluvio profile, then
/// 127.0.0.1:9003) or, when none answers, starts the embedded test cluster and says so.
#[derive(Debug, Parser)]
struct Cli {}

const TOPIC: &str = "quickstart";
const COUNT: usize = 10;

/// The user actor: prints every record, says when the last one came or the stream failed.
struct Printer {
    seen: usize,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

impl Printer {
    fn finish(&mut self, outcome: Result<(), String>) {
        if let Some(done) = self.done.take() {
            let _ = done.send(outcome);
        }
    }
}

impl Actor for Printer {
    type Context = Context<Self>;
}

impl Handler<Records> for Printer {
    type Result = ();

    fn handle(&mut self, msg: Records, _: &mut Context<Self>) {
        for record in msg.0 {
            println!(
                "consumed  {}-{} @{}: {}",
                record.topic,
                record.partition,
                record.offset,
                String::from_utf8_lossy(&record.value)
            );
            self.seen += 1;
        }
        if self.seen >= COUNT {
            println!("all {COUNT} records went through: done");
            self.finish(Ok(()));
        }
    }
}

impl Handler<StreamEnded> for Printer {
    type Result = ();

    fn handle(&mut self, msg: StreamEnded, _: &mut Context<Self>) {
        let outcome = match msg.0 {
            Some(error) => format!("consumer stopped: {error}"),
            None => "the stream ended early".to_owned(),
        };
        self.finish(Err(outcome));
    }
}

async fn connect() -> Result<(FluvioClient, Option<TestCluster>), Box<dyn std::error::Error>> {
    let probe = ClientConfig::builder()
        .connection(
            ConnectionConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .reconnect(ReconnectPolicy::disabled())
                .build(),
        )
        .build();
    let endpoint = probe.resolve()?.endpoint;
    match FluvioClient::connect(probe).await {
        Ok(client) => {
            println!("using the Fluvio cluster at {endpoint}");
            Ok((client, None))
        }
        Err(error) => {
            println!("no Fluvio cluster at {endpoint} ({error})");
            let cluster = TestCluster::start(TestClusterConfig::default()).await?;
            println!("started the embedded test cluster at {}", cluster.sc_addr());
            let client = FluvioClient::connect(ClientConfig::new(cluster.sc_addr())).await?;
            Ok((client, Some(cluster)))
        }
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    Cli::parse();
    let (client, _cluster) = connect().await?;
    match client
        .admin()
        .create_topic(TOPIC, TopicConfig::new(1))
        .await
    {
        Ok(()) => println!("created topic {TOPIC}"),
        Err(AdminError::TopicAlreadyExists(_)) => {
            println!("topic {TOPIC} exists; reading new records")
        }
        Err(e) => return Err(e.into()),
    }

    let (done, finished) = oneshot::channel();
    let printer = Printer {
        seen: 0,
        done: Some(done),
    }
    .start();
    // Read from the current end, fixed before the first record is produced.
    let (_, end) = client.partition_offsets(TOPIC, 0).await?;
    let options = ConsumerOptions::builder()
        .offset(Offset::Absolute(end))
        .build();
    let stream = client.partition_consumer(TOPIC, 0, options).await?;
    PartitionConsumerActor::new(
        stream,
        printer.clone().recipient(),
        Some(printer.recipient()),
    )
    .start();

    let producer = client.producer(ProducerOptions::default());
    let producer_actor = producer.actor();
    for i in 0..COUNT {
        let value = format!("hello from actix-fluvio #{i}");
        let meta = producer_actor
            .call(Produce {
                topic: TOPIC.into(),
                key: None,
                value: Bytes::from(value.clone()),
            })
            .await?;
        println!(
            "produced  {TOPIC}-{} @{}: {value}",
            meta.partition, meta.offset
        );
    }
    // Done as soon as the printer saw the last record (or the stream failed).
    match tokio::time::timeout(Duration::from_secs(30), finished).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => return Err(error.into()),
        Ok(Err(_)) => return Err("the printer stopped before the last record".into()),
        Err(_) => return Err(format!("the {COUNT} records did not come back within 30 s").into()),
    }
    producer.close().await?;
    Ok(())
}
