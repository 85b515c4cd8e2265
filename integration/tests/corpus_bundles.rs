//! Every built-in bundle on the real-world corpus (`../shared/corpus/realworld`, about
//! 3,200 objects from six public repositories): each bundle loads, no policy fails,
//! and its findings per policy are the ones the pack's README lists, as a sanity check
//! a reviewer can read.
//!
//! A few corpus files are refused by gate's reader on purpose (duplicate keys, a kind
//! without apiVersion: see `yaml_parity`). Those refusals make the run exit 2, so the
//! test accepts exit 2 only when every error is such a refusal of a whole file, the
//! same files for every bundle; any error that names a policy fails it.
//!
//! The corpus is not part of the repository. Without it the test says so and checks
//! nothing, unless `GATE_REQUIRE_CORPUS=1`, which makes its absence a failure. Point at
//! another copy with `GATE_CORPUS`. Regenerate the README's table with
//! `GATE_UPDATE_DOCS=1 cargo test -p gate --test corpus_bundles`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

const DOC: &str = "policies-wasm/README.md";

/// Findings of one policy in one bundle run.
#[derive(Default)]
struct Count {
    /// The policy's mode in the bundle.
    mode: String,
    /// (object, policy) results that found something.
    objects: usize,
    /// Violations across those results.
    violations: usize,
}

fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("GATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::root().join("../shared/corpus/realworld"));
    path.is_dir().then_some(path)
}

fn bundles() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(support::root().join("bundles"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".yaml").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Runs one bundle on the corpus and returns its report with the files the reader
/// refused, checking that no policy failed.
fn run(bundle: &str, corpus: &str, dir: &std::path::Path) -> (Value, Vec<String>) {
    let report_file = dir.join(format!("{bundle}.json"));
    let report_arg = report_file.display().to_string();
    let builtin = format!("builtin:{bundle}");
    let output = support::run_with_timeout(
        support::gate().args([
            "check",
            corpus,
            "--bundle",
            &builtin,
            "-f",
            "json",
            "-o",
            &report_arg,
        ]),
        None,
        Duration::from_secs(900),
    );
    let (code, _, stderr) = support::parts(&output);
    assert!(
        matches!(code, 0..=2),
        "bundle {bundle} on the corpus exited {code}\n{stderr}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    let errors = report["errors"].as_array().unwrap();
    let refused: Vec<String> = errors
        .iter()
        .map(|e| {
            assert!(
                e.get("policy").is_none() && e.get("object").is_none(),
                "bundle {bundle}: a policy failed on the corpus: {e:#}"
            );
            e["file"]
                .as_str()
                .unwrap_or_else(|| panic!("bundle {bundle}: an error names no file: {e:#}"))
                .to_owned()
        })
        .collect();
    let expected = match (code, refused.is_empty()) {
        (2, false) => "error",
        (0, true) => "allow",
        (1, true) => "deny",
        _ => panic!(
            "bundle {bundle}: exit {code} with {} refused files",
            refused.len()
        ),
    };
    assert_eq!(
        report["decision"], expected,
        "bundle {bundle}: exit code and decision disagree"
    );
    (report, refused)
}

fn counts(report: &Value) -> BTreeMap<String, Count> {
    let mut counts: BTreeMap<String, Count> = BTreeMap::new();
    for policy in report["policies"].as_array().unwrap() {
        let entry = counts
            .entry(policy["name"].as_str().unwrap().to_owned())
            .or_default();
        entry.mode = policy["mode"].as_str().unwrap_or_default().to_owned();
    }
    for result in report["results"].as_array().unwrap() {
        let name = result["policy"].as_str().unwrap();
        let entry = counts
            .get_mut(name)
            .unwrap_or_else(|| panic!("result for {name}, which the report does not list"));
        entry.objects += 1;
        entry.violations += result["violations"].as_array().map_or(0, Vec::len);
    }
    counts
}

#[test]
fn every_bundle_on_the_corpus() {
    let Some(corpus) = corpus() else {
        assert!(
            std::env::var_os("GATE_REQUIRE_CORPUS").is_none(),
            "GATE_REQUIRE_CORPUS is set but ../shared/corpus/realworld is missing"
        );
        eprintln!("skipped: no corpus at ../shared/corpus/realworld (set GATE_CORPUS)");
        return;
    };
    let corpus_arg = corpus.display().to_string();
    let dir = tempfile::tempdir().unwrap();

    let mut table = String::new();
    let mut objects = None;
    let mut refused_files = None;
    for bundle in bundles() {
        let (report, refused) = run(&bundle, &corpus_arg, dir.path());
        let refused_files = refused_files.get_or_insert_with(|| refused.clone());
        assert_eq!(
            &refused, refused_files,
            "bundle {bundle}: the reader refused other files than for the first bundle"
        );
        let summary = &report["summary"];
        objects.get_or_insert_with(|| summary["objects"].as_u64().unwrap());
        assert_eq!(
            summary["objects"].as_u64(),
            objects,
            "every bundle sees the same objects"
        );
        let counts = counts(&report);
        writeln!(
            table,
            "\n**`{bundle}`**: {} evaluations, {} denied, {} warnings.\n\n\
             | policy | mode | objects with findings | violations |\n|---|---|---:|---:|",
            summary["evaluations"], summary["denied"], summary["warnings"],
        )
        .unwrap();
        for (policy, count) in &counts {
            writeln!(
                table,
                "| `{policy}` | {} | {} | {} |",
                count.mode, count.objects, count.violations
            )
            .unwrap();
        }
    }
    let refused_files = refused_files.unwrap_or_default();
    let corpus_prefix = format!("{corpus_arg}/");
    let refused_list: String = refused_files
        .iter()
        .map(|f| format!("\n- `{}`", f.strip_prefix(&corpus_prefix).unwrap_or(f)))
        .collect();
    let section = format!(
        "`gate check ../shared/corpus/realworld --bundle builtin:NAME` for every built-in bundle \
         ({} objects; policies that find nothing show 0). The reader refuses {} files of the \
         corpus, as it must (duplicate keys, a kind without apiVersion; see `yaml_parity`), so \
         every run ends with exit 2 after judging the rest:\n{refused_list}\n{table}",
        objects.unwrap_or_default(),
        refused_files.len()
    );
    support::check_doc_section(
        DOC,
        "corpus-findings",
        &section,
        "cargo test -p gate --test corpus_bundles",
    );
}
