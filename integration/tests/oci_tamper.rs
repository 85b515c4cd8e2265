//! The tamper matrix: each case must be refused before any policy code runs,
//! with an error naming the reference and the reason. Each test fails if the
//! refusal does not happen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oci_fixtures.rs"]
mod fixtures;
#[path = "support/oci_registry.rs"]
mod registry;
mod support;

use fixtures::{
    Workspace, assert_refused, attach_referrer, check, have_python_cryptography, notation_sign, ok,
    push_policy, push_trusted_policy, trust_ca,
};
use registry::{TestRegistry, tools_present};

const REPO: &str = "policies/disallow-privileged";

/// A registry with a signed policy and a workspace trusting its key:
/// `(registry, workspace, digest, bundle, clean pod)`.
fn signed_setup() -> Option<(
    TestRegistry,
    Workspace,
    String,
    std::path::PathBuf,
    std::path::PathBuf,
)> {
    if !tools_present(&["docker-registry", "openssl"]) {
        return None;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_trusted_policy(&ws, &registry, &format!("{REPO}:1"));
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    let (_, good) = ws.pods();
    // The untampered setup passes: what follows is refused for the tampering alone.
    ok(&check(&ws, &registry, &bundle, &good));
    Some((registry, ws, digest, bundle, good))
}

fn pinned(registry: &TestRegistry, digest: &str) -> String {
    format!("{}/{REPO}@{digest}", registry.host)
}

#[test]
fn refuses_a_blob_whose_digest_is_wrong() {
    let Some((registry, ws, digest, bundle, good)) = signed_setup() else {
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(registry.blob_file(&digest)).expect("manifest"))
            .expect("json");
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .to_owned();
    let file = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&file).expect("layer");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).expect("tamper");
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &layer,
        "digest mismatch",
    );
}

#[test]
fn refuses_an_altered_manifest() {
    let Some((registry, ws, digest, bundle, good)) = signed_setup() else {
        return;
    };
    let file = registry.blob_file(&digest);
    let text = std::fs::read_to_string(&file).expect("manifest");
    assert!(text.contains("disallow-privileged"));
    std::fs::write(
        &file,
        text.replace("\"disallow-privileged\"", "\"disallow-privileges\""),
    )
    .expect("tamper");
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &pinned(&registry, &digest),
        "manifest digest mismatch",
    );
}

#[test]
fn refuses_a_policy_without_a_signature() {
    if !tools_present(&["docker-registry", "openssl"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let (_, public) = ws.keypair("release");
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), None);
    ws.trust_cosign_key("release", &public);
    ws.trust_stores(&["cosign:release"], &[]);
    let bundle = ws.bundle(&format!(
        "oci://{}@{digest}",
        format_args!("{}/{REPO}", registry.host)
    ));
    let (_, good) = ws.pods();
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &pinned(&registry, &digest),
        "no signature",
    );
}

#[test]
fn refuses_a_signature_by_an_untrusted_key() {
    if !tools_present(&["docker-registry", "openssl"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let (key, _) = ws.keypair("attacker");
    let (_, trusted) = ws.keypair("release");
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), Some(&key));
    ws.trust_cosign_key("release", &trusted);
    ws.trust_stores(&["cosign:release"], &[]);
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    let (_, good) = ws.pods();
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &pinned(&registry, &digest),
        "not signed by a trusted key",
    );
}

#[test]
fn refuses_a_signature_over_a_different_digest() {
    let Some((registry, ws, signed, _, good)) = signed_setup() else {
        return;
    };
    // Another policy in the same repository, unsigned; then the valid signature of
    // the first is copied under the second's signature tag.
    let wasm = fixtures::policy_wasm("allowed-registries");
    let out = ok(&ws.run(
        &registry,
        &[
            "policy",
            "push",
            &wasm.display().to_string(),
            &format!("{}/{REPO}:2", registry.host),
        ],
    ));
    let other = fixtures::field(&out, "digest");
    assert_ne!(other, signed);
    fixtures::sh(&format!(
        "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://{host}/v2/{REPO}/manifests/sha256-{from}.sig | \
         curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @- http://{host}/v2/{REPO}/manifests/sha256-{to}.sig",
        host = registry.host,
        from = signed.trim_start_matches("sha256:"),
        to = other.trim_start_matches("sha256:"),
    ));
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{other}", registry.host));
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &pinned(&registry, &other),
        "signature over a different digest",
    );
}

#[test]
fn refuses_a_notation_signature_whose_certificate_has_expired() {
    if !tools_present(&["docker-registry"]) || !have_python_cryptography() {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), None);
    // Valid for ten days, forty days ago.
    let (envelope, ca) = notation_sign(
        &ws,
        &registry,
        &digest,
        &["--cert-start-days", "-40", "--cert-days", "10"],
    );
    attach_referrer(
        &registry,
        REPO,
        &digest,
        gate_oci::verify::notation::NOTATION_ARTIFACT_TYPE,
        "application/jose+json",
        &envelope,
    );
    trust_ca(&ws, "acme", &ca);
    ws.trust_stores(&["ca:acme"], &["*"]);
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    let (_, good) = ws.pods();
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &pinned(&registry, &digest),
        "expired",
    );
}

#[test]
fn refuses_a_signature_whose_trust_store_is_unknown() {
    let Some((registry, ws, digest, bundle, good)) = signed_setup() else {
        return;
    };
    ws.trust_stores(&["cosign:release", "ca:nobody-made-this"], &["*"]);
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &pinned(&registry, &digest),
        "trust store ca:nobody-made-this",
    );
    let stderr = support::parts(&check(&ws, &registry, &bundle, &good)).2;
    assert!(stderr.contains("is unknown"), "{stderr}");
}

#[test]
fn verification_skip_is_explicit_and_warns_on_every_run() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), None);
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    let (_, good) = ws.pods();
    // No trust policy at all: refused.
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &pinned(&registry, &digest),
        "no trust policy",
    );
    ws.trust_policy(&serde_json::json!({"version": "1.0", "trustPolicies": [{
        "name": "dev", "registryScopes": [format!("{}/{REPO}", registry.host)],
        "signatureVerification": {"level": "skip"}}]}));
    for _ in 0..2 {
        let out = check(&ws, &registry, &bundle, &good);
        let (code, stdout, stderr) = support::parts(&out);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains("verification: skip"),
            "no warning:\n{stdout}\n{stderr}"
        );
    }
}
