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
use clap::Parser;

/// A small admin command line, one line per item.
///
/// The cluster is FLUVIO_SC_ADDR, else the current fluvio profile, else 127.0.0.1:9003.
#[derive(Debug, Parser)]
enum Command {
    /// Create a topic.
    Create {
        /// The topic's name.
        topic: String,
        /// How many partitions.
        #[arg(long, value_name = "N", default_value_t = 1)]
        partitions: u32,
        /// How many replicas of each partition.
        #[arg(long, value_name = "R", default_value_t = 1)]
        replication: u32,
    },
    /// List the topics.
    List,
    /// Show one topic.
    Describe {
        /// The topic's name.
        topic: String,
    },
    /// Delete a topic.
    Delete {
        /// The topic's name.
        topic: String,
    },
    /// List the SPUs.
    Spus,
    /// List the partitions: leader, replicas, status, high watermark, end offset, size.
    Partitions {
        /// Only this topic's.
        topic: Option<String>,
    },
    /// List the consumer groups.
    Groups,
    /// Show a consumer group: its generation, members, each partition's owner (and a
    /// previous owner still releasing it) and committed offset.
    Group {
        /// The group's name.
        name: String,
    },
}

#[actix_rt::main]
async fn main() -> ExitCode {
    let command = Command::parse();
    let client = match FluvioClient::connect(ClientConfig::default()).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot connect: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&client, command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(client: &FluvioClient, command: Command) -> Result<(), Box<dyn std::error::Error>> {
    let admin: &Admin = &client.admin();
    match command {
        Command::Groups => {
            for group in list_groups(client).await? {
                println!("{group}");
            }
        }
        Command::Group { name } => print_group(client, &name).await?,
        Command::Create {
            topic,
            partitions,
            replication,
        } => {
            admin
                .create_topic(
                    &topic,
                    TopicConfig::new(partitions).replication(replication),
                )
                .await?;
            println!("topic \"{topic}\" created");
        }
        Command::List => {
            for topic in admin.list_topics().await? {
                println!("{}", describe(&topic));
            }
        }
        Command::Describe { topic } => {
            let found = admin.get_topic(&topic).await?;
            let topic = found.ok_or(AdminError::TopicNotFound(topic))?;
            println!("{}", describe(&topic));
        }
        Command::Delete { topic } => {
            admin.delete_topic(&topic).await?;
            println!("topic \"{topic}\" deleted");
        }
        Command::Spus => {
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
        Command::Partitions { topic } => {
            for p in admin.list_partitions(topic.as_deref()).await? {
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
    }
    Ok(())
}

/// One line for the group, one per member, one per partition.
async fn print_group(client: &FluvioClient, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let group = describe_group(client, name).await?;
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
    Ok(())
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
