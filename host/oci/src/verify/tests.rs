//! What each trust level decides, end to end through [`decide`]: trust stores on
//! disk, signatures made in the test.

use super::test_pki::{DIGEST, Root, now};
use super::trust::{TrustPolicy, TrustPolicyDocument};
use super::{Evidence, cosign, decide};
use crate::error::Error;
use crate::reference::ArtifactRef;
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePublicKey as _, LineEnding};

struct Site {
    dir: tempfile::TempDir,
    root: Root,
    key: SigningKey,
}

impl Site {
    /// A trust store root with `ca:acme` (the root) and `cosign:release` (a key).
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new("acme root");
        let ca = dir.path().join("truststore/x509/ca/acme");
        std::fs::create_dir_all(&ca).unwrap();
        std::fs::write(ca.join("root.pem"), &root.pem).unwrap();
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        let cosign = dir.path().join("truststore/cosign/release");
        std::fs::create_dir_all(&cosign).unwrap();
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        std::fs::write(cosign.join("key.pub"), pem).unwrap();
        Site { dir, root, key }
    }

    fn policy(&self, level: &str, identities: &[&str]) -> TrustPolicy {
        let (stores, identities): (Vec<&str>, Vec<&str>) = if level == "skip" {
            (vec![], vec![])
        } else {
            (vec!["ca:acme", "cosign:release"], identities.to_vec())
        };
        let document: TrustPolicyDocument = serde_json::from_value(serde_json::json!({
            "version": "1.0",
            "trustPolicies": [{"name": "policies", "registryScopes": ["r.io/policies/*"],
                "signatureVerification": {"level": level},
                "trustStores": stores, "trustedIdentities": identities}]
        }))
        .unwrap();
        TrustPolicy::new(document, self.dir.path(), "test").unwrap()
    }

    fn cosign_by(&self, key: &SigningKey) -> cosign::CosignLayer {
        let payload = cosign::payload("r.io/policies/a", DIGEST);
        cosign::CosignLayer {
            signature: cosign::sign(key, &payload),
            payload,
        }
    }
}

fn reference() -> ArtifactRef {
    ArtifactRef::parse(&format!("r.io/policies/a@{DIGEST}")).unwrap()
}

fn refusal(site: &Site, level: &str, evidence: &Evidence) -> String {
    match decide(
        &site.policy(level, &["*"]),
        &reference(),
        DIGEST,
        evidence,
        now(),
    ) {
        Err(Error::Refused { reason, .. }) => reason,
        other => panic!("{level}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn every_level_but_skip_accepts_only_a_valid_trusted_signature() {
    let site = Site::new();
    let envelope = site.root.leaf(|_| {}).envelope(DIGEST, |_| {});
    let notation = Evidence {
        notation: vec![envelope],
        ..Evidence::default()
    };
    let cosign = Evidence {
        cosign: vec![site.cosign_by(&site.key)],
        ..Evidence::default()
    };
    for level in ["strict", "permissive", "audit"] {
        for evidence in [&notation, &cosign] {
            let accepted = decide(
                &site.policy(level, &["*"]),
                &reference(),
                DIGEST,
                evidence,
                now(),
            )
            .unwrap_or_else(|e| panic!("{level}: {e}"));
            assert_eq!(accepted.trusted_by.len(), 1, "{level}: {accepted:?}");
            assert!(accepted.notices.is_empty(), "{level}: {accepted:?}");
        }
    }
    // Skip verifies nothing, and says so on every run.
    let skipped = decide(
        &site.policy("skip", &[]),
        &reference(),
        DIGEST,
        &Evidence::default(),
        now(),
    )
    .unwrap();
    assert!(skipped.trusted_by.is_empty());
    assert!(
        skipped
            .notices
            .iter()
            .any(|n| n.contains("verification: skip")),
        "{skipped:?}"
    );
}

#[test]
fn audit_still_refuses_unsigned_unverifiable_unknown_format_and_unknown_key() {
    let site = Site::new();
    let stranger = SigningKey::from_slice(&[9; 32]).unwrap();
    let other_root = Root::new("stranger root");
    let cases = [
        ("no signature", Evidence::default(), "no signature"),
        (
            "an unknown key",
            Evidence {
                cosign: vec![site.cosign_by(&stranger)],
                ..Evidence::default()
            },
            "not signed by a trusted key",
        ),
        (
            "an unknown root",
            Evidence {
                notation: vec![other_root.leaf(|_| {}).envelope(DIGEST, |_| {})],
                ..Evidence::default()
            },
            "no trusted root",
        ),
        (
            "an unknown format",
            Evidence {
                unsupported: vec!["Notation signature (application/cose)".into()],
                ..Evidence::default()
            },
            "not verified by gate",
        ),
        (
            "an unverifiable signature",
            Evidence {
                cosign: vec![cosign::CosignLayer {
                    payload: b"{}".to_vec(),
                    signature: "not base64 ASN.1".into(),
                }],
                ..Evidence::default()
            },
            "invalid",
        ),
        (
            "an unreadable signature",
            Evidence {
                unusable: vec![(
                    "referrer r.io/policies/a@sha256:..".into(),
                    "HTTP 404".into(),
                )],
                ..Evidence::default()
            },
            "cannot be read",
        ),
    ];
    for (what, evidence, reason) in cases {
        for level in ["strict", "permissive", "audit"] {
            let refused = refusal(&site, level, &evidence);
            assert!(refused.contains(reason), "{what} at {level}: {refused}");
        }
    }
}

#[test]
fn audit_logs_what_is_wrong_with_a_valid_trusted_signature_and_the_others_refuse_it() {
    let site = Site::new();
    let envelope = site.root.leaf(|_| {}).envelope(DIGEST, |_| {});
    let evidence = Evidence {
        notation: vec![envelope],
        ..Evidence::default()
    };
    let someone_else = ["x509.subject: C=US, O=Acme, CN=someone else"];
    for level in ["strict", "permissive"] {
        let policy = site.policy(level, &someone_else);
        let refused = decide(&policy, &reference(), DIGEST, &evidence, now()).unwrap_err();
        assert!(
            refused.to_string().contains("not a trusted identity"),
            "{level}: {refused}"
        );
    }
    let policy = site.policy("audit", &someone_else);
    let accepted = decide(&policy, &reference(), DIGEST, &evidence, now()).unwrap();
    assert!(
        accepted
            .notices
            .iter()
            .any(|n| n.contains("not a trusted identity") && n.contains("audit")),
        "{accepted:?}"
    );
}

#[test]
fn a_valid_signature_is_not_blocked_by_unusable_ones_beside_it() {
    let site = Site::new();
    let stranger = SigningKey::from_slice(&[9; 32]).unwrap();
    let evidence = Evidence {
        cosign: vec![site.cosign_by(&stranger), site.cosign_by(&site.key)],
        unusable: vec![("cosign signature manifest".into(), "not a manifest".into())],
        unsupported: vec!["keyless bundle".into()],
        ..Evidence::default()
    };
    for level in ["strict", "permissive", "audit"] {
        let accepted = decide(
            &site.policy(level, &["*"]),
            &reference(),
            DIGEST,
            &evidence,
            now(),
        )
        .unwrap_or_else(|e| panic!("{level}: {e}"));
        assert_eq!(accepted.trusted_by.len(), 1, "{accepted:?}");
    }
}
