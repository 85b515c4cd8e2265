//! PolicyReport output (`wgpolicyk8s.io/v1alpha2`): one PolicyReport per
//! namespace and one ClusterPolicyReport, so that Policy Reporter and other
//! readers of Kyverno's reports read gate's. One result per (object, policy):
//!
//! - `pass`: judged and allowed;
//! - `fail`: denied by an enforced policy (scored);
//! - `warn`: found by an audit policy, which does not fail the run: "not met and
//!   not scored", as the API defines `warn`;
//! - `skip`: findings a live exception covers, as Kyverno reports objects a
//!   PolicyException exempts;
//! - `error`: the policy failed on the object. Errors that name no object (an
//!   unreadable file) go to the ClusterPolicyReport with no resource.
//!
//! Namespaced objects without a namespace land in the run's default namespace
//! (`-n`), else `default`, as `kubectl apply` would put them.

use gate_core::ObjectRef;
use gate_core::report::{Action, Finding, PolicyRun, Report, Severity};
use gate_core::resource::{is_cluster_scoped, split_api_version};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
const SOURCE: &str = "gate";

/// Where a result sorts: the object's place in the render (none first), then
/// the policy's place in the bundle.
type Order = (Option<(String, usize, Option<usize>)>, usize);

/// Where a result goes: a namespace's PolicyReport, or the ClusterPolicyReport.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Cluster,
    Namespace(String),
}

/// The reports as a YAML stream, the ClusterPolicyReport first, then one
/// PolicyReport per namespace, by name.
pub fn render(report: &Report) -> String {
    let default_ns = report
        .context
        .as_ref()
        .and_then(|c| c.default_namespace.clone())
        .unwrap_or_else(|| "default".to_owned());
    let timestamp = json!({
        "seconds": report.evaluated_at.map_or(0, |t| t.timestamp()),
        "nanos": 0,
    });
    let position: BTreeMap<&str, usize> = report
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let order = |object: Option<&ObjectRef>, policy: &str| -> Order {
        let at = object.map(|o| (o.origin.file.clone(), o.origin.document, o.origin.item));
        (at, position.get(policy).copied().unwrap_or(usize::MAX))
    };
    let mut results: BTreeMap<Scope, Vec<(Order, Value)>> = BTreeMap::new();
    results.insert(Scope::Cluster, Vec::new());
    let scope_of = |object: &ObjectRef| {
        let (group, _) = split_api_version(&object.api_version);
        if is_cluster_scoped(group, &object.kind) {
            Scope::Cluster
        } else {
            Scope::Namespace(
                object
                    .namespace
                    .clone()
                    .unwrap_or_else(|| default_ns.clone()),
            )
        }
    };
    let base = |policy: &str, object: Option<&ObjectRef>| {
        let run = report.policy(policy);
        let mut result = Map::new();
        result.insert("source".into(), SOURCE.into());
        result.insert("policy".into(), policy.into());
        if let Some(run) = run {
            result.insert("rule".into(), run.info.name.clone().into());
            result.insert("category".into(), run.info.category.clone().into());
            result.insert("severity".into(), run.info.severity.as_str().into());
        }
        result.insert("timestamp".into(), timestamp.clone());
        if let Some(object) = object {
            result.insert("resources".into(), json!([resource(object)]));
        }
        result.insert(
            "properties".into(),
            Value::Object(properties(report, run, object)),
        );
        result
    };

    for passed in &report.passed {
        let mut r = base(&passed.policy, Some(&passed.object));
        r.insert("result".into(), "pass".into());
        r.insert("scored".into(), true.into());
        let title = report
            .policy(&passed.policy)
            .map_or("", |p| p.info.title.as_str());
        r.insert("message".into(), format!("passed: {title}").into());
        results.entry(scope_of(&passed.object)).or_default().push((
            order(Some(&passed.object), &passed.policy),
            Value::Object(r),
        ));
    }
    for finding in &report.results {
        let mut r = base(&finding.policy, Some(&finding.object));
        apply_finding(&mut r, finding);
        results.entry(scope_of(&finding.object)).or_default().push((
            order(Some(&finding.object), &finding.policy),
            Value::Object(r),
        ));
    }
    for error in &report.errors {
        let policy = error.policy.as_deref().unwrap_or(SOURCE);
        let mut r = base(policy, error.object.as_ref());
        r.insert("result".into(), "error".into());
        r.insert("scored".into(), true.into());
        r.insert("message".into(), error.message.clone().into());
        if let (Some(file), Value::Object(props)) = (&error.file, &mut r["properties"]) {
            props.insert("file".into(), file.clone().into());
            if let Some(line) = error.line {
                props.insert("line".into(), line.to_string().into());
            }
        }
        let scope = error.object.as_ref().map_or(Scope::Cluster, &scope_of);
        results
            .entry(scope)
            .or_default()
            .push((order(error.object.as_ref(), policy), Value::Object(r)));
    }

    let name = report_name(&report.bundle);
    let mut out = String::new();
    for (scope, mut results) in results {
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let results = results.into_iter().map(|(_, r)| r).collect();
        let document = policy_report(report, &name, &scope, results);
        out.push_str("---\n");
        out.push_str(
            &serde_yaml_ng::to_string(&document)
                .unwrap_or_else(|e| format!("# cannot serialise the {scope:?} report: {e}\n")),
        );
    }
    out
}

fn apply_finding(r: &mut Map<String, Value>, finding: &Finding) {
    let (result, scored) = match finding.action {
        Action::Deny => ("fail", true),
        Action::Warn => ("warn", false),
        Action::Except => ("skip", true),
    };
    r.insert("result".into(), result.into());
    r.insert("scored".into(), scored.into());
    let severity = finding
        .violations
        .iter()
        .map(|v| v.severity)
        .max()
        .unwrap_or(Severity::Medium);
    r.insert("severity".into(), severity.as_str().into());
    let message = finding
        .violations
        .iter()
        .map(|v| {
            if v.path.is_empty() {
                v.message.clone()
            } else {
                format!("{}: {}", v.path, v.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    r.insert("message".into(), message.into());
    if let (Some(exception), Value::Object(props)) = (&finding.exception, &mut r["properties"]) {
        props.insert("exception".into(), exception.name.clone().into());
        props.insert("exceptionReason".into(), exception.reason.clone().into());
        props.insert("exceptionExpires".into(), exception.expires.clone().into());
    }
}

fn properties(
    report: &Report,
    run: Option<&PolicyRun>,
    object: Option<&ObjectRef>,
) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert("bundle".into(), report.bundle.clone().into());
    if let Some(run) = run {
        let mode = match run.mode {
            gate_core::bundle::Mode::Enforce => "enforce",
            gate_core::bundle::Mode::Audit => "audit",
        };
        props.insert("mode".into(), mode.into());
        props.insert("policyDigest".into(), run.digest.clone().into());
    }
    if let Some(object) = object {
        props.insert("source".into(), object.origin.to_string().into());
    }
    if let Some(revision) = report.context.as_ref().and_then(|c| c.revision.clone()) {
        props.insert("revision".into(), revision.into());
    }
    props
}

fn resource(object: &ObjectRef) -> Value {
    let mut r = Map::new();
    r.insert("apiVersion".into(), object.api_version.clone().into());
    r.insert("kind".into(), object.kind.clone().into());
    r.insert("name".into(), object.name.clone().into());
    if let Some(ns) = &object.namespace {
        r.insert("namespace".into(), ns.clone().into());
    }
    Value::Object(r)
}

fn policy_report(report: &Report, name: &str, scope: &Scope, results: Vec<Value>) -> Value {
    let mut summary = BTreeMap::from([
        ("pass", 0),
        ("fail", 0),
        ("warn", 0),
        ("error", 0),
        ("skip", 0),
    ]);
    for r in &results {
        if let Some(count) = r["result"].as_str().and_then(|k| summary.get_mut(k)) {
            *count += 1;
        }
    }
    let mut metadata = json!({
        "name": name,
        "labels": {
            "app.kubernetes.io/managed-by": "gate",
            "gate.dev/bundle": label_value(&report.bundle),
        },
    });
    let kind = match scope {
        Scope::Cluster => "ClusterPolicyReport",
        Scope::Namespace(ns) => {
            metadata["namespace"] = ns.clone().into();
            "PolicyReport"
        }
    };
    json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "summary": summary,
        "results": results,
    })
}

/// `gate-<bundle>` as a DNS subdomain name: lowercase alphanumerics, `-` and `.`,
/// at most 253 characters.
fn report_name(bundle: &str) -> String {
    let cleaned: String = bundle
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("gate-{}", cleaned.trim_matches(|c| c == '-' || c == '.'));
    name.truncate(253);
    name.trim_end_matches(['-', '.']).to_owned()
}

/// A label value: at most 63 alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric.
fn label_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_kubernetes_names() {
        assert_eq!(report_name("AKS Baseline_v2"), "gate-aks-baseline-v2");
        assert_eq!(report_name("--x--"), "gate-x");
        assert!(report_name(&"a".repeat(400)).len() <= 253);
        assert_eq!(label_value("<aks baseline>"), "aks-baseline");
        assert_eq!(label_value(&"b".repeat(100)).len(), 63);
    }
}
