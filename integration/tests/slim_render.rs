//! `gate check` slims each file's objects as it reads them, keeping whole (as
//! tapes) only the kinds its bundle's policies read. A slimmed render must be
//! judged exactly as the whole one, and an object a policy was to read but that
//! was not kept must never pass: it is an error naming the policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use gate_core::report::{Decision, ErrorKind, Report};
use gate_engine::evaluate::{EvaluateOptions, evaluate};
use gate_engine::loader::{BundleRef, LoadedBundle, LocalResolver, load_bundle};
use gate_engine::sources::{LoadOptions, load_with};
use gate_runtime::{Runtime, RuntimeConfig};
use std::path::{Path, PathBuf};

/// Cross-object policies (unique Service selectors, ServiceAccount look-ups),
/// policies of every kind (required labels) and of workloads.
const BUNDLE: &str = "bundles/aks-deployment-safeguards.yaml";

const RENDER: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: a, namespace: shop}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: shop}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: shop}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  template:
    spec:
      serviceAccountName: quiet
      containers:
        - name: web
          image: nginx:latest
          securityContext: {privileged: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, names: {kind: Widget, plural: widgets}, scope: Namespaced}
"#;

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(support::cache_dir()),
        cache_key: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("slim-render.key")),
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

fn runtime_and_bundle() -> (Runtime, LoadedBundle) {
    let runtime = runtime();
    let bundle_ref: BundleRef = support::root()
        .join(BUNDLE)
        .display()
        .to_string()
        .parse()
        .unwrap();
    let bundle = load_bundle(&runtime, &bundle_ref, &LocalResolver).unwrap();
    (runtime, bundle)
}

fn render_dir() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("render.yaml"), RENDER).unwrap();
    let paths = vec![
        dir.path().to_owned(),
        support::root().join("integration/example-repo"),
    ];
    (dir, paths)
}

/// The verdicts of a report, in a form two runs can be compared by.
fn verdicts(report: &Report) -> serde_json::Value {
    serde_json::json!({
        "decision": report.decision.as_str(),
        "results": report.results,
        "passed": report
            .passed
            .iter()
            .map(|p| serde_json::json!([p.object, p.policy]))
            .collect::<Vec<_>>(),
        "errors": report.errors,
        "summary": report.summary,
    })
}

#[test]
fn a_slimmed_render_is_judged_as_the_whole_render() {
    let (runtime, bundle) = runtime_and_bundle();
    let (_dir, paths) = render_dir();
    // With a default namespace too: an object without one is judged in it, read
    // back from its tape.
    for namespace in [None, Some("team".to_owned())] {
        let options = EvaluateOptions {
            default_namespace: namespace.clone(),
            ..EvaluateOptions::default()
        };
        let whole = load_with(&paths, &LoadOptions::default());
        let slim = load_with(
            &paths,
            &LoadOptions {
                slim: Some(bundle.read_kinds()),
                ..LoadOptions::default()
            },
        );
        assert!(
            slim.resources
                .iter()
                .all(|r| r.object.get("spec").is_none()),
            "slimmed objects keep no spec"
        );
        let whole = evaluate(&runtime, &bundle, whole, &options);
        let slim = evaluate(&runtime, &bundle, slim, &options);
        assert_eq!(whole.decision, Decision::Deny);
        // The cross-object policies found what they look for.
        let denied_by: Vec<&str> = whole.results.iter().map(|f| f.policy.as_str()).collect();
        assert!(
            denied_by.contains(&"unique-service-selector"),
            "{denied_by:?}"
        );
        assert!(denied_by.contains(&"disallow-privileged"), "{denied_by:?}");
        assert_eq!(verdicts(&slim), verdicts(&whole), "namespace {namespace:?}");
    }
}

#[test]
fn an_object_not_kept_for_the_policies_is_an_error_never_a_pass() {
    let (runtime, bundle) = runtime_and_bundle();
    let (_dir, paths) = render_dir();
    // A loader that kept no kind for the policies: every object slimmed bare.
    let bare = load_with(
        &paths,
        &LoadOptions {
            slim: Some(Vec::new()),
            ..LoadOptions::default()
        },
    );
    let report = evaluate(&runtime, &bundle, bare, &EvaluateOptions::default());
    assert_eq!(report.decision, Decision::Error);
    assert!(report.passed.is_empty(), "{:?}", report.passed);
    assert!(report.results.is_empty(), "{:?}", report.results);
    assert!(!report.errors.is_empty());
    for error in &report.errors {
        assert_eq!(error.kind, ErrorKind::Host, "{error:?}");
        assert!(error.policy.is_some(), "{error:?}");
        assert!(
            error.message.contains("not kept by gate's loader"),
            "{}",
            error.message
        );
    }
}
