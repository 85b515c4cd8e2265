//! Both versions of the `gate:policy` contract run: a component built against the
//! frozen 0.1.0 WIT judges as before, a 0.2.0 component is told the cluster facts
//! and the admission request, and `policy-info.operations` decides which policies
//! judge an admission request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::Utc;
use gate_core::bundle::Mode;
use gate_core::report::ClusterInfo;
use gate_core::{Admission, Operation, Origin, Resource};
use gate_runtime::{
    BoundPolicy, CompiledPolicy, Limits, RenderOptions, RenderOutcome, Runtime, RuntimeConfig,
    evaluate_render,
};
use std::sync::Arc;
use std::time::Duration;

fn wasm(name: &str) -> Vec<u8> {
    let path = support::hostile_components().join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: None,
        cache_key: None,
        max_concurrency: Some(1),
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

fn bound(runtime: &Runtime, name: &str) -> BoundPolicy {
    let policy =
        CompiledPolicy::load(runtime, name, &wasm(name), None, &Limits::default()).expect("load");
    BoundPolicy {
        name: name.to_owned(),
        policy: Arc::new(policy),
        settings: "{}".into(),
        mode: Mode::Enforce,
        excluded_namespaces: Vec::new(),
        namespaces: Vec::new(),
        exceptions: Vec::new(),
        limits: Limits::default(),
    }
}

fn pod(name: &str, labels: serde_json::Value) -> Resource {
    Resource::new(
        Origin {
            file: "pods.yaml".into(),
            document: 0,
            line: 1,
            item: None,
        },
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "apps", "labels": labels},
            "spec": {"containers": [{"name": "a", "image": "a"}]},
        }),
    )
}

fn judge(
    runtime: &Runtime,
    policies: &[BoundPolicy],
    resources: &[Resource],
    cluster: ClusterInfo,
    admission: Option<Admission>,
) -> RenderOutcome {
    evaluate_render(
        runtime,
        policies,
        resources,
        &RenderOptions {
            default_namespace: None,
            now: Utc::now(),
            cluster,
            admission,
            deadline: None,
            running: None,
        },
    )
}

/// The policies with a finding, sorted.
fn judged_by(outcome: &RenderOutcome) -> Vec<&str> {
    let mut policies: Vec<&str> = outcome.findings.iter().map(|f| f.policy.as_str()).collect();
    policies.sort_unstable();
    policies
}

/// What the probe saw, from its one violation.
fn seen(outcome: &RenderOutcome) -> String {
    let finding = outcome
        .findings
        .iter()
        .find(|f| f.policy == "context-probe")
        .unwrap_or_else(|| panic!("no finding of the probe: {outcome:?}"));
    finding.violations[0].message.clone()
}

#[test]
fn a_policy_built_against_0_1_0_loads_and_judges_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = support::hostile_components().join("legacy_v010.wasm");
    std::fs::write(
        dir.path().join("bundle.yaml"),
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: legacy}}\nspec:\n  policies:\n  - module: {}\n",
            module.display()
        ),
    )
    .expect("bundle");
    std::fs::write(
        dir.path().join("pods.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kept}\nspec: {}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: refused, labels: {legacy: deny}}\nspec: {}\n",
    )
    .expect("pods");
    let mut command = support::gate();
    command
        .arg("check")
        .arg("--bundle")
        .arg(dir.path().join("bundle.yaml"))
        .arg(dir.path().join("pods.yaml"))
        .args(["-f", "json"]);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(60));
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(
        code, 1,
        "the 0.1.0 policy denies one pod\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{stdout}");
    assert_eq!(results[0]["object"]["name"], "refused");
    assert_eq!(
        results[0]["violations"][0]["message"],
        "the 0.1.0 policy denies refused"
    );
    assert_eq!(report["summary"]["evaluations"], 2, "{stdout}");
}

#[test]
fn the_contract_version_is_read_from_the_component() {
    let runtime = runtime();
    let legacy = bound(&runtime, "legacy-v010");
    let probe = bound(&runtime, "context-probe");
    assert_eq!(legacy.policy.contract_version(), "0.1.0");
    assert_eq!(probe.policy.contract_version(), "0.2.0");
    assert!(legacy.policy.info.operations.is_empty());
    assert_eq!(
        probe.policy.info.operations,
        [
            Operation::Create,
            Operation::Update,
            Operation::Delete,
            Operation::Connect
        ]
    );
}

#[test]
fn a_0_2_0_policy_is_told_the_cluster_and_the_admission_request() {
    let runtime = runtime();
    let policies = [bound(&runtime, "context-probe")];
    let object = pod("web", serde_json::json!({}));

    let before_apply = judge(
        &runtime,
        &policies,
        std::slice::from_ref(&object),
        ClusterInfo::default(),
        None,
    );
    assert_eq!(
        seen(&before_apply),
        "object=web; namespace=apps; kube=-; apis=; operation=-; old=-"
    );

    let cluster = ClusterInfo {
        kube_version: Some("v1.31.2".into()),
        api_versions: vec!["v1".into(), "apps/v1".into(), "apps/v1/Deployment".into()],
    };
    let old = pod("web-as-stored", serde_json::json!({}));
    let update = judge(
        &runtime,
        &policies,
        std::slice::from_ref(&object),
        cluster,
        Some(Admission {
            operation: Operation::Update,
            old_object: Some(old.object),
        }),
    );
    assert_eq!(
        seen(&update),
        "object=web; namespace=apps; kube=v1.31.2; apis=v1,apps/v1,apps/v1/Deployment; \
         operation=Update; old=web-as-stored"
    );
}

#[test]
fn delete_and_connect_skip_policies_that_do_not_list_them() {
    let runtime = runtime();
    let policies = [
        bound(&runtime, "legacy-v010"),
        bound(&runtime, "context-probe"),
    ];
    let object = pod("doomed", serde_json::json!({"legacy": "deny"}));
    let resources = std::slice::from_ref(&object);

    for operation in [Operation::Create, Operation::Update] {
        let outcome = judge(
            &runtime,
            &policies,
            resources,
            ClusterInfo::default(),
            Some(Admission {
                operation,
                old_object: None,
            }),
        );
        assert_eq!(outcome.evaluations, 2, "{operation:?}");
        assert_eq!(judged_by(&outcome), ["context-probe", "legacy-v010"]);
    }
    for operation in [Operation::Delete, Operation::Connect] {
        let outcome = judge(
            &runtime,
            &policies,
            resources,
            ClusterInfo::default(),
            Some(Admission {
                operation,
                old_object: None,
            }),
        );
        assert_eq!(
            outcome.evaluations, 1,
            "{operation:?}: only the policy that lists it judges"
        );
        assert_eq!(judged_by(&outcome), ["context-probe"]);
        assert!(seen(&outcome).contains(&format!("operation={operation:?}")));
    }
}
