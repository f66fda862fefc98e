//! Consume a topic, one value per line (key and a tab first with `--show-key`):
//!
//! ```text
//! cargo run --release --example consume -- TOPIC [--partition P | --all-partitions | --mirror NAME]
//!     [--beginning | --end | --offset N | --from-end N] [--exit-at-end]
//!     [--smartmodule NAME | --smartmodule-wasm FILE] [--kind filter|map|filter-map|array-map|aggregate]
//!     [--param K=V]... [--aggregate-initial X] [--consumer-id ID] [--show-key] [--max N]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::{ConsumerOptions, ConsumerRecord, Offset};
use actix_fluvio::protocol::spu::{SmartModuleInvocation, SmartModuleKind, SmartModuleWasm};
use clap::{ArgGroup, Parser};

/// Consume a topic, one value per line (key and a tab first with --show-key).
///
/// The cluster is FLUVIO_SC_ADDR, else the current fluvio profile, else 127.0.0.1:9003.
#[derive(Debug, Parser)]
#[command(group(ArgGroup::new("start").args(["beginning", "end", "offset", "from_end"])))]
#[command(group(ArgGroup::new("wasm").args(["smartmodule", "smartmodule_wasm"])))]
struct Cli {
    /// The topic to read.
    topic: String,
    /// Read this partition.
    #[arg(long, value_name = "P", default_value_t = 0)]
    partition: u32,
    /// Read every partition instead of one (commits nothing at the end).
    #[arg(long, conflicts_with = "partition")]
    all_partitions: bool,
    /// Read the partition of this mirror topic that belongs to NAME: a remote's id on the
    /// home cluster, the home's id on a remote.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["partition", "all_partitions"])]
    mirror: Option<String>,
    /// Start at the first available record (the default).
    #[arg(long)]
    beginning: bool,
    /// Start at the end: only new records.
    #[arg(long)]
    end: bool,
    /// Start at this absolute offset.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    offset: Option<i64>,
    /// Start N records before the end.
    #[arg(long, value_name = "N")]
    from_end: Option<u64>,
    /// Stop at the end instead of waiting for new records.
    #[arg(long)]
    exit_at_end: bool,
    /// Apply the SmartModule of this name, stored on the cluster.
    #[arg(long, value_name = "NAME")]
    smartmodule: Option<String>,
    /// Apply the SmartModule in this WebAssembly file.
    #[arg(long, value_name = "FILE")]
    smartmodule_wasm: Option<PathBuf>,
    /// What the SmartModule does.
    #[arg(long, default_value = "filter",
          value_parser = ["filter", "map", "filter-map", "array-map", "aggregate"])]
    kind: String,
    /// A SmartModule parameter (repeat for more).
    #[arg(long, value_name = "K=V", value_parser = key_value)]
    param: Vec<(String, String)>,
    /// The aggregate SmartModule's initial accumulator.
    #[arg(long, value_name = "X", default_value = "", allow_hyphen_values = true)]
    aggregate_initial: String,
    /// Resume from the offset stored under this consumer id; reading one partition, store
    /// the last record read under it at the end.
    #[arg(long, value_name = "ID")]
    consumer_id: Option<String>,
    /// Print each record's key and a tab before its value (`null` without a key).
    #[arg(long)]
    show_key: bool,
    /// Stop after N records.
    #[arg(long, value_name = "N")]
    max: Option<usize>,
}

/// `K=V` as a pair.
fn key_value(param: &str) -> Result<(String, String), String> {
    let (k, v) = param.split_once('=').ok_or("takes K=V")?;
    Ok((k.to_owned(), v.to_owned()))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consume: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options(cli: &Cli) -> Result<ConsumerOptions, Box<dyn std::error::Error>> {
    let offset = if let Some(n) = cli.offset {
        Offset::Absolute(n)
    } else if let Some(n) = cli.from_end {
        Offset::FromEnd(n)
    } else if cli.end {
        Offset::End
    } else {
        Offset::Beginning
    };
    let wasm = match (&cli.smartmodule, &cli.smartmodule_wasm) {
        (Some(name), _) => Some(SmartModuleWasm::predefined(name)),
        (None, Some(file)) => Some(SmartModuleWasm::adhoc(&std::fs::read(file)?)?),
        (None, None) => None,
    };
    let mut smartmodules = Vec::new();
    if let Some(wasm) = wasm {
        let initial = cli.aggregate_initial.as_bytes().to_vec();
        let kind = SmartModuleKind::from_name(&cli.kind, initial)
            .ok_or_else(|| format!("unknown --kind {}", cli.kind))?;
        let mut invocation = SmartModuleInvocation::new(wasm, kind);
        for (k, v) in &cli.param {
            invocation = invocation.with_param(k, v);
        }
        smartmodules.push(invocation);
    }
    let mut options = ConsumerOptions::builder()
        .offset(offset)
        .disable_continuous(cli.exit_at_end)
        .smartmodules(smartmodules);
    if let Some(id) = &cli.consumer_id {
        options = options.consumer_id(id);
    }
    Ok(options.build())
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let options = options(&cli)?;
    let (topic, max) = (&cli.topic, cli.max);
    let committing = options.consumer_id.is_some();
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut seen = 0;
    // Ctrl-C ends the loop like the end of the stream: what was printed is flushed, and a
    // consumer id's position committed.
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    if cli.all_partitions {
        let mut stream = client.topic_consumer(topic, options).await?;
        while max.is_none_or(|m| seen < m) {
            let next = tokio::select! {
                next = next_or_flush(stream.next(), &mut out) => next?,
                _ = &mut interrupted => break,
            };
            let Some(record) = next else { break };
            print(&mut out, &record?, cli.show_key)?;
            seen += 1;
        }
    } else {
        let partition = match &cli.mirror {
            Some(name) => client.mirror_partition(topic, name).await?.partition,
            None => cli.partition,
        };
        let mut stream = client.partition_consumer(topic, partition, options).await?;
        while max.is_none_or(|m| seen < m) {
            let next = tokio::select! {
                next = next_or_flush(stream.next(), &mut out) => next?,
                _ = &mut interrupted => break,
            };
            let Some(record) = next else { break };
            print(&mut out, &record?, cli.show_key)?;
            seen += 1;
        }
        out.flush()?;
        if committing {
            stream.commit_delivered().await?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Print one record: its value (after its key and a tab with `show_key`) and a newline.
fn print(out: &mut impl Write, record: &ConsumerRecord, show_key: bool) -> std::io::Result<()> {
    if show_key {
        out.write_all(record.key.as_deref().unwrap_or(b"null"))?;
        out.write_all(b"\t")?;
    }
    out.write_all(&record.value)?;
    out.write_all(b"\n")
}

/// The stream's next record; when none is ready yet, flush what was printed before waiting
/// (as `fluvio consume` shows each record as it comes, not once a buffer fills).
async fn next_or_flush<T>(
    next: impl std::future::Future<Output = Option<T>>,
    out: &mut impl Write,
) -> std::io::Result<Option<T>> {
    let mut next = std::pin::pin!(next);
    tokio::select! {
        biased;
        ready = &mut next => return Ok(ready),
        () = std::future::ready(()) => {}
    }
    out.flush()?;
    Ok(next.await)
}
