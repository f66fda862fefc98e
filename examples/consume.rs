//! Consume a topic, one value per line (key and a tab first with `--show-key`):
//!
//! ```text
//! cargo run --release --example consume -- TOPIC [--partition P | --all-partitions]
//!     [--beginning | --end | --offset N | --from-end N] [--exit-at-end]
//!     [--smartmodule NAME | --smartmodule-wasm FILE] [--kind filter|map|filter-map|array-map|aggregate]
//!     [--param K=V]... [--aggregate-initial X] [--consumer-id ID] [--show-key] [--max N]
//! ```

#[path = "common/args.rs"]
mod args;

use std::io::Write;
use std::process::ExitCode;

use actix_fluvio::cluster::{ClientConfig, FluvioClient};
use actix_fluvio::consumer::{ConsumerOptions, ConsumerRecord, Offset};
use actix_fluvio::protocol::spu::{SmartModuleInvocation, SmartModuleKind, SmartModuleWasm};

const VALUED: &[&str] = &[
    "--partition",
    "--offset",
    "--from-end",
    "--smartmodule",
    "--smartmodule-wasm",
    "--kind",
    "--param",
    "--aggregate-initial",
    "--consumer-id",
    "--max",
];

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consume: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options(args: &args::Args) -> Result<ConsumerOptions, Box<dyn std::error::Error>> {
    let offset = if let Some(n) = args.parsed::<i64>("--offset")? {
        Offset::Absolute(n)
    } else if let Some(n) = args.parsed::<u64>("--from-end")? {
        Offset::FromEnd(n)
    } else if args.flag("--end") {
        Offset::End
    } else {
        Offset::Beginning
    };
    let wasm = match (
        args.value("--smartmodule"),
        args.value("--smartmodule-wasm"),
    ) {
        (Some(name), _) => Some(SmartModuleWasm::predefined(name)),
        (None, Some(file)) => Some(SmartModuleWasm::adhoc(&std::fs::read(file)?)?),
        (None, None) => None,
    };
    let mut smartmodules = Vec::new();
    if let Some(wasm) = wasm {
        let kind = args.value("--kind").unwrap_or("filter");
        let initial = args.value("--aggregate-initial").unwrap_or("");
        let kind = SmartModuleKind::from_name(kind, initial.as_bytes().to_vec())
            .ok_or_else(|| format!("unknown --kind {kind}"))?;
        let mut invocation = SmartModuleInvocation::new(wasm, kind);
        for param in args.values("--param") {
            let (k, v) = param.split_once('=').ok_or("--param takes K=V")?;
            invocation = invocation.with_param(k, v);
        }
        smartmodules.push(invocation);
    }
    Ok(ConsumerOptions {
        offset,
        disable_continuous: args.flag("--exit-at-end"),
        consumer_id: args.value("--consumer-id").map(str::to_owned),
        smartmodules,
        ..ConsumerOptions::default()
    })
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = args::Args::from_env();
    let topic = args
        .positional(0, VALUED)
        .ok_or("usage: consume TOPIC [options]")?
        .to_owned();
    let options = options(&args)?;
    let show_key = args.flag("--show-key");
    let max: Option<usize> = args.parsed("--max")?;
    let committing = options.consumer_id.is_some();
    let client = FluvioClient::connect(ClientConfig::default()).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut print = |r: &ConsumerRecord| -> std::io::Result<()> {
        if show_key {
            out.write_all(r.key.as_deref().unwrap_or(b"null"))?;
            out.write_all(b"\t")?;
        }
        out.write_all(&r.value)?;
        out.write_all(b"\n")
    };
    let mut seen = 0;
    if args.flag("--all-partitions") {
        let mut stream = client.topic_consumer(&topic, options).await?;
        while max.is_none_or(|m| seen < m) {
            let Some(record) = stream.next().await else {
                break;
            };
            print(&record?)?;
            seen += 1;
        }
    } else {
        let partition = args.parsed::<u32>("--partition")?.unwrap_or(0);
        let mut stream = client
            .partition_consumer(&topic, partition, options)
            .await?;
        while max.is_none_or(|m| seen < m) {
            let Some(record) = stream.next().await else {
                break;
            };
            print(&record?)?;
            seen += 1;
        }
        if committing {
            stream.commit_delivered().await?;
        }
    }
    Ok(())
}
