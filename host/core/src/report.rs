//! The report: everything one evaluation found, in the shape every output format
//! and front door renders.

use crate::bundle::{Exception, FailurePolicy, Mode};
use crate::manifest::Skipped;
use crate::resource::ObjectRef;
use crate::selector::KindSelector;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The identifier of the report's JSON schema; bumped on any incompatible change.
pub const REPORT_SCHEMA: &str = "gate.dev/report/v1";

/// How serious a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A compliance control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// Framework.
    pub framework: String,
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
}

/// What a policy says about itself (its `describe` export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    /// Identifier.
    pub name: String,
    /// Version.
    pub version: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Default severity.
    pub severity: Severity,
    /// Category.
    pub category: String,
    /// Kinds judged.
    pub targets: Vec<KindSelector>,
    /// Kinds of the render it sees.
    pub inventory: Vec<KindSelector>,
    /// JSON Schema of its settings.
    pub settings_schema: serde_json::Value,
    /// Controls supported.
    pub controls: Vec<Control>,
    /// The admission operations judged; empty means CREATE and UPDATE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<crate::Operation>,
}

impl PolicyInfo {
    /// Whether the policy judges objects of an admission request with `operation`.
    pub fn judges_operation(&self, operation: crate::Operation) -> bool {
        if self.operations.is_empty() {
            matches!(
                operation,
                crate::Operation::Create | crate::Operation::Update
            )
        } else {
            self.operations.contains(&operation)
        }
    }
}

/// One policy as configured in the bundle that ran.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRun {
    /// The name findings use (the bundle entry's name, or the policy's own).
    pub name: String,
    /// Enforce or audit.
    pub mode: Mode,
    /// What a failure of the policy does: fail closed (the default) or open.
    #[serde(
        rename = "failurePolicy",
        skip_serializing_if = "FailurePolicy::is_fail"
    )]
    pub failure_policy: FailurePolicy,
    /// How many objects of this run the policy judged.
    pub evaluations: usize,
    /// Where the component came from.
    pub module: String,
    /// sha256 digest of the component.
    pub digest: String,
    /// The policy's self-description.
    pub info: PolicyInfo,
    /// The `sha256:` digest of its settings as the policy received them (JSON).
    /// Evaluation records carry it; the JSON report keeps its v1 shape.
    #[serde(skip)]
    pub settings_digest: String,
    /// Its exceptions as the bundle declares them, expired ones included, so
    /// that evidence can list every exception and its expiry.
    #[serde(skip)]
    pub exceptions: Vec<Exception>,
}

/// One reason an object is denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// For a human.
    pub message: String,
    /// Field path into the object; empty for the object as a whole.
    pub path: String,
    /// Severity (the violation's own, or its policy's).
    pub severity: Severity,
}

/// What a finding does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// An enforced policy denied the object: the run fails.
    Deny,
    /// An audit policy found violations: reported, never fails the run.
    Warn,
    /// A live exception covers the object: reported, does not fail the run.
    Except,
}

/// The exception that turned a denial into [`Action::Except`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedException {
    /// Its name.
    pub name: String,
    /// Its reason.
    pub reason: String,
    /// When it expires, as the bundle says it (a date holds through its end, UTC).
    pub expires: String,
}

/// One (object, policy) pair with violations.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The object.
    pub object: ObjectRef,
    /// The policy run's name.
    pub policy: String,
    /// What it does to the run.
    pub action: Action,
    /// The exception applied, when `action` is `except`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<AppliedException>,
    /// The violations, at least one.
    pub violations: Vec<Violation>,
}

/// An (object, policy) pair judged and allowed. Findings hold the other pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    /// The object.
    pub object: ObjectRef,
    /// The policy run's name.
    pub policy: String,
}

/// One input of a render as read: a file, or a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDigest {
    /// The file path as given or found, `<stdin>`, or the name a front door gave
    /// the stream it read; the same name objects' origins carry.
    pub path: String,
    /// The `sha256:` digest of its bytes.
    pub digest: String,
}

/// What kind of failure an error is: for metrics, alerts and exit paths that
/// treat, say, a policy that hit its time limit apart from unreadable input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A file or document could not be read or parsed.
    Input,
    /// A policy ran out of wall-clock time.
    TimeLimit,
    /// A policy ran out of fuel.
    FuelLimit,
    /// A policy reached its memory limit.
    MemoryLimit,
    /// A policy exhausted its call stack.
    StackLimit,
    /// A policy returned more than it may.
    OutputLimit,
    /// The caller's deadline (an admission request's) passed before the policy finished.
    Deadline,
    /// A policy trapped (a panic, `unreachable`, ...).
    Trap,
    /// A policy returned an error instead of verdicts.
    PolicyError,
    /// A policy broke the contract.
    Contract,
    /// The host itself failed (engine, cache, loading).
    Host,
}

impl ErrorKind {
    /// The kebab-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Input => "input",
            ErrorKind::TimeLimit => "time-limit",
            ErrorKind::FuelLimit => "fuel-limit",
            ErrorKind::MemoryLimit => "memory-limit",
            ErrorKind::StackLimit => "stack-limit",
            ErrorKind::OutputLimit => "output-limit",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Trap => "trap",
            ErrorKind::PolicyError => "policy-error",
            ErrorKind::Contract => "contract",
            ErrorKind::Host => "host",
        }
    }

    /// Is this a policy hitting one of its hard limits (or the caller's deadline)?
    pub fn is_limit(self) -> bool {
        matches!(
            self,
            ErrorKind::TimeLimit
                | ErrorKind::FuelLimit
                | ErrorKind::MemoryLimit
                | ErrorKind::StackLimit
                | ErrorKind::OutputLimit
                | ErrorKind::Deadline
        )
    }
}

/// Something gate could not do: the run cannot be trusted to be complete.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEntry {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// The full message, naming file and line, policy, or reference.
    pub message: String,
    /// The policy involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The object involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// The file involved, when no object is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// A warning about the run (an expired exception, skipped verification, a policy
/// that failed open on an object, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// The message.
    pub message: String,
    /// The policy involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The object it is about, when it is about one (not the whole run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// The kind of the error it reports, when a policy that fails open failed.
    #[serde(rename = "errorKind", skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorKind>,
}

/// Counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Objects loaded.
    pub objects: usize,
    /// Policies run.
    pub policies: usize,
    /// (object, policy) pairs judged.
    pub evaluations: usize,
    /// Findings that deny.
    pub denied: usize,
    /// Findings from audit policies.
    pub warnings: usize,
    /// Findings covered by a live exception.
    pub excepted: usize,
    /// Errors.
    pub errors: usize,
    /// Documents skipped.
    pub skipped: usize,
}

/// The outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Nothing denied, nothing failed.
    Allow,
    /// An enforced policy denied an object.
    Deny,
    /// gate could not decide; fail closed.
    Error,
}

impl Decision {
    /// The lowercase name, as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Error => "error",
        }
    }

    /// The process exit code: 0 allow, 1 deny, 2 error.
    pub fn exit_code(self) -> u8 {
        match self {
            Decision::Allow => 0,
            Decision::Deny => 1,
            Decision::Error => 2,
        }
    }
}

/// Where a run came from: the front door, and what it knows about the source and
/// the cluster. Recorded in the report; the cluster facts also reach policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunContext {
    /// The front door: `check`, `argocd`, `flux`, `admission`, ...
    pub front_door: String,
    /// The source revision judged, when known (a Git commit, `main@sha1:...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The namespace given to namespaced objects that set none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_namespace: Option<String>,
    /// What the front door knows of the target cluster.
    #[serde(skip_serializing_if = "ClusterInfo::is_empty")]
    pub cluster: ClusterInfo,
    /// The front door's own facts, e.g. `argocd.appName`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// What is known of the cluster the render will be applied to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterInfo {
    /// The Kubernetes version, e.g. `1.31` or `v1.31.2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// The API versions it serves: `group/version` and `group/version/Kind`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
}

impl ClusterInfo {
    /// Nothing is known.
    pub fn is_empty(&self) -> bool {
        self.kube_version.is_none() && self.api_versions.is_empty()
    }
}

/// Everything one run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: &'static str,
    /// The decision.
    pub decision: Decision,
    /// Counts.
    pub summary: Summary,
    /// The bundle's name.
    pub bundle: String,
    /// The `sha256:` digest of the bundle document as read.
    #[serde(rename = "bundleDigest", skip_serializing_if = "String::is_empty")]
    pub bundle_digest: String,
    /// Where the run came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<RunContext>,
    /// The policies that ran.
    pub policies: Vec<PolicyRun>,
    /// Findings, in object order then policy order.
    pub results: Vec<Finding>,
    /// Errors.
    pub errors: Vec<ErrorEntry>,
    /// Skipped documents.
    pub skipped: Vec<Skipped>,
    /// Warnings about the run.
    pub notices: Vec<Notice>,
    /// The inputs read, with the digests of their bytes: the subjects of an
    /// evaluation record. Not in the JSON report.
    #[serde(skip)]
    pub inputs: Vec<InputDigest>,
    /// The pairs judged and allowed, in object order then policy order. Not in
    /// the JSON report: it grows as objects times policies.
    #[serde(skip)]
    pub passed: Vec<Passed>,
    /// The instant exceptions were checked against: the run's time.
    #[serde(skip)]
    pub evaluated_at: Option<DateTime<Utc>>,
}

/// What a run found, before the summary and decision are derived.
#[derive(Debug, Default)]
pub struct Findings {
    /// Objects loaded.
    pub objects: usize,
    /// (object, policy) pairs judged.
    pub evaluations: usize,
    /// Findings, in object order then policy order.
    pub results: Vec<Finding>,
    /// Errors.
    pub errors: Vec<ErrorEntry>,
    /// Skipped documents.
    pub skipped: Vec<Skipped>,
    /// Warnings about the run.
    pub notices: Vec<Notice>,
}

impl Report {
    /// Assembles a report and derives its summary and decision.
    pub fn new(bundle: String, policies: Vec<PolicyRun>, findings: Findings) -> Report {
        let Findings {
            objects,
            evaluations,
            results,
            errors,
            skipped,
            notices,
        } = findings;
        let count = |action| results.iter().filter(|f| f.action == action).count();
        let summary = Summary {
            objects,
            policies: policies.len(),
            evaluations,
            denied: count(Action::Deny),
            warnings: count(Action::Warn),
            excepted: count(Action::Except),
            errors: errors.len(),
            skipped: skipped.len(),
        };
        let decision = if summary.errors > 0 {
            Decision::Error
        } else if summary.denied > 0 {
            Decision::Deny
        } else {
            Decision::Allow
        };
        Report {
            schema: REPORT_SCHEMA,
            decision,
            summary,
            bundle,
            bundle_digest: String::new(),
            context: None,
            policies,
            results,
            errors,
            skipped,
            notices,
            inputs: Vec::new(),
            passed: Vec::new(),
            evaluated_at: None,
        }
    }

    /// The run that produced findings under `name`.
    pub fn policy(&self, name: &str) -> Option<&PolicyRun> {
        self.policies.iter().find(|p| p.name == name)
    }
}
