//! The compliance section of `policies-wasm/README.md` is generated from the policies'
//! self-descriptions and must not drift from them.
//!
//! The generator loads every policy crate of `policies-wasm/` (a temporary bundle with
//! `builtin:<crate>` for each), reads `policies[].info.controls` from the JSON report
//! of `gate check`, and renders one table per framework: control → policies. Regenerate
//! with `GATE_UPDATE_DOCS=1 cargo test -p gate --test compliance_table`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

const DOC: &str = "policies-wasm/README.md";

/// Frameworks in the order the document lists them, with the short name the policy
/// table uses; any other framework comes after, by name, under its full name.
const FRAMEWORKS: [(&str, &str); 3] = [
    ("CIS Kubernetes Benchmark", "CIS"),
    ("ISO/IEC 27001", "ISO 27001"),
    ("HDS", "HDS"),
];

/// What the document needs of one policy.
#[derive(Debug, Clone)]
struct Described {
    /// The crate directory under `policies-wasm/`.
    dir: String,
    /// Its self-description.
    info: Value,
}

/// The policy crates, as the gate build script finds them: directories of
/// `policies-wasm/` whose Cargo.toml builds a `cdylib`.
fn policy_crates(policies: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(policies)
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("Cargo.toml"))
                .is_ok_and(|t| t.contains("\"cdylib\""))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Loads every crate as a built-in policy and returns its self-description.
fn describe(crates: &[String]) -> Vec<Described> {
    let dir = tempfile::tempdir().unwrap();
    let mut bundle = String::from(
        "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: compliance}\nspec:\n  policies:\n",
    );
    for name in crates {
        writeln!(
            bundle,
            "    - {{module: \"builtin:{name}\", name: \"{name}\", mode: audit}}"
        )
        .unwrap();
    }
    let bundle_file = dir.path().join("bundle.yaml");
    std::fs::write(&bundle_file, bundle).unwrap();
    let render = dir.path().join("empty.yaml");
    std::fs::write(
        &render,
        "# no objects: only the policies' descriptions are wanted\n",
    )
    .unwrap();
    // The report goes to a file: with every policy's settings schema it outgrows a pipe
    // buffer, and the runner reads the pipes only once the process has exited.
    let report_file = dir.path().join("report.json");
    let mut command = support::gate();
    command
        .arg("check")
        .arg("--bundle")
        .arg(&bundle_file)
        .args(["--format", "json", "--output"])
        .arg(&report_file)
        .arg(&render);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(300));
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(
        code, 0,
        "every policy crate must load as builtin:<crate> with empty settings\n{stdout}\n{stderr}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    crates
        .iter()
        .map(|name| {
            let run = report["policies"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name.as_str())
                .unwrap_or_else(|| panic!("the report describes no policy {name}"));
            Described {
                dir: name.clone(),
                info: run["info"].clone(),
            }
        })
        .collect()
}

/// A control identifier split into numbers and text, so that 5.2.10 sorts after 5.2.9.
fn id_key(id: &str) -> Vec<(u64, String)> {
    let mut key = Vec::new();
    let mut rest = id;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits > 0 {
            key.push((rest[..digits].parse().unwrap_or(u64::MAX), String::new()));
            rest = &rest[digits..];
        } else {
            let text = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            key.push((0, rest[..text].to_owned()));
            rest = &rest[text..];
        }
    }
    key
}

fn framework_rank(framework: &str) -> usize {
    FRAMEWORKS
        .iter()
        .position(|(f, _)| framework.starts_with(f))
        .unwrap_or(FRAMEWORKS.len())
}

fn short_framework(framework: &str) -> &str {
    FRAMEWORKS
        .iter()
        .find(|(f, _)| framework.starts_with(f))
        .map_or(framework, |(_, short)| short)
}

fn compare_frameworks(a: &str, b: &str) -> Ordering {
    framework_rank(a)
        .cmp(&framework_rank(b))
        .then_with(|| a.cmp(b))
}

/// A cell of a Markdown table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

/// `[name](dir/)`: the policy, linked to its crate.
fn policy_link(policy: &Described) -> String {
    format!("[{}]({}/)", str_of(&policy.info, "name"), policy.dir)
}

/// The title most policies give a control (ties: the first in order).
fn usual_title(titles: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for title in titles {
        *counts.entry(title.as_str()).or_default() += 1;
    }
    let best = counts.values().copied().max().unwrap_or(0);
    counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(t, _)| t.to_owned())
        .unwrap_or_default()
}

/// One row of a framework table: a control, its titles, and the policies supporting it.
#[derive(Default)]
struct Row {
    titles: Vec<String>,
    policies: Vec<String>,
}

/// Renders the document.
fn render(policies: &[Described]) -> String {
    let mut frameworks: BTreeMap<String, BTreeMap<String, Row>> = BTreeMap::new();
    for policy in policies {
        for control in policy.info["controls"].as_array().into_iter().flatten() {
            let row = frameworks
                .entry(str_of(control, "framework").to_owned())
                .or_default()
                .entry(str_of(control, "id").to_owned())
                .or_default();
            row.titles.push(str_of(control, "title").to_owned());
            let link = policy_link(policy);
            if !row.policies.contains(&link) {
                row.policies.push(link);
            }
        }
    }
    let mut order: Vec<&String> = frameworks.keys().collect();
    order.sort_by(|a, b| compare_frameworks(a, b));

    let mut out = String::from(
        "Which policies of this pack provide evidence for which controls, as each policy \
         declares it (`Info::controls`). A policy supports a control; no policy satisfies \
         one on its own.\n",
    );
    for framework in order {
        let _ = write!(
            out,
            "\n### {framework}\n\n| Control | Title | Policies |\n| --- | --- | --- |\n"
        );
        let mut ids: Vec<&String> = frameworks[framework].keys().collect();
        ids.sort_by_key(|id| id_key(id));
        for id in ids {
            let row = &frameworks[framework][id];
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(id),
                cell(&usual_title(&row.titles)),
                row.policies.join(", ")
            );
        }
    }
    out.push_str("\n### Policies\n\n| Policy | Title | Category | Severity | Controls |\n| --- | --- | --- | --- | --- |\n");
    for policy in policies {
        let mut controls: Vec<(String, String)> = policy.info["controls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    str_of(c, "framework").to_owned(),
                    str_of(c, "id").to_owned(),
                )
            })
            .collect();
        controls.sort_by(|a, b| {
            compare_frameworks(&a.0, &b.0).then_with(|| id_key(&a.1).cmp(&id_key(&b.1)))
        });
        let controls: Vec<String> = controls
            .iter()
            .map(|(f, id)| format!("{} {id}", short_framework(f)))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            policy_link(policy),
            cell(str_of(&policy.info, "title")),
            cell(str_of(&policy.info, "category")),
            cell(str_of(&policy.info, "severity")),
            if controls.is_empty() {
                "none declared".to_owned()
            } else {
                cell(&controls.join(", "))
            }
        );
    }
    out
}

#[test]
fn compliance_table_is_up_to_date() {
    let root = support::root();
    let crates = policy_crates(&root.join("policies-wasm"));
    assert!(
        crates.len() >= 2,
        "expected policy crates under policies-wasm/"
    );
    let policies = describe(&crates);
    let expected = render(&policies);
    for policy in &policies {
        assert!(
            expected.contains(&format!("]({}/)", policy.dir)),
            "{} is missing from the table",
            policy.dir
        );
    }
    support::check_doc_section(
        DOC,
        "compliance",
        &expected,
        "cargo test -p gate --test compliance_table",
    );
}

fn described(dir: &str, controls: Value) -> Described {
    Described {
        dir: dir.to_owned(),
        info: serde_json::json!({
            "name": dir, "title": format!("{dir} title"), "category": "secrets",
            "severity": "high", "controls": controls
        }),
    }
}

#[test]
fn controls_are_grouped_by_framework_and_sorted_naturally() {
    let cis = "CIS Kubernetes Benchmark v1.9";
    let iso = "ISO/IEC 27001:2022";
    let policies = [
        described(
            "b-policy",
            serde_json::json!([
                {"framework": iso, "id": "A.8.24", "title": "Use of cryptography"},
                {"framework": cis, "id": "5.2.10", "title": "Ten"}
            ]),
        ),
        described(
            "a-policy",
            serde_json::json!([
                {"framework": iso, "id": "A.8.5", "title": "Secure authentication"},
                {"framework": cis, "id": "5.2.9", "title": "Nine"},
                {"framework": cis, "id": "5.2.10", "title": "Ten"}
            ]),
        ),
        described("c-policy", serde_json::json!([])),
    ];
    let doc = render(&policies);
    let at = |needle: &str| {
        doc.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{doc}"))
    };
    assert!(at("## CIS Kubernetes Benchmark v1.9") < at("## ISO/IEC 27001:2022"));
    assert!(
        at("| 5.2.9 |") < at("| 5.2.10 |"),
        "5.2.9 sorts before 5.2.10"
    );
    assert!(
        at("| A.8.5 |") < at("| A.8.24 |"),
        "A.8.5 sorts before A.8.24"
    );
    assert!(
        doc.contains("| 5.2.10 | Ten | [b-policy](b-policy/), [a-policy](a-policy/) |"),
        "{doc}"
    );
    assert!(
        doc.contains("| [c-policy](c-policy/) | c-policy title | secrets | high | none declared |"),
        "{doc}"
    );
    assert!(
        doc.contains("| high | CIS 5.2.9, CIS 5.2.10, ISO 27001 A.8.5 |"),
        "{doc}"
    );
}

#[test]
fn a_control_takes_the_title_most_policies_give_it() {
    let titles = ["B".to_owned(), "A".to_owned(), "B".to_owned()];
    assert_eq!(usual_title(&titles), "B");
    assert_eq!(usual_title(&["Z".to_owned(), "A".to_owned()]), "A");
}
