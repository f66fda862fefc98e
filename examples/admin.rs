//! A small admin command line, one line per item:
//!
//! ```text
//! cargo run --example admin -- create TOPIC [--partitions N] [--replication R]
//! cargo run --example admin -- list | describe TOPIC | delete TOPIC | spus | partitions [TOPIC]
//! cargo run --example admin -- groups | group NAME
//! cargo run --example admin -- remote register|unregister ID | remote list
//! cargo run --example admin -- remote export ID [--file F] [--public-endpoint E] [--home-id H]
//! cargo run --example admin -- home connect FILE | home status
//! cargo run --example admin -- create TOPIC --mirror-apply FILE [--home-to-remote]
//! cargo run --example admin -- add-mirror TOPIC REMOTE
//! ```
//! `groups` lists the consumer groups; `group NAME` shows one: its generation, members,
//! each partition's owner (and a previous owner still releasing it) and committed offset.
//! `remote …` runs on a home cluster, `home …` on a remote one, as the official CLI's
//! commands of the same names (their files are interchangeable); a `--mirror-apply` FILE is
//! a JSON array of remote ids, one partition each. The cluster is `FLUVIO_SC_ADDR`, else the current `fluvio` profile, else 127.0.0.1:9003.

use std::process::ExitCode;

use actix_fluvio::admin::{Admin, AdminError, Pairing, RemoteExport, TopicConfig, TopicMirror};
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
        /// Create a mirror topic (on a home cluster): FILE is a JSON array of remote ids,
        /// one partition each.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["partitions", "replication"])]
        mirror_apply: Option<std::path::PathBuf>,
        /// With --mirror-apply: records flow from home to the remotes.
        #[arg(long, requires = "mirror_apply")]
        home_to_remote: bool,
    },
    /// Add a remote to a mirror topic (on its home cluster): one more partition.
    AddMirror {
        /// The mirror topic.
        topic: String,
        /// The remote's id.
        remote: String,
    },
    /// Remote clusters of this (home) cluster.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// This (remote) cluster's home.
    #[command(subcommand)]
    Home(HomeCommand),
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

/// On a home cluster.
#[derive(Debug, clap::Subcommand)]
enum RemoteCommand {
    /// Register a remote cluster.
    Register {
        /// The remote's id.
        id: String,
    },
    /// Unregister a remote cluster.
    Unregister {
        /// The remote's id.
        id: String,
    },
    /// List the remote clusters and their pairing.
    List,
    /// Write what a remote needs to connect (`home connect FILE` there).
    Export {
        /// The remote's id.
        id: String,
        /// Write to this file (else standard output).
        #[arg(long, short)]
        file: Option<std::path::PathBuf>,
        /// The home SC's endpoint as the remote reaches it (default: this client's).
        #[arg(long, short = 'e')]
        public_endpoint: Option<String>,
        /// The home's id (default `home`).
        #[arg(long)]
        home_id: Option<String>,
    },
}

/// On a remote cluster.
#[derive(Debug, clap::Subcommand)]
enum HomeCommand {
    /// Connect to the home in FILE (written by `remote export`).
    Connect {
        /// The export file.
        file: std::path::PathBuf,
    },
    /// Show the home and the pairing.
    Status,
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
            mirror_apply: Some(file),
            home_to_remote,
            ..
        } => {
            let remotes: Vec<String> = serde_json::from_str(&std::fs::read_to_string(&file)?)
                .map_err(|e| format!("{}: not a JSON array of remote ids: {e}", file.display()))?;
            let remotes: Vec<&str> = remotes.iter().map(String::as_str).collect();
            admin
                .create_mirror_topic(&topic, &remotes, home_to_remote)
                .await?;
            println!("mirror topic \"{topic}\" created");
        }
        Command::Create {
            topic,
            partitions,
            replication,
            ..
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
        Command::AddMirror { topic, remote } => {
            admin.add_mirror(&topic, &remote).await?;
            println!("remote \"{remote}\" added to mirror topic \"{topic}\"");
        }
        Command::Remote(command) => remote(admin, command).await?,
        Command::Home(command) => home(admin, command).await?,
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

async fn remote(admin: &Admin, command: RemoteCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        RemoteCommand::Register { id } => {
            admin.register_remote(&id).await?;
            println!("remote cluster \"{id}\" was registered");
        }
        RemoteCommand::Unregister { id } => {
            admin.unregister_remote(&id).await?;
            println!("remote cluster \"{id}\" was unregistered");
        }
        RemoteCommand::List => {
            for remote in admin.list_remotes().await? {
                println!("{} {}", remote.id, pairing(&remote.pairing));
            }
        }
        RemoteCommand::Export {
            id,
            file,
            public_endpoint,
            home_id,
        } => {
            let export = admin
                .export_remote(&id, public_endpoint.as_deref(), home_id.as_deref())
                .await?;
            match file {
                Some(file) => std::fs::write(&file, export.to_json())?,
                None => println!("{}", export.to_json()),
            }
        }
    }
    Ok(())
}

async fn home(admin: &Admin, command: HomeCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        HomeCommand::Connect { file } => {
            let export = RemoteExport::from_json(&std::fs::read_to_string(&file)?)?;
            admin.connect_home(&export).await?;
            println!("connecting with \"{}\" cluster", export.home.id);
        }
        HomeCommand::Status => {
            for home in admin.home_status().await? {
                println!(
                    "{} route={} {}",
                    home.id,
                    home.public_endpoint,
                    pairing(&home.pairing)
                );
            }
        }
    }
    Ok(())
}

/// `sc=… spu=… last_seen=…s errors=…`, as the official CLI's columns.
fn pairing(p: &Pairing) -> String {
    let last_seen = p
        .last_seen
        .and_then(|t| t.elapsed().ok())
        .map_or("-".to_owned(), |d| format!("{}s", d.as_secs()));
    format!(
        "sc={} spu={} last_seen={last_seen} errors={}",
        p.sc.as_str(),
        p.spu.as_str(),
        p.errors().as_deref().unwrap_or("-")
    )
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
        ReplicaSpec::Mirror(_) => (topic.status.replica_map.len().to_string(), "1".into()),
    };
    let mirror = TopicMirror::of(&topic.spec)
        .map(|m| format!(" mirror={}:{}", m.kind(), m.partners().join(",")))
        .unwrap_or_default();
    format!(
        "{} partitions={} replication={}{mirror} compression={:?} status={:?} {}",
        topic.name,
        partitions,
        replication,
        topic.spec.compression_type,
        topic.status.resolution,
        topic.status.reason
    )
}
