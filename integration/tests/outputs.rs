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

/// Manifests written to act on the CI runner that reads gate's output: names,
/// namespaces, kinds, images and Secret keys that hold line breaks followed by GitHub
/// workflow commands, Azure DevOps logging commands anywhere in a line, ANSI escapes,
/// C1 controls and bidirectional overrides; in a file whose name is a command too.
const HOSTILE: &str = r###"apiVersion: v1
kind: Pod
metadata:
  name: "web\n::add-mask::leak"
  namespace: "shop\r##vso[task.setvariable variable=PWNED]1"
spec:
  containers:
    - name: "app\e[31m\u202eevil\x85\u2028::set-output name=x::1"
      image: "evil.io/app\n##[set-output name=y]2"
      securityContext: {privileged: true}
---
apiVersion: v1
kind: Secret
metadata:
  name: "s ##vso[task.complete result=Succeeded]done"
  namespace: "\u3000::stop-commands::tok"
data:
  "key\n  ::error file=x,line=1::injected": dmFsdWU=
---
apiVersion: v1
kind: "Thing\n::warning::kind"
metadata: {name: "##VSO[task.uploadfile]/etc/passwd"}
"###;

const HOSTILE_BUNDLE: &str = r#"apiVersion: gate.dev/v1alpha1
kind: Bundle
metadata: {name: hostile}
spec:
  policies:
    - module: builtin:disallow-privileged
    - module: builtin:no-plaintext-secrets
    - module: builtin:allowed-registries
      settings: {allowedContainerImagesRegex: '^good\.io/'}
    - module: builtin:required-labels
      settings: {labels: [{key: owner}]}
"#;

/// Would the GitHub Actions runner treat `line` as a workflow command? A line is one
/// when it starts with `::` after leading white space (TryParseV2), or holds `##[`
/// anywhere (the legacy TryParse, tried when the first fails).
fn github_command(line: &str) -> bool {
    line.trim_start_matches(char::is_whitespace)
        .starts_with("::")
        || line.contains("##[")
}

/// Would the Azure DevOps agent treat `line` as a logging command (`##vso[` anywhere)?
fn azure_command(line: &str) -> bool {
    line.to_ascii_lowercase().contains("##vso[")
}

/// A workflow command gate itself writes: `::error|warning|notice`, whose properties
/// are only those gate sets, each with its value escaped.
fn is_own_github_annotation(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("::") else {
        return false;
    };
    let Some((info, _data)) = rest.split_once("::") else {
        return false;
    };
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    ["error", "warning", "notice"].contains(&name)
        && properties
            .split(',')
            .filter(|p| !p.is_empty())
            .all(|p| match p.split_once('=') {
                Some(("line", v)) => v.bytes().all(|b| b.is_ascii_digit()),
                Some(("file" | "title", _)) => true,
                _ => false,
            })
}

/// A logging command gate itself writes: one `task.logissue`, with its own properties.
fn is_own_azure_issue(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("##vso[task.logissue ") else {
        return false;
    };
    let Some((properties, _data)) = rest.split_once(']') else {
        return false;
    };
    properties.split(';').all(|p| {
        matches!(
            p.split_once('='),
            Some(("type" | "sourcepath" | "linenumber" | "code", _))
        )
    })
}

/// A character no output may carry raw: controls other than LF, DEL, C1, separators
/// and the invisible formatting characters.
fn raw_control(c: char) -> bool {
    c != '\n'
        && matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{61c}' | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[test]
fn no_format_lets_a_manifest_write_a_ci_command() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(manifests.join("::add-mask::file ##vso[x]y.yaml"), HOSTILE).unwrap();
    std::fs::write(manifests.join("nl\n::error::f\u{1b}[0m.yaml"), HOSTILE).unwrap();
    let bundle = dir.path().join("bundle.yaml");
    std::fs::write(&bundle, HOSTILE_BUNDLE).unwrap();
    for format in ["text", "json", "sarif", "junit", "github", "azure-devops"] {
        let mut command = support::gate();
        command
            .env("GATE_LOG", "debug")
            .args(["check", "--bundle"])
            .arg(&bundle)
            .args(["-f", format])
            .arg(&manifests);
        let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
        let (code, stdout, stderr) = support::parts(&output);
        assert_eq!(
            code, 1,
            "-f {format}: expected a denial\n{stdout}\n{stderr}"
        );
        // The hostile text reached the output (escaped), so the checks below can fail.
        for planted in ["add-mask", "set-output", "task.setvariable", "injected"] {
            assert!(
                stdout.contains(planted),
                "-f {format}: {planted} is missing:\n{stdout}"
            );
        }
        if let Some(c) = stdout.chars().find(|&c| raw_control(c)) {
            panic!("-f {format}: stdout carries raw {c:?}:\n{stdout}");
        }
        // stderr carries gate's own log lines (coloured today even off a terminal, see
        // issue 8); what matters there is that no manifest text becomes a command.
        for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            for line in text.split('\n') {
                let own = match format {
                    "github" => is_own_github_annotation(line),
                    "azure-devops" => is_own_azure_issue(line),
                    _ => false,
                };
                assert!(
                    own || !(github_command(line) || azure_command(line)),
                    "-f {format}: {stream} line acts as a CI command: {line:?}\n{text}"
                );
            }
        }
    }
}

#[test]
fn the_command_detectors_recognise_what_runners_run() {
    assert!(github_command("::add-mask::x"));
    assert!(github_command(" \u{3000}::error::x"));
    assert!(github_command("text ##[set-output name=a]1"));
    assert!(!github_command("text ::error::x"));
    assert!(azure_command("x ##VSO[task.setvariable variable=a]1"));
    assert!(!azure_command("#\\u{23}vso[task]"));
    assert!(is_own_github_annotation(
        "::error file=a.yaml,line=3,title=gate x::msg ::add-mask::y"
    ));
    assert!(!is_own_github_annotation(
        "::error file=a,line=1,col=evil::msg"
    ));
    assert!(!is_own_github_annotation("::add-mask::x"));
    assert!(is_own_azure_issue(
        "##vso[task.logissue type=error;sourcepath=a;linenumber=1;code=p]m"
    ));
    assert!(!is_own_azure_issue("##vso[task.setvariable variable=a]1"));
}
