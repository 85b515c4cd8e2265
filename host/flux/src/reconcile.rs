//! One reconciliation of a `Gate`: judge the source's current revision if it is
//! new, publish it only if approved, and make the `ExternalArtifact` say so.
//!
//! What kustomize-controller applies is decided here and nowhere else: the
//! `ExternalArtifact`'s `status.artifact` only ever changes to an artifact this
//! function has just stored after an `allow` decision, or back to the last one
//! recorded in the `Gate`'s status.

use crate::bundles::BundleCache;
use crate::config::PlatformConfig;
use crate::crd::{
    ATTESTATION_ANNOTATION, AttestationRef, BUNDLE_DIGEST_ANNOTATION, GATE_LABEL, Gate, GateStatus,
};
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::events::{EventType, Events, Note};
use crate::flux_api::{Artifact, Condition, ExternalArtifact, source_artifact};
use crate::pipeline::{Pipeline, Request};
use crate::status::{self, Judged, Outcome, gate_ready, ready, set_condition};
use crate::storage::{Storage, Stored};
use gate_core::report::{Decision, RunContext};
use gate_engine::brief::findings_summary;
use gate_engine::evaluate::EvaluateOptions;
use gate_evidence::Attester;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Everything a reconciliation needs.
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// The platform's bundles per namespace.
    pub config: PlatformConfig,
    /// Loaded bundles.
    pub bundles: BundleCache,
    /// Approved artifacts.
    pub storage: Arc<Storage>,
    /// Download, verify, extract, render, judge.
    pub pipeline: Pipeline,
    /// Publishes Kubernetes events.
    pub events: Events,
    /// How often a Gate is looked at again when nothing changes.
    pub interval: Duration,
    /// How soon a Gate whose judgement failed is tried again.
    pub retry: Duration,
    /// Signs the evaluation record of every judged revision, when configured.
    pub attester: Option<Arc<Attester>>,
}

/// The inputs of one judgement, resolved from the Gate, the platform config and the source.
struct Inputs {
    source: Artifact,
    source_digest: String,
    bundle_name: String,
    bundle: Arc<gate_engine::loader::LoadedBundle>,
    key: String,
}

/// What one judgement found, ready to be written.
struct Attempt {
    outcome: Outcome,
    revision: String,
    source_digest: String,
    bundle_name: String,
    bundle_digest: String,
    /// The inputs' key, recorded only when the verdict is final (approved or
    /// denied): a failure is tried again.
    key: Option<String>,
    /// The evaluation record stored for this judgement, with its decision.
    record: Option<(Stored, String)>,
}

/// Reconciles one Gate.
pub async fn reconcile(trigger: Arc<Gate>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = trigger.namespace().ok_or_else(|| Error::Shape {
        object: format!("Gate {}", trigger.name_any()),
        message: "a Gate is namespaced".into(),
    })?;
    let name = trigger.name_any();
    let gates: Api<Gate> = Api::namespaced(ctx.client.clone(), &namespace);
    // The watch cache can lag behind this controller's own last status write; the
    // status holds the last approved artifact, so read it from the API.
    let Some(gate) = gates
        .get_opt(&name)
        .await
        .map_err(kube_error(format!("get Gate {namespace}/{name}")))?
    else {
        return Ok(Action::await_change());
    };
    let artifacts: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &namespace);
    let external = match ensure_external_artifact(&artifacts, &gate).await {
        Ok(external) => external,
        Err(Error::NotAllowed(message)) => {
            // Someone else's ExternalArtifact holds the name: publish nothing into it.
            record_gate_only(&gates, &gate, &ctx, message).await?;
            return Ok(Action::requeue(ctx.retry));
        }
        Err(e) => return Err(e),
    };
    if gate.spec.suspend {
        return Ok(Action::await_change());
    }
    let Some(attempt) = attempt(&gate, &namespace, &name, &ctx).await else {
        restore_if_tampered(&artifacts, &external, gate.status.as_ref(), &ctx).await?;
        return Ok(Action::requeue(ctx.interval));
    };
    let failed = matches!(attempt.outcome, Outcome::Failed { .. });
    record(&gates, &artifacts, &gate, &external, attempt, &ctx).await?;
    Ok(Action::requeue(if failed {
        ctx.retry
    } else {
        ctx.interval
    }))
}

/// Judges the source's current revision, unless these inputs were judged already
/// (`None`) and their verdict still stands.
async fn attempt(gate: &Gate, namespace: &str, name: &str, ctx: &Context) -> Option<Attempt> {
    let status = gate.status.clone().unwrap_or_default();
    let inputs = match resolve_inputs(gate, namespace, ctx).await {
        Ok(inputs) => inputs,
        Err(e) => {
            return Some(Attempt {
                outcome: Outcome::Failed {
                    message: e.to_string(),
                },
                revision: String::new(),
                source_digest: String::new(),
                bundle_name: gate.spec.bundle.clone().unwrap_or_default(),
                bundle_digest: String::new(),
                key: None,
                record: None,
            });
        }
    };
    // After a restart on an emptyDir, the published file may be gone: judge again
    // (the same render packs to the same bytes, at the same URL).
    let stored = status
        .artifact
        .as_ref()
        .is_none_or(|a| ctx.storage.contains(&a.path));
    let handled = status.last_handled_key.as_deref() == Some(inputs.key.as_str())
        && status.observed_generation == gate.metadata.generation;
    if handled && stored {
        return None;
    }
    let (outcome, record) = judge_and_store(gate, namespace, name, &inputs, ctx).await;
    let key = (!matches!(outcome, Outcome::Failed { .. })).then_some(inputs.key);
    Some(Attempt {
        outcome,
        revision: inputs.source.revision,
        source_digest: inputs.source_digest,
        bundle_name: inputs.bundle_name,
        bundle_digest: inputs.bundle.digest.clone(),
        key,
        record,
    })
}

/// Writes a judgement: the ExternalArtifact's status first (it is what
/// kustomize-controller reads), then the Gate's, then the events.
async fn record(
    gates: &Api<Gate>,
    artifacts: &Api<ExternalArtifact>,
    gate: &Gate,
    external: &ExternalArtifact,
    attempt: Attempt,
    ctx: &Context,
) -> Result<()> {
    let now = now();
    let previous = gate.status.as_ref().and_then(|s| s.artifact.as_ref());
    let facts = Judged {
        revision: &attempt.revision,
        source_digest: &attempt.source_digest,
        bundle: &attempt.bundle_name,
        bundle_digest: &attempt.bundle_digest,
        now: &now,
        record: attempt.record.as_ref().map(|(stored, _)| stored),
    };
    let outcome = &attempt.outcome;
    let published = outcome.artifact(&facts, previous);
    let message = outcome.message(&facts, published.as_ref());
    let approved = matches!(outcome, Outcome::Approved { .. });
    let reason = outcome.reason();
    // The same failure again (a source still without an artifact, a download
    // still failing) is retried, but not written or announced again.
    let repeated = matches!(outcome, Outcome::Failed { .. })
        && gate_ready(gate.status.as_ref())
            .is_some_and(|c| c.reason == reason && c.message == message);
    if repeated {
        return Ok(());
    }
    let ea_conditions = set_condition(
        external.status.as_ref().map_or(&[][..], |s| &s.conditions),
        ready(
            approved,
            reason,
            message.clone(),
            &now,
            external.metadata.generation,
        ),
    );
    let name = gate.name_any();
    patch_external_status(artifacts, &name, published.as_ref(), &ea_conditions).await?;
    if approved && let Some(artifact) = &published {
        annotate_bundle(artifacts, external, artifact).await?;
    }
    let conditions = set_condition(
        gate.status.as_ref().map_or(&[][..], |s| &s.conditions),
        ready(
            approved,
            reason,
            message.clone(),
            &now,
            gate.metadata.generation,
        ),
    );
    let revision = (!attempt.revision.is_empty()).then_some(&attempt.revision);
    let bundle = (!attempt.bundle_name.is_empty()).then_some(&attempt.bundle_name);
    // Every field, `null` included: a merge patch removes what is no longer true
    // (e.g. the key of inputs whose judgement failed and must be retried).
    let mut status = json!({ "status": {
        "observedGeneration": gate.metadata.generation,
        "conditions": conditions,
        "artifact": published,
        "lastAttemptedRevision": revision,
        "lastHandledKey": attempt.key,
        "bundle": bundle,
    }});
    // A judgement that made no record (a failed download) leaves the last one named.
    if let Some((stored, decision)) = &attempt.record {
        status["status"]["lastAttestation"] = json!(AttestationRef {
            revision: attempt.revision.clone(),
            decision: decision.clone(),
            url: stored.url.clone(),
            digest: stored.digest.to_string(),
        });
    }
    gates
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .map_err(kube_error(format!("update the status of Gate {name}")))?;
    let note = Note {
        type_: if approved {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason,
        action: "Judge",
        note: &message,
    };
    ctx.events.publish(&external.object_ref(&()), &note).await;
    ctx.events.publish(&gate.object_ref(&()), &note).await;
    Ok(())
}

/// What the controller does with a failed reconciliation: try again soon.
pub fn error_policy(gate: Arc<Gate>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(
        "Gate {}/{}: {error}",
        gate.namespace().unwrap_or_default(),
        gate.name_any()
    );
    Action::requeue(Duration::from_secs(30))
}

/// The bundle, the source artifact and the key identifying this judgement.
async fn resolve_inputs(gate: &Gate, namespace: &str, ctx: &Context) -> Result<Inputs> {
    let choice = ctx.config.choose(namespace, gate.spec.bundle.as_deref())?;
    let kind = gate.spec.source_ref.kind;
    let sources: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), namespace, &kind.api_resource());
    let source_name = &gate.spec.source_ref.name;
    let object = sources
        .get_opt(source_name)
        .await
        .map_err(kube_error(format!("get {kind} {namespace}/{source_name}")))?
        .ok_or_else(|| {
            Error::NotAllowed(format!("{kind} {namespace}/{source_name} does not exist"))
        })?;
    let not_ready = || Error::SourceNotReady {
        kind: kind.to_string(),
        namespace: namespace.to_owned(),
        name: source_name.clone(),
    };
    let source = source_artifact(kind, &object)?.ok_or_else(not_ready)?;
    let source_digest = source.digest.clone().ok_or_else(not_ready)?;
    let bundles = &ctx.bundles;
    let reference = choice.reference.clone();
    let bundle = tokio::task::block_in_place(|| bundles.get(&reference))?;
    // Everything the verdict depends on: the source, the bundle document, the
    // components it runs (a built-in policy changes with the gate binary while its
    // bundle stays the same), and the path.
    let mut parts = vec![
        source_digest.clone(),
        choice.name.clone(),
        bundle.digest.clone(),
    ];
    parts.extend(bundle.runs.iter().map(|r| r.digest.clone()));
    parts.push(gate.spec.path.clone());
    let key = Sha256Digest::of(parts.join("\n").as_bytes()).to_string();
    Ok(Inputs {
        source,
        source_digest,
        bundle_name: choice.name,
        bundle,
        key,
    })
}

/// Runs the pipeline; stores the render only when the engine allowed it, and
/// the evaluation record of every judgement when records are signed. Without
/// its record, an approved render is not published: the outcome is a failure.
async fn judge_and_store(
    gate: &Gate,
    namespace: &str,
    name: &str,
    inputs: &Inputs,
    ctx: &Context,
) -> (Outcome, Option<(Stored, String)>) {
    let request = Request {
        url: inputs.source.url.clone(),
        digest: inputs.source_digest.clone(),
        path: gate.spec.path.clone(),
    };
    let kind = gate.spec.source_ref.kind;
    let options = EvaluateOptions {
        default_namespace: Some(namespace.to_owned()),
        now: chrono::Utc::now(),
        context: RunContext {
            front_door: "flux".into(),
            revision: Some(inputs.source.revision.clone()),
            metadata: BTreeMap::from([
                ("flux.gate".to_owned(), format!("{namespace}/{name}")),
                (
                    "flux.source".to_owned(),
                    format!("{kind}/{namespace}/{}", gate.spec.source_ref.name),
                ),
                ("flux.sourceDigest".to_owned(), inputs.source_digest.clone()),
                ("flux.path".to_owned(), gate.spec.path.clone()),
                ("flux.bundle".to_owned(), inputs.bundle_name.clone()),
            ]),
            ..RunContext::default()
        },
        ..EvaluateOptions::default()
    };
    let runtime = ctx.bundles.runtime().clone();
    let judgement = match ctx
        .pipeline
        .run(&request, runtime, inputs.bundle.clone(), options)
        .await
    {
        Ok(judgement) => judgement,
        Err(e) => {
            let message = e.to_string();
            return (Outcome::Failed { message }, None);
        }
    };
    let report = Box::new(judgement.report.clone());
    let decision = report.decision;
    let storage = ctx.storage.clone();
    let attester = ctx.attester.clone();
    let source_digest = inputs.source_digest.clone();
    // The records the status names are kept whatever the retention: the
    // published artifact's, and the last judgement's (a failure retried with
    // the same message stores a record without writing the status again).
    let named = gate.status.as_ref().map(|s| {
        let published = s
            .artifact
            .as_ref()
            .and_then(|a| a.metadata.get(status::keys::ATTESTATION_DIGEST));
        let last = s.last_attestation.as_ref().map(|a| &a.digest);
        [published, last]
    });
    let keep: Vec<Sha256Digest> = named
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| Sha256Digest::parse(d).ok())
        .collect();
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    let stored =
        tokio::task::spawn_blocking(move || -> Result<(Option<Stored>, Option<Stored>)> {
            let artifact = match decision {
                Decision::Allow => Some(storage.store(&namespace, &name, &judgement.pack()?)?),
                Decision::Deny | Decision::Error => None,
            };
            let record = match &attester {
                Some(attester) => {
                    let published = artifact.as_ref().map(|a| &a.digest);
                    let bytes =
                        crate::record::seal(attester, &judgement, &source_digest, published)?;
                    Some(storage.store_record(&namespace, &name, &bytes, &keep)?)
                }
                None => None,
            };
            Ok((artifact, record))
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))
        .and_then(|r| r);
    let (artifact, record) = match stored {
        Ok(stored) => stored,
        Err(e) => {
            let message = match decision {
                Decision::Allow => {
                    format!("approved, but the artifact or its record could not be stored: {e}")
                }
                _ => format!("judged, but the evaluation record could not be stored: {e}"),
            };
            return (Outcome::Failed { message }, None);
        }
    };
    let record = record.map(|r| (r, decision.as_str().to_owned()));
    let outcome = match (decision, artifact) {
        (Decision::Allow, Some(stored)) => Outcome::Approved { stored, report },
        (Decision::Deny, _) => Outcome::Denied { report },
        _ => Outcome::Failed {
            message: format!(
                "{} errors: {}",
                report.summary.errors,
                findings_summary(&report, status::MAX_MESSAGE)
            ),
        },
    };
    (outcome, record)
}

/// Gets the Gate's ExternalArtifact, creating it if it does not exist. One that
/// exists but is not controlled by this Gate is never written to.
async fn ensure_external_artifact(
    api: &Api<ExternalArtifact>,
    gate: &Gate,
) -> Result<ExternalArtifact> {
    let name = gate.name_any();
    let namespace = gate.namespace().unwrap_or_default();
    let what = || format!("ExternalArtifact {namespace}/{name}");
    if let Some(existing) = api
        .get_opt(&name)
        .await
        .map_err(kube_error(format!("get {}", what())))?
    {
        let controlled = existing
            .owner_references()
            .iter()
            .any(|o| o.controller == Some(true) && Some(&o.uid) == gate.uid().as_ref());
        if !controlled {
            return Err(Error::NotAllowed(format!(
                "{} exists and is not controlled by this Gate; gate publishes only into its own",
                what()
            )));
        }
        return Ok(existing);
    }
    let owner = gate.controller_owner_ref(&()).ok_or_else(|| Error::Shape {
        object: format!("Gate {namespace}/{name}"),
        message: "has no uid".into(),
    })?;
    let object: ExternalArtifact = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "ExternalArtifact",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": { GATE_LABEL: name },
            "ownerReferences": [owner],
        },
        "spec": { "sourceRef": {
            "apiVersion": "gate.dev/v1alpha1",
            "kind": "Gate",
            "name": name,
            "namespace": namespace,
        }},
    }))
    .map_err(|e| Error::Shape {
        object: what(),
        message: e.to_string(),
    })?;
    api.create(&PostParams::default(), &object)
        .await
        .map_err(kube_error(format!("create {}", what())))
}

/// Writes the ExternalArtifact's status: the artifact to apply, and `Ready`.
async fn patch_external_status(
    api: &Api<ExternalArtifact>,
    name: &str,
    artifact: Option<&Artifact>,
    conditions: &[Condition],
) -> Result<()> {
    let body = json!({ "status": { "artifact": artifact, "conditions": conditions } });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(body))
        .await
        .map_err(kube_error(format!(
            "update the status of ExternalArtifact {name}"
        )))?;
    Ok(())
}

/// Records the bundle digest of the published artifact, and the URL of its
/// evaluation record, on the ExternalArtifact itself.
async fn annotate_bundle(
    api: &Api<ExternalArtifact>,
    external: &ExternalArtifact,
    artifact: &Artifact,
) -> Result<()> {
    let Some(digest) = artifact.metadata.get(status::keys::BUNDLE_DIGEST) else {
        return Ok(());
    };
    // `null` removes the annotation of a record the new artifact does not have.
    let record = artifact.metadata.get(status::keys::ATTESTATION);
    let annotations = external.annotations();
    if annotations.get(BUNDLE_DIGEST_ANNOTATION) == Some(digest)
        && annotations.get(ATTESTATION_ANNOTATION) == record
    {
        return Ok(());
    }
    let name = external.name_any();
    let body = json!({ "metadata": { "annotations": {
        BUNDLE_DIGEST_ANNOTATION: digest,
        ATTESTATION_ANNOTATION: record,
    } } });
    api.patch(&name, &PatchParams::default(), &Patch::Merge(body))
        .await
        .map_err(kube_error(format!("annotate ExternalArtifact {name}")))?;
    Ok(())
}

/// Puts the ExternalArtifact's status back to what gate published, if anything
/// else changed it: only gate decides what kustomize-controller applies.
async fn restore_if_tampered(
    api: &Api<ExternalArtifact>,
    external: &ExternalArtifact,
    status: Option<&GateStatus>,
    ctx: &Context,
) -> Result<()> {
    let Some(status) = status else {
        return Ok(());
    };
    let current = external.status.as_ref().and_then(|s| s.artifact.as_ref());
    if current == status.artifact.as_ref() {
        return Ok(());
    }
    let name = external.name_any();
    let conditions: Vec<Condition> = status
        .conditions
        .iter()
        .map(|c| Condition {
            observed_generation: external.metadata.generation,
            ..c.clone()
        })
        .collect();
    patch_external_status(api, &name, status.artifact.as_ref(), &conditions).await?;
    let restored = status
        .artifact
        .as_ref()
        .map_or_else(|| "no artifact".to_owned(), |a| format!("'{}'", a.revision));
    let message = format!("status.artifact was changed outside gate; restored {restored}");
    let note = Note {
        type_: EventType::Warning,
        reason: "ArtifactRestored",
        action: "Restore",
        note: &message,
    };
    ctx.events.publish(&external.object_ref(&()), &note).await;
    Ok(())
}

/// When the ExternalArtifact cannot be used, the Gate alone says why.
async fn record_gate_only(
    gates: &Api<Gate>,
    gate: &Gate,
    ctx: &Context,
    message: String,
) -> Result<()> {
    if gate_ready(gate.status.as_ref()).is_some_and(|c| c.message == message) {
        return Ok(());
    }
    let status = gate.status.clone().unwrap_or_default();
    let now = now();
    let conditions = set_condition(
        &status.conditions,
        ready(
            false,
            status::GATE_ERROR,
            message.clone(),
            &now,
            gate.metadata.generation,
        ),
    );
    let name = gate.name_any();
    gates
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "conditions": conditions } })),
        )
        .await
        .map_err(kube_error(format!("update the status of Gate {name}")))?;
    let note = Note {
        type_: EventType::Warning,
        reason: status::GATE_ERROR,
        action: "Publish",
        note: &message,
    };
    ctx.events.publish(&gate.object_ref(&()), &note).await;
    Ok(())
}

fn kube_error(action: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Kube { action, source }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
