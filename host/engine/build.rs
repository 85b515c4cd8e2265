//! Builds the policies in `policies-wasm/` for wasm32-wasip2 and embeds them, so
//! that `gate check` works with no registry and no flags.
//!
//! Set `GATE_POLICIES_WASM_DIR` to a directory of prebuilt `<crate_name>.wasm`
//! files to skip the nested build.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    if let Err(e) = run() {
        println!("cargo::error={e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .map_err(|e| e.to_string())?;
    let policies_dir = root.join("policies-wasm");
    for watched in ["policies-wasm", "wit", "host/tape/src", "bundles"] {
        println!("cargo::rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo::rerun-if-env-changed=GATE_POLICIES_WASM_DIR");

    let crates = policy_crates(&policies_dir)?;
    let wasm_dir = match std::env::var_os("GATE_POLICIES_WASM_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => build_policies(&root, &policies_dir)?,
    };

    let mut out = String::from(
        "/// Policies compiled into this binary.\npub static POLICIES: &[BuiltinPolicy] = &[\n",
    );
    for name in &crates {
        let wasm = wasm_dir.join(format!("{}.wasm", name.replace('-', "_")));
        if !wasm.is_file() {
            return Err(format!("policy {name}: {} was not built", wasm.display()));
        }
        let bytes = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        writeln!(
            out,
            "    BuiltinPolicy {{ name: {name:?}, wasm: include_bytes!({:?}), digest: {digest:?} }},",
            wasm.display().to_string()
        )
        .map_err(|e| e.to_string())?;
    }
    out.push_str(
        "];\n\n/// Bundles compiled into this binary.\npub static BUNDLES: &[BuiltinBundle] = &[\n",
    );
    for bundle in bundle_files(&root.join("bundles"))? {
        let name = bundle
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        writeln!(
            out,
            "    BuiltinBundle {{ name: {name:?}, yaml: include_str!({:?}) }},",
            bundle.display().to_string()
        )
        .map_err(|e| e.to_string())?;
    }
    out.push_str("];\n");
    let out_file = PathBuf::from(env("OUT_DIR")?).join("builtin.rs");
    std::fs::write(&out_file, out).map_err(|e| format!("{}: {e}", out_file.display()))
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// The cdylib crates of the policies workspace, sorted.
fn policy_crates(dir: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if text.contains("\"cdylib\"") {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn bundle_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Runs `cargo build --release --target wasm32-wasip2` on the policies workspace,
/// in a target directory of its own beside the host's.
fn build_policies(root: &Path, policies_dir: &Path) -> Result<PathBuf, String> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(policies_dir)
        .args([
            "build",
            "--release",
            "--workspace",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    // The host build's flags are for the host, not for wasm32.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo for the policies: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the policies failed ({status}); is the wasm32-wasip2 target installed? \
             run `rustup target add wasm32-wasip2`"
        ));
    }
    Ok(target_dir.join("wasm32-wasip2").join("release"))
}
