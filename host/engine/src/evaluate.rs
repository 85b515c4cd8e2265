//! The one engine call behind every front door.

use crate::loader::LoadedBundle;
use crate::sources::Loaded;
use chrono::{DateTime, Utc};
use gate_core::Admission;
use gate_core::bundle::FailurePolicy;
use gate_core::report::{ErrorEntry, Findings, Notice, PolicyRun, Report, RunContext};
use gate_runtime::{BoundPolicy, RenderOptions, RunningPolicies, Runtime, evaluate_render};
use std::sync::Arc;
use std::time::Instant;

/// How a render is judged.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// The namespace of namespaced objects that set none.
    pub default_namespace: Option<String>,
    /// The time exceptions are checked against.
    pub now: DateTime<Utc>,
    /// Where the run comes from, recorded in the report. Its `cluster` facts
    /// reach the policies.
    pub context: RunContext,
    /// At admission: the operation and the stored object, for the one object
    /// of the render. `None` for renders judged before apply.
    pub admission: Option<Admission>,
    /// When the caller needs the answer (an admission request's deadline). A
    /// policy still running then is stopped, and one not started is not run;
    /// either is an error naming the policy. `None`: only the policies' own limits.
    pub deadline: Option<Instant>,
    /// Kept up to date with the policies running: a caller that stops waiting
    /// (past its deadline) reads which ones it waited for.
    pub running: Option<Arc<RunningPolicies>>,
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        EvaluateOptions {
            default_namespace: None,
            now: Utc::now(),
            context: RunContext::default(),
            admission: None,
            deadline: None,
            running: None,
        }
    }
}

/// Judges a loaded render with a loaded bundle and reports everything: findings,
/// errors from loading the manifests and from the policies, skipped documents.
///
/// At admission (`options.admission` set) only the bundle's admission policies
/// run (see [`LoadedBundle::admission_policies`]); each cross-object policy that
/// would have judged the object leaves a notice about it instead. CREATE and
/// UPDATE are judged by every policy; DELETE and CONNECT only by the policies
/// that declare them (`policy-info.operations`, gate:policy@0.2.0).
///
/// A policy whose bundle entry says `failurePolicy: Ignore` fails open: its errors
/// become notices about the object instead of errors of the run.
pub fn evaluate(
    runtime: &Runtime,
    bundle: &LoadedBundle,
    render: Loaded,
    options: &EvaluateOptions,
) -> Report {
    evaluate_ref(runtime, bundle, &render, options)
}

/// [`evaluate`] for a front door that hands the judged objects on after judging
/// them (the Argo CD plugin, the Flux gate): the render is borrowed, not consumed,
/// so the objects need not be copied.
pub fn evaluate_ref(
    runtime: &Runtime,
    bundle: &LoadedBundle,
    render: &Loaded,
    options: &EvaluateOptions,
) -> Report {
    let resources = &render.resources;
    let policies = policies_for(bundle, options.admission.as_ref());
    let outcome = evaluate_render(
        runtime,
        policies,
        resources,
        &RenderOptions {
            default_namespace: options.default_namespace.clone(),
            now: options.now,
            cluster: options.context.cluster.clone(),
            admission: options.admission.clone(),
            deadline: options.deadline,
            running: options.running.clone(),
        },
    );
    let mut runs = bundle.runs.clone();
    for (policy, count) in policies.iter().zip(&outcome.evaluations_by_policy) {
        if let Some(run) = runs.iter_mut().find(|r| r.name == policy.name) {
            run.evaluations = *count;
        }
    }
    let mut notices = bundle.notices.clone();
    notices.extend(render.notices.iter().cloned());
    notices.extend(outcome.notices);
    if options.admission.is_some() {
        notices.extend(cross_object_notices(bundle, render, options));
    }
    let (ignored, policy_errors): (Vec<ErrorEntry>, Vec<ErrorEntry>) = outcome
        .errors
        .into_iter()
        .partition(|e| fails_open(&runs, e));
    notices.extend(ignored.into_iter().map(failed_open));
    let mut errors = render.errors.clone();
    errors.extend(policy_errors);
    let mut context = options.context.clone();
    context.default_namespace = options.default_namespace.clone();
    let mut report = Report::new(
        bundle.name.clone(),
        runs,
        Findings {
            objects: resources.len(),
            evaluations: outcome.evaluations,
            results: outcome.findings,
            errors,
            skipped: render.skipped.clone(),
            notices,
        },
    );
    report.bundle_digest = bundle.digest.clone();
    report.context = Some(context);
    report.inputs = render.inputs.clone();
    report.passed = outcome.passed;
    report.evaluated_at = Some(options.now);
    report
}

/// The policies that judge: all of them before apply; at admission, those that
/// judge one object alone, and only for the operations they can judge.
/// The runtime skips, per object, a policy that does not declare the operation.
fn policies_for<'b>(bundle: &'b LoadedBundle, admission: Option<&Admission>) -> &'b [BoundPolicy] {
    match admission {
        None => &bundle.policies,
        Some(_) => &bundle.admission_policies,
    }
}

/// A notice on each object for each cross-object policy that would have judged
/// it had the whole render been there.
fn cross_object_notices(
    bundle: &LoadedBundle,
    render: &Loaded,
    options: &EvaluateOptions,
) -> Vec<Notice> {
    let default_ns = options.default_namespace.as_deref();
    let operation = options.admission.as_ref().map(|a| a.operation);
    let mut notices = Vec::new();
    for resource in &render.resources {
        for policy in &bundle.policies {
            if policy.policy.info.inventory.is_empty()
                || !policy.judges(resource, default_ns, operation)
            {
                continue;
            }
            notices.push(Notice {
                message: format!(
                    "{}: not judged at admission (it compares objects across a render; judged before apply)",
                    policy.name
                ),
                policy: Some(policy.name.clone()),
                object: Some(resource.object_ref()),
                error: None,
            });
        }
    }
    notices
}

/// Does this error come from a policy that fails open (`failurePolicy: Ignore`)?
fn fails_open(runs: &[PolicyRun], error: &ErrorEntry) -> bool {
    error.policy.as_ref().is_some_and(|name| {
        runs.iter()
            .any(|r| &r.name == name && r.failure_policy == FailurePolicy::Ignore)
    })
}

/// The notice that stands for the error of a policy that failed open.
fn failed_open(error: ErrorEntry) -> Notice {
    Notice {
        message: format!(
            "{} [failed open: failurePolicy Ignore allows the object]",
            error.message
        ),
        policy: error.policy,
        object: error.object,
        error: Some(error.kind),
    }
}
