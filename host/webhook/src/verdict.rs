//! From a report to the API server's answer: allowed or denied, a readable
//! status message, and warnings for the client.
//!
//! - A denial by an enforced policy: `status.code` 403, the violations in the
//!   message (policy, field path, message), capped at [`MESSAGE_CAP`] bytes.
//! - A run gate could not finish (a policy trapped, hit a limit, or passed the
//!   request deadline) fails closed: denied with `status.code` 500 and a message
//!   that says so and names the policy.
//! - Audit findings, live exceptions and notices about the object (a policy that
//!   failed open, a cross-object policy not judged at admission) become
//!   `warnings`, each at most [`WARNING_CAP`] bytes, at most [`MAX_WARNINGS`].

use crate::review::ORIGIN;
use gate_core::report::{Action, Decision, Finding, Report};
use kube::core::admission::AdmissionResponse;
use kube::core::response::StatusSummary;

/// The most bytes of a denial message: enough for a handful of violations, short
/// enough that the API server's error (which prefixes it) stays readable.
pub const MESSAGE_CAP: usize = 1024;

/// The most bytes of one warning: the API server advises 120 characters.
pub const WARNING_CAP: usize = 120;

/// The most warnings in one answer; the API server may drop the rest anyway.
pub const MAX_WARNINGS: usize = 20;

/// The decision an answer carries, for logs and metrics.
pub fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
        Decision::Error => "error",
    }
}

/// Builds the answer to a judged request from its report.
pub fn respond(mut response: AdmissionResponse, report: &Report) -> AdmissionResponse {
    let warnings = warnings(report);
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    match report.decision {
        Decision::Allow => response,
        Decision::Deny => deny(response, 403, "Forbidden", &denial_message(report)),
        Decision::Error => deny(response, 500, "InternalError", &error_message(report)),
    }
}

/// Denies with a status code and reason.
pub fn deny(
    response: AdmissionResponse,
    code: u16,
    reason: &str,
    message: &str,
) -> AdmissionResponse {
    let mut response = response.deny(message);
    response.result.code = code;
    response.result.reason = reason.to_owned();
    response.result.status = Some(StatusSummary::Failure);
    response
}

fn denial_message(report: &Report) -> String {
    capped(
        &format!("gate bundle {} denies this object: ", report.bundle),
        violations(report),
        "violations",
    )
}

/// The errors first (why gate could not decide), then any violations found anyway.
fn error_message(report: &Report) -> String {
    let errors = report
        .errors
        .iter()
        .map(|e| without_origin(&e.message).to_owned());
    capped(
        "gate could not judge this object and fails closed (denies): ",
        errors.chain(violations(report)),
        "errors and violations",
    )
}

/// `[policy] path: message` for each violation of a denying finding.
fn violations(report: &Report) -> impl Iterator<Item = String> + '_ {
    report
        .results
        .iter()
        .filter(|f| f.action == Action::Deny)
        .flat_map(|f| {
            f.violations.iter().map(move |v| {
                if v.path.is_empty() {
                    format!("[{}] {}", f.policy, v.message)
                } else {
                    format!("[{}] {}: {}", f.policy, v.path, v.message)
                }
            })
        })
}

/// `prefix` then as many `items` as fit in [`MESSAGE_CAP`], then how many were left out.
fn capped(prefix: &str, items: impl Iterator<Item = String>, noun: &str) -> String {
    let items: Vec<String> = items.collect();
    let mut message = prefix.to_owned();
    let mut shown = 0;
    for item in &items {
        let separator = if shown == 0 { "" } else { "; " };
        // Leave room for the tail that says how many are missing.
        if message.len() + separator.len() + item.len() > MESSAGE_CAP - 64 {
            if shown == 0 {
                message.push_str(&truncate(item, MESSAGE_CAP - 64 - message.len()));
                shown = 1;
            }
            break;
        }
        message.push_str(separator);
        message.push_str(item);
        shown += 1;
    }
    let left = items.len() - shown;
    if left > 0 {
        message.push_str(&format!(
            "; and {left} more {noun} (`gate check` lists all)"
        ));
    }
    message
}

fn warnings(report: &Report) -> Vec<String> {
    let mut all: Vec<String> = report
        .results
        .iter()
        .filter(|f| f.action != Action::Deny)
        .flat_map(finding_warnings)
        .collect();
    all.extend(
        report
            .notices
            .iter()
            .filter(|n| n.object.is_some())
            .map(|n| without_origin(&n.message).to_owned()),
    );
    let total = all.len();
    let mut out: Vec<String> = all
        .into_iter()
        .take(if total > MAX_WARNINGS {
            MAX_WARNINGS - 1
        } else {
            MAX_WARNINGS
        })
        .map(|w| truncate(&w, WARNING_CAP))
        .collect();
    if total > MAX_WARNINGS {
        out.push(format!(
            "and {} more warnings (`gate check` lists all)",
            total - out.len()
        ));
    }
    out
}

fn finding_warnings(finding: &Finding) -> impl Iterator<Item = String> + '_ {
    let label = match &finding.exception {
        Some(e) => format!(
            "[{}] excepted by {} until {}",
            finding.policy, e.name, e.expires
        ),
        None => format!("[{}] audit", finding.policy),
    };
    finding.violations.iter().map(move |v| {
        if v.path.is_empty() {
            format!("{label}: {}", v.message)
        } else {
            format!("{label}: {}: {}", v.path, v.message)
        }
    })
}

/// A message without the `admission:1: ` position the engine puts first.
fn without_origin(message: &str) -> &str {
    message
        .strip_prefix(ORIGIN)
        .and_then(|rest| rest.strip_prefix(":1: "))
        .unwrap_or(message)
}

/// At most `max` bytes, cut on a character boundary, ending in `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let ellipsis = "…";
    let mut end = max.saturating_sub(ellipsis.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_characters_whole_and_fits() {
        let text = "é".repeat(100);
        let cut = truncate(&text, WARNING_CAP);
        assert!(cut.len() <= WARNING_CAP, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", WARNING_CAP), "short");
    }

    #[test]
    fn a_long_list_is_capped_and_says_how_many_are_left() {
        let items = (0..100).map(|i| format!("[p] violation number {i} is long enough"));
        let message = capped("prefix: ", items, "violations");
        assert!(message.len() <= MESSAGE_CAP, "{}", message.len());
        assert!(message.starts_with("prefix: [p] violation number 0"));
        assert!(message.contains("more violations"), "{message}");
        let shown = message.matches("[p]").count();
        assert!(
            message.contains(&format!("and {} more", 100 - shown)),
            "{message}"
        );
    }

    #[test]
    fn one_huge_item_is_cut_not_dropped() {
        let message = capped("p: ", std::iter::once("x".repeat(5000)), "errors");
        assert!(message.len() <= MESSAGE_CAP);
        assert!(message.starts_with("p: xxx"));
        assert!(!message.contains("more errors"), "{message}");
    }

    #[test]
    fn the_position_prefix_is_stripped() {
        assert_eq!(
            without_origin("admission:1: policy x: failed"),
            "policy x: failed"
        );
        assert_eq!(without_origin("other:1: y"), "other:1: y");
    }
}
