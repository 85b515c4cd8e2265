//! A report in one bounded line, for the places that hold little text: a
//! Kubernetes condition or event (an event note holds 1 kB), an Argo CD
//! message, a webhook's denial.

use crate::output::object_label;
use gate_core::report::{Action, Report};

/// What decided the report, most important first: every denial
/// (`Kind namespace/name: policy: message`), then every error, joined with
/// `; ` and cut to at most `max` bytes, ending `(and N more)` when items were
/// left out. Empty when nothing was denied and nothing failed.
pub fn findings_summary(report: &Report, max: usize) -> String {
    let mut items: Vec<String> = Vec::new();
    for finding in report.results.iter().filter(|f| f.action == Action::Deny) {
        for violation in &finding.violations {
            items.push(format!(
                "{}: {}: {}",
                object_label(&finding.object),
                finding.policy,
                violation.message
            ));
        }
    }
    items.extend(
        report
            .errors
            .iter()
            .map(|e| format!("error: {}", e.message)),
    );
    join_capped(&items, max)
}

/// Joins items with `; ` within `max` bytes; items that do not fit are counted
/// in a closing `(and N more)`, and an item too long on its own is cut with `…`.
pub fn join_capped(items: &[String], max: usize) -> String {
    let mut out = String::new();
    for (index, item) in items.iter().enumerate() {
        let left = items.len() - index - 1;
        let more = if left > 0 {
            format!(" (and {left} more)")
        } else {
            String::new()
        };
        let separator = if out.is_empty() { "" } else { "; " };
        if out.len() + separator.len() + item.len() + more.len() <= max {
            out.push_str(separator);
            out.push_str(item);
            continue;
        }
        // This item does not fit whole: cut it if it is the first, then stop.
        let rest = items.len() - index;
        let tail = format!(" (and {rest} more)");
        if out.is_empty() {
            let tail = if rest > 1 {
                format!("… (and {} more)", rest - 1)
            } else {
                "…".to_owned()
            };
            let room = max.saturating_sub(tail.len());
            out.push_str(cut(item, room));
            out.push_str(&tail);
        } else if out.len() + tail.len() <= max {
            out.push_str(&tail);
        }
        return out;
    }
    out
}

/// The longest prefix of `text` within `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize, len: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{i}{}", "x".repeat(len - 1)))
            .collect()
    }

    #[test]
    fn everything_that_fits_is_kept() {
        assert_eq!(join_capped(&items(2, 3), 100), "0xx; 1xx");
        assert_eq!(join_capped(&[], 100), "");
    }

    #[test]
    fn the_rest_is_counted_and_the_cap_holds() {
        for max in [0, 5, 10, 17, 30, 64, 200] {
            for (n, len) in [(1, 50), (5, 10), (40, 3), (3, 300)] {
                let text = join_capped(&items(n, len), max);
                assert!(text.len() <= max || max < 20, "{max} {n} {len}: {text:?}");
            }
        }
        let text = join_capped(&items(10, 10), 40);
        assert_eq!(text, "0xxxxxxxxx; 1xxxxxxxxx (and 8 more)");
        let text = join_capped(&["é".repeat(100)], 11);
        assert!(text.ends_with('…') && text.len() <= 11, "{text}");
    }
}
