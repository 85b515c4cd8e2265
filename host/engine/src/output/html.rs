//! The HTML report: one self-contained file an auditor opens in a browser. No
//! network, no external script, style or font (a Content-Security-Policy says
//! so to the browser too). The decision and counts come first, then findings
//! with filters (by object, or grouped by policy), the policies, exceptions with
//! their expiry, the framework view, errors, and the digests a signed record of
//! the run binds. Rows are plain DOM filtered by a small inline script, so the
//! page stays usable with tens of thousands of findings.

use crate::output::summary_line;
use chrono::{DateTime, Utc};
use gate_core::report::{Decision, PolicyRun, Report};
use gate_evidence::controls::{self, ControlView, Coverage};
use gate_evidence::exceptions::{self, Expiry};
use gate_evidence::predicate::{Evaluation, Verdict, VerdictEntry};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Days ahead an exception is flagged as expiring soon.
const EXPIRY_WARNING_DAYS: i64 = 30;

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// The report as one HTML page.
pub fn render(report: &Report) -> String {
    let now = report.evaluated_at.unwrap_or_else(Utc::now);
    let evaluation = Evaluation::from_report(report, now);
    let mut page = String::with_capacity(4096 + report.results.len() * 600);
    let decision = decision_name(report.decision);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>gate: {} — {decision}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&report.bundle)
    );
    header(&mut page, report, &evaluation);
    findings(&mut page, report, &evaluation);
    policies(&mut page, report, &evaluation);
    exceptions_section(&mut page, report, now);
    frameworks(&mut page, &evaluation);
    errors(&mut page, report);
    digests(&mut page, report);
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    page
}

fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "ALLOW",
        Decision::Deny => "DENY",
        Decision::Error => "ERROR",
    }
}

fn header(page: &mut String, report: &Report, evaluation: &Evaluation) {
    let decision = decision_name(report.decision);
    let s = &report.summary;
    let _ = write!(
        page,
        "<header>\n<h1>gate report <span class=\"bundle\">{}</span></h1>\n\
         <p id=\"decision\" class=\"decision {}\">{decision}</p>\n<dl id=\"counts\" class=\"counts\">",
        esc(&report.bundle),
        decision.to_ascii_lowercase()
    );
    let counts = [
        ("objects", s.objects),
        ("policies", s.policies),
        ("evaluations", s.evaluations),
        ("passed", evaluation.summary.passed),
        ("denied", s.denied),
        ("warnings", s.warnings),
        ("excepted", s.excepted),
        ("errors", s.errors),
        ("skipped", s.skipped),
    ];
    for (name, value) in counts {
        let _ = write!(
            page,
            "<div class=\"count {name}\"><dt>{name}</dt><dd id=\"count-{name}\">{value}</dd></div>"
        );
    }
    page.push_str("</dl>\n<dl class=\"run\">");
    let run = &evaluation.run;
    let mut facts = vec![
        ("time", run.time.to_rfc3339()),
        ("front door", run.front_door.clone()),
        ("gate", evaluation.gate.version.clone()),
        ("bundle digest", report.bundle_digest.clone()),
    ];
    if let Some(revision) = &run.revision {
        facts.insert(1, ("revision", revision.clone()));
    }
    for (name, value) in facts {
        let _ = write!(page, "<dt>{name}</dt><dd>{}</dd>", esc(&value));
    }
    let _ = write!(
        page,
        "</dl>\n<p class=\"summary\">{}</p>\n<nav><a href=\"#findings\">Findings</a> \
         <a href=\"#policies\">Policies</a> <a href=\"#exceptions\">Exceptions</a> \
         <a href=\"#controls\">Controls</a> <a href=\"#errors\">Errors</a> \
         <a href=\"#evidence\">Evidence</a></nav>\n</header>\n",
        esc(&summary_line(report))
    );
}

/// One row per (object, policy) that is not a pass: denials, warnings,
/// exceptions and errors. Two precomputed orders let the script regroup rows.
fn findings(page: &mut String, report: &Report, evaluation: &Evaluation) {
    let rows: Vec<&VerdictEntry> = evaluation
        .verdicts
        .iter()
        .filter(|v| v.verdict != Verdict::Pass)
        .collect();
    let policy_position: BTreeMap<&str, usize> = report
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let mut by_policy: Vec<usize> = (0..rows.len()).collect();
    by_policy.sort_by_key(|&i| {
        policy_position
            .get(rows[i].policy.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
    let mut policy_rank = vec![0; rows.len()];
    for (rank, &i) in by_policy.iter().enumerate() {
        policy_rank[i] = rank;
    }
    let namespaces: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.object.namespace.as_deref().unwrap_or(""))
        .collect();

    let _ = write!(
        page,
        "<section id=\"findings\">\n<h2>Findings <small><span id=\"shown\">{n}</span> of <span id=\"total\">{n}</span> shown</small></h2>\n\
         <div class=\"filters\"><input id=\"q\" type=\"search\" placeholder=\"Filter: object, message, file…\" aria-label=\"filter text\">\n\
         <select id=\"f-verdict\" aria-label=\"verdict\"><option value=\"\">every verdict</option>\
         <option value=\"deny\">deny</option><option value=\"warn\">warn</option>\
         <option value=\"except\">except</option><option value=\"error\">error</option></select>\n\
         <select id=\"f-policy\" aria-label=\"policy\"><option value=\"\">every policy</option>",
        n = rows.len()
    );
    for run in &report.policies {
        let _ = write!(page, "<option>{}</option>", esc(&run.name));
    }
    page.push_str("</select>\n<select id=\"f-ns\" aria-label=\"namespace\"><option value=\"\">every namespace</option>");
    for ns in namespaces {
        let label = if ns.is_empty() { "(none)" } else { ns };
        let _ = write!(
            page,
            "<option value=\"{}\">{}</option>",
            esc(ns),
            esc(label)
        );
    }
    page.push_str(
        "</select>\n<select id=\"group\" aria-label=\"group by\"><option value=\"object\">by object</option>\
         <option value=\"policy\">by policy</option></select></div>\n\
         <table class=\"findings\"><thead><tr><th>verdict</th><th>object</th><th>source</th>\
         <th>policy</th><th>violations</th></tr></thead>\n<tbody>\n",
    );
    for (i, row) in rows.iter().enumerate() {
        finding_row(page, row, i, policy_rank[i]);
    }
    page.push_str("</tbody></table>\n");
    if rows.is_empty() {
        page.push_str("<p class=\"empty\">No findings: every object judged passed.</p>\n");
    }
    page.push_str("</section>\n");
}

fn finding_row(page: &mut String, row: &VerdictEntry, by_object: usize, by_policy: usize) {
    let object = &row.object;
    let label = match &object.namespace {
        Some(ns) => format!("{} {ns}/{}", object.kind, object.name),
        None => format!("{} {}", object.kind, object.name),
    };
    let source = format!("{}:{}", object.file, object.line);
    let mut detail = String::new();
    for v in &row.violations {
        let path = if v.path.is_empty() {
            String::new()
        } else {
            format!("<code>{}</code> ", esc(&v.path))
        };
        let _ = write!(
            detail,
            "<li class=\"sev-{}\">{path}{}</li>",
            v.severity.as_str(),
            esc(&v.message)
        );
    }
    if let Some(error) = &row.error {
        let _ = write!(detail, "<li class=\"error\">{}</li>", esc(error));
    }
    if let Some(exception) = &row.exception {
        let _ = write!(
            detail,
            "<li class=\"exception\">excepted by <a href=\"#exc-{}\">{}</a></li>",
            esc(&anchor(&row.policy, exception)),
            esc(exception)
        );
    }
    let text: String = [label.as_str(), source.as_str(), row.policy.as_str()]
        .into_iter()
        .chain(row.violations.iter().map(|v| v.message.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let verdict = row.verdict.as_str();
    let _ = writeln!(
        page,
        "<tr class=\"v-{verdict}\" data-verdict=\"{verdict}\" data-policy=\"{policy}\" data-ns=\"{ns}\" \
         data-o=\"{by_object}\" data-p=\"{by_policy}\" data-text=\"{text}\"><td><span class=\"badge {verdict}\">{verdict}</span></td>\
         <td>{label}</td><td class=\"src\">{source}</td><td>{policy}</td><td><ul>{detail}</ul></td></tr>",
        policy = esc(&row.policy),
        ns = esc(object.namespace.as_deref().unwrap_or("")),
        text = esc(&text),
        label = esc(&label),
        source = esc(&source),
    );
}

fn policies(page: &mut String, report: &Report, evaluation: &Evaluation) {
    let mut counts: BTreeMap<&str, BTreeMap<Verdict, usize>> = BTreeMap::new();
    for v in &evaluation.verdicts {
        *counts
            .entry(v.policy.as_str())
            .or_default()
            .entry(v.verdict)
            .or_default() += 1;
    }
    page.push_str(
        "<section id=\"policies\">\n<h2>Policies</h2>\n<p class=\"hint\">Select a policy to filter the findings.</p>\n\
         <table><thead><tr><th>policy</th><th>mode</th><th>severity</th><th>pass</th><th>deny</th>\
         <th>warn</th><th>except</th><th>error</th><th>controls</th><th>title</th></tr></thead><tbody>\n",
    );
    for run in &report.policies {
        let c = counts.get(run.name.as_str());
        let n = |v: Verdict| c.and_then(|c| c.get(&v)).copied().unwrap_or(0);
        let controls: Vec<String> = run
            .info
            .controls
            .iter()
            .map(|c| format!("{} {}", short_framework(&c.framework), c.id))
            .collect();
        let _ = writeln!(
            page,
            "<tr data-policy-row=\"{name}\"><td><button type=\"button\" class=\"policy-filter\" data-policy=\"{name}\">{name}</button></td>\
             <td>{mode}</td><td>{sev}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{controls}</td><td>{title}</td></tr>",
            n(Verdict::Pass),
            n(Verdict::Deny),
            n(Verdict::Warn),
            n(Verdict::Except),
            n(Verdict::Error),
            name = esc(&run.name),
            mode = mode(run),
            sev = run.info.severity.as_str(),
            controls = esc(&controls.join(", ")),
            title = esc(&run.info.title),
        );
    }
    page.push_str("</tbody></table>\n</section>\n");
}

fn mode(run: &PolicyRun) -> &'static str {
    match run.mode {
        gate_core::bundle::Mode::Enforce => "enforce",
        gate_core::bundle::Mode::Audit => "audit",
    }
}

fn short_framework(framework: &str) -> &str {
    if framework.starts_with("CIS") {
        "CIS"
    } else if framework.starts_with("ISO/IEC 27001") {
        "ISO 27001"
    } else {
        framework
    }
}

fn exceptions_section(page: &mut String, report: &Report, now: DateTime<Utc>) {
    let _ = write!(
        page,
        "<section id=\"exceptions\">\n<h2>Exceptions</h2>\n<p class=\"hint\">As of {}; \
         flagged when they expire within {EXPIRY_WARNING_DAYS} days. An expired exception covers nothing.</p>\n",
        esc(&now.to_rfc3339())
    );
    let mut any = false;
    let mut table = String::from(
        "<table><thead><tr><th>status</th><th>policy</th><th>exception</th><th>reason</th>\
         <th>expires</th><th>scope</th><th>findings covered</th></tr></thead><tbody>\n",
    );
    for run in &report.policies {
        for e in &run.exceptions {
            any = true;
            let expiry = Expiry::of(e, now, EXPIRY_WARNING_DAYS);
            let status = match expiry {
                Expiry::Live { days } => format!("live ({days} days left)"),
                Expiry::ExpiresSoon { days } => format!("expires in {days} days"),
                Expiry::Expired { days } => format!("EXPIRED ({days} days ago)"),
                Expiry::Invalid => "invalid expiry".to_owned(),
            };
            let covered = report
                .results
                .iter()
                .filter(|f| {
                    f.policy == run.name && f.exception.as_ref().is_some_and(|x| x.name == e.name)
                })
                .count();
            let _ = writeln!(
                table,
                "<tr id=\"exc-{id}\" class=\"exc {class}\" data-expiry=\"{class}\"><td>{status}</td><td>{policy}</td>\
                 <td>{name}</td><td>{reason}</td><td>{expires}</td><td>{scope}</td><td class=\"num\">{covered}</td></tr>",
                id = esc(&anchor(&run.name, &e.name)),
                class = expiry.label(),
                status = esc(&status),
                policy = esc(&run.name),
                name = esc(&e.name),
                reason = esc(&e.reason),
                expires = esc(&e.expires),
                scope = esc(&exceptions::scope(e)),
            );
        }
    }
    table.push_str("</tbody></table>\n");
    if any {
        page.push_str(&table);
    } else {
        page.push_str("<p class=\"empty\">The bundle grants no exception.</p>\n");
    }
    page.push_str("</section>\n");
}

fn frameworks(page: &mut String, evaluation: &Evaluation) {
    page.push_str("<section id=\"controls\">\n<h2>Controls</h2>\n<p class=\"hint\">Per control: the policies of this run that evidence it, \
        and the objects they judged. A policy supports a control; none satisfies one on its own. \
        Controls no policy evidences are listed as not covered.</p>\n");
    match controls::views(evaluation) {
        Ok(views) => {
            for view in &views {
                framework(page, view);
            }
        }
        Err(e) => {
            let _ = writeln!(page, "<p class=\"error\">{}</p>", esc(&e.to_string()));
        }
    }
    page.push_str("</section>\n");
}

fn framework(page: &mut String, view: &ControlView) {
    let _ = writeln!(
        page,
        "<details class=\"framework\" open><summary><strong>{}</strong>: \
         <span class=\"covered\">{}</span> of {} controls covered</summary>",
        esc(&view.framework),
        view.covered,
        view.controls.len()
    );
    if let Some(scope) = &view.scope {
        let _ = writeln!(page, "<p class=\"hint\">{}</p>", esc(scope));
    }
    page.push_str(
        "<table><thead><tr><th>control</th><th>title</th><th>policies</th><th>judged</th>\
         <th>passed</th><th>failed</th><th>excepted</th><th>errors</th></tr></thead><tbody>\n",
    );
    for row in &view.controls {
        let (class, policies) = match row.coverage {
            Coverage::Covered => ("covered", esc(&row.policies.join(", "))),
            Coverage::NotCovered => ("not-covered", "<em>not covered</em>".to_owned()),
        };
        let _ = writeln!(
            page,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{policies}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&row.id),
            esc(&row.title),
            row.judged,
            row.passed,
            row.failed,
            row.excepted,
            row.errors
        );
    }
    page.push_str("</tbody></table>\n</details>\n");
}

fn errors(page: &mut String, report: &Report) {
    page.push_str("<section id=\"errors\">\n<h2>Errors</h2>\n");
    if report.errors.is_empty() {
        page.push_str("<p class=\"empty\">None: gate judged everything it read.</p>\n");
    } else {
        page.push_str("<ul class=\"errors\">\n");
        for e in &report.errors {
            let _ = writeln!(page, "<li>{}</li>", esc(&e.message));
        }
        page.push_str("</ul>\n");
    }
    if !report.notices.is_empty() {
        page.push_str("<h3>Notices</h3>\n<ul class=\"notices\">\n");
        for n in &report.notices {
            let _ = writeln!(page, "<li>{}</li>", esc(&n.message));
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</section>\n");
}

/// What a signed record of this run binds: the inputs, the bundle, each policy's
/// component and settings.
fn digests(page: &mut String, report: &Report) {
    page.push_str(
        "<section id=\"evidence\">\n<h2>Evidence</h2>\n<p class=\"hint\">The digests an evaluation record of this run \
         (<code>gate check --attest</code>) signs. Check a record against the manifests with \
         <code>gate evidence verify RECORD --key KEY PATH…</code>.</p>\n\
         <h3>Bundle</h3>\n<table><tbody>",
    );
    let _ = write!(
        page,
        "<tr><td>{}</td><td><code>{}</code></td></tr></tbody></table>\n\
         <h3>Policies</h3>\n<table><thead><tr><th>policy</th><th>version</th><th>module</th>\
         <th>component digest</th><th>settings digest</th></tr></thead><tbody>\n",
        esc(&report.bundle),
        esc(&report.bundle_digest)
    );
    for run in &report.policies {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&run.name),
            esc(&run.info.version),
            esc(&run.module),
            esc(&run.digest),
            esc(&run.settings_digest)
        );
    }
    let _ = write!(
        page,
        "</tbody></table>\n<h3>Inputs ({})</h3>\n<table id=\"inputs\"><thead><tr><th>file</th><th>sha256</th></tr></thead><tbody>\n",
        report.inputs.len()
    );
    for input in &report.inputs {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            esc(&input.path),
            esc(input
                .digest
                .strip_prefix("sha256:")
                .unwrap_or(&input.digest))
        );
    }
    page.push_str("</tbody></table>\n</section>\n");
}

fn anchor(policy: &str, exception: &str) -> String {
    format!("{policy}--{exception}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Escapes text for HTML content and double-quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn anchors_are_plain_identifiers() {
        assert_eq!(anchor("p", "a b\"<c>"), "p--a_b__c_");
    }
}
