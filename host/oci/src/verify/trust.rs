//! The trust policy: which signers are trusted for which repositories.
//!
//! The layout is Notation's `trustpolicy.json` (version `1.0`): a list of
//! `trustPolicies`, each with `registryScopes`, `signatureVerification.level`
//! (`strict`, `permissive`, `audit`, `skip`), `trustStores` (`ca:NAME`,
//! `signingAuthority:NAME`) and `trustedIdentities` (`x509.subject: ...` or `*`).
//! gate adds:
//! - trust stores of type `cosign` (`cosign:NAME`): directories of PEM public keys
//!   for cosign key-based signatures (legacy `.sig` tags and Sigstore bundles);
//! - `require`: `any` (one trusted signature is enough, the default) or `all`
//!   (every trust store of the scope must have a trusted signature);
//! - `trustStoreDir`: where the trust stores are (default: `truststore` beside the
//!   bundle), laid out as Notation's: `x509/ca/NAME/*.pem`, `x509/signingAuthority/NAME/*.pem`,
//!   and `cosign/NAME/*.pub`;
//! - registry scopes may end in `/*` to cover every repository under a path.

use crate::error::{Error, Result};
use crate::reference::ArtifactRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A trust policy document.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrustPolicyDocument {
    /// Must be `1.0`.
    pub version: String,
    /// Where the trust stores are, relative to the file that holds the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_store_dir: Option<PathBuf>,
    /// The scopes.
    pub trust_policies: Vec<ScopePolicy>,
}

/// The trust of one set of repositories.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScopePolicy {
    /// A name for messages.
    pub name: String,
    /// `REGISTRY/REPOSITORY`, `REGISTRY/PATH/*`, or `*`.
    pub registry_scopes: Vec<String>,
    /// How strictly to verify.
    pub signature_verification: SignatureVerification,
    /// `TYPE:NAME` trust stores whose signers are trusted.
    #[serde(default)]
    pub trust_stores: Vec<String>,
    /// For X.509 signers: `x509.subject: K=V, ...` that the signing certificate must carry, or `*`.
    #[serde(default)]
    pub trusted_identities: Vec<String>,
    /// One trusted signature is enough (`any`), or every trust store needs one (`all`).
    #[serde(default)]
    pub require: Require,
}

/// `signatureVerification`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureVerification {
    /// The level.
    pub level: Level,
}

/// Verification levels. Every level but `skip` needs a signature that verifies,
/// over this digest, by a trusted key or a certificate chaining to a trusted root
/// of the scope's trust stores (and every trust store's, with `require: all`).
/// Notation's `audit` only logs authenticity failures; gate does not: an unsigned
/// module, or one signed by an unknown key or in an unknown format, is refused at
/// every level but `skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Every check enforced.
    Strict,
    /// As strict, but an expired signature (`io.cncf.notary.expiry`) or signing
    /// certificate (valid when it signed) is logged, not refused.
    Permissive,
    /// As permissive, and a signer outside `trustedIdentities` is logged, not
    /// refused.
    Audit,
    /// No verification at all; a warning on every run.
    Skip,
}

/// How many trusted signatures a scope needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    /// One.
    #[default]
    Any,
    /// One per trust store of the scope.
    All,
}

/// The kinds of trust store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreKind {
    /// Notation `ca`: root CAs for the `notary.x509` signing scheme.
    Ca,
    /// Notation `signingAuthority`: roots for `notary.x509.signingAuthority`.
    SigningAuthority,
    /// cosign public keys.
    Cosign,
}

/// A named trust store: `ca:acme`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoreRef {
    /// Its kind.
    pub kind: StoreKind,
    /// Its name.
    pub name: String,
}

impl std::fmt::Display for StoreRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            StoreKind::Ca => "ca",
            StoreKind::SigningAuthority => "signingAuthority",
            StoreKind::Cosign => "cosign",
        };
        write!(f, "{kind}:{}", self.name)
    }
}

impl StoreRef {
    fn parse(text: &str) -> Option<StoreRef> {
        let (kind, name) = text.split_once(':')?;
        let kind = match kind {
            "ca" => StoreKind::Ca,
            "signingAuthority" => StoreKind::SigningAuthority,
            "cosign" => StoreKind::Cosign,
            _ => return None,
        };
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        ok.then(|| StoreRef {
            kind,
            name: name.to_owned(),
        })
    }

    /// Its directory under a trust store root.
    pub fn dir(&self, root: &Path) -> PathBuf {
        match self.kind {
            StoreKind::Ca => root.join("x509").join("ca").join(&self.name),
            StoreKind::SigningAuthority => {
                root.join("x509").join("signingAuthority").join(&self.name)
            }
            StoreKind::Cosign => root.join("cosign").join(&self.name),
        }
    }
}

/// An identity a signing certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// `*`: any signer the trust stores vouch for.
    Any,
    /// `x509.subject: C=US, O=Acme, CN=signer`: these attributes, all of them.
    Subject(BTreeSet<(String, String)>),
}

impl Identity {
    fn parse(text: &str) -> Option<Identity> {
        if text.trim() == "*" {
            return Some(Identity::Any);
        }
        let subject = text.trim().strip_prefix("x509.subject:")?;
        parse_dn(subject).map(Identity::Subject)
    }
}

/// Parses `K=V, K=V` (commas inside values escaped as `\,`). An attribute named
/// twice is refused, as Notation refuses it.
pub fn parse_dn(text: &str) -> Option<BTreeSet<(String, String)>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ',' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    let mut set = BTreeSet::new();
    let mut names = BTreeSet::new();
    for part in parts {
        let (k, v) = part.split_once('=')?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() || !names.insert(k.to_owned()) {
            return None;
        }
        set.insert((k.to_owned(), v.to_owned()));
    }
    (!set.is_empty()).then_some(set)
}

/// A checked trust policy, with the directory its trust stores are in.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    /// The document.
    pub document: TrustPolicyDocument,
    /// Where the trust stores are.
    pub store_root: PathBuf,
    /// Where the policy came from, for messages.
    pub source: String,
}

/// The resolved policy of one scope.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The scope policy's name.
    pub name: String,
    /// The level.
    pub level: Level,
    /// Its trust stores.
    pub stores: Vec<StoreRef>,
    /// Its trusted identities (X.509 signers).
    pub identities: Vec<Identity>,
    /// Any or all.
    pub require: Require,
}

impl TrustPolicy {
    /// Checks a document; `base_dir` is where relative paths start.
    pub fn new(
        document: TrustPolicyDocument,
        base_dir: &Path,
        source: &str,
    ) -> Result<TrustPolicy> {
        let err = |message: String| Error::TrustPolicy {
            source_name: source.to_owned(),
            message,
        };
        if document.version != "1.0" {
            return Err(err(format!(
                "version {:?} is not supported; use \"1.0\"",
                document.version
            )));
        }
        let mut names = BTreeSet::new();
        let mut scopes = BTreeMap::new();
        for policy in &document.trust_policies {
            if !names.insert(policy.name.as_str()) {
                return Err(err(format!(
                    "two trust policies are named {:?}",
                    policy.name
                )));
            }
            if policy.registry_scopes.is_empty() {
                return Err(err(format!("{}: registryScopes is empty", policy.name)));
            }
            for scope in &policy.registry_scopes {
                if let Some(other) = scopes.insert(scope.as_str(), policy.name.as_str()) {
                    return Err(err(format!(
                        "scope {scope:?} is in both {other:?} and {:?}",
                        policy.name
                    )));
                }
                if scope != "*" && ArtifactRef::parse(scope.trim_end_matches("/*")).is_err() {
                    return Err(err(format!(
                        "{}: {scope:?} is not REGISTRY/REPOSITORY, REGISTRY/PATH/* or *",
                        policy.name
                    )));
                }
            }
            let skip = policy.signature_verification.level == Level::Skip;
            if skip && !(policy.trust_stores.is_empty() && policy.trusted_identities.is_empty()) {
                return Err(err(format!(
                    "{}: level skip takes no trustStores or trustedIdentities",
                    policy.name
                )));
            }
            if !skip && policy.trust_stores.is_empty() {
                return Err(err(format!(
                    "{}: trustStores is empty: name the trust stores whose signers are trusted",
                    policy.name
                )));
            }
            let mut x509 = false;
            for store in &policy.trust_stores {
                let parsed = StoreRef::parse(store).ok_or_else(|| {
                    err(format!("{}: trust store {store:?} is not ca:NAME, signingAuthority:NAME or cosign:NAME", policy.name))
                })?;
                x509 |= parsed.kind != StoreKind::Cosign;
            }
            for identity in &policy.trusted_identities {
                Identity::parse(identity).ok_or_else(|| {
                    err(format!("{}: trusted identity {identity:?} is not \"*\" or \"x509.subject: K=V, ...\"", policy.name))
                })?;
            }
            if x509 && policy.trusted_identities.is_empty() {
                return Err(err(format!(
                    "{}: trustedIdentities is empty: name the signers (or \"*\")",
                    policy.name
                )));
            }
        }
        let store_root = base_dir.join(
            document
                .trust_store_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("truststore")),
        );
        Ok(TrustPolicy {
            document,
            store_root,
            source: source.to_owned(),
        })
    }

    /// Reads a trust policy file (JSON or YAML).
    pub fn from_file(path: &Path) -> Result<TrustPolicy> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let document: TrustPolicyDocument =
            serde_yaml_ng::from_str(&text).map_err(|e| Error::TrustPolicy {
                source_name: path.display().to_string(),
                message: e.to_string(),
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        TrustPolicy::new(document, base, &path.display().to_string())
    }

    /// The scope that covers a reference: an exact repository first, then the
    /// longest `PATH/*`, then `*`. No scope: refused.
    pub fn scope_for(&self, reference: &ArtifactRef) -> Result<Scope> {
        let repo = reference.repository_path();
        let mut best: Option<(usize, &ScopePolicy)> = None;
        for policy in &self.document.trust_policies {
            for scope in &policy.registry_scopes {
                let rank = if *scope == repo {
                    usize::MAX
                } else if let Some(prefix) = scope.strip_suffix("/*") {
                    if repo.starts_with(&format!("{prefix}/")) {
                        prefix.len() + 1
                    } else {
                        continue;
                    }
                } else if scope == "*" {
                    0
                } else {
                    continue;
                };
                if best.is_none_or(|(r, _)| rank > r) {
                    best = Some((rank, policy));
                }
            }
        }
        let (_, policy) = best.ok_or_else(|| {
            Error::refused(
                reference,
                format!("no trust policy scope covers {repo} (in {})", self.source),
            )
        })?;
        Ok(Scope {
            name: policy.name.clone(),
            level: policy.signature_verification.level,
            stores: policy
                .trust_stores
                .iter()
                .filter_map(|s| StoreRef::parse(s))
                .collect(),
            identities: policy
                .trusted_identities
                .iter()
                .filter_map(|s| Identity::parse(s))
                .collect(),
            require: policy.require,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<TrustPolicy> {
        let doc: TrustPolicyDocument = serde_json::from_str(json).unwrap();
        TrustPolicy::new(doc, Path::new("/b"), "test")
    }

    const TWO: &str = r#"{"version":"1.0","trustPolicies":[
        {"name":"exact","registryScopes":["r.io/policies/a"],"signatureVerification":{"level":"strict"},"trustStores":["cosign:k"]},
        {"name":"all","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:acme"],"trustedIdentities":["x509.subject: CN=signer, O=Acme\\, Inc"]}]}"#;

    #[test]
    fn the_most_specific_scope_wins() {
        let p = policy(TWO).unwrap();
        let a = ArtifactRef::parse("r.io/policies/a:1").unwrap();
        let b = ArtifactRef::parse("r.io/policies/b:1").unwrap();
        assert_eq!(p.scope_for(&a).unwrap().name, "exact");
        let scope = p.scope_for(&b).unwrap();
        assert_eq!(scope.name, "all");
        let Identity::Subject(set) = &scope.identities[0] else {
            panic!()
        };
        assert!(set.contains(&("O".to_owned(), "Acme, Inc".to_owned())));
        assert_eq!(p.store_root, Path::new("/b/truststore"));
    }

    #[test]
    fn no_scope_means_refusal() {
        let p = policy(&TWO.replace("\"*\"", "\"r.io/other/*\"")).unwrap();
        let err = p
            .scope_for(&ArtifactRef::parse("r.io/policies/b:1").unwrap())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no trust policy scope covers r.io/policies/b"),
            "{err}"
        );
    }

    #[test]
    fn skip_must_be_alone_and_stores_must_be_named() {
        let skip_with_store = TWO.replace(
            "\"strict\"},\"trustStores\":[\"cosign:k\"]",
            "\"skip\"},\"trustStores\":[\"cosign:k\"]",
        );
        assert!(policy(&skip_with_store).is_err());
        let no_stores = TWO.replace("\"trustStores\":[\"cosign:k\"]", "\"trustStores\":[]");
        assert!(
            policy(&no_stores)
                .unwrap_err()
                .to_string()
                .contains("trustStores is empty")
        );
        let bad_store = TWO.replace("cosign:k", "tsa:k");
        assert!(policy(&bad_store).is_err());
    }

    #[test]
    fn an_identity_naming_an_attribute_twice_is_refused() {
        assert!(parse_dn("CN=a, O=b").is_some());
        assert!(parse_dn("CN=a, CN=b").is_none());
        let twice = TWO.replace("CN=signer, O=Acme", "CN=signer, CN=other, O=Acme");
        assert!(
            policy(&twice)
                .unwrap_err()
                .to_string()
                .contains("trusted identity")
        );
    }

    #[test]
    fn duplicate_scopes_are_rejected() {
        let dup = TWO.replace("\"*\"", "\"r.io/policies/a\"");
        assert!(policy(&dup).unwrap_err().to_string().contains("in both"));
    }
}
