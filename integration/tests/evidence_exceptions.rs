//! `gate bundle exceptions` at a fixed `--now`: every exception listed, the ones
//! expiring within the window flagged, the expired ones flagged and failing the run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::time::Duration;

const BUNDLE: &str = "integration/fixtures/evidence/exceptions-bundle.yaml";

fn exceptions(args: &[&str]) -> (i32, String, String) {
    let mut command = support::gate();
    command.args(["bundle", "exceptions"]).args(args);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(60));
    support::parts(&output)
}

fn statuses(now: &str, extra: &[&str]) -> (i32, Vec<(String, String)>) {
    let mut args = vec![BUNDLE, "--now", now, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = exceptions(&args);
    let rows: Vec<Value> =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let statuses = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["expiry"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (code, statuses)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn flags_expired_and_soon_to_expire_exceptions() {
    // 2026-12-01: the debug session (through 2026-11-30) has just expired, the
    // mirror migration (2026-12-20 noon) is 19 days away, the vendor agent months.
    let (code, rows) = statuses("2026-12-01T00:00:00Z", &[]);
    assert_eq!(code, 1, "an expired exception fails the run");
    assert_eq!(
        rows,
        pairs(&[
            ("vendor-agent", "live"),
            ("debug-session", "expired"),
            ("mirror-migration", "expires-soon"),
        ])
    );

    // One second earlier the debug session still holds, for less than a day.
    let (code, rows) = statuses("2026-11-30T23:59:59Z", &[]);
    assert_eq!(code, 0);
    assert_eq!(rows[1], pairs(&[("debug-session", "expires-soon")])[0]);

    // Two weeks earlier, with the default window of 30 days, the migration is not
    // flagged yet; with --within 40 it is.
    let (code, rows) = statuses("2026-11-15T00:00:00Z", &[]);
    assert_eq!(code, 0);
    assert_eq!(rows[2].1, "live");
    let (_, rows) = statuses("2026-11-15T00:00:00Z", &["--within", "40"]);
    assert_eq!(rows[2].1, "expires-soon");
}

#[test]
fn the_text_report_names_policy_scope_reason_and_expiry() {
    let (code, stdout, _) = exceptions(&[BUNDLE, "--now", "2026-12-01T00:00:00Z"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("EXPIRED 0d ago"), "{stdout}");
    assert!(
        stdout.contains("builtin:disallow-privileged / debug-session"),
        "{stdout}"
    );
    assert!(stdout.contains("registries / mirror-migration"), "{stdout}");
    assert!(
        stdout.contains("scope: namespaces=monitoring names=node-agent"),
        "{stdout}"
    );
    assert!(stdout.contains("reason: INC-42 live debugging"), "{stdout}");
    assert!(stdout.contains("3 exception(s)"), "{stdout}");
    assert!(
        stdout.contains("1 expired, 1 expiring within 30 days, 1 live"),
        "{stdout}"
    );
}

#[test]
fn a_bundle_with_an_unreadable_expiry_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bad.yaml");
    std::fs::write(
        &bundle,
        std::fs::read_to_string(support::root().join(BUNDLE))
            .unwrap()
            .replace("\"2026-11-30\"", "next-tuesday"),
    )
    .unwrap();
    let (code, _, stderr) = exceptions(&[bundle.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("bad.yaml") && stderr.contains("next-tuesday"),
        "{stderr}"
    );
    // A bundle with no exception at all: nothing to flag.
    let (code, stdout, _) = exceptions(&["builtin:default", "--now", "2026-12-01T00:00:00Z"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("0 exception(s)"), "{stdout}");
}
