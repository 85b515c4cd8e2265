//! The Argo CD plugin's speed: `just bench-argocd` (or
//! `cargo bench -p gate --bench argocd -- --write`) times the whole
//! `gate argocd generate`, start-up included, on the largest folder of the
//! real-world corpus, against `gate check` on the same files with the same
//! bundle, in the same run, with a warm and with a cold component cache.
//!
//! The runs alternate (check, generate, check, ...) so that the machine's noise
//! falls on both alike. With `--write` the figures replace the section between
//! the `argocd-bench` markers of BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BUNDLE: &str = "builtin:default";
const BEGIN: &str = "<!-- argocd-bench:begin";
const END: &str = "<!-- argocd-bench:end -->";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("root")
}

/// The corpus folder holding the most bytes of manifests.
fn largest_folder(corpus: &Path) -> (PathBuf, u64) {
    fn bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() {
                    bytes(&path)
                } else if matches!(
                    path.extension().and_then(|x| x.to_str()),
                    Some("yaml" | "yml" | "json")
                ) {
                    e.metadata().map_or(0, |m| m.len())
                } else {
                    0
                }
            })
            .sum()
    }
    std::fs::read_dir(corpus)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let size = bytes(&p);
            (p, size)
        })
        .max_by_key(|(_, size)| *size)
        .expect("a corpus folder")
}

struct Setup {
    folder: PathBuf,
    config: PathBuf,
    reports: PathBuf,
}

/// One whole process; returns its wall time and checks its exit code.
fn time(command: &mut Command, expect: &[i32]) -> Duration {
    let start = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run gate");
    let elapsed = start.elapsed();
    assert!(
        status.code().is_some_and(|c| expect.contains(&c)),
        "{command:?}: {status}"
    );
    elapsed
}

fn check(setup: &Setup, cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gate"));
    command
        .args(["check", "--bundle", BUNDLE, "-f", "json", "-o", "/dev/null"])
        .arg(&setup.folder)
        .env("GATE_CACHE_DIR", cache)
        .env_remove("GATE_LOG");
    command
}

fn generate(setup: &Setup, cache: &Path, mode: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gate"));
    command
        .args(["argocd", "generate"])
        .arg(&setup.folder)
        .env("GATE_CACHE_DIR", cache)
        .env("GATE_ARGOCD_CONFIG", &setup.config)
        .env("GATE_REPORT_DIR", &setup.reports)
        .env("ARGOCD_APP_NAME", "bench")
        .env("ARGOCD_APP_NAMESPACE", "bench")
        .env("ARGOCD_APP_PROJECT_NAME", "bench")
        .env("ARGOCD_ENV_GATE_MODE", mode)
        .env_remove("GATE_LOG");
    command
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let write = std::env::args().any(|a| a == "--write");
    let corpus = std::env::var_os("GATE_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus/realworld"));
    let (folder, size) = largest_folder(&corpus);
    let scratch = tempfile::tempdir().expect("tempdir");
    let config = scratch.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: ArgoCDPluginConfig\nspec:\n  bundles:\n    bench: {BUNDLE}\n  default:\n    bundle: bench\n    modes: [enforce, audit]\n"
        ),
    )
    .expect("config");
    let setup = Setup {
        folder,
        config,
        reports: scratch.path().join("reports"),
    };
    let objects = gate_engine::sources::load(std::slice::from_ref(&setup.folder))
        .resources
        .len();

    // Warm: one cache filled by a first run of each, then alternating runs.
    let warm = tempfile::tempdir().expect("tempdir");
    time(&mut check(&setup, warm.path()), &[0, 1]);
    time(&mut generate(&setup, warm.path(), "audit"), &[0]);
    let (mut check_warm, mut audit_warm, mut enforce_warm) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        check_warm.push(time(&mut check(&setup, warm.path()), &[0, 1]));
        audit_warm.push(time(&mut generate(&setup, warm.path(), "audit"), &[0]));
        enforce_warm.push(time(&mut generate(&setup, warm.path(), "enforce"), &[0, 1]));
    }
    // Cold: a fresh cache for every run.
    let (mut check_cold, mut audit_cold) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let fresh = tempfile::tempdir().expect("tempdir");
        check_cold.push(time(&mut check(&setup, fresh.path()), &[0, 1]));
        let fresh = tempfile::tempdir().expect("tempdir");
        audit_cold.push(time(&mut generate(&setup, fresh.path(), "audit"), &[0]));
    }
    let (check_warm, audit_warm, enforce_warm) =
        (median(check_warm), median(audit_warm), median(enforce_warm));
    let (check_cold, audit_cold) = (median(check_cold), median(audit_cold));

    let name = setup
        .folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let table = format!(
        "Folder `{name}` ({objects} objects, {:.1} MB of manifests), bundle `{BUNDLE}`, \
         {} CPUs, release build. `generate` runs in audit mode, so the whole render is \
         judged and written to stdout (the allowed path, the heavier one); the enforce row \
         is the same render denied (nothing on stdout, the report to a file).\n\n\
         | measurement | median | notes |\n|---|---|---|\n\
         | `gate check --bundle {BUNDLE} -f json -o /dev/null FOLDER`, warm cache | {} | median of 7 |\n\
         | `gate argocd generate FOLDER` (audit: allowed, whole render on stdout), warm cache | {} | median of 7 |\n\
         | `gate argocd generate FOLDER` (enforce: denied), warm cache | {} | median of 7 |\n\
         | `gate check ...`, cold cache | {} | fresh cache each run, median of 3 |\n\
         | `gate argocd generate FOLDER` (audit), cold cache | {} | fresh cache each run, median of 3 |\n\n\
         Ratios, measured in the same run (target ≤ 1.2):\n\n\
         - warm: generate / check = **{:.2}**\n\
         - cold: generate / check = **{:.2}**\n",
        size as f64 / 1e6,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        ms(check_warm),
        ms(audit_warm),
        ms(enforce_warm),
        ms(check_cold),
        ms(audit_cold),
        ratio(audit_warm, check_warm),
        ratio(audit_cold, check_cold),
    );
    println!("{table}");
    if write {
        let path = root().join("BENCHMARKS.md");
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        let section = format!(
            "{BEGIN}: written by `just bench-argocd`, kept by `just bench` -->\n## Argo CD plugin: `gate argocd generate` against `gate check`\n\nProduced by `just bench-argocd` (`cargo bench -p gate --bench argocd -- --write`).\n\n{table}{END}\n"
        );
        let updated = match (doc.find(BEGIN), doc.find(END)) {
            (Some(begin), Some(end)) => {
                format!(
                    "{}{section}{}",
                    &doc[..begin],
                    &doc[end + END.len()..].trim_start_matches('\n')
                )
            }
            _ => format!("{}\n\n{section}", doc.trim_end()),
        };
        std::fs::write(&path, updated).expect("write BENCHMARKS.md");
        eprintln!("wrote the Argo CD section of BENCHMARKS.md");
    }
}
