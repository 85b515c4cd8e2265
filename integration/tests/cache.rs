//! The disk cache of precompiled components: a second run loads instead of
//! compiling, and a corrupt entry is recompiled, never trusted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::Duration;

/// Runs `gate check` on the example repository with a given cache and debug logs.
fn check(cache: &Path) -> (i32, String, String) {
    let mut command = support::gate();
    command
        .env("GATE_CACHE_DIR", cache)
        .env("GATE_LOG", "gate_runtime=debug")
        .args(["check", "integration/example-repo"]);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
    support::parts(&output)
}

fn entries(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(cache)
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    files.sort();
    files
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn a_second_run_loads_every_component_from_the_cache() {
    let cache = tempfile::tempdir().expect("tempdir");
    let (code, first_out, first_log) = check(cache.path());
    assert_eq!(
        code, 1,
        "the example repository has denials\n{first_out}\n{first_log}"
    );
    assert_eq!(count(&first_log, "component compiled"), 2, "{first_log}");
    assert_eq!(entries(cache.path()).len(), 2);

    let (code, second_out, second_log) = check(cache.path());
    assert_eq!(code, 1);
    assert_eq!(
        count(&second_log, "component loaded from cache"),
        2,
        "{second_log}"
    );
    assert_eq!(count(&second_log, "component compiled"), 0, "{second_log}");
    assert_eq!(
        first_out, second_out,
        "a cached component must judge exactly as a fresh one"
    );
}

#[test]
fn corrupt_and_truncated_entries_are_recompiled() {
    let cache = tempfile::tempdir().expect("tempdir");
    let (_, expected, _) = check(cache.path());
    let files = entries(cache.path());
    assert_eq!(files.len(), 2);

    // Flip bytes in the middle of one entry, truncate the other.
    let mut bytes = std::fs::read(&files[0]).expect("read");
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&files[0], &bytes).expect("corrupt");
    let truncated = std::fs::read(&files[1]).expect("read");
    std::fs::write(&files[1], &truncated[..truncated.len() / 3]).expect("truncate");

    let (code, out, log) = check(cache.path());
    assert_eq!(code, 1, "{out}\n{log}");
    assert_eq!(out, expected, "recompiled components must judge the same");
    assert_eq!(count(&log, "corrupt cache entry; recompiling"), 2, "{log}");
    assert_eq!(count(&log, "component compiled"), 2, "{log}");

    // The entries were rewritten whole: the next run trusts them again.
    let (_, _, log) = check(cache.path());
    assert_eq!(count(&log, "component loaded from cache"), 2, "{log}");
}

#[test]
fn no_cache_compiles_every_time_and_writes_nothing() {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut command = support::gate();
    command
        .env("GATE_CACHE_DIR", cache.path())
        .env("GATE_LOG", "gate_runtime=debug")
        .args(["check", "--no-cache", "integration/example-repo"]);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
    let (code, _, log) = support::parts(&output);
    assert_eq!(code, 1);
    assert_eq!(count(&log, "component compiled"), 2, "{log}");
    assert!(entries(cache.path()).is_empty());
}
