//! Snapshots of every output format on a render that exercises every part of a
//! report. Digests are redacted: they change whenever a policy is rebuilt.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

fn render(format: &str) -> (i32, String) {
    let mut command = support::gate();
    command.args([
        "check",
        "--bundle",
        "integration/fixtures/outputs/bundle.yaml",
        "--now",
        "2026-11-28T12:00:00Z",
        "-f",
        format,
        "integration/fixtures/outputs/manifests",
    ]);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
    let (code, stdout, stderr) = support::parts(&output);
    assert!(stderr.is_empty(), "nothing on stderr: {stderr}");
    (code, stdout)
}

fn snapshot(format: &str) -> String {
    let (code, stdout) = render(format);
    // A malformed file is in the render: the gate could not judge everything.
    assert_eq!(code, 2, "{stdout}");
    stdout
}

macro_rules! assert_format_snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({
            filters => vec![
                (r"sha256:[0-9a-f]{64}", "sha256:[digest]"),
                (r#""semanticVersion": "[^"]+""#, r#""semanticVersion": "[version]""#),
            ],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

#[test]
fn text() {
    assert_format_snapshot!("text", snapshot("text"));
}

#[test]
fn json() {
    let text = snapshot("json");
    let report: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(report["schema"], "gate.dev/report/v1");
    assert_eq!(report["decision"], "error");
    assert_format_snapshot!("json", text);
}

#[test]
fn sarif() {
    let text = snapshot("sarif");
    let sarif: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let ids: Vec<_> = rules
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, ["disallow-privileged", "allowed-registries"]);
    for result in sarif["runs"][0]["results"].as_array().expect("results") {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(
            rules[index]["id"], result["ruleId"],
            "ruleIndex must point at the rule"
        );
    }
    validate_sarif(&text);
    assert_format_snapshot!("sarif", text);
}

/// Validates SARIF against the official 2.1.0 schema with Python's `jsonschema`, an
/// implementation that is not ours. CI installs it (.ci/requirements.txt); elsewhere,
/// without it, this check is skipped with a notice.
fn validate_sarif(text: &str) {
    let schema = support::root().join("integration/fixtures/sarif/sarif-2.1.0-rtm.5.json");
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  doc = json.load(sys.stdin)\n\
                  jsonschema.Draft4Validator.check_schema(schema)\n\
                  errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)\n\
                  [print(e.message, list(e.path)) for e in errors]\n\
                  sys.exit(1 if errors else 0)\n";
    let probe = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must validate SARIF: install python3 and jsonschema"
        );
        eprintln!("notice: python3 jsonschema not found; SARIF schema validation skipped");
        return;
    }
    let mut command = std::process::Command::new("python3");
    command.arg("-c").arg(script).arg(&schema);
    let output =
        support::run_with_timeout(&mut command, Some(text.as_bytes()), Duration::from_secs(60));
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(
        code, 0,
        "SARIF output is not valid SARIF 2.1.0:\n{stdout}\n{stderr}"
    );
}

#[test]
fn junit() {
    assert_format_snapshot!("junit", snapshot("junit"));
}

#[test]
fn github() {
    assert_format_snapshot!("github", snapshot("github"));
}

#[test]
fn azure_devops() {
    assert_format_snapshot!("azure_devops", snapshot("azure-devops"));
}
