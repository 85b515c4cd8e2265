//! Signature verification against a trust policy. Pure: the signatures are
//! fetched elsewhere ([`crate::client`]) and handed in as [`Evidence`].
//!
//! Fail closed: an artifact is accepted only if its scope's trust policy is
//! satisfied; any doubt is a refusal naming the reference and the reasons. At
//! every level but `skip`, that takes a signature that verifies, over this
//! digest, by a trusted key or a certificate chaining to a trusted root: the
//! levels only decide which checks of such a signature (expiry, identity) are
//! enforced and which are logged (see [`trust::Level`]).

pub mod bundle;
pub mod cosign;
pub mod notation;
pub mod stores;
#[cfg(test)]
mod test_pki;
#[cfg(test)]
mod tests;
pub mod trust;

use crate::error::{Error, Result};
use crate::reference::ArtifactRef;
use chrono::{DateTime, Utc};
use trust::{Level, Require, Scope, StoreRef, TrustPolicy};

/// Why one signature does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Malformed, or the cryptography does not verify.
    Invalid(String),
    /// Valid, but over another digest.
    WrongDigest(String),
    /// Not by a trusted key, root or identity.
    Untrusted(String),
    /// A certificate or the signature itself has expired.
    Expired(String),
    /// A kind of signature gate does not verify.
    Unsupported(String),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Invalid(m) => write!(f, "invalid: {m}"),
            Rejection::WrongDigest(m) => write!(f, "signature over a different digest: {m}"),
            Rejection::Untrusted(m) => write!(f, "untrusted: {m}"),
            Rejection::Expired(m) => write!(f, "expired: {m}"),
            Rejection::Unsupported(m) => write!(f, "not verified: {m}"),
        }
    }
}

/// The check of one signature.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    /// What kind of signature it was.
    pub what: String,
    /// The trust store that vouches for it (and by what), or why it does not count.
    pub outcome: Result<(StoreRef, String), Rejection>,
    /// Things logged rather than enforced (permissive and audit levels).
    pub notes: Vec<String>,
}

impl SignatureCheck {
    pub(crate) fn trusted(what: String, store: StoreRef, by: String) -> SignatureCheck {
        SignatureCheck {
            what,
            outcome: Ok((store, by)),
            notes: Vec::new(),
        }
    }

    pub(crate) fn rejected(what: String, why: Rejection) -> SignatureCheck {
        SignatureCheck {
            what,
            outcome: Err(why),
            notes: Vec::new(),
        }
    }
}

/// The signatures found for one manifest.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// cosign legacy signature layers.
    pub cosign: Vec<cosign::CosignLayer>,
    /// Sigstore bundles.
    pub bundles: Vec<Vec<u8>>,
    /// Notation JWS envelopes.
    pub notation: Vec<Vec<u8>>,
    /// Signatures of kinds gate does not verify (described).
    pub unsupported: Vec<String>,
    /// Signatures that could not be read (malformed, missing, too large): what, and why.
    pub unusable: Vec<(String, String)>,
}

impl Evidence {
    /// Were no signatures found at all?
    pub fn is_empty(&self) -> bool {
        self.cosign.is_empty()
            && self.bundles.is_empty()
            && self.notation.is_empty()
            && self.unsupported.is_empty()
            && self.unusable.is_empty()
    }

    /// Records a signature that could not be read.
    pub fn add_unusable(&mut self, what: impl Into<String>, why: impl ToString) {
        self.unusable.push((what.into(), why.to_string()));
    }
}

/// An accepted artifact: who vouched for it, and what to warn about on every run.
#[derive(Debug, Clone, Default)]
pub struct Acceptance {
    /// `STORE (by ...)` for each trusted signature.
    pub trusted_by: Vec<String>,
    /// Warnings for every run.
    pub notices: Vec<String>,
}

/// The notice printed on every run of an artifact whose scope skips verification.
pub fn skip_notice(reference: &ArtifactRef, scope: &Scope) -> String {
    format!(
        "verification: skip: {reference} runs unverified (trust policy scope {:?} says `level: skip`)",
        scope.name
    )
}

/// Decides whether `reference` (manifest `digest`) may run under `policy`.
pub fn decide(
    policy: &TrustPolicy,
    reference: &ArtifactRef,
    digest: &str,
    evidence: &Evidence,
    now: DateTime<Utc>,
) -> Result<Acceptance> {
    let scope = policy.scope_for(reference)?;
    if scope.level == Level::Skip {
        return Ok(Acceptance {
            trusted_by: Vec::new(),
            notices: vec![skip_notice(reference, &scope)],
        });
    }
    let loaded = stores::load(&scope, &policy.store_root, reference)?;
    let pinned = reference.at_digest(digest);
    if evidence.is_empty() {
        return Err(Error::refused(
            &pinned,
            format!(
                "no signature: found no cosign signature (tag {}), Sigstore bundle or Notation signature (referrers) for it",
                crate::digest::cosign_signature_tag(digest)
            ),
        ));
    }
    let mut checks = Vec::new();
    for layer in &evidence.cosign {
        checks.push(cosign::check(layer, &loaded.keys, digest));
    }
    for bytes in &evidence.bundles {
        checks.push(bundle::check(bytes, &loaded.keys, digest));
    }
    for bytes in &evidence.notation {
        checks.push(notation::check(
            bytes,
            &loaded.certs,
            &scope.identities,
            digest,
            scope.level,
            now,
        ));
    }
    for (what, why) in &evidence.unusable {
        checks.push(SignatureCheck::rejected(
            what.clone(),
            Rejection::Invalid(format!("cannot be read: {why}")),
        ));
    }
    for what in &evidence.unsupported {
        checks.push(SignatureCheck::rejected(
            what.clone(),
            Rejection::Unsupported("this signature format is not verified by gate".into()),
        ));
    }
    judge(&scope, &pinned, &checks)
}

fn judge(scope: &Scope, reference: &ArtifactRef, checks: &[SignatureCheck]) -> Result<Acceptance> {
    let mut acceptance = Acceptance::default();
    let trusted: Vec<&StoreRef> = checks
        .iter()
        .filter_map(|c| c.outcome.as_ref().ok().map(|(s, _)| s))
        .collect();
    for check in checks {
        if let Ok((store, by)) = &check.outcome {
            acceptance
                .trusted_by
                .push(format!("{} trusted by {store} ({by})", check.what));
        }
        for note in &check.notes {
            acceptance
                .notices
                .push(format!("verification: {reference}: {note}"));
        }
    }
    let reasons = || -> String {
        checks
            .iter()
            .filter_map(|c| c.outcome.as_ref().err().map(|r| format!("{}: {r}", c.what)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let missing: Vec<String> = match scope.require {
        Require::Any if trusted.is_empty() => vec!["any".into()],
        Require::Any => Vec::new(),
        Require::All => scope
            .stores
            .iter()
            .filter(|s| !trusted.contains(s))
            .map(ToString::to_string)
            .collect(),
    };
    if missing.is_empty() {
        return Ok(acceptance);
    }
    let reason = match scope.require {
        Require::Any => format!(
            "no trusted signature (scope {:?}): {}",
            scope.name,
            reasons()
        ),
        Require::All => format!(
            "scope {:?} requires a trusted signature from every trust store; none from {}: {}",
            scope.name,
            missing.join(", "),
            reasons()
        ),
    };
    Err(Error::refused(reference, reason))
}
