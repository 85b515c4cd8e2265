//! Judging one admission request: one engine call with the bundle served at the
//! request's arrival, under the request deadline, then the answer, the metrics
//! and one log line.

use crate::review::{Malformed, ORIGIN, Review};
use crate::state::AppState;
use crate::verdict::{self, decision_name};
use chrono::Utc;
use gate_core::report::{Action, Report, RunContext};
use gate_engine::{EvaluateOptions, LoadedBundle, evaluate};
use gate_runtime::RunningPolicies;
use kube::core::admission::AdmissionResponse;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long past the deadline the engine may take to report it. The runtime
/// stops a policy at the deadline itself, but its clock is coarse under CPU
/// pressure, and a request may have waited for a worker.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// An evaluation the request stopped waiting for.
struct Unfinished {
    /// The denial message.
    message: String,
    /// The policies still running then.
    running: Vec<String>,
}

/// What the request was about, for the log line.
struct Subject<'r> {
    uid: &'r str,
    operation: &'static str,
    kind: &'r str,
    namespace: &'r str,
    name: &'r str,
    dry_run: bool,
}

/// Judges a review and answers it. A body that turns out not to carry a
/// Kubernetes object is [`Malformed`] (HTTP 400).
pub async fn judge(
    state: &Arc<AppState>,
    review: Review,
    arrived: Instant,
) -> Result<AdmissionResponse, Malformed> {
    let response = AdmissionResponse::from(&review.request);
    let admission = review.admission();
    let request = review.request;
    let operation = crate::review::operation_name(review.operation);
    let render = gate_engine::sources::single_object(ORIGIN, review.object);
    let Some(resource) = render.resources.first() else {
        return Err(Malformed(
            "the request's object is not a Kubernetes object: no apiVersion and kind".into(),
        ));
    };
    // The API server sends "" for cluster-scoped objects.
    let request_namespace = request.namespace.clone().filter(|ns| !ns.is_empty());
    let namespace = resource
        .effective_namespace(request_namespace.as_deref())
        .map(str::to_owned);
    let subject = Subject {
        uid: &request.uid,
        operation,
        kind: &request.kind.kind,
        namespace: namespace.as_deref().unwrap_or_default(),
        name: &request.name,
        dry_run: request.dry_run,
    };

    let Some(bundle) = state.bundle.load_full() else {
        let message = "gate has no usable bundle loaded and fails closed (denies); see its /readyz";
        finish(state, &subject, "error", arrived, "no-bundle");
        return Ok(verdict::deny(response, 503, "ServiceUnavailable", message));
    };
    if let Some(ns) = &namespace
        && bundle.excluded_namespaces.iter().any(|e| e == ns)
    {
        finish(state, &subject, "allow", arrived, "excluded-namespace");
        state.metrics.skipped("excluded-namespace", request.dry_run);
        return Ok(response);
    }

    let options = EvaluateOptions {
        default_namespace: request_namespace,
        now: Utc::now(),
        context: RunContext {
            front_door: "admission".into(),
            ..RunContext::default()
        },
        admission: Some(admission),
        deadline: Some(arrived + state.settings.deadline),
        running: Some(Arc::new(RunningPolicies::default())),
    };
    let report = match run(state, bundle.clone(), render, options, arrived).await {
        Ok(report) => report,
        Err(unfinished) => {
            let kind = gate_core::report::ErrorKind::Deadline;
            if unfinished.running.is_empty() {
                state.metrics.error(kind, None, request.dry_run);
            }
            for policy in &unfinished.running {
                state.metrics.error(kind, Some(policy), request.dry_run);
            }
            finish(state, &subject, "error", arrived, "deadline");
            return Ok(verdict::deny(
                response,
                500,
                "InternalError",
                &unfinished.message,
            ));
        }
    };
    record(state, &report, request.dry_run);
    let answer = verdict::respond(response, &report);
    subject.log(
        decision_name(report.decision),
        arrived,
        None,
        Some((&report, &answer)),
    );
    state.metrics.request(
        operation,
        decision_name(report.decision),
        request.dry_run,
        arrived.elapsed(),
    );
    Ok(answer)
}

/// Runs the engine on a policy worker and waits for it, at most until the
/// deadline (plus a grace). The engine itself stops a policy at the deadline;
/// when that takes longer (the runtime's clock is coarse under CPU pressure) or
/// the policies waited for a worker, the request is denied past the grace
/// without waiting further, naming the policies still running.
async fn run(
    state: &Arc<AppState>,
    bundle: Arc<LoadedBundle>,
    render: gate_engine::sources::Loaded,
    options: EvaluateOptions,
    arrived: Instant,
) -> Result<Report, Unfinished> {
    let (send, receive) = tokio::sync::oneshot::channel();
    let runtime = state.runtime.clone();
    let running = options.running.clone();
    rayon::spawn(move || {
        let report = evaluate(&runtime, &bundle, render, &options);
        let _ = send.send(report);
    });
    let deadline = state.settings.deadline;
    let wait = (arrived + deadline + DEADLINE_GRACE).saturating_duration_since(Instant::now());
    let prefix = "gate could not judge this object and fails closed (denies)";
    match tokio::time::timeout(wait, receive).await {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(_)) => Err(Unfinished {
            message: format!("{prefix}: the evaluation stopped without a report"),
            running: Vec::new(),
        }),
        Err(_) => {
            let running = running.map(|r| r.names()).unwrap_or_default();
            let what = if running.is_empty() {
                "while the policies waited for a worker".to_owned()
            } else {
                format!("while policy {} still ran", running.join(", policy "))
            };
            Err(Unfinished {
                message: format!(
                    "{prefix}: the request deadline ({} ms) passed {what}",
                    deadline.as_millis()
                ),
                running,
            })
        }
    }
}

/// Counts each policy's evaluation and each error of a report.
fn record(state: &AppState, report: &Report, dry_run: bool) {
    let metrics = &state.metrics;
    for run in report.policies.iter().filter(|r| r.evaluations > 0) {
        let mode = match run.mode {
            gate_core::bundle::Mode::Enforce => "enforce",
            gate_core::bundle::Mode::Audit => "audit",
        };
        let errored = report
            .errors
            .iter()
            .any(|e| e.policy.as_deref() == Some(&run.name));
        let failed_open = report
            .notices
            .iter()
            .any(|n| n.error.is_some() && n.policy.as_deref() == Some(&run.name));
        let finding = report.results.iter().find(|f| f.policy == run.name);
        let decision = match (errored, failed_open, finding.map(|f| f.action)) {
            (true, _, _) => "error",
            (_, true, _) => "failed-open",
            (_, _, Some(Action::Deny)) => "deny",
            (_, _, Some(Action::Warn)) => "warn",
            (_, _, Some(Action::Except)) => "except",
            (_, _, None) => "allow",
        };
        metrics.evaluation(&run.name, mode, decision, dry_run);
    }
    for error in &report.errors {
        metrics.error(error.kind, error.policy.as_deref(), dry_run);
    }
    for notice in &report.notices {
        if let Some(kind) = notice.error {
            metrics.error(kind, notice.policy.as_deref(), dry_run);
        }
    }
}

/// Logs and counts a request answered without running the engine.
fn finish(
    state: &AppState,
    subject: &Subject<'_>,
    decision: &'static str,
    arrived: Instant,
    reason: &'static str,
) {
    subject.log(decision, arrived, Some(reason), None);
    state.metrics.request(
        subject.operation,
        decision,
        subject.dry_run,
        arrived.elapsed(),
    );
}

impl Subject<'_> {
    /// The request's log line: who and what, the decision, why it was not judged
    /// (`reason`), or which policies denied or failed when it was (never a
    /// violation's text, which may quote the object).
    fn log(
        &self,
        decision: &str,
        arrived: Instant,
        reason: Option<&str>,
        judged: Option<(&Report, &AdmissionResponse)>,
    ) {
        let denied_by = judged.map(|(report, _)| {
            report
                .results
                .iter()
                .filter(|f| f.action == Action::Deny)
                .map(|f| f.policy.as_str())
                .collect::<Vec<_>>()
                .join(",")
        });
        let errors = judged.map(|(report, _)| {
            report
                .errors
                .iter()
                .map(|e| format!("{}:{}", e.policy.as_deref().unwrap_or("-"), e.kind.as_str()))
                .collect::<Vec<_>>()
                .join(",")
        });
        tracing::info!(
            uid = self.uid,
            operation = self.operation,
            kind = self.kind,
            namespace = self.namespace,
            name = self.name,
            dry_run = self.dry_run,
            decision,
            latency_ms = elapsed_ms(arrived),
            reason,
            bundle = judged.map(|(report, _)| report.bundle_digest.as_str()),
            denied_by,
            errors,
            warnings = judged.map(|(_, answer)| answer.warnings.as_ref().map_or(0, Vec::len)),
            "admission review"
        );
    }
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
