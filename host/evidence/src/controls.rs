//! The framework view: a run's verdicts grouped by the controls its policies
//! declare, against a catalogue of the framework's controls so that a control
//! no policy evidences is listed as not covered rather than left out.

use crate::error::{Error, Result};
use crate::predicate::{Evaluation, ObjectId, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The catalogues shipped with gate (host/evidence/frameworks).
const CATALOGUES: [(&str, &str); 3] = [
    (
        "cis-kubernetes-v1.9.json",
        include_str!("../frameworks/cis-kubernetes-v1.9.json"),
    ),
    (
        "iso-27001-2022.json",
        include_str!("../frameworks/iso-27001-2022.json"),
    ),
    (
        "gdpr-art-32.json",
        include_str!("../frameworks/gdpr-art-32.json"),
    ),
];

/// A framework's catalogue of controls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// A short identifier for the command line (`cis`, `iso27001`, `gdpr`).
    pub id: String,
    /// The framework's name, exactly as policies declare it.
    pub framework: String,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// Which part of the framework the catalogue lists.
    pub scope: String,
    /// The controls, in the framework's order.
    pub controls: Vec<CatalogueControl>,
}

/// One control of a catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueControl {
    /// Its identifier.
    pub id: String,
    /// Its title.
    pub title: String,
}

impl Catalogue {
    fn answers_to(&self, name: &str) -> bool {
        let name = name.trim();
        name.eq_ignore_ascii_case(&self.id)
            || name.eq_ignore_ascii_case(&self.framework)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// Every catalogue shipped with gate.
pub fn catalogues() -> Result<Vec<Catalogue>> {
    CATALOGUES
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text).map_err(|source| Error::Catalogue { name, source })
        })
        .collect()
}

/// Whether a control is evidenced by the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// At least one policy of the run declares it.
    Covered,
    /// No policy of the run declares it.
    NotCovered,
}

/// One control in the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlRow {
    /// Its identifier.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Covered or not.
    pub coverage: Coverage,
    /// False for a control a policy declares that the catalogue does not list.
    pub in_catalogue: bool,
    /// The policies of the run that evidence it.
    pub policies: Vec<String>,
    /// Objects judged by at least one of those policies.
    pub judged: usize,
    /// Objects every one of those policies allowed.
    pub passed: usize,
    /// Objects denied or warned by one of them (not covered by an exception).
    pub failed: usize,
    /// Objects whose only findings a live exception covers.
    pub excepted: usize,
    /// Objects one of them failed to judge (and none failed).
    pub errors: usize,
}

/// A run seen through one framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlView {
    /// The framework.
    pub framework: String,
    /// What the catalogue covers; `None` when gate has no catalogue of it.
    pub scope: Option<String>,
    /// Controls covered by the run's policies.
    pub covered: usize,
    /// The controls, in the framework's order; undeclared ones not covered.
    pub controls: Vec<ControlRow>,
}

/// The view of `evaluation` through `framework`: a catalogue's id, name or alias,
/// or a framework some policy of the run declares (then only declared controls
/// are listed).
pub fn view(evaluation: &Evaluation, framework: &str) -> Result<ControlView, String> {
    let catalogues = catalogues().map_err(|e| e.to_string())?;
    if let Some(catalogue) = catalogues.iter().find(|c| c.answers_to(framework)) {
        return Ok(build(evaluation, &catalogue.framework, Some(catalogue)));
    }
    let declared = declared_frameworks(evaluation);
    match declared
        .iter()
        .find(|f| f.eq_ignore_ascii_case(framework.trim()))
    {
        Some(name) => Ok(build(evaluation, name, None)),
        None => {
            let mut known: Vec<String> = catalogues.iter().map(|c| c.id.clone()).collect();
            known.extend(declared);
            Err(format!(
                "no framework {framework:?}; known: {}",
                known.join(", ")
            ))
        }
    }
}

/// The view through every catalogued framework, then every other framework a
/// policy of the run declares.
pub fn views(evaluation: &Evaluation) -> Result<Vec<ControlView>> {
    let catalogues = catalogues()?;
    let mut out: Vec<ControlView> = catalogues
        .iter()
        .map(|c| build(evaluation, &c.framework, Some(c)))
        .collect();
    for name in declared_frameworks(evaluation) {
        if !catalogues.iter().any(|c| c.answers_to(&name)) {
            out.push(build(evaluation, &name, None));
        }
    }
    Ok(out)
}

fn declared_frameworks(evaluation: &Evaluation) -> BTreeSet<String> {
    evaluation
        .policies
        .iter()
        .flat_map(|p| p.controls.iter().map(|c| c.framework.clone()))
        .collect()
}

/// The worst verdict per object for a set of policies: failed, then error,
/// then excepted, then passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Worst {
    Passed,
    Excepted,
    Error,
    Failed,
}

fn build(evaluation: &Evaluation, framework: &str, catalogue: Option<&Catalogue>) -> ControlView {
    // control id -> (title as declared, policies declaring it)
    let mut declared: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for policy in &evaluation.policies {
        for control in policy
            .controls
            .iter()
            .filter(|c| c.framework.eq_ignore_ascii_case(framework))
        {
            let entry = declared
                .entry(control.id.clone())
                .or_insert_with(|| (control.title.clone(), Vec::new()));
            if !entry.1.contains(&policy.name) {
                entry.1.push(policy.name.clone());
            }
        }
    }
    let mut rows: Vec<ControlRow> = Vec::new();
    for control in catalogue.map(|c| c.controls.as_slice()).unwrap_or_default() {
        let policies = declared
            .remove(&control.id)
            .map(|(_, p)| p)
            .unwrap_or_default();
        rows.push(row(evaluation, &control.id, &control.title, policies, true));
    }
    let mut extra: Vec<(String, (String, Vec<String>))> = declared.into_iter().collect();
    extra.sort_by_key(|a| id_key(&a.0));
    for (id, (title, policies)) in extra {
        rows.push(row(evaluation, &id, &title, policies, catalogue.is_none()));
    }
    ControlView {
        framework: framework.to_owned(),
        scope: catalogue.map(|c| c.scope.clone()),
        covered: rows
            .iter()
            .filter(|r| r.coverage == Coverage::Covered)
            .count(),
        controls: rows,
    }
}

fn row(
    evaluation: &Evaluation,
    id: &str,
    title: &str,
    policies: Vec<String>,
    in_catalogue: bool,
) -> ControlRow {
    let mut worst: BTreeMap<ObjectKey<'_>, Worst> = BTreeMap::new();
    for verdict in evaluation
        .verdicts
        .iter()
        .filter(|v| policies.contains(&v.policy))
    {
        let this = match verdict.verdict {
            Verdict::Pass => Worst::Passed,
            Verdict::Except => Worst::Excepted,
            Verdict::Error => Worst::Error,
            Verdict::Deny | Verdict::Warn => Worst::Failed,
        };
        let slot = worst.entry(object_key(&verdict.object)).or_insert(this);
        *slot = (*slot).max(this);
    }
    let count = |w: Worst| worst.values().filter(|v| **v == w).count();
    ControlRow {
        id: id.to_owned(),
        title: title.to_owned(),
        coverage: if policies.is_empty() {
            Coverage::NotCovered
        } else {
            Coverage::Covered
        },
        in_catalogue,
        judged: worst.len(),
        passed: count(Worst::Passed),
        failed: count(Worst::Failed),
        excepted: count(Worst::Excepted),
        errors: count(Worst::Error),
        policies,
    }
}

/// An object by where it is and what it is.
type ObjectKey<'a> = (&'a str, usize, &'a str, &'a str, Option<&'a str>, &'a str);

fn object_key(o: &ObjectId) -> ObjectKey<'_> {
    (
        &o.file,
        o.line,
        &o.api_version,
        &o.kind,
        o.namespace.as_deref(),
        &o.name,
    )
}

/// A control identifier split into numbers and text, so that 5.2.10 sorts after 5.2.9.
fn id_key(id: &str) -> Vec<(u64, String)> {
    let mut key = Vec::new();
    for part in id.split(['.', '(', ')']) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        let rest = part[digits.len()..].to_owned();
        key.push((digits.parse().unwrap_or(0), rest));
    }
    key
}

impl ControlView {
    /// The view as a table for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let total = self.controls.len();
        let _ = writeln!(
            out,
            "{}: {} of {total} controls covered by this run's policies",
            self.framework, self.covered
        );
        match &self.scope {
            Some(scope) => {
                let _ = writeln!(out, "scope: {scope}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "gate has no catalogue of this framework: only the controls policies declare are listed"
                );
            }
        }
        let _ = writeln!(
            out,
            "\n{:<14} {:>7} {:>7} {:>7} {:>9} {:>7}  policies / title",
            "control", "judged", "passed", "failed", "excepted", "errors"
        );
        for row in &self.controls {
            let what = match row.coverage {
                Coverage::NotCovered => format!("NOT COVERED  {}", row.title),
                Coverage::Covered => row.policies.join(", "),
            };
            let flag = if row.in_catalogue {
                ""
            } else {
                " (not in the catalogue)"
            };
            let _ = writeln!(
                out,
                "{:<14} {:>7} {:>7} {:>7} {:>9} {:>7}  {what}{flag}",
                row.id, row.judged, row.passed, row.failed, row.excepted, row.errors
            );
        }
        out
    }
}
