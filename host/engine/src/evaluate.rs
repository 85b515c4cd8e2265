//! The one engine call behind every front door.

use crate::loader::LoadedBundle;
use crate::sources::Loaded;
use chrono::{DateTime, Utc};
use gate_core::Admission;
use gate_core::report::{Findings, Report, RunContext};
use gate_runtime::{RenderOptions, Runtime, evaluate_render};

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
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        EvaluateOptions {
            default_namespace: None,
            now: Utc::now(),
            context: RunContext::default(),
            admission: None,
        }
    }
}

/// Judges a loaded render with a loaded bundle and reports everything: findings,
/// errors from loading the manifests and from the policies, skipped documents.
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
    let outcome = evaluate_render(
        runtime,
        &bundle.policies,
        resources,
        &RenderOptions {
            default_namespace: options.default_namespace.clone(),
            now: options.now,
            cluster: options.context.cluster.clone(),
            admission: options.admission.clone(),
        },
    );
    let mut errors = render.errors.clone();
    errors.extend(outcome.errors);
    let mut notices = bundle.notices.clone();
    notices.extend(render.notices.iter().cloned());
    notices.extend(outcome.notices);
    let mut context = options.context.clone();
    context.default_namespace = options.default_namespace.clone();
    let mut report = Report::new(
        bundle.name.clone(),
        bundle.runs.clone(),
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
