//! A namespaced object that sets no namespace reaches every policy in the
//! namespace it will land in (`--namespace`), as kubectl would place it; the
//! report says which namespace was assumed; cluster-scoped kinds get none.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

const BUNDLE: &str = "\
apiVersion: gate.dev/v1alpha1
kind: Bundle
metadata: {name: namespaces}
spec:
  policies:
  - module: builtin:allowed-namespaces
    exceptions:
    - name: excused-in-default
      reason: test
      expires: 2999-12-31
      namespaces: [default]
      names: [excused]
";

const MANIFESTS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: excused}
spec: {}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: placed, namespace: apps}
spec: {}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: []
";

/// `gate check -f json` on the manifests, with extra arguments; the exit code,
/// the report and the manifests file as it was after the run.
fn check(extra: &[&str]) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bundle.yaml"), BUNDLE).expect("bundle");
    let manifests = dir.path().join("manifests.yaml");
    std::fs::write(&manifests, MANIFESTS).expect("manifests");
    let mut command = support::gate();
    command
        .arg("check")
        .arg("--bundle")
        .arg(dir.path().join("bundle.yaml"))
        .arg(&manifests)
        .args(["-f", "json"])
        .args(extra);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(60));
    let (code, stdout, stderr) = support::parts(&output);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{stdout}\n{stderr}"));
    let after = std::fs::read_to_string(&manifests).expect("manifests");
    (code, report, after)
}

fn result<'r>(report: &'r serde_json::Value, name: &str) -> Option<&'r serde_json::Value> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["object"]["name"] == name)
}

#[test]
fn objects_without_a_namespace_are_judged_in_the_default_namespace() {
    let (code, report, after) = check(&["--namespace", "default"]);
    assert_eq!(code, 1, "web lands in default and is denied\n{report:#}");
    assert_eq!(after, MANIFESTS, "the user's file is never rewritten");

    let web = result(&report, "web").unwrap_or_else(|| panic!("web judged\n{report:#}"));
    assert_eq!(web["action"], "deny");
    assert_eq!(web["object"]["assumedNamespace"], "default");
    assert!(web["object"].get("namespace").is_none(), "{web:#}");

    // The exception scoped to `default` covers the object that lands there.
    let excused = result(&report, "excused").unwrap_or_else(|| panic!("excused\n{report:#}"));
    assert_eq!(excused["action"], "except");
    assert_eq!(excused["exception"]["name"], "excused-in-default");
    assert_eq!(excused["object"]["assumedNamespace"], "default");

    assert!(result(&report, "placed").is_none(), "{report:#}");
    assert!(result(&report, "reader").is_none(), "{report:#}");
    assert_eq!(report["summary"]["denied"], 1, "{report:#}");
}

#[test]
fn the_namespace_given_is_the_one_assumed() {
    let (code, report, _) = check(&["--namespace", "apps"]);
    assert_eq!(code, 0, "nothing lands in default\n{report:#}");
    assert!(report["results"].as_array().expect("results").is_empty());
}

#[test]
fn without_a_namespace_nothing_is_assumed() {
    let (code, report, _) = check(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(report["results"].as_array().expect("results").is_empty());
}
