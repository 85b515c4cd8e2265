//! Judging a whole render: which objects each policy sees, batching, parallel
//! evaluation, modes and exceptions.

use crate::error::{Error, LimitKind};
use crate::guest::Runtime;
use crate::limits::Limits;
use crate::policy::{CallContext, CompiledPolicy, Verdict};
use chrono::{DateTime, Utc};
use gate_core::bundle::{Exception, Mode};
use gate_core::report::ClusterInfo;
use gate_core::report::{Action, AppliedException, ErrorEntry, Finding, Notice, Passed, Violation};
use gate_core::selector::any_matches;
use gate_core::{Admission, ObjectRef, Operation, Resource};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Objects per call into a policy: enough to amortise instantiation, few enough
/// to spread a render over every core.
const BATCH: usize = 64;

/// Bytes of object tapes per call, at most (see `batches`).
const BATCH_BYTES: usize = 1 << 20;

/// A compiled policy with its configuration from a bundle.
#[derive(Clone)]
pub struct BoundPolicy {
    /// The name findings carry.
    pub name: String,
    /// The component.
    pub policy: Arc<CompiledPolicy>,
    /// Settings, as JSON, already validated.
    pub settings: String,
    /// Enforce or audit.
    pub mode: Mode,
    /// Namespaces skipped (the bundle's and the policy's own).
    pub excluded_namespaces: Vec<String>,
    /// If not empty, the only namespaces judged.
    pub namespaces: Vec<String>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Limits for each call.
    pub limits: Limits,
}

impl BoundPolicy {
    /// Does this policy judge this object: a kind it targets, in a namespace it
    /// covers, and (at admission) an operation it judges?
    pub fn judges(
        &self,
        resource: &Resource,
        default_namespace: Option<&str>,
        operation: Option<Operation>,
    ) -> bool {
        self.judges_facts(&Facts::of(resource, default_namespace), operation)
    }

    fn judges_facts(&self, facts: &Facts<'_>, operation: Option<Operation>) -> bool {
        self.judges_operation(operation) && self.targets(facts) && self.covers(facts.namespace)
    }

    /// Does this policy judge objects of this operation (any, before apply)?
    fn judges_operation(&self, operation: Option<Operation>) -> bool {
        operation.is_none_or(|op| self.policy.info.judges_operation(op))
    }

    /// Does this policy target the object's kind?
    fn targets(&self, facts: &Facts<'_>) -> bool {
        any_matches(
            &self.policy.info.targets,
            facts.group,
            facts.version,
            facts.kind,
        )
    }

    /// Does this policy cover the namespace an object lands in?
    fn covers(&self, namespace: Option<&str>) -> bool {
        match namespace {
            Some(ns) => {
                !self.excluded_namespaces.iter().any(|e| e == ns)
                    && (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == ns))
            }
            None => true,
        }
    }

    fn sees(&self, facts: &Facts<'_>) -> bool {
        any_matches(
            &self.policy.info.inventory,
            facts.group,
            facts.version,
            facts.kind,
        )
    }

    /// The live exception covering this object, if any.
    fn exception_for(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<AppliedException> {
        self.exceptions.iter().find_map(|e| {
            let expiry = e.expiry().ok()?;
            (expiry > now && e.covers(resource, namespace)).then(|| AppliedException {
                name: e.name.clone(),
                reason: e.reason.clone(),
                expires: e.expires.clone(),
            })
        })
    }
}

/// What choosing the policies of an object reads from it: read once per render,
/// not once per policy (a render of thousands of objects meets dozens of policies).
struct Facts<'r> {
    group: &'r str,
    version: &'r str,
    kind: &'r str,
    /// Where the object lands (see `Resource::effective_namespace`).
    namespace: Option<&'r str>,
}

impl<'r> Facts<'r> {
    fn of(resource: &'r Resource, default_namespace: Option<&'r str>) -> Self {
        let (group, version) = resource.group_version();
        Facts {
            group,
            version,
            kind: resource.kind(),
            namespace: resource.effective_namespace(default_namespace),
        }
    }
}

/// Options of a render evaluation.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The namespace of namespaced objects that set none (as `kubectl -n`).
    pub default_namespace: Option<String>,
    /// The time exceptions are checked against.
    pub now: DateTime<Utc>,
    /// What is known of the target cluster; every policy is told.
    pub cluster: ClusterInfo,
    /// At admission: the operation and the stored object. Policies that do not
    /// judge the operation are skipped.
    pub admission: Option<Admission>,
    /// When every call must be over (an admission request's deadline): a call
    /// gets at most the time left, and a call not started by then is not made.
    /// Either way the error names the policy.
    pub deadline: Option<Instant>,
    /// Kept up to date with the policies running, for a caller that stops
    /// waiting (past its deadline) and must say which policy it waited for.
    pub running: Option<Arc<RunningPolicies>>,
}

/// The policies running now, by name, with how many calls of each.
#[derive(Debug, Default)]
pub struct RunningPolicies(Mutex<BTreeMap<String, usize>>);

impl RunningPolicies {
    /// The names of the policies running now.
    pub fn names(&self) -> Vec<String> {
        let running = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        running.keys().cloned().collect()
    }

    fn enter(self: &Arc<Self>, name: &str) -> RunningGuard {
        let mut running = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *running.entry(name.to_owned()).or_default() += 1;
        RunningGuard {
            running: self.clone(),
            name: name.to_owned(),
        }
    }
}

/// Counts a call as running until dropped (also when the call unwinds).
struct RunningGuard {
    running: Arc<RunningPolicies>,
    name: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let mut running = self
            .running
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = running.get_mut(&self.name) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.name);
            }
        }
    }
}

/// What evaluating a render produced, for a report.
#[derive(Debug, Default)]
pub struct RenderOutcome {
    /// Findings, in object order then policy order.
    pub findings: Vec<Finding>,
    /// Errors.
    pub errors: Vec<ErrorEntry>,
    /// Notices (expired exceptions).
    pub notices: Vec<Notice>,
    /// (object, policy) pairs judged.
    pub evaluations: usize,
    /// The pairs judged and allowed, in object order then policy order: with the
    /// findings and errors, every verdict of the run.
    pub passed: Vec<Passed>,
    /// Objects judged by each policy, in policy order.
    pub evaluations_by_policy: Vec<usize>,
}

/// One call's worth of work.
struct Job<'p> {
    policy: usize,
    bound: &'p BoundPolicy,
    objects: Vec<usize>,
    /// Whether every object of the policy's inventory is there to be read.
    complete: bool,
}

/// Judges every object with every policy that targets it.
pub fn evaluate_render(
    runtime: &Runtime,
    policies: &[BoundPolicy],
    resources: &[Resource],
    options: &RenderOptions,
) -> RenderOutcome {
    let mut outcome = RenderOutcome {
        notices: expired_exceptions(policies, options.now),
        ..RenderOutcome::default()
    };
    let default_ns = options.default_namespace.as_deref();
    let operation = options.admission.as_ref().map(|a| a.operation);
    let context = CallContext::new(&options.cluster, options.admission.as_ref());

    let facts: Vec<Facts<'_>> = resources.iter().map(|r| Facts::of(r, default_ns)).collect();
    // Each policy matches its kinds against the render's distinct kinds, not
    // against every object: a render of thousands of objects has a few dozen.
    let mut kinds: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let kind_of: Vec<usize> = facts
        .iter()
        .map(|f| {
            let next = kinds.len();
            *kinds.entry((f.group, f.version, f.kind)).or_insert(next)
        })
        .collect();
    let mut first_of_kind = vec![0; kinds.len()];
    for (i, &kind) in kind_of.iter().enumerate().rev() {
        first_of_kind[kind] = i;
    }
    let mut read = vec![false; resources.len()];
    let mut chosen = Vec::with_capacity(policies.len());
    for bound in policies {
        let judged = bound.judges_operation(operation);
        let targeted: Vec<bool> = first_of_kind
            .iter()
            .map(|&i| judged && bound.targets(&facts[i]))
            .collect();
        let seen: Vec<bool> = first_of_kind
            .iter()
            .map(|&i| bound.sees(&facts[i]))
            .collect();
        let targets: Vec<usize> = (0..resources.len())
            .filter(|&i| targeted[kind_of[i]] && bound.covers(facts[i].namespace))
            .collect();
        let inventory: Vec<usize> = (0..resources.len()).filter(|&i| seen[kind_of[i]]).collect();
        for &i in targets.iter().chain(&inventory) {
            read[i] = true;
        }
        chosen.push((targets, inventory));
    }

    // Only the objects a policy reads are encoded. Policies see a namespaced
    // object without a namespace in the one it will land in, as kubectl would
    // place it; the report says it was assumed.
    fn tape_of<'r>(
        (i, r): (usize, &'r Resource),
        read: &[bool],
        default_ns: Option<&str>,
    ) -> Option<Cow<'r, [u8]>> {
        read[i].then(|| r.judged_tape(default_ns)).flatten()
    }
    let encode = |item| tape_of(item, &read, default_ns);
    let tapes: Vec<Option<Cow<'_, [u8]>>> = if resources.len() > BATCH {
        resources.par_iter().enumerate().map(encode).collect()
    } else {
        resources.iter().enumerate().map(encode).collect()
    };

    let mut jobs = Vec::new();
    let mut inventories = Vec::with_capacity(policies.len());
    for (p, (bound, (targets, inventory))) in policies.iter().zip(chosen).enumerate() {
        outcome.evaluations += targets.len();
        outcome.evaluations_by_policy.push(targets.len());
        // A policy that would see only part of its inventory is not run: every
        // object it judges gets the error instead of a verdict.
        let complete = inventory.iter().all(|&i| tapes[i].is_some());
        inventories.push(
            inventory
                .iter()
                .filter_map(|&i| tapes[i].as_deref())
                .collect::<Vec<&[u8]>>(),
        );
        let size = |i: usize| tapes[i].as_ref().map_or(0, |t| t.len());
        for objects in batches(&targets, size) {
            jobs.push(Job {
                policy: p,
                bound,
                objects,
                complete,
            });
        }
    }

    load_code(runtime, &jobs);
    let results: Vec<(usize, usize, Result<Verdict, Error>)> = jobs
        .par_iter()
        .flat_map_iter(|job| {
            run_job(
                runtime,
                job,
                &inventories[job.policy],
                &tapes,
                &context,
                options,
            )
        })
        .collect();

    let mut judged: Vec<_> = results.into_iter().collect();
    judged.sort_by_key(|(p, object, _)| (*object, *p));
    // In object order: each object's reference is read once for all its passes.
    let mut reference: Option<(usize, ObjectRef)> = None;
    for (p, index, result) in judged {
        let bound = &policies[p];
        let resource = &resources[index];
        match result {
            Ok(Verdict::Allowed) => {
                let object = match &reference {
                    Some((i, object)) if *i == index => object.clone(),
                    _ => {
                        let object = resource.object_ref();
                        reference = Some((index, object.clone()));
                        object
                    }
                };
                outcome.passed.push(Passed {
                    object,
                    policy: bound.name.clone(),
                });
            }
            Ok(Verdict::Denied(violations)) => {
                outcome.findings.push(finding(
                    bound,
                    resource,
                    violations,
                    default_ns,
                    options.now,
                ));
            }
            Err(error) => outcome.errors.push(ErrorEntry {
                kind: error.kind(),
                message: format!("{}: {error}", resource.origin),
                policy: Some(bound.name.clone()),
                object: Some(resource.object_ref_in(default_ns)),
                file: None,
                line: None,
            }),
        }
    }
    outcome
}

/// Splits a policy's objects into calls: at most [`BATCH`] objects, and no more
/// than [`BATCH_BYTES`] of tapes unless one object alone is larger. A render of
/// large objects (CustomResourceDefinitions of a megabyte) then never has the
/// guest hold tens of megabytes at once.
fn batches(targets: &[usize], size: impl Fn(usize) -> usize) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut batch: Vec<usize> = Vec::new();
    let mut bytes = 0;
    for &i in targets {
        let len = size(i);
        if !batch.is_empty() && (batch.len() == BATCH || bytes + len > BATCH_BYTES) {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push(i);
        bytes += len;
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// Loads the code of every policy with a job, in parallel, before any job runs:
/// a policy whose description came from the cache is loaded only if the render
/// holds something it judges. A load that fails is reported by each of the
/// policy's jobs.
fn load_code(runtime: &Runtime, jobs: &[Job<'_>]) {
    let mut needed: Vec<&CompiledPolicy> = Vec::new();
    for job in jobs {
        let policy = job.bound.policy.as_ref();
        if !policy.is_loaded() && !needed.iter().any(|p| std::ptr::eq(*p, policy)) {
            needed.push(policy);
        }
    }
    // One policy per task: each load is about a millisecond, and the workers
    // that just encoded the tapes are still awake to take them.
    needed.par_iter().with_max_len(1).for_each(|policy| {
        // An error is kept by the policy and reported by every call.
        let _ = policy.ensure_loaded(runtime);
    });
}

/// Runs one batch. If the batch fails, each object is retried alone so that the
/// error names the objects that cause it, unless the failure was the time limit
/// (retrying would multiply the wait).
fn run_job(
    runtime: &Runtime,
    job: &Job<'_>,
    inventory: &[&[u8]],
    tapes: &[Option<Cow<'_, [u8]>>],
    context: &CallContext,
    options: &RenderOptions,
) -> Vec<(usize, usize, Result<Verdict, Error>)> {
    let bound = job.bound;
    let not_kept = || Error::NotKept {
        policy: bound.policy.label().to_owned(),
    };
    let call = |objects: &[usize]| {
        if !job.complete {
            return Err(not_kept());
        }
        let batch = objects
            .iter()
            .map(|&i| tapes[i].as_deref().ok_or_else(not_kept))
            .collect::<Result<Vec<&[u8]>, Error>>()?;
        let (limits, cut) = limits_before(bound, options.deadline)?;
        let _running = options.running.as_ref().map(|r| r.enter(&bound.name));
        let result = bound.policy.evaluate_in(
            runtime,
            &limits,
            &bound.settings,
            inventory,
            &batch,
            context,
        );
        match result {
            Err(Error::Limit {
                limit: LimitKind::Time,
                ..
            }) if cut => Err(deadline_passed(bound, "while the policy ran")),
            other => other,
        }
    };
    match call(&job.objects) {
        Ok(verdicts) => job
            .objects
            .iter()
            .zip(verdicts)
            .map(|(&i, v)| (job.policy, i, Ok(v)))
            .collect(),
        Err(error) => {
            let timed_out = matches!(
                error,
                Error::Limit {
                    limit: LimitKind::Time | LimitKind::Deadline,
                    ..
                }
            );
            if job.objects.len() == 1 || timed_out {
                let message = error.to_string();
                return job
                    .objects
                    .iter()
                    .map(|&i| (job.policy, i, Err(same_error(&error, &message))))
                    .collect();
            }
            job.objects
                .iter()
                .map(|&i| {
                    let single = call(&[i]).and_then(|mut v| {
                        v.pop().ok_or_else(|| Error::Contract {
                            policy: bound.policy.label().to_owned(),
                            detail: "returned no verdict".into(),
                        })
                    });
                    (job.policy, i, single)
                })
                .collect()
        }
    }
}

/// The limits of a call that starts now: the policy's own, with the time cut to
/// what is left before the deadline (and whether it was cut). Fails, naming the
/// policy, when the deadline has already passed.
fn limits_before(bound: &BoundPolicy, deadline: Option<Instant>) -> Result<(Limits, bool), Error> {
    let Some(deadline) = deadline else {
        return Ok((bound.limits, false));
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(deadline_passed(bound, "before the policy ran"));
    }
    let cut = left < bound.limits.timeout;
    let limits = Limits {
        timeout: left.min(bound.limits.timeout),
        ..bound.limits
    };
    Ok((limits, cut))
}

fn deadline_passed(bound: &BoundPolicy, when: &str) -> Error {
    Error::Limit {
        policy: bound.policy.label().to_owned(),
        limit: LimitKind::Deadline,
        detail: format!("it passed {when}"),
    }
}

/// A copy of a batch error for each of its objects.
fn same_error(error: &Error, message: &str) -> Error {
    match error {
        Error::Limit {
            policy,
            limit,
            detail,
        } => Error::Limit {
            policy: policy.clone(),
            limit: *limit,
            detail: detail.clone(),
        },
        other => Error::Failed {
            policy: other.policy().unwrap_or_default().to_owned(),
            message: message.to_owned(),
        },
    }
}

fn finding(
    bound: &BoundPolicy,
    resource: &Resource,
    violations: Vec<Violation>,
    default_ns: Option<&str>,
    now: DateTime<Utc>,
) -> Finding {
    let exception = bound.exception_for(resource, resource.effective_namespace(default_ns), now);
    let action = match (&exception, bound.mode) {
        (Some(_), _) => Action::Except,
        (None, Mode::Audit) => Action::Warn,
        (None, Mode::Enforce) => Action::Deny,
    };
    Finding {
        object: resource.object_ref_in(default_ns),
        policy: bound.name.clone(),
        action,
        exception,
        violations,
    }
}

fn expired_exceptions(policies: &[BoundPolicy], now: DateTime<Utc>) -> Vec<Notice> {
    policies
        .iter()
        .flat_map(|bound| {
            bound.exceptions.iter().filter_map(move |e| {
                let expiry = e.expiry().ok()?;
                (expiry <= now).then(|| Notice {
                    message: format!(
                        "exception {:?} of policy {} expired on {} and no longer applies (reason was: {})",
                        e.name, bound.name, e.expires, e.reason
                    ),
                    policy: Some(bound.name.clone()),
                    object: None,
                    error: None,
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_64_objects_and_a_mebibyte_unless_one_object_is_larger() {
        let targets: Vec<usize> = (0..150).collect();
        let sizes: Vec<usize> = batches(&targets, |_| 100).iter().map(Vec::len).collect();
        assert_eq!(sizes, [64, 64, 22]);
        // 400 KiB objects: two per call.
        let sizes: Vec<usize> = batches(&targets[..5], |_| 400 << 10)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        // An object larger than the cap is a call of its own, never dropped.
        let big = |i: usize| if i == 1 { 3 << 20 } else { 10 };
        assert_eq!(batches(&targets[..3], big), [vec![0], vec![1], vec![2]]);
        assert!(batches(&[], big).is_empty());
    }

    #[test]
    fn running_policies_are_listed_until_their_last_call_ends() {
        let running = Arc::new(RunningPolicies::default());
        let first = running.enter("slow");
        let second = running.enter("slow");
        let other = running.enter("fast");
        assert_eq!(running.names(), ["fast", "slow"]);
        drop(other);
        drop(first);
        assert_eq!(running.names(), ["slow"]);
        drop(second);
        assert!(running.names().is_empty());
    }
}
