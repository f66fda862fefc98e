//! A small admin command line, one line per item:
//!
//! ```text
//! cargo run --example admin -- create TOPIC [--partitions N] [--replication R]
//! cargo run --example admin -- list | describe TOPIC | delete TOPIC | spus | partitions [TOPIC]
//! cargo run --example admin -- groups | group NAME
//! ```
//! `groups` lists the consumer groups; `group NAME` shows one: its generation, members,
//! each partition's owner (and a previous owner still releasing it) and committed offset.
//! The cluster is `FLUVIO_SC_ADDR`, else the current `fluvio` profile, else 127.0.0.1:9003.

use std::process::ExitCode;

use actix_fluvio::admin::{Admin, AdminError, TopicConfig};
use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::group::{describe_group, list_groups};
use actix_fluvio::protocol::sc::{Metadata, ReplicaSpec, TopicSpec};

const USAGE: &str = "usage: admin create TOPIC [--partitions N] [--replication R] | list | \
                     describe TOPIC | delete TOPIC | spus | partitions [TOPIC] | groups | group NAME";

#[actix_rt::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let client = match FluvioClient::connect(ClientConfig::default()).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot connect: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&client, &args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(client: &FluvioClient, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let admin: &Admin = &client.admin();
    let arg = |i: usize| args.get(i).map(String::as_str).ok_or(USAGE);
    match arg(0)? {
        "groups" => {
            for group in list_groups(client).await? {
                println!("{group}");
            }
        }
        "group" => {
            let group = describe_group(client, arg(1)?).await?;
            let topic = group.topic.as_deref().unwrap_or("-");
            println!(
                "group {} topic={topic} partitions={} generation={}",
                group.group, group.partitions, group.generation
            );
            for member in &group.members {
                println!("member {member}");
            }
            for partition in 0..group.partitions {
                let owner = group.owners.get(&partition).map(ToString::to_string);
                let releasing = match group.releasing.get(&partition) {
                    Some(previous) => format!(" releasing={previous}"),
                    None => String::new(),
                };
                let committed = group.committed.get(&partition).map(ToString::to_string);
                println!(
                    "partition {partition} owner={}{releasing} committed={}",
                    owner.as_deref().unwrap_or("-"),
                    committed.as_deref().unwrap_or("-")
                );
            }
        }
        "create" => {
            let topic = arg(1)?;
            let partitions = flag(args, "--partitions")?.unwrap_or(1);
            let replication = flag(args, "--replication")?.unwrap_or(1);
            admin
                .create_topic(topic, TopicConfig::new(partitions).replication(replication))
                .await?;
            println!("topic \"{topic}\" created");
        }
        "list" => {
            for topic in admin.list_topics().await? {
                println!("{}", describe(&topic));
            }
        }
        "describe" => {
            let topic = arg(1)?;
            let found = admin.get_topic(topic).await?;
            let topic = found.ok_or_else(|| AdminError::TopicNotFound(topic.to_owned()))?;
            println!("{}", describe(&topic));
        }
        "delete" => {
            let topic = arg(1)?;
            admin.delete_topic(topic).await?;
            println!("topic \"{topic}\" deleted");
        }
        "spus" => {
            for spu in admin.list_spus().await? {
                println!(
                    "{} {} {:?} public={} private={} {}",
                    spu.id,
                    spu.name,
                    spu.spu_type,
                    spu.public_endpoint.as_deref().unwrap_or("-"),
                    spu.private_endpoint,
                    if spu.online { "online" } else { "offline" }
                );
            }
        }
        "partitions" => {
            for p in admin
                .list_partitions(args.get(1).map(String::as_str))
                .await?
            {
                println!(
                    "{} {} leader={} replicas={:?} {:?} hw={} leo={} size={}",
                    p.topic,
                    p.partition,
                    p.leader,
                    p.replicas,
                    p.status,
                    p.high_watermark,
                    p.end_offset,
                    p.size
                );
            }
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

fn flag(args: &[String], name: &str) -> Result<Option<u32>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn describe(topic: &Metadata<TopicSpec>) -> String {
    let (partitions, replication) = match &topic.spec.replicas {
        ReplicaSpec::Computed(p) => (p.partitions.to_string(), p.replication_factor.to_string()),
        ReplicaSpec::Assigned(maps) => (maps.len().to_string(), "assigned".into()),
        ReplicaSpec::Mirror(_) => ("mirror".into(), "-".into()),
    };
    format!(
        "{} partitions={} replication={} compression={:?} status={:?} {}",
        topic.name,
        partitions,
        replication,
        topic.spec.compression_type,
        topic.status.resolution,
        topic.status.reason
    )
}
