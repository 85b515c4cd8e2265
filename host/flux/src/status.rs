//! What the `ExternalArtifact` and the `Gate` say after a judgement: the
//! artifact (new, or the last approved one), the `Ready` condition and the
//! event, each worded for the person reading `flux get sources all` or
//! `kubectl describe`.

use crate::crd::{ATTESTATION_ANNOTATION, BUNDLE_DIGEST_ANNOTATION, GateStatus};
use crate::flux_api::{Artifact, Condition};
use crate::storage::Stored;
use gate_core::report::Report;
use gate_engine::brief::findings_summary;
use std::collections::BTreeMap;

/// The condition type Flux reads.
pub const READY: &str = "Ready";
/// Reason of an approved and published revision (the ExternalArtifact spec's).
pub const SUCCEEDED: &str = "Succeeded";
/// Reason of a revision an enforced policy denied.
pub const POLICY_DENIED: &str = "PolicyDenied";
/// Reason of a revision gate could not judge.
pub const GATE_ERROR: &str = "GateError";
/// The longest condition message and event note (the Events API keeps 1 kB).
pub const MAX_MESSAGE: usize = 1024;

/// Artifact metadata keys (`status.artifact.metadata`).
pub mod keys {
    /// The bundle's name in the platform configuration.
    pub const BUNDLE: &str = "gate.dev/bundle";
    /// The digest of the bundle document.
    pub const BUNDLE_DIGEST: &str = super::BUNDLE_DIGEST_ANNOTATION;
    /// The digest of the source artifact judged.
    pub const SOURCE_DIGEST: &str = "gate.dev/source-digest";
    /// Objects judged.
    pub const OBJECTS: &str = "gate.dev/objects";
    /// Denials (zero for a published artifact).
    pub const DENIED: &str = "gate.dev/denied";
    /// Audit findings.
    pub const WARNINGS: &str = "gate.dev/warnings";
    /// Findings covered by an exception.
    pub const EXCEPTED: &str = "gate.dev/excepted";
    /// The URL of the evaluation record of the published artifact.
    pub const ATTESTATION: &str = super::ATTESTATION_ANNOTATION;
    /// The sha256 of that record's bytes.
    pub const ATTESTATION_DIGEST: &str = "gate.dev/attestation-digest";
}

/// How a judgement of one source revision ended.
#[derive(Debug)]
pub enum Outcome {
    /// Approved, packed and stored.
    Approved {
        /// The stored artifact.
        stored: Stored,
        /// The report.
        report: Box<Report>,
    },
    /// An enforced policy denied it: nothing is published.
    Denied {
        /// The report.
        report: Box<Report>,
    },
    /// gate could not judge it (fetch, verify, extract, render, bundle, policy error).
    Failed {
        /// Why.
        message: String,
    },
}

/// The facts a status is written from.
#[derive(Debug, Clone)]
pub struct Judged<'a> {
    /// The source revision judged.
    pub revision: &'a str,
    /// Its digest.
    pub source_digest: &'a str,
    /// The bundle's name in the configuration.
    pub bundle: &'a str,
    /// The bundle document's digest.
    pub bundle_digest: &'a str,
    /// Now, RFC 3339.
    pub now: &'a str,
    /// The evaluation record of this judgement, when one was stored.
    pub record: Option<&'a Stored>,
}

impl Outcome {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Outcome::Approved { .. } => SUCCEEDED,
            Outcome::Denied { .. } => POLICY_DENIED,
            Outcome::Failed { .. } => GATE_ERROR,
        }
    }

    /// The artifact to publish: the new one if approved, else the last approved.
    pub fn artifact(&self, facts: &Judged, previous: Option<&Artifact>) -> Option<Artifact> {
        let Outcome::Approved { stored, report } = self else {
            return previous.cloned();
        };
        let s = &report.summary;
        let mut metadata = BTreeMap::from([
            (keys::BUNDLE.to_owned(), facts.bundle.to_owned()),
            (
                keys::BUNDLE_DIGEST.to_owned(),
                facts.bundle_digest.to_owned(),
            ),
            (
                keys::SOURCE_DIGEST.to_owned(),
                facts.source_digest.to_owned(),
            ),
            (keys::OBJECTS.to_owned(), s.objects.to_string()),
            (keys::DENIED.to_owned(), s.denied.to_string()),
            (keys::WARNINGS.to_owned(), s.warnings.to_string()),
            (keys::EXCEPTED.to_owned(), s.excepted.to_string()),
        ]);
        if let Some(record) = facts.record {
            metadata.insert(keys::ATTESTATION.to_owned(), record.url.clone());
            metadata.insert(
                keys::ATTESTATION_DIGEST.to_owned(),
                record.digest.to_string(),
            );
        }
        Some(Artifact {
            path: stored.path.clone(),
            url: stored.url.clone(),
            revision: facts.revision.to_owned(),
            digest: Some(stored.digest.to_string()),
            last_update_time: Some(facts.now.to_owned()),
            size: i64::try_from(stored.size).ok(),
            metadata,
        })
    }

    /// The `Ready` message (and event note): at most [`MAX_MESSAGE`] bytes.
    pub fn message(&self, facts: &Judged, published: Option<&Artifact>) -> String {
        let revision = facts.revision;
        let bundle = facts.bundle;
        let serving = match published {
            Some(a) => format!("; still serving '{}'", a.revision),
            None => "; nothing is served".to_owned(),
        };
        match self {
            Outcome::Approved { report, .. } => {
                let s = &report.summary;
                let mut text = format!(
                    "stored artifact for revision '{revision}', approved by bundle '{bundle}' ({} object{}",
                    s.objects,
                    if s.objects == 1 { "" } else { "s" }
                );
                if s.warnings > 0 {
                    text.push_str(&format!(", {} warnings", s.warnings));
                }
                if s.excepted > 0 {
                    text.push_str(&format!(", {} excepted", s.excepted));
                }
                text.push(')');
                text
            }
            Outcome::Denied { report } => {
                let head = format!(
                    "revision '{revision}' denied by bundle '{bundle}' ({} denied): ",
                    report.summary.denied
                );
                let room = MAX_MESSAGE.saturating_sub(head.len() + serving.len());
                format!("{head}{}{serving}", findings_summary(report, room))
            }
            Outcome::Failed { message } => {
                let head = if revision.is_empty() {
                    "source not judged: ".to_owned()
                } else {
                    format!("revision '{revision}' was not judged: ")
                };
                let room = MAX_MESSAGE.saturating_sub(head.len() + serving.len());
                let message = gate_engine::brief::join_capped(std::slice::from_ref(message), room);
                format!("{head}{message}{serving}")
            }
        }
    }
}

/// Sets a condition, keeping its transition time when its status did not change.
pub fn set_condition(conditions: &[Condition], mut new: Condition) -> Vec<Condition> {
    let mut out: Vec<Condition> = Vec::with_capacity(conditions.len() + 1);
    let mut replaced = false;
    for condition in conditions {
        if condition.type_ == new.type_ {
            if condition.status == new.status {
                new.last_transition_time = condition.last_transition_time.clone();
            }
            out.push(new.clone());
            replaced = true;
        } else {
            out.push(condition.clone());
        }
    }
    if !replaced {
        out.push(new);
    }
    out
}

/// A `Ready` condition.
pub fn ready(
    ok: bool,
    reason: &str,
    message: String,
    now: &str,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: READY.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        last_transition_time: now.into(),
        observed_generation: generation,
    }
}

/// The Gate's `Ready` condition, as last written.
pub fn gate_ready(status: Option<&GateStatus>) -> Option<&Condition> {
    status?.conditions.iter().find(|c| c.type_ == READY)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn facts() -> Judged<'static> {
        Judged {
            revision: "main@sha1:b",
            source_digest: "sha256:00",
            bundle: "restricted",
            bundle_digest: "sha256:11",
            now: "2025-01-01T00:00:00Z",
            record: None,
        }
    }

    #[test]
    fn a_failure_keeps_the_last_approved_artifact_and_says_so() {
        let previous = Artifact {
            revision: "main@sha1:a".into(),
            ..Artifact::default()
        };
        let outcome = Outcome::Failed {
            message: "x".repeat(5000),
        };
        assert_eq!(
            outcome.artifact(&facts(), Some(&previous)),
            Some(previous.clone())
        );
        let text = outcome.message(&facts(), Some(&previous));
        assert!(text.len() <= MAX_MESSAGE, "{}", text.len());
        assert!(
            text.starts_with("revision 'main@sha1:b' was not judged: xxx"),
            "{text}"
        );
        assert!(text.ends_with("; still serving 'main@sha1:a'"), "{text}");
        assert_eq!(outcome.reason(), GATE_ERROR);
        let none = outcome.message(&facts(), None);
        assert!(none.ends_with("; nothing is served"), "{none}");
    }

    #[test]
    fn a_condition_keeps_its_transition_time_while_its_status_holds() {
        let first = ready(false, POLICY_DENIED, "a".into(), "t1", Some(1));
        let conditions = set_condition(&[], first);
        let again = set_condition(
            &conditions,
            ready(false, GATE_ERROR, "b".into(), "t2", Some(1)),
        );
        assert_eq!(again.len(), 1);
        assert_eq!(
            (
                again[0].last_transition_time.as_str(),
                again[0].reason.as_str()
            ),
            ("t1", GATE_ERROR)
        );
        let flipped = set_condition(&again, ready(true, SUCCEEDED, "c".into(), "t3", Some(1)));
        assert_eq!(flipped[0].last_transition_time, "t3");
    }
}
