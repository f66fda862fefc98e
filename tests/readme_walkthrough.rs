//! The README's "A pipeline in five steps", run as a reader runs it: its `sh` blocks, read
//! from README.md (so the two cannot drift), in one shell, against the embedded cluster the
//! first step starts. `cargo run [--features F] --example NAME -- ARGS` runs the example's
//! binary, built once with every feature; the fixed ports the README names (the SC's, the
//! metrics address) are swapped for free ones. The consumed records must be the produced
//! ones upper-cased, and the `/metrics` scrape must count them.

#![cfg(unix)]

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The examples the walk-through runs.
const EXAMPLES: [&str; 5] = ["test_cluster", "admin", "produce", "pipeline", "consume"];

const SECTION: &str = "## A pipeline in five steps";

/// The `sh` blocks of the README section headed `heading`, in order.
fn shell_blocks(readme: &str, heading: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
    let body = &readme[start + heading.len() + 2..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut blocks = Vec::new();
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```sh" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            blocks.push(block.join("\n"));
        }
    }
    blocks
}

/// The port after `flag` (`--port 9103`, `--metrics-addr 127.0.0.1:9464`) in `script`.
fn port_after(script: &str, flag: &str) -> String {
    let at = script
        .find(flag)
        .unwrap_or_else(|| panic!("the walk-through has no {flag}"));
    let rest = script[at + flag.len()..].trim_start();
    let word = rest.split_whitespace().next().unwrap();
    word.rsplit(':').next().unwrap().to_owned()
}

fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port().to_string()
}

/// A `cargo` first on the walk-through's PATH: `cargo run ... --example NAME [-- ARGS]`
/// becomes the example's binary (`exec`: a background job is the example itself, so the
/// README's `kill %1 %2` stops it); any other cargo command fails the walk-through.
const FAKE_CARGO: &str = r#"#!/bin/sh
[ "$1" = run ] || { echo "walk-through: unexpected cargo $*" >&2; exit 97; }
name=
while [ $# -gt 0 ]; do
  case "$1" in
    --example) name=$2; shift 2 ;;
    --) shift; break ;;
    *) shift ;;
  esac
done
[ -x "$EXAMPLES_DIR/$name" ] || { echo "walk-through: no example $name" >&2; exit 98; }
exec "$EXAMPLES_DIR/$name" "$@"
"#;

/// Kills process group `group` (the shell and whatever it left running). The `--` matters:
/// procps-ng's `kill -9 -PGID` reads `-PGID` as an option and signals every process it may
/// (`kill(-1, SIGKILL)`), the test runner included.
fn kill_group(group: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{group}")])
        .status();
}

#[test]
fn the_readme_walk_through_runs_a_pipeline_with_a_scrape() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let blocks = shell_blocks(&readme, SECTION);
    assert_eq!(
        blocks.len(),
        5,
        "five steps, one sh block each: {blocks:#?}"
    );
    let mut script = blocks.join("\n");
    for example in script.split("--example ").skip(1) {
        let name = example.split_whitespace().next().unwrap();
        assert!(EXAMPLES.contains(&name), "{name} is not in EXAMPLES");
    }
    for flag in ["--port", "--metrics-addr"] {
        let fixed = port_after(&script, flag);
        script = script.replace(&fixed, &free_port());
    }
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "the walk-through scrapes with curl: install it"
    );
    let examples_dir = common::examples::example(&EXAMPLES, "test_cluster")
        .parent()
        .unwrap()
        .to_owned();

    let dir = std::env::temp_dir().join(format!("readme-walkthrough-{}", std::process::id()));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(&cargo, FAKE_CARGO).unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.clone()];
    paths.extend(std::env::split_paths(&path));
    let mut shell = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .env("PATH", std::env::join_paths(paths).unwrap())
        .env("EXAMPLES_DIR", &examples_dir)
        .env_remove("FLUVIO_SC_ADDR")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash");
    let (mut stdout, mut stderr) = (shell.stdout.take().unwrap(), shell.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = shell.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(180) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Whatever the shell left running holds its stdout open.
    kill_group(shell.id());
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let status = status.unwrap_or_else(|| {
        panic!("the walk-through did not end within 180 s\nstdout:\n{out}\nstderr:\n{err}")
    });
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");

    let lines: Vec<&str> = out.lines().collect();
    for value in ["APPLE", "BANANA", "CHERRY"] {
        assert!(
            lines.contains(&value),
            "{value} not consumed\nstdout:\n{out}\nstderr:\n{err}"
        );
    }
    let acked = lines
        .iter()
        .find(|l| l.starts_with("fluvio_pipeline_acked_records_total"))
        .unwrap_or_else(|| panic!("no fluvio_ metrics scraped\nstdout:\n{out}\nstderr:\n{err}"));
    assert!(acked.ends_with(" 3"), "{acked}");
}
