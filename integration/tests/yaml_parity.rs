//! The differential test of gate's manifest parser against the real thing:
//! every document of the conformance fixtures, the example repository, the
//! real-world corpus and the adversarial set goes through gate's loader and
//! through `kubectl label --local -f FILE gate-parity=1 -o json` (the API
//! machinery's parser, no cluster), and the two must give the same objects.
//!
//! - A file gate reads: kubectl prints the same objects in the same order (each
//!   with the added label), and refuses exactly the documents gate skips.
//! - A file gate refuses: kubectl refuses it too, unless gate's error is one of the
//!   documented places where gate is deliberately stricter (`STRICTER`).
//!
//! Files are sent to kubectl in batches (one process, many `-f`), so the test takes
//! seconds; a batch that disagrees is rerun file by file to name the culprit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where gate refuses on purpose what kubectl accepts, each with the reason.
const STRICTER: &[(&str, &str)] = &[
    (
        "duplicate key",
        "a key twice in one mapping: go-yaml keeps the last, the API server's strict mode refuses",
    ),
    (
        "become the same JSON key",
        "two different YAML keys (1 and \"1\") become one JSON key: kubectl keeps one at random",
    ),
    (
        "!!timestamp",
        "explicit !!timestamp tags: go-yaml parses them with Go's time.Parse, not imitated",
    ),
    (
        "no apiVersion",
        "kubectl would pick a version from the cluster's discovery, which gate cannot know",
    ),
    (
        "found unknown escape character",
        "\\' in double quotes: go-yaml v2 (libyaml 0.1) accepts it, libyaml 0.2 and YAML 1.2 do not",
    ),
    (
        "hex escape",
        "a JSON \\ud800 escape: Go replaces it with U+FFFD, gate refuses it",
    ),
];

/// kubectl refusing one document (it goes on with the next): gate skips it.
const KUBECTL_OBJECT_ERRORS: &[&str] = &["unable to decode", "unable to get type info"];

/// Documents per kubectl call, in files.
const BATCH: usize = 150;

fn kubectl() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl is missing: .ci/run installs it"
        );
        eprintln!("skipped: kubectl is not installed");
    }
    found
}

fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("GATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::root().join("../shared/corpus/realworld"));
    if path.is_dir() {
        return Some(path);
    }
    assert!(
        std::env::var_os("GATE_REQUIRE_CORPUS").is_none(),
        "GATE_REQUIRE_CORPUS is set but {} is missing",
        path.display()
    );
    eprintln!("corpus skipped: no {}", path.display());
    None
}

/// Every manifest file under `dir`, as gate's directory walk picks them.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let is_link = path.symlink_metadata().unwrap().file_type().is_symlink();
        if is_link {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else if gate_core::manifest::Format::from_path(&path).is_some() {
            out.push(path);
        }
    }
}

/// What gate makes of one file.
struct GateView {
    path: PathBuf,
    outcome: Result<gate_core::manifest::Parsed, String>,
}

fn gate_view(path: &Path) -> GateView {
    let name = path.display().to_string();
    let outcome = match std::fs::read_to_string(path) {
        Ok(text) => gate_core::manifest::parse(&name, &text).map_err(|e| e.to_string()),
        Err(e) => Err(format!("unreadable: {e}")),
    };
    GateView {
        path: path.to_owned(),
        outcome,
    }
}

/// What kubectl printed for some files: the objects (label removed) and the
/// error lines.
struct KubectlView {
    objects: Vec<Value>,
    errors: Vec<String>,
}

fn kubectl_view(kubectl: &Path, paths: &[&Path]) -> KubectlView {
    let mut command = Command::new(kubectl);
    command.args(["label", "--local", "-o", "json"]);
    for path in paths {
        command.arg("-f").arg(path);
    }
    command.arg("gate-parity=1");
    let output = command.output().expect("run kubectl");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let objects = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .map(|v| v.expect("kubectl prints JSON"))
        .collect();
    let errors = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    KubectlView { objects, errors }
}

/// gate's object with the label kubectl adds.
fn labelled(object: &Value) -> Value {
    let mut object = object.clone();
    let Some(map) = object.as_object_mut() else {
        return object;
    };
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    if metadata.is_null() {
        *metadata = Value::Object(Default::default());
    }
    if let Some(metadata) = metadata.as_object_mut() {
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Value::Object(Default::default()));
        if labels.is_null() {
            *labels = Value::Object(Default::default());
        }
        if let Some(labels) = labels.as_object_mut() {
            labels.insert("gate-parity".into(), Value::String("1".into()));
        }
    }
    object
}

fn is_object_error(line: &str) -> bool {
    KUBECTL_OBJECT_ERRORS.iter().any(|e| line.contains(e))
}

/// Compares one or more files gate read without error; returns the differences.
fn compare_read(views: &[&GateView], kubectl: &KubectlView) -> Vec<String> {
    let mut problems = Vec::new();
    let expected: Vec<Value> = views
        .iter()
        .flat_map(|v| v.outcome.as_ref().unwrap().resources.iter())
        .map(|r| labelled(&r.object))
        .collect();
    let skipped: usize = views
        .iter()
        .map(|v| v.outcome.as_ref().unwrap().skipped.len())
        .sum();
    for line in &kubectl.errors {
        if !is_object_error(line) {
            problems.push(format!("kubectl refused what gate read: {line}"));
        }
    }
    let refused = kubectl.errors.iter().filter(|l| is_object_error(l)).count();
    if refused != skipped {
        problems.push(format!(
            "kubectl refused {refused} documents, gate skipped {skipped}"
        ));
    }
    if expected.len() != kubectl.objects.len() {
        problems.push(format!(
            "gate read {} objects, kubectl {}",
            expected.len(),
            kubectl.objects.len()
        ));
    }
    for (index, (ours, theirs)) in expected.iter().zip(&kubectl.objects).enumerate() {
        if ours != theirs {
            problems.push(format!(
                "object {index} differs:\n  gate:    {ours}\n  kubectl: {theirs}"
            ));
        }
    }
    problems
}

#[derive(Default)]
struct Tally {
    files: usize,
    objects: usize,
    skipped: usize,
    refused_by_both: usize,
    stricter: Vec<String>,
    differences: Vec<String>,
}

fn check_set(kubectl: &Path, label: &str, paths: &[PathBuf], tally: &mut Tally) {
    let views: Vec<GateView> = paths.iter().map(|p| gate_view(p)).collect();
    tally.files += views.len();
    let (read, refused): (Vec<&GateView>, Vec<&GateView>) =
        views.iter().partition(|v| v.outcome.is_ok());
    for batch in read.chunks(BATCH) {
        let batch_paths: Vec<&Path> = batch.iter().map(|v| v.path.as_path()).collect();
        let seen = kubectl_view(kubectl, &batch_paths);
        if compare_read(batch, &seen).is_empty() {
            for v in batch {
                let parsed = v.outcome.as_ref().unwrap();
                tally.objects += parsed.resources.len();
                tally.skipped += parsed.skipped.len();
            }
            continue;
        }
        // Name the files that disagree.
        for v in batch {
            let seen = kubectl_view(kubectl, &[v.path.as_path()]);
            for problem in compare_read(&[v], &seen) {
                tally
                    .differences
                    .push(format!("{label}: {}: {problem}", v.path.display()));
            }
        }
    }
    for v in refused {
        let message = v.outcome.as_ref().err().unwrap();
        let seen = kubectl_view(kubectl, &[v.path.as_path()]);
        if !seen.errors.is_empty() {
            tally.refused_by_both += 1;
            continue;
        }
        match STRICTER
            .iter()
            .find(|(fragment, _)| message.contains(fragment))
        {
            Some((_, why)) => tally
                .stricter
                .push(format!("{}: {message} [{why}]", v.path.display())),
            None => tally.differences.push(format!(
                "{label}: {}: gate refused what kubectl read: {message}",
                v.path.display()
            )),
        }
    }
}

#[test]
fn gate_reads_every_document_as_kubectl_does() {
    let Some(kubectl) = kubectl() else { return };
    let root = support::root();
    let mut sets: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for (label, dir) in [
        (
            "adversarial",
            root.join("integration/fixtures/yaml-adversarial"),
        ),
        ("conformance", root.join("integration/conformance")),
        ("example-repo", root.join("integration/example-repo")),
    ] {
        let mut found = Vec::new();
        files(&dir, &mut found);
        assert!(!found.is_empty(), "no manifests in {}", dir.display());
        sets.push((label.to_owned(), found));
    }
    if let Some(corpus) = corpus() {
        let mut found = Vec::new();
        files(&corpus, &mut found);
        sets.push(("corpus".to_owned(), found));
    }
    let mut tally = Tally::default();
    for (label, paths) in &sets {
        check_set(&kubectl, label, paths, &mut tally);
    }
    eprintln!(
        "yaml parity: {} files, {} objects identical, {} documents refused by both (skipped by gate), {} files refused by both, {} refused only by gate on purpose:",
        tally.files,
        tally.objects,
        tally.skipped,
        tally.refused_by_both,
        tally.stricter.len()
    );
    for line in &tally.stricter {
        eprintln!("  stricter: {line}");
    }
    assert!(
        tally.differences.is_empty(),
        "{} differences from kubectl:\n{}",
        tally.differences.len(),
        tally.differences.join("\n")
    );
    assert!(tally.objects > 100, "the comparison saw too few objects");
}

#[test]
fn the_adversarial_set_covers_every_class_with_enough_documents() {
    let dir = support::root().join("integration/fixtures/yaml-adversarial");
    let mut found = Vec::new();
    files(&dir, &mut found);
    let documents: usize = found
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            1 + text.lines().filter(|l| l.starts_with("---")).count()
        })
        .sum();
    assert!(documents >= 60, "only {documents} adversarial documents");
    let names: Vec<String> = found
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for class in [
        "booleans",
        "integers",
        "floats",
        "nulls",
        "merge",
        "anchors",
        "separator",
        "tags",
        "bom",
        "tabs",
        "json",
        "lists",
        "keys",
        "duplicate",
        "alias-bomb",
    ] {
        assert!(
            names.iter().any(|n| n.contains(class)),
            "no adversarial file for {class}"
        );
    }
}
