//! Notation envelopes made in the test (rcgen certificates, ES256), checked at
//! each level.

use super::super::test_pki::{DIGEST, Root, now, with_expiry};
use super::super::trust::{Identity, Level};
use super::super::{Rejection, SignatureCheck};
use super::check;
use rcgen::{BasicConstraints, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};

const LEVELS: [Level; 3] = [Level::Strict, Level::Permissive, Level::Audit];

/// A change to a leaf certificate's parameters.
type Adjust = Box<dyn Fn(&mut rcgen::CertificateParams)>;

fn identity(text: &str) -> Vec<Identity> {
    vec![Identity::Subject(
        super::super::trust::parse_dn(text).unwrap(),
    )]
}

fn run(root: &Root, envelope: &[u8], identities: &[Identity], level: Level) -> SignatureCheck {
    check(envelope, &root.store(), identities, DIGEST, level, now())
}

#[test]
fn a_valid_signature_by_a_trusted_identity_is_trusted_at_every_level() {
    let root = Root::new("acme root");
    let envelope = root.leaf(|_| {}).envelope(DIGEST, |_| {});
    for level in LEVELS {
        let check = run(
            &root,
            &envelope,
            &identity("C=US, O=Acme, CN=release"),
            level,
        );
        assert!(check.outcome.is_ok(), "{level:?}: {check:?}");
        assert!(check.notes.is_empty(), "{check:?}");
    }
}

#[test]
fn an_expired_signature_is_refused_when_strict_and_logged_otherwise() {
    let root = Root::new("acme root");
    let envelope = root
        .leaf(|_| {})
        .envelope(DIGEST, with_expiry("2025-01-01T00:00:00Z"));
    let strict = run(&root, &envelope, &[Identity::Any], Level::Strict);
    assert!(
        matches!(&strict.outcome, Err(Rejection::Expired(m)) if m.contains("signature expired")),
        "{strict:?}"
    );
    for level in [Level::Permissive, Level::Audit] {
        let lenient = run(&root, &envelope, &[Identity::Any], level);
        assert!(lenient.outcome.is_ok(), "{level:?}: {lenient:?}");
        assert!(
            lenient
                .notes
                .iter()
                .any(|n| n.contains("signature expired")),
            "{lenient:?}"
        );
    }
    // Not yet expired: trusted, no note.
    let later = root
        .leaf(|_| {})
        .envelope(DIGEST, with_expiry("2025-12-01T00:00:00Z"));
    let check = run(&root, &later, &[Identity::Any], Level::Strict);
    assert!(check.outcome.is_ok() && check.notes.is_empty(), "{check:?}");
}

#[test]
fn an_expiry_not_listed_in_crit_is_refused_at_every_level() {
    let root = Root::new("acme root");
    let envelope = root.leaf(|_| {}).envelope(DIGEST, |header| {
        header["io.cncf.notary.expiry"] = serde_json::json!("2025-12-01T00:00:00Z");
    });
    for level in LEVELS {
        let check = run(&root, &envelope, &[Identity::Any], level);
        assert!(
            matches!(&check.outcome, Err(Rejection::Invalid(m)) if m.contains("not listed in crit")),
            "{level:?}: {check:?}"
        );
    }
}

#[test]
fn an_expired_certificate_is_refused_when_strict_and_logged_if_it_was_valid_at_signing() {
    let root = Root::new("acme root");
    let leaf = root.leaf(|p| p.not_after = rcgen::date_time_ymd(2025, 1, 1));
    let envelope = leaf.envelope(DIGEST, |_| {});
    let strict = run(&root, &envelope, &[Identity::Any], Level::Strict);
    assert!(
        matches!(&strict.outcome, Err(Rejection::Expired(_))),
        "{strict:?}"
    );
    for level in [Level::Permissive, Level::Audit] {
        let lenient = run(&root, &envelope, &[Identity::Any], level);
        assert!(lenient.outcome.is_ok(), "{level:?}: {lenient:?}");
        assert!(
            lenient.notes.iter().any(|n| n.contains("expired")),
            "{lenient:?}"
        );
    }
    // Claimed to be signed after the certificate expired: refused at every level.
    let late = leaf.envelope(DIGEST, |header| {
        header["io.cncf.notary.signingTime"] = serde_json::json!("2025-03-01T00:00:00Z");
    });
    for level in LEVELS {
        let check = run(&root, &late, &[Identity::Any], level);
        assert!(
            matches!(&check.outcome, Err(Rejection::Expired(_))),
            "{level:?}: {check:?}"
        );
    }
}

#[test]
fn a_leaf_that_is_not_a_code_signing_certificate_is_refused_at_every_level() {
    let root = Root::new("acme root");
    let cases: Vec<(&str, Adjust)> = vec![
        (
            "lacks codeSigning",
            Box::new(|p| {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![
                    1, 3, 6, 1, 4, 1, 99999, 1,
                ])]
            }),
        ),
        (
            "serverAuth",
            Box::new(|p| p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth]),
        ),
        (
            "clientAuth",
            Box::new(|p| {
                p.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::CodeSigning,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ]
            }),
        ),
        (
            "lacks digitalSignature",
            Box::new(|p| p.key_usages = vec![KeyUsagePurpose::ContentCommitment]),
        ),
        (
            "no key usage extension",
            Box::new(|p| p.key_usages = vec![]),
        ),
        (
            "keyCertSign",
            Box::new(|p| {
                p.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyCertSign,
                ]
            }),
        ),
        (
            "keyEncipherment",
            Box::new(|p| {
                p.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ]
            }),
        ),
        (
            "CA certificate",
            Box::new(|p| p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained)),
        ),
    ];
    for (why, adjust) in cases {
        let envelope = root.leaf(|p| adjust(p)).envelope(DIGEST, |_| {});
        for level in LEVELS {
            let check = run(&root, &envelope, &[Identity::Any], level);
            assert!(
                matches!(&check.outcome, Err(Rejection::Untrusted(m)) if m.contains(why)),
                "{why} at {level:?}: {check:?}"
            );
        }
    }
    // No extended key usage at all is allowed, as Notation allows it.
    let plain = root
        .leaf(|p| p.extended_key_usages = vec![])
        .envelope(DIGEST, |_| {});
    let check = run(&root, &plain, &[Identity::Any], Level::Strict);
    assert!(check.outcome.is_ok(), "{check:?}");
}

#[test]
fn a_subject_with_an_attribute_twice_is_refused() {
    let root = Root::new("acme root");
    // Two CNs: one through rcgen's name for it, one through its OID (2.5.4.3).
    let envelope = root
        .leaf(|p| {
            p.distinguished_name
                .push(DnType::CustomDnType(vec![2, 5, 4, 3]), "someone else");
        })
        .envelope(DIGEST, |_| {});
    for identities in [
        identity("CN=release"),
        identity("CN=someone else"),
        vec![Identity::Any],
    ] {
        for level in LEVELS {
            let check = run(&root, &envelope, &identities, level);
            assert!(
                matches!(&check.outcome, Err(Rejection::Invalid(m)) if m.contains("CN twice")),
                "{level:?}: {check:?}"
            );
        }
    }
}

#[test]
fn another_identity_is_refused_unless_audit_logs_it() {
    let root = Root::new("acme root");
    let envelope = root.leaf(|_| {}).envelope(DIGEST, |_| {});
    let other = identity("C=US, O=Acme, CN=someone else");
    for level in [Level::Strict, Level::Permissive] {
        let check = run(&root, &envelope, &other, level);
        assert!(
            matches!(&check.outcome, Err(Rejection::Untrusted(m)) if m.contains("not a trusted identity")),
            "{level:?}: {check:?}"
        );
    }
    let audit = run(&root, &envelope, &other, Level::Audit);
    assert!(audit.outcome.is_ok(), "{audit:?}");
    assert!(
        audit
            .notes
            .iter()
            .any(|n| n.contains("not a trusted identity")),
        "{audit:?}"
    );
}

#[test]
fn a_signature_by_another_root_or_over_another_digest_is_refused_at_every_level() {
    let root = Root::new("acme root");
    let stranger = Root::new("stranger root");
    let envelope = stranger.leaf(|_| {}).envelope(DIGEST, |_| {});
    let other_digest = root
        .leaf(|_| {})
        .envelope(&DIGEST.replace("0123", "3210"), |_| {});
    let mut tampered = root.leaf(|_| {}).envelope(DIGEST, |_| {});
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    for level in LEVELS {
        let check = run(&root, &envelope, &[Identity::Any], level);
        assert!(
            matches!(&check.outcome, Err(Rejection::Untrusted(m)) if m.contains("no trusted root")),
            "{level:?}: {check:?}"
        );
        let check = run(&root, &other_digest, &[Identity::Any], level);
        assert!(
            matches!(&check.outcome, Err(Rejection::WrongDigest(_))),
            "{level:?}: {check:?}"
        );
        let check = run(&root, &tampered, &[Identity::Any], level);
        assert!(check.outcome.is_err(), "{level:?}: {check:?}");
    }
}
