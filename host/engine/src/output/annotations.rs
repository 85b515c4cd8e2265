//! CI annotations: GitHub Actions workflow commands and Azure DevOps logging commands.

use super::ci_safe::escape_unsafe;
use super::{object_label, summary_line};
use gate_core::report::{Action, Report};
use std::fmt::Write;

/// `text` with the control and formatting characters other than CR and LF (which the
/// command escapes carry) written as visible `\u{1b}` escapes: the runner shows them
/// in annotations and logs as they are.
fn visible(text: &str) -> String {
    escape_unsafe(text, |c| !matches!(c, '\r' | '\n'))
}

/// Escapes the message of a GitHub workflow command.
fn gh_data(text: &str) -> String {
    visible(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a GitHub workflow command.
fn gh_property(text: &str) -> String {
    gh_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.results {
        let level = match f.action {
            Action::Deny => "error",
            Action::Warn => "warning",
            Action::Except => "notice",
        };
        for v in &f.violations {
            let mut message = format!("{}: {}", object_label(&f.object), v.message);
            if !v.path.is_empty() {
                message.push_str(&format!(" (at {})", v.path));
            }
            let _ = writeln!(
                out,
                "::{level} file={},line={},title={}::{}",
                gh_property(&f.object.origin.file),
                f.object.origin.line,
                gh_property(&format!("gate {}", f.policy)),
                gh_data(&message)
            );
        }
    }
    for e in &report.errors {
        let location = match (&e.file, e.line, &e.object) {
            (_, _, Some(o)) => format!(
                " file={},line={},",
                gh_property(&o.origin.file),
                o.origin.line
            ),
            (Some(file), Some(line), None) => format!(" file={},line={},", gh_property(file), line),
            (Some(file), None, None) => format!(" file={},", gh_property(file)),
            _ => " ".to_owned(),
        };
        let _ = writeln!(
            out,
            "::error{location}title=gate error::{}",
            gh_data(&e.message)
        );
    }
    for n in &report.notices {
        let _ = writeln!(out, "::warning title=gate::{}", gh_data(&n.message));
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// Escapes text inside an Azure DevOps logging command.
fn ado(text: &str) -> String {
    visible(text)
        .replace('%', "%AZP25")
        .replace(';', "%3B")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(']', "%5D")
}

pub fn azure_devops(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.results {
        let kind = match f.action {
            Action::Deny => "error",
            Action::Warn | Action::Except => "warning",
        };
        for v in &f.violations {
            let mut message = format!("{} {}: {}", f.policy, object_label(&f.object), v.message);
            if !v.path.is_empty() {
                message.push_str(&format!(" (at {})", v.path));
            }
            if let Some(e) = &f.exception {
                message.push_str(&format!(" [exception {} until {}]", e.name, e.expires));
            }
            let _ = writeln!(
                out,
                "##vso[task.logissue type={kind};sourcepath={};linenumber={};code={}]{}",
                ado(&f.object.origin.file),
                f.object.origin.line,
                ado(&f.policy),
                ado(&message)
            );
        }
    }
    for e in &report.errors {
        let mut props = String::from("type=error");
        if let Some(file) = e
            .object
            .as_ref()
            .map(|o| &o.origin.file)
            .or(e.file.as_ref())
        {
            let _ = write!(props, ";sourcepath={}", ado(file));
        }
        if let Some(line) = e.object.as_ref().map(|o| o.origin.line).or(e.line) {
            let _ = write!(props, ";linenumber={line}");
        }
        let _ = writeln!(out, "##vso[task.logissue {props}]{}", ado(&e.message));
    }
    for n in &report.notices {
        let _ = writeln!(out, "##vso[task.logissue type=warning]{}", ado(&n.message));
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}
