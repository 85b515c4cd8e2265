//! The predicate `https://gate.dev/evaluation/v1`: what gate judged, with what,
//! and what it decided, per (object, policy). Its JSON Schema is
//! `host/evidence/schema/evaluation-v1.schema.json`; a test keeps the two in step.
//!
//! These types are the record's own, not the report's: the record is a format
//! auditors keep for years, so it changes only with a new predicate type.

use chrono::{DateTime, Utc};
use gate_core::ObjectRef;
use gate_core::report::{Action, Decision, ErrorEntry, Finding, Passed, Report, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The evaluation a record attests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Evaluation {
    /// The gate that ran.
    pub gate: GateInfo,
    /// Where and when.
    pub run: Run,
    /// `allow`, `deny` or `error`.
    pub decision: Outcome,
    /// Counts.
    pub summary: Counts,
    /// The bundle.
    pub bundle: BundleInfo,
    /// Every policy that ran, with what identifies it.
    pub policies: Vec<PolicyInfo>,
    /// One verdict per (object, policy) judged, in object order then policy order.
    pub verdicts: Vec<VerdictEntry>,
    /// Every exception the bundle declares, with how many verdicts it covered.
    pub exceptions: Vec<ExceptionInfo>,
    /// What gate could not do.
    pub errors: Vec<ErrorInfo>,
}

/// The gate that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateInfo {
    /// Its version.
    pub version: String,
}

/// Where and when the run happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Run {
    /// `check`, `argocd`, `flux`, ...
    pub front_door: String,
    /// The source revision judged, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The instant exceptions were checked against.
    pub time: DateTime<Utc>,
    /// The namespace given to namespaced objects that set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_namespace: Option<String>,
    /// The front door's own facts (e.g. `argocd.appName`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The decision of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Nothing denied, nothing failed.
    Allow,
    /// An enforced policy denied an object.
    Deny,
    /// gate could not decide.
    Error,
}

impl From<Decision> for Outcome {
    fn from(decision: Decision) -> Self {
        match decision {
            Decision::Allow => Outcome::Allow,
            Decision::Deny => Outcome::Deny,
            Decision::Error => Outcome::Error,
        }
    }
}

/// Counts of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Objects loaded.
    pub objects: usize,
    /// Policies run.
    pub policies: usize,
    /// (object, policy) pairs judged.
    pub evaluations: usize,
    /// Pairs allowed.
    pub passed: usize,
    /// Pairs denied by an enforced policy.
    pub denied: usize,
    /// Pairs with findings of an audit policy.
    pub warnings: usize,
    /// Pairs whose findings a live exception covers.
    pub excepted: usize,
    /// Errors.
    pub errors: usize,
    /// Documents skipped (not objects).
    pub skipped: usize,
}

/// The bundle that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleInfo {
    /// Its name.
    pub name: String,
    /// The `sha256:` digest of the bundle document as read.
    pub digest: String,
}

/// One policy as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyInfo {
    /// The name verdicts use (the bundle entry's).
    pub name: String,
    /// The policy's own name (its `describe`).
    pub policy: String,
    /// The policy's version.
    pub version: String,
    /// `enforce` or `audit`.
    pub mode: String,
    /// Where the component came from.
    pub module: String,
    /// The `sha256:` digest of the component that ran.
    pub digest: String,
    /// The `sha256:` digest of the settings it ran with (their JSON).
    pub settings_digest: String,
    /// The controls it declares, as `framework` and `id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlRef>,
}

/// A control a policy declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRef {
    /// The framework, as the policy names it.
    pub framework: String,
    /// The control's identifier.
    pub id: String,
    /// The control's title, as the policy gives it.
    pub title: String,
}

/// What a policy decided about an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Judged and allowed.
    Pass,
    /// Denied by an enforced policy.
    Deny,
    /// Found in violation by an audit policy.
    Warn,
    /// Found in violation, covered by a live exception.
    Except,
    /// The policy failed on it.
    Error,
}

impl Verdict {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Deny => "deny",
            Verdict::Warn => "warn",
            Verdict::Except => "except",
            Verdict::Error => "error",
        }
    }
}

/// An object, as a record identifies it: what it is and where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectId {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The file it came from (as read), or the stream's name.
    pub file: String,
    /// The 1-based line its document starts at.
    pub line: usize,
}

impl From<&ObjectRef> for ObjectId {
    fn from(object: &ObjectRef) -> Self {
        ObjectId {
            api_version: object.api_version.clone(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            file: object.origin.file.clone(),
            line: object.origin.line,
        }
    }
}

/// One (object, policy) verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerdictEntry {
    /// The object.
    pub object: ObjectId,
    /// The policy (its name in `policies`).
    pub policy: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The exception that covered it, for `except`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// The violations found, for `deny`, `warn` and `except`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<ViolationInfo>,
    /// What failed, for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationInfo {
    /// For a human.
    pub message: String,
    /// Field path into the object; empty for the object as a whole.
    pub path: String,
    /// `info` to `critical`.
    pub severity: Severity,
}

/// An exception the bundle declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionInfo {
    /// The policy it belongs to.
    pub policy: String,
    /// Its name.
    pub name: String,
    /// Why it was granted.
    pub reason: String,
    /// When it expires, as the bundle says it.
    pub expires: String,
    /// Whether it had expired at the run's time (then it covered nothing).
    pub expired: bool,
    /// How many verdicts it turned into `except`.
    pub covered: usize,
}

/// Something gate could not do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    /// The message.
    pub message: String,
    /// The policy involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The object involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectId>,
    /// The file involved, when no object is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl From<&ErrorEntry> for ErrorInfo {
    fn from(error: &ErrorEntry) -> Self {
        ErrorInfo {
            message: error.message.clone(),
            policy: error.policy.clone(),
            object: error.object.as_ref().map(ObjectId::from),
            file: error.file.clone(),
            line: error.line,
        }
    }
}

impl Evaluation {
    /// The evaluation a report describes. `time` is used when the report does
    /// not say when exceptions were checked.
    pub fn from_report(report: &Report, time: DateTime<Utc>) -> Evaluation {
        let time = report.evaluated_at.unwrap_or(time);
        let context = report.context.clone().unwrap_or_default();
        let verdicts = verdicts(report);
        let count = |v: Verdict| verdicts.iter().filter(|e| e.verdict == v).count();
        let s = &report.summary;
        let summary = Counts {
            objects: s.objects,
            policies: s.policies,
            evaluations: s.evaluations,
            passed: count(Verdict::Pass),
            denied: s.denied,
            warnings: s.warnings,
            excepted: s.excepted,
            errors: s.errors,
            skipped: s.skipped,
        };
        Evaluation {
            gate: GateInfo {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            run: Run {
                front_door: context.front_door,
                revision: context.revision,
                time,
                default_namespace: context.default_namespace,
                metadata: context.metadata,
            },
            decision: report.decision.into(),
            summary,
            bundle: BundleInfo {
                name: report.bundle.clone(),
                digest: report.bundle_digest.clone(),
            },
            policies: report.policies.iter().map(policy_info).collect(),
            exceptions: exceptions(report, time),
            verdicts,
            errors: report.errors.iter().map(ErrorInfo::from).collect(),
        }
    }
}

fn policy_info(run: &gate_core::report::PolicyRun) -> PolicyInfo {
    PolicyInfo {
        name: run.name.clone(),
        policy: run.info.name.clone(),
        version: run.info.version.clone(),
        mode: match run.mode {
            gate_core::bundle::Mode::Enforce => "enforce",
            gate_core::bundle::Mode::Audit => "audit",
        }
        .to_owned(),
        module: run.module.clone(),
        digest: run.digest.clone(),
        settings_digest: run.settings_digest.clone(),
        controls: run
            .info
            .controls
            .iter()
            .map(|c| ControlRef {
                framework: c.framework.clone(),
                id: c.id.clone(),
                title: c.title.clone(),
            })
            .collect(),
    }
}

/// Every verdict of the run: passes, findings, and errors that name both an
/// object and a policy; sorted by where the object is, then policy order.
fn verdicts(report: &Report) -> Vec<VerdictEntry> {
    let position: BTreeMap<&str, usize> = report
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let mut keyed: Vec<(ObjectKey, usize, VerdictEntry)> = Vec::new();
    let mut push = |object: &ObjectRef, policy: &str, entry: VerdictEntry| {
        let order = position.get(policy).copied().unwrap_or(usize::MAX);
        keyed.push((ObjectKey::of(object), order, entry));
    };
    for Passed { object, policy } in &report.passed {
        push(object, policy, entry(object, policy, Verdict::Pass));
    }
    for finding in &report.results {
        push(&finding.object, &finding.policy, from_finding(finding));
    }
    for error in &report.errors {
        if let (Some(object), Some(policy)) = (&error.object, &error.policy) {
            let mut e = entry(object, policy, Verdict::Error);
            e.error = Some(error.message.clone());
            push(object, policy, e);
        }
    }
    keyed.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    keyed.into_iter().map(|(_, _, e)| e).collect()
}

/// Where an object is: unique within a render.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ObjectKey {
    file: String,
    document: usize,
    item: Option<usize>,
}

impl ObjectKey {
    pub(crate) fn of(object: &ObjectRef) -> ObjectKey {
        ObjectKey {
            file: object.origin.file.clone(),
            document: object.origin.document,
            item: object.origin.item,
        }
    }
}

fn entry(object: &ObjectRef, policy: &str, verdict: Verdict) -> VerdictEntry {
    VerdictEntry {
        object: ObjectId::from(object),
        policy: policy.to_owned(),
        verdict,
        exception: None,
        violations: Vec::new(),
        error: None,
    }
}

fn from_finding(finding: &Finding) -> VerdictEntry {
    let verdict = match finding.action {
        Action::Deny => Verdict::Deny,
        Action::Warn => Verdict::Warn,
        Action::Except => Verdict::Except,
    };
    let mut e = entry(&finding.object, &finding.policy, verdict);
    e.exception = finding.exception.as_ref().map(|x| x.name.clone());
    e.violations = finding
        .violations
        .iter()
        .map(|v| ViolationInfo {
            message: v.message.clone(),
            path: v.path.clone(),
            severity: v.severity,
        })
        .collect();
    e
}

fn exceptions(report: &Report, time: DateTime<Utc>) -> Vec<ExceptionInfo> {
    report
        .policies
        .iter()
        .flat_map(|run| {
            run.exceptions.iter().map(move |e| {
                let covered = report
                    .results
                    .iter()
                    .filter(|f| {
                        f.policy == run.name
                            && f.exception.as_ref().is_some_and(|x| x.name == e.name)
                    })
                    .count();
                ExceptionInfo {
                    policy: run.name.clone(),
                    name: e.name.clone(),
                    reason: e.reason.clone(),
                    expires: e.expires.clone(),
                    expired: e.expiry().map_or(true, |at| at <= time),
                    covered,
                }
            })
        })
        .collect()
}
