//! Rendering a report: text for people, JSON for machines, SARIF for code
//! scanning, JUnit for test dashboards, and GitHub / Azure DevOps annotations.

mod annotations;
mod ci_safe;
mod html;
mod junit;
mod policyreport;
mod sarif;
mod text;

use gate_core::report::Report;

/// An output format of `gate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people: findings grouped by object, then a summary line.
    Text,
    /// The report as JSON (schema `gate.dev/report/v1`, see README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML: one test suite per policy.
    Junit,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
    /// Azure DevOps logging commands (`##vso[task.logissue ...]`).
    AzureDevops,
    /// wgpolicyk8s.io/v1alpha2 PolicyReports (one per namespace) and a ClusterPolicyReport, as YAML.
    Policyreport,
    /// One self-contained HTML page for auditors.
    Html,
}

/// Renders a report in a format.
pub fn render(report: &Report, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => text::render(report),
        OutputFormat::Json => json(report),
        OutputFormat::Sarif => sarif::render(report),
        OutputFormat::Junit => junit::render(report),
        OutputFormat::Github => annotations::github(report),
        OutputFormat::AzureDevops => annotations::azure_devops(report),
        OutputFormat::Policyreport => policyreport::render(report),
        OutputFormat::Html => html::render(report),
    }
}

fn json(report: &Report) -> String {
    // Sized for the report up front: one allocation instead of a dozen copies
    // of a document that can be megabytes.
    let mut buffer = Vec::with_capacity(4096 + 1024 * (report.results.len() + report.errors.len()));
    let text = match serde_json::to_writer_pretty(&mut buffer, report) {
        Ok(()) => String::from_utf8(buffer)
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise report: {e}\"}}")),
        Err(e) => format!("{{\"error\": \"cannot serialise report: {e}\"}}"),
    };
    let mut text = ci_safe::json(text);
    text.push('\n');
    text
}

/// The one-line summary every human-facing format ends with.
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let decision = match report.decision {
        gate_core::report::Decision::Allow => "ALLOW",
        gate_core::report::Decision::Deny => "DENY",
        gate_core::report::Decision::Error => "ERROR",
    };
    format!(
        "{decision}: {} objects, {} policies, {} evaluations: {} denied, {} warnings, {} excepted, {} errors, {} skipped",
        s.objects, s.policies, s.evaluations, s.denied, s.warnings, s.excepted, s.errors, s.skipped
    )
}

/// `Kind namespace/name`, or `Kind name` for objects without a namespace.
pub fn object_label(object: &gate_core::ObjectRef) -> String {
    match &object.namespace {
        Some(ns) => format!("{} {ns}/{}", object.kind, object.name),
        None => format!("{} {}", object.kind, object.name),
    }
}
