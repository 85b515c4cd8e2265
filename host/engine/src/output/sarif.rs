//! SARIF 2.1.0.

use gate_core::report::{Action, Report, Severity};
use serde_json::{Value, json};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub code scanning reads `security-severity` (0-10) to rank results.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A relative URI reference for a file path.
fn uri(file: &str) -> String {
    if file == "<stdin>" {
        return "stdin".into();
    }
    let mut out = String::with_capacity(file.len());
    for c in file.replace('\\', "/").chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out.strip_prefix("./").map(str::to_owned).unwrap_or(out)
}

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = report
        .policies
        .iter()
        .map(|p| {
            let mut tags = vec![Value::from(p.info.category.clone())];
            tags.extend(
                p.info
                    .controls
                    .iter()
                    .map(|c| Value::from(format!("{} {}", c.framework, c.id))),
            );
            json!({
                "id": p.name,
                "name": p.info.name,
                "shortDescription": {"text": p.info.title},
                "fullDescription": {"text": p.info.description},
                "defaultConfiguration": {
                    "level": if p.mode == gate_core::bundle::Mode::Enforce { "error" } else { "warning" }
                },
                "properties": {
                    "tags": tags,
                    "security-severity": security_severity(p.info.severity),
                    "version": p.info.version,
                    "digest": p.digest,
                    "module": p.module,
                }
            })
        })
        .collect();

    let mut results = Vec::new();
    for finding in &report.results {
        let rule_index = report
            .policies
            .iter()
            .position(|p| p.name == finding.policy);
        let o = &finding.object;
        for v in &finding.violations {
            let level = match finding.action {
                Action::Deny => "error",
                Action::Warn => "warning",
                Action::Except => "note",
            };
            let mut text = format!("{} {}: {}", o.kind, qualified(o), v.message);
            if !v.path.is_empty() {
                text.push_str(&format!(" (at {})", v.path));
            }
            let mut result = json!({
                "ruleId": finding.policy,
                "level": level,
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&o.origin.file)},
                        "region": {"startLine": o.origin.line}
                    },
                    "logicalLocations": [{
                        "fullyQualifiedName": format!("{}/{}", o.kind, qualified(o)),
                        "kind": "resource"
                    }]
                }],
                "properties": {"fieldPath": v.path, "severity": v.severity.as_str()}
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(e) = &finding.exception {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": format!("exception {}: {} (until {})", e.name, e.reason, e.expires)
                }]);
            }
            results.push(result);
        }
    }

    let mut notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| json!({"level": "error", "message": {"text": e.message}}))
        .collect();
    notifications.extend(
        report
            .notices
            .iter()
            .map(|n| json!({"level": "warning", "message": {"text": n.message}})),
    );

    let sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gate",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/gate-dev/gate",
                "rules": rules
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications
            }],
            "results": results,
            "properties": {"bundle": report.bundle, "summary": report.summary}
        }]
    });
    let text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    let mut text = super::ci_safe::json(text);
    text.push('\n');
    text
}

fn qualified(o: &gate_core::ObjectRef) -> String {
    match &o.namespace {
        Some(ns) => format!("{ns}/{}", o.name),
        None => o.name.clone(),
    }
}
