//! Every policy's YAML cases, run against the component embedded in the gate binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

#[test]
fn every_policy_passes_its_cases() {
    let policies = support::root().join("policies-wasm");
    let mut dirs: Vec<_> = std::fs::read_dir(&policies)
        .expect("policies-wasm")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("cases").is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 2,
        "expected policy crates with cases under {}",
        policies.display()
    );
    let mut args = vec!["policy".to_owned(), "test".to_owned()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    let output =
        support::run_with_timeout(support::gate().args(&args), None, Duration::from_secs(600));
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(code, 0, "policy cases failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
