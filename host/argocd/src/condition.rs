//! The text gate writes to stderr: what people read in the Application's
//! condition box (on a failure) or in the sidecar log (on success).
//!
//! Plain text, no colour, a bounded number of lines: the first line says what
//! happened, one line per finding follows, the full JSON report is in a file
//! whose path the last line names.

use crate::error::Error;
use crate::report_file::ReportFile;
use crate::selection::Refusal;
use gate_core::Resource;
use gate_core::report::{Action, Decision, ErrorEntry, Finding, Report};
use gate_core::resource::ObjectRef;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

/// The most finding lines written; the rest are counted.
pub const MAX_LINES: usize = 20;

/// A judged render, for [`judged`].
pub struct Judged<'a> {
    /// The report.
    pub report: &'a Report,
    /// The objects judged, for the namespace they land in.
    pub resources: &'a [Resource],
    /// The namespace of namespaced objects that set none.
    pub default_namespace: Option<&'a str>,
    /// `enforce` or `audit`, as chosen for the app.
    pub mode: &'a str,
    /// Where the full report went, if it was written.
    pub report_file: Option<&'a ReportFile>,
}

/// The text for a judged render, whatever the decision.
pub fn judged(judged: &Judged<'_>) -> String {
    let report = judged.report;
    let bundle = bundle_label(report);
    let labels = Labels::new(judged.resources, judged.default_namespace);
    let mut lines = Vec::new();
    let first = match report.decision {
        Decision::Deny => {
            let denials: Vec<&Finding> = report
                .results
                .iter()
                .filter(|f| f.action == Action::Deny)
                .collect();
            let objects: BTreeSet<_> = denials.iter().map(|f| origin_key(&f.object)).collect();
            let policies: BTreeSet<&str> = denials.iter().map(|f| f.policy.as_str()).collect();
            lines.extend(denials.iter().flat_map(|f| finding_lines(f, &labels)));
            format!(
                "gate: DENY {} objects by {} policies (bundle {bundle})",
                objects.len(),
                policies.len()
            )
        }
        Decision::Error => {
            lines.extend(report.errors.iter().map(|e| error_line(e, &labels)));
            lines.extend(
                report
                    .results
                    .iter()
                    .filter(|f| f.action == Action::Deny)
                    .flat_map(|f| finding_lines(f, &labels)),
            );
            format!(
                "gate: ERROR {} errors while judging {} objects (bundle {bundle})",
                report.summary.errors, report.summary.objects
            )
        }
        Decision::Allow => {
            lines.extend(
                report
                    .results
                    .iter()
                    .flat_map(|f| finding_lines(f, &labels)),
            );
            let s = &report.summary;
            let mut first = format!("gate: ALLOW {} objects (bundle {bundle}", s.objects);
            if judged.mode != "enforce" {
                let _ = write!(first, ", {} mode", judged.mode);
            }
            first.push(')');
            if s.warnings + s.excepted > 0 {
                let _ = write!(first, ": {} warnings, {} excepted", s.warnings, s.excepted);
            }
            first
        }
    };
    lines.extend(
        report
            .notices
            .iter()
            .map(|n| format!("notice: {}", n.message)),
    );
    let mut text = first;
    text.push('\n');
    push_capped(&mut text, &lines);
    if let Some(file) = judged.report_file {
        let _ = writeln!(text, "{file}");
    }
    text
}

/// The text for an app refused what it asked for.
pub fn refused(refusal: &Refusal) -> String {
    format!("gate: DENY {}\n", refusal.0)
}

/// The text for a failure before any decision (configuration, environment,
/// renderer, bundle, registry).
pub fn failed(error: &Error) -> String {
    let chain = error.chain();
    let mut lines = chain.lines();
    let mut text = format!("gate: ERROR {}\n", lines.next().unwrap_or_default());
    let rest: Vec<String> = lines.map(str::to_owned).collect();
    push_capped(&mut text, &rest);
    text
}

/// The text for an empty render where the configuration does not intend one.
pub fn empty(source: &str) -> String {
    format!(
        "gate: ERROR the render of {source} holds no object; Argo CD would prune every object of the app, so nothing is synced. \
         If the app is meant to be empty, the platform allows it for its project (allowEmpty in the gate configuration)\n"
    )
}

/// The text for an empty render the configuration intends.
pub fn intended_empty(rule: &str) -> String {
    format!("gate: ALLOW an empty render ({rule} allows empty apps)\n")
}

/// `name@digest` of the bundle that ran.
fn bundle_label(report: &Report) -> String {
    if report.bundle_digest.is_empty() {
        report.bundle.clone()
    } else {
        format!("{}@{}", report.bundle, report.bundle_digest)
    }
}

fn push_capped(text: &mut String, lines: &[String]) {
    for line in lines.iter().take(MAX_LINES) {
        text.push_str(line);
        text.push('\n');
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(text, "... and {} more", lines.len() - MAX_LINES);
    }
}

type OriginKey<'a> = (&'a str, usize, Option<usize>);

fn origin_key(object: &ObjectRef) -> OriginKey<'_> {
    (
        object.origin.file.as_str(),
        object.origin.document,
        object.origin.item,
    )
}

/// `Kind/namespace/name` of the objects of a render, with the namespace each
/// lands in (its own, or the default one for namespaced kinds).
struct Labels<'a> {
    namespaces: HashMap<OriginKey<'a>, Option<&'a str>>,
}

impl<'a> Labels<'a> {
    fn new(resources: &'a [Resource], default_namespace: Option<&'a str>) -> Labels<'a> {
        let namespaces = resources
            .iter()
            .map(|r| {
                let key = (r.origin.file.as_str(), r.origin.document, r.origin.item);
                (key, r.effective_namespace(default_namespace))
            })
            .collect();
        Labels { namespaces }
    }

    fn of(&self, object: &ObjectRef) -> String {
        let namespace = self
            .namespaces
            .get(&origin_key(object))
            .copied()
            .flatten()
            .or(object.namespace.as_deref());
        match namespace {
            Some(ns) => format!("{}/{ns}/{}", object.kind, object.name),
            None => format!("{}/{}", object.kind, object.name),
        }
    }
}

fn finding_lines(finding: &Finding, labels: &Labels<'_>) -> Vec<String> {
    let prefix = match (&finding.action, &finding.exception) {
        (Action::Deny, _) => String::new(),
        (Action::Warn, _) => "warning: ".to_owned(),
        (Action::Except, Some(e)) => format!("excepted by {} until {}: ", e.name, e.expires),
        (Action::Except, None) => "excepted: ".to_owned(),
    };
    let label = labels.of(&finding.object);
    finding
        .violations
        .iter()
        .map(|v| {
            let mut line = format!("{prefix}{label}: {}: {}", finding.policy, v.message);
            if !v.path.is_empty() {
                let _ = write!(line, " ({})", v.path);
            }
            line
        })
        .collect()
}

fn error_line(error: &ErrorEntry, labels: &Labels<'_>) -> String {
    match &error.object {
        Some(object) => format!("error: {}: {}", labels.of(object), error.message),
        None => format!("error: {}", error.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_core::manifest::parse;
    use gate_core::report::{Findings, Severity, Violation};

    fn render() -> Vec<Resource> {
        parse(
            "app.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: admin}\n",
        )
        .unwrap()
        .resources
    }

    fn finding(resource: &Resource, policy: &str, action: Action, n: usize) -> Finding {
        Finding {
            object: resource.object_ref(),
            policy: policy.into(),
            action,
            exception: None,
            violations: (0..n)
                .map(|i| Violation {
                    message: format!("violation {i}"),
                    path: if i == 0 {
                        "spec.containers[0]".into()
                    } else {
                        String::new()
                    },
                    severity: Severity::High,
                })
                .collect(),
        }
    }

    fn report(results: Vec<Finding>) -> Report {
        let mut report = Report::new(
            "restricted".into(),
            Vec::new(),
            Findings {
                objects: 2,
                results,
                ..Findings::default()
            },
        );
        report.bundle_digest = "sha256:abc".into();
        report
    }

    #[test]
    fn a_denial_counts_objects_and_policies_and_lists_each_finding() {
        let resources = render();
        let report = report(vec![
            finding(&resources[0], "disallow-privileged", Action::Deny, 1),
            finding(&resources[0], "allowed-registries", Action::Deny, 1),
            finding(&resources[1], "allowed-registries", Action::Deny, 1),
            finding(&resources[1], "required-labels", Action::Warn, 1),
        ]);
        let file = ReportFile::Written("/tmp/r.json".into());
        let text = judged(&Judged {
            report: &report,
            resources: &resources,
            default_namespace: Some("shop"),
            mode: "enforce",
            report_file: Some(&file),
        });
        assert_eq!(
            text,
            "gate: DENY 2 objects by 2 policies (bundle restricted@sha256:abc)\n\
             Pod/shop/web: disallow-privileged: violation 0 (spec.containers[0])\n\
             Pod/shop/web: allowed-registries: violation 0 (spec.containers[0])\n\
             ClusterRole/admin: allowed-registries: violation 0 (spec.containers[0])\n\
             full report: /tmp/r.json\n"
        );
        assert!(!text.contains('\u{1b}'), "no ANSI escapes");
    }

    #[test]
    fn long_lists_are_capped() {
        let resources = render();
        let report = report(vec![finding(&resources[0], "p", Action::Deny, 25)]);
        let text = judged(&Judged {
            report: &report,
            resources: &resources,
            default_namespace: None,
            mode: "enforce",
            report_file: None,
        });
        assert_eq!(text.lines().count(), 1 + MAX_LINES + 1, "{text}");
        assert!(text.ends_with("... and 5 more\n"), "{text}");
        // No namespace known: the object's own (none).
        assert!(text.contains("\nPod/web: p: violation 1\n"), "{text}");
    }

    #[test]
    fn an_audit_allow_lists_warnings() {
        let resources = render();
        let mut report = report(vec![finding(&resources[0], "p", Action::Warn, 1)]);
        report.summary.warnings = 1;
        let text = judged(&Judged {
            report: &report,
            resources: &resources,
            default_namespace: Some("shop"),
            mode: "audit",
            report_file: None,
        });
        assert_eq!(
            text,
            "gate: ALLOW 2 objects (bundle restricted@sha256:abc, audit mode): 1 warnings, 0 excepted\n\
             warning: Pod/shop/web: p: violation 0 (spec.containers[0])\n"
        );
    }

    #[test]
    fn failures_and_refusals_start_with_the_outcome() {
        let error = Error::Environment {
            variable: "KUBE_VERSION".into(),
            message: "bad\nsecond line".into(),
        };
        assert_eq!(
            failed(&error),
            "gate: ERROR KUBE_VERSION: bad\nsecond line\n"
        );
        assert_eq!(refused(&Refusal("no".into())), "gate: DENY no\n");
    }
}
