//! The text format.
//!
//! Every value that comes from the input (file paths, names, messages, field paths,
//! exception reasons, errors) is written with its control characters escaped, and the
//! finished text has its CI command markers broken: see [`super::ci_safe`].

use super::ci_safe::{escape_controls as clean, neutralise_commands, text_escape};
use super::{object_label, summary_line};
use gate_core::report::{Action, Report};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    neutralise_commands(render_escaped(report), text_escape)
}

/// The text with every value escaped, before command markers are broken.
fn render_escaped(report: &Report) -> String {
    let mut out = String::new();
    let mut previous: Option<(&str, usize, Option<usize>)> = None;
    for finding in &report.results {
        let o = &finding.object;
        let key = (o.origin.file.as_str(), o.origin.document, o.origin.item);
        if previous != Some(key) {
            if previous.is_some() {
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "{}  {}",
                clean(&o.origin.to_string()),
                clean(&object_label(o))
            );
            previous = Some(key);
        }
        let label = match finding.action {
            Action::Deny => "DENY  ",
            Action::Warn => "WARN  ",
            Action::Except => "EXCEPT",
        };
        for v in &finding.violations {
            let _ = writeln!(
                out,
                "  {label} {}: {} [{}]",
                clean(&finding.policy),
                clean(&v.message),
                v.severity.as_str()
            );
            if !v.path.is_empty() {
                let _ = writeln!(out, "         at {}", clean(&v.path));
            }
        }
        if let Some(e) = &finding.exception {
            let _ = writeln!(
                out,
                "         exception \"{}\" until {}: {}",
                clean(&e.name),
                clean(&e.expires),
                clean(&e.reason)
            );
        }
    }
    if !report.results.is_empty() {
        out.push('\n');
    }
    for error in &report.errors {
        let _ = writeln!(out, "error: {}", clean(&error.message));
    }
    for notice in &report.notices {
        let _ = writeln!(out, "warning: {}", clean(&notice.message));
    }
    if !report.errors.is_empty() || !report.notices.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}
