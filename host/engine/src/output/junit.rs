//! JUnit XML: a test suite per policy, a test case per object it found something on.

use super::ci_safe::{is_unsafe, neutralise_commands, text_escape, xml_escape};
use super::{object_label, summary_line};
use gate_core::report::{Action, Report};
use std::fmt::Write;

/// A value as XML text or attribute content, on one line of the output: LF, CR and tab
/// as character references (a reader gets them back), the other C0 controls, which XML
/// 1.0 cannot carry even as references, as visible `\u{1b}` escapes, and C1 controls
/// and invisible formatting characters as references (see [`super::ci_safe`]).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push_str(&xml_escape(c)),
            c if u32::from(c) < 0x20 => out.push_str(&text_escape(c)),
            c if is_unsafe(c) => out.push_str(&xml_escape(c)),
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML, with the CI command markers of its text broken.
pub fn render(report: &Report) -> String {
    neutralise_commands(render_xml(report), xml_escape)
}

fn render_xml(report: &Report) -> String {
    let mut out = String::new();
    let (mut tests, mut failures, mut error_count) = (0, 0, 0);
    for policy in &report.policies {
        let findings: Vec<_> = report
            .results
            .iter()
            .filter(|f| f.policy == policy.name)
            .collect();
        let denied = findings.iter().filter(|f| f.action == Action::Deny).count();
        let excepted = findings
            .iter()
            .filter(|f| f.action == Action::Except)
            .count();
        let errors: Vec<_> = report
            .errors
            .iter()
            .filter(|e| e.policy.as_deref() == Some(policy.name.as_str()))
            .collect();
        tests += findings.len() + errors.len();
        failures += denied;
        error_count += errors.len();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{denied}\" errors=\"{}\" skipped=\"{excepted}\">",
            escape(&policy.name),
            findings.len() + errors.len(),
            errors.len()
        );
        for f in findings {
            let name = format!("{} ({})", object_label(&f.object), f.object.origin);
            let details: Vec<String> = f
                .violations
                .iter()
                .map(|v| {
                    if v.path.is_empty() {
                        v.message.clone()
                    } else {
                        format!("{} (at {})", v.message, v.path)
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\">",
                escape(&policy.name),
                escape(&name),
                escape(&f.object.origin.file),
                f.object.origin.line
            );
            match f.action {
                Action::Deny => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"deny\" message=\"{}\">{}</failure>",
                        escape(&details[0]),
                        escape(&details.join("\n"))
                    );
                }
                Action::Warn => {
                    let _ = writeln!(
                        out,
                        "      <system-out>{}</system-out>",
                        escape(&format!("warning: {}", details.join("\n")))
                    );
                }
                Action::Except => {
                    let why = f.exception.as_ref().map_or(String::new(), |e| {
                        format!("exception {}: {} (until {})", e.name, e.reason, e.expires)
                    });
                    let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(&why));
                }
            }
            out.push_str("    </testcase>\n");
        }
        for e in errors {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"evaluation\">\n      <error message=\"{}\"/>\n    </testcase>",
                escape(&policy.name),
                escape(&e.message)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    let general: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.policy.is_none())
        .collect();
    if !general.is_empty() {
        tests += general.len();
        error_count += general.len();
        let _ = writeln!(
            out,
            "  <testsuite name=\"gate\" tests=\"{0}\" failures=\"0\" errors=\"{0}\">",
            general.len()
        );
        for e in general {
            let _ = writeln!(
                out,
                "    <testcase classname=\"gate\" name=\"{}\">\n      <error message=\"{}\"/>\n    </testcase>",
                escape(e.file.as_deref().unwrap_or("input")),
                escape(&e.message)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    let _ = writeln!(
        out,
        "  <!-- {} -->",
        escape(&summary_line(report)).replace("--", "- -")
    );
    out.push_str("</testsuites>\n");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{error_count}\">\n{out}"
    )
}
