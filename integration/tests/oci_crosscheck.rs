//! Verification checked against implementations that are not ours: the
//! `sigstore` crate signs and gate verifies, gate signs and the `sigstore` crate
//! verifies (cosign's legacy format); Sigstore bundles signed with the `sigstore`
//! crate's signer; Notation JWS envelopes made with Python's `cryptography`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oci_fixtures.rs"]
mod fixtures;
#[path = "support/oci_registry.rs"]
mod registry;
mod support;

use base64::Engine as _;
use fixtures::{
    Workspace, assert_refused, attach_referrer, check, have_python_cryptography, notation_sign, ok,
    push_policy, trust_ca,
};
use registry::{TestRegistry, tools_present};
use sigstore::cosign::constraint::{Constraint as _, PrivateKeySigner};
use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
use sigstore::cosign::{
    ClientBuilder, CosignCapabilities as _, SignatureLayer, verify_constraints,
};
use sigstore::crypto::SigningScheme;
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};

const REPO: &str = "policies/disallow-privileged";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn sigstore_client(registry: &TestRegistry) -> sigstore::cosign::Client {
    gate_oci::install_crypto_provider();
    ClientBuilder::default()
        .with_oci_client_config(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(vec![registry.host.clone()]),
            ..Default::default()
        })
        .build()
        .expect("sigstore client")
}

fn denies_privileged(ws: &Workspace, registry: &TestRegistry, bundle: &std::path::Path) {
    let (bad, good) = ws.pods();
    let (code, stdout, stderr) = support::parts(&check(ws, registry, bundle, &bad));
    assert_eq!(
        code, 1,
        "the verified policy must run and deny:\n{stdout}\n{stderr}"
    );
    ok(&check(ws, registry, bundle, &good));
}

#[test]
fn gate_verifies_a_cosign_signature_made_by_the_sigstore_crate() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), None);
    let image: OciReference = format!("{}/{REPO}:1", registry.host)
        .parse()
        .expect("reference");
    let public_pem = runtime().block_on(async {
        let mut client = sigstore_client(&registry);
        let (sig_image, source_digest) = client
            .triangulate(&image, &Auth::Anonymous)
            .await
            .expect("triangulate");
        assert_eq!(source_digest, digest);
        let mut layer = SignatureLayer::new_unsigned(&image, &source_digest).expect("layer");
        let signer = SigningScheme::ECDSA_P256_SHA256_ASN1
            .create_signer()
            .expect("signer");
        let public = signer
            .to_sigstore_keypair()
            .expect("keypair")
            .public_key_to_pem()
            .expect("pem");
        assert!(
            PrivateKeySigner::new_with_signer(signer)
                .add_constraint(&mut layer)
                .expect("sign")
        );
        client
            .push_signature(None, &Auth::Anonymous, &sig_image, vec![layer])
            .await
            .expect("push signature");
        public
    });
    let public = ws.path("sigstore.pub");
    std::fs::write(&public, public_pem).expect("pub");
    ws.trust_cosign_key("sigstore", &public);
    ws.trust_stores(&["cosign:sigstore"], &[]);
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    denies_privileged(&ws, &registry, &bundle);
}

#[test]
fn the_sigstore_crate_verifies_what_gate_signs() {
    if !tools_present(&["docker-registry", "openssl"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let (key, public) = ws.keypair("release");
    let (_, other) = ws.keypair("other");
    push_policy(&ws, &registry, &format!("{REPO}:1"), Some(&key));
    let image: OciReference = format!("{}/{REPO}:1", registry.host)
        .parse()
        .expect("reference");
    let layers = runtime().block_on(async {
        let mut client = sigstore_client(&registry);
        client
            .trusted_signature_layers(&Auth::Anonymous, &image)
            .await
            .expect("signature layers")
    });
    assert_eq!(layers.len(), 1, "{layers:?}");
    let verify_with = |pem: &std::path::Path| {
        let verifier = PublicKeyVerifier::new(
            &std::fs::read(pem).expect("pem"),
            &SigningScheme::ECDSA_P256_SHA256_ASN1,
        )
        .expect("verifier");
        let constraints: VerificationConstraintVec = vec![Box::new(verifier)];
        verify_constraints(&layers, constraints.iter()).is_ok()
    };
    assert!(verify_with(&public), "sigstore rejected gate's signature");
    assert!(
        !verify_with(&other),
        "sigstore accepted gate's signature under another key"
    );
}

#[test]
fn gate_verifies_a_sigstore_bundle_signed_by_the_sigstore_crate_through_the_referrers_tag_schema() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), None);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .expect("signer");
    let public = signer
        .to_sigstore_keypair()
        .expect("keypair")
        .public_key_to_pem()
        .expect("pem");
    let make_bundle = |subject_digest: &str| {
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": format!("{}/{REPO}", registry.host), "digest": {"sha256": subject_digest.trim_start_matches("sha256:")}}],
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
            "predicate": {},
        })
        .to_string();
        let payload_type = "application/vnd.in-toto+json";
        let pae = format!(
            "DSSEv1 {} {payload_type} {} {statement}",
            payload_type.len(),
            statement.len()
        );
        let sig = signer.sign(pae.as_bytes()).expect("sign");
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "gate-test"}},
            "dsseEnvelope": {"payload": b64(statement.as_bytes()), "payloadType": payload_type, "signatures": [{"sig": b64(&sig)}]},
        })
        .to_string()
    };
    let pub_path = ws.path("bundle.pub");
    std::fs::write(&pub_path, public).expect("pub");
    ws.trust_cosign_key("sigstore", &pub_path);
    ws.trust_stores(&["cosign:sigstore"], &[]);
    let bundle_file = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));

    // A bundle over another digest, alone: refused.
    let other = format!("sha256:{}", "ab".repeat(32));
    let media = "application/vnd.dev.sigstore.bundle.v0.3+json";
    attach_referrer(
        &registry,
        REPO,
        &digest,
        media,
        media,
        make_bundle(&other).as_bytes(),
    );
    let (_, good) = ws.pods();
    assert_refused(
        &check(&ws, &registry, &bundle_file, &good),
        &digest,
        "signature over a different digest",
    );
    // The right one: accepted, the policy runs.
    attach_referrer(
        &registry,
        REPO,
        &digest,
        media,
        media,
        make_bundle(&digest).as_bytes(),
    );
    denies_privileged(&ws, &registry, &bundle_file);
}

#[test]
fn gate_verifies_notation_signatures_made_with_python_cryptography() {
    if !tools_present(&["docker-registry"]) || !have_python_cryptography() {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), None);
    let (envelope, ca) = notation_sign(
        &ws,
        &registry,
        &digest,
        &["--subject", "gate release signer"],
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
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));

    // Another signer identity is not trusted.
    ws.trust_stores(
        &["ca:acme"],
        &["x509.subject: C=US, O=Gate Test, CN=someone else"],
    );
    let (_, good) = ws.pods();
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &digest,
        "is not a trusted identity",
    );
    // A root the signature does not chain to is not trusted either.
    let (_, other_ca) = notation_sign(&ws, &registry, &digest, &["--subject", "unrelated"]);
    trust_ca(&ws, "other", &other_ca);
    ws.trust_stores(&["ca:other"], &["*"]);
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &digest,
        "no trusted root",
    );
    // The signer's identity and root: accepted, the policy runs.
    ws.trust_stores(
        &["ca:acme"],
        &["x509.subject: C=US, O=Gate Test, CN=gate release signer"],
    );
    denies_privileged(&ws, &registry, &bundle);
}

#[test]
fn require_all_needs_a_trusted_signature_from_every_trust_store() {
    if !tools_present(&["docker-registry", "openssl"]) || !have_python_cryptography() {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let (key, public) = ws.keypair("release");
    let digest = push_policy(&ws, &registry, &format!("{REPO}:1"), Some(&key));
    ws.trust_cosign_key("release", &public);
    let (envelope, ca) = notation_sign(&ws, &registry, &digest, &[]);
    trust_ca(&ws, "acme", &ca);
    let policy = |require: &str| {
        ws.trust_policy(&serde_json::json!({"version": "1.0", "trustPolicies": [{
            "name": "two-party", "registryScopes": [format!("{}/policies/*", registry.host)],
            "signatureVerification": {"level": "strict"}, "require": require,
            "trustStores": ["cosign:release", "ca:acme"], "trustedIdentities": ["*"]}]}));
    };
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    let (_, good) = ws.pods();
    policy("any");
    ok(&check(&ws, &registry, &bundle, &good));
    policy("all");
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &digest,
        "none from ca:acme",
    );
    attach_referrer(
        &registry,
        REPO,
        &digest,
        gate_oci::verify::notation::NOTATION_ARTIFACT_TYPE,
        "application/jose+json",
        &envelope,
    );
    ok(&check(&ws, &registry, &bundle, &good));
}
