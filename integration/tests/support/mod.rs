//! Shared by the end-to-end tests: run the real `gate` binary, with a watchdog.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// A `gate` command run from the repository root, with a private component cache
/// shared by all tests of this run.
pub fn gate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gate"));
    command
        .current_dir(root())
        .env("GATE_CACHE_DIR", cache_dir())
        .env_remove("GATE_LOG");
    command
}

/// One cache for the whole test run: the first test compiles, the others load.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("gate-cache")
}

/// Runs a command with stdin from `input` (or nothing) and kills it after `limit`:
/// a test never hangs, it fails.
pub fn run_with_timeout(command: &mut Command, input: Option<&[u8]>, limit: Duration) -> Output {
    use std::io::Write;
    command
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn gate");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "gate did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `gate` with arguments (60 s watchdog).
pub fn run(args: &[&str]) -> Output {
    run_with_timeout(gate().args(args), None, Duration::from_secs(60))
}

/// The exit code, stdout and stderr of an output.
pub fn parts(output: &Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
