//! The SmartModules of `tests/fixtures/smartmodules` (a Cargo workspace of cdylib crates
//! built with `fluvio-smartmodule`), built for `wasm32-unknown-unknown` into
//! `<target>/smartmodules` once per test binary; cargo rebuilds only what changed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// The built modules (raw wasm).
#[derive(Debug)]
pub struct Modules {
    /// Keeps values containing the `needle` parameter (default "a").
    pub filter: Vec<u8>,
    /// Upper-cases values.
    pub map: Vec<u8>,
    /// Keeps values of an even number of bytes, reversed.
    pub filter_map: Vec<u8>,
    /// One record per word.
    pub array_map: Vec<u8>,
    /// Sums integer values.
    pub aggregate: Vec<u8>,
}

const NAMES: [&str; 5] = ["filter", "map", "filter_map", "array_map", "aggregate"];
const TARGET: &str = "wasm32-unknown-unknown";

/// Why the modules are not there (no wasm32 target, a failed build): the test fails.
type Unavailable = String;

fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|e| format!("{shown}: cannot run: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{shown}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Make sure rustc can build for wasm32-unknown-unknown, adding the target once if needed.
fn ensure_wasm_target() -> Result<(), Unavailable> {
    let installed = || {
        run(Command::new("rustup").args(["target", "list", "--installed"]))
            .map(|out| out.lines().any(|l| l.trim() == TARGET))
    };
    match installed() {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => {
            return Err(format!(
                "wasm32 target unavailable (rustup not usable: {e})"
            ))
        }
    }
    println!("adding the {TARGET} target with rustup (once)");
    match run(Command::new("rustup").args(["target", "add", TARGET])) {
        Ok(_) if installed() == Ok(true) => Ok(()),
        Ok(_) => Err("wasm32 target unavailable (rustup target add did not install it)".into()),
        Err(e) => Err(format!("wasm32 target unavailable: {e}")),
    }
}

/// `<target dir>/smartmodules` (the target dir of this build, as cargo reports it to tests).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("smartmodules")
}

fn build() -> Result<Modules, Unavailable> {
    ensure_wasm_target()?;
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smartmodules");
    let target_dir = target_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let mut command = Command::new(cargo);
    command
        .current_dir(&project)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        // This test's own build settings must not leak into the wasm build.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS");
    run(&mut command).map_err(|e| format!("SmartModule build failed: {e}"))?;
    println!("SmartModules ready in {:.1?}", started.elapsed());
    let release = target_dir.join(TARGET).join("release");
    let read = |name: &str| {
        let path = release.join(format!("sm_{name}.wasm"));
        std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))
    };
    let modules = Modules {
        filter: read(NAMES[0])?,
        map: read(NAMES[1])?,
        filter_map: read(NAMES[2])?,
        array_map: read(NAMES[3])?,
        aggregate: read(NAMES[4])?,
    };
    Ok(modules)
}

/// The modules, built once per test binary. A failing build, or no wasm32 target, fails
/// the test.
pub fn modules() -> &'static Modules {
    static MODULES: OnceLock<Result<Modules, Unavailable>> = OnceLock::new();
    match MODULES.get_or_init(build) {
        Ok(modules) => modules,
        Err(why) => panic!("{why}"),
    }
}
