//! A registry, a lock file or a signature that tries to get a module past
//! verification: each is refused, or cannot get in the way of a valid signature.
//!
//! - a lock file that pins a module to another repository or registry;
//! - an SBOM attestation made with the trusted key, offered as a signature;
//! - `level: audit` and a module it cannot verify;
//! - a signature blob whose descriptor claims 8 GiB, served without end;
//! - a registry that trickles a signature one byte at a time;
//! - a malformed signature manifest next to a valid signature;
//! - `gate bundle lock` and `gate bundle save`, with and without a trust policy.
//!
//! Real parts: docker-registry on 127.0.0.1 and the `gate` binary; the hostile
//! registry behaviours come from a proxy on a real socket in front of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oci_fixtures.rs"]
mod fixtures;
#[path = "support/oci_http.rs"]
mod http;
#[path = "support/oci_registry.rs"]
mod registry;
mod support;

use fixtures::{
    SIGSTORE_BUNDLE, Workspace, assert_refused, attach_bundle, check, ok, push_named, push_policy,
    refused, sigstore_bundle,
};
use registry::{TestRegistry, tools_present};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const REPO: &str = "policies/disallow-privileged";
const SIGN: &str = "https://sigstore.dev/cosign/sign/v1";

/// A registry, a workspace trusting key `release` (cosign store `release`), and
/// the disallow-privileged policy pushed to `REPO:1`, signed if `signed`:
/// `(registry, workspace, digest, private key)`.
fn setup(signed: bool) -> Option<(TestRegistry, Workspace, String, std::path::PathBuf)> {
    if !tools_present(&["docker-registry", "openssl"]) {
        return None;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let (key, public) = ws.keypair("release");
    let digest = push_policy(
        &ws,
        &registry,
        &format!("{REPO}:1"),
        signed.then_some(&*key),
    );
    ws.trust_cosign_key("release", &public);
    ws.trust_stores(&["cosign:release"], &[]);
    Some((registry, ws, digest, key))
}

/// Runs `gate check` of `bundle` on the privileged pod through `host` (a proxy).
fn check_through(ws: &Workspace, host: &str, bundle: &std::path::Path) -> std::process::Output {
    let (bad, _) = ws.pods();
    let _ = std::fs::remove_dir_all(ws.store());
    ws.run_cmd(
        &mut ws.gate(&[host]),
        &[
            "check",
            "-b",
            &bundle.display().to_string(),
            &bad.display().to_string(),
        ],
    )
}

/// Asserts that the policy ran (its signature was accepted) and denied.
fn assert_ran_and_denied(output: &std::process::Output) {
    let (code, stdout, stderr) = support::parts(output);
    assert_eq!(
        code, 1,
        "the verified policy must run and deny the privileged pod:\n{stdout}\n{stderr}"
    );
}

#[test]
fn a_lock_file_cannot_pin_a_module_to_another_repository() {
    let Some((registry, ws, _, key)) = setup(true) else {
        return;
    };
    let host = registry.host.clone();
    // Another policy, validly signed with the same key, in another repository.
    let other = push_named(
        &ws,
        &registry,
        "allowed-registries",
        "policies/lenient:1",
        Some(&key),
    );
    let bundle = ws.bundle(&format!("oci://{host}/{REPO}:1"));
    let bundle_arg = bundle.display().to_string();
    ok(&ws.run(&registry, &["bundle", "lock", &bundle_arg]));
    let (bad, _) = ws.pods();
    assert_ran_and_denied(&ws.run(
        &registry,
        &["check", "-b", &bundle_arg, &bad.display().to_string()],
    ));

    let lock_path = ws.path("bundle.lock.yaml");
    let lock = std::fs::read_to_string(&lock_path).expect("lock");
    let component = |wasm: &str| {
        let bytes = std::fs::read(fixtures::policy_wasm(wasm)).expect("wasm");
        gate_oci::digest::sha256(&bytes)
    };
    let pinned = lock
        .lines()
        .find_map(|l| l.trim().strip_prefix("reference: "))
        .expect("reference line")
        .to_owned();
    for (swap, why) in [
        (
            format!("{host}/policies/lenient@{other}"),
            "not in the module's repository",
        ),
        (
            format!("evil.example/{REPO}@{other}"),
            "not in the module's repository",
        ),
        (format!("{host}/{REPO}:1"), "not pinned to a digest"),
    ] {
        let tampered = lock.replace(&pinned, &swap).replace(
            &component("disallow-privileged"),
            &component("allowed-registries"),
        );
        std::fs::write(&lock_path, tampered).expect("tamper");
        let out = ws.run(
            &registry,
            &["check", "-b", &bundle_arg, &bad.display().to_string()],
        );
        let stderr = refused(&out);
        assert!(
            stderr.contains(&format!("oci://{host}/{REPO}:1"))
                && stderr.contains("bundle.lock.yaml")
                && stderr.contains(why),
            "{swap}: {stderr}"
        );
    }
}

#[test]
fn an_attestation_made_with_the_trusted_key_is_not_a_signature() {
    let Some((registry, ws, digest, key)) = setup(false) else {
        return;
    };
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    for predicate in [
        "https://spdx.dev/Document",
        "https://slsa.dev/provenance/v1",
    ] {
        attach_bundle(
            &registry,
            REPO,
            &digest,
            &sigstore_bundle(&key, &digest, predicate),
        );
    }
    let (_, good) = ws.pods();
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &digest,
        "not a signature",
    );
    // cosign's signature statement, by the same key: accepted, the policy runs.
    attach_bundle(
        &registry,
        REPO,
        &digest,
        &sigstore_bundle(&key, &digest, SIGN),
    );
    let (bad, _) = ws.pods();
    assert_ran_and_denied(&check(&ws, &registry, &bundle, &bad));
}

#[test]
fn audit_refuses_a_module_it_cannot_verify() {
    let Some((registry, ws, digest, key)) = setup(false) else {
        return;
    };
    ws.trust_policy(&serde_json::json!({"version": "1.0", "trustPolicies": [{
        "name": "audited", "registryScopes": ["*"],
        "signatureVerification": {"level": "audit"}, "trustStores": ["cosign:release"]}]}));
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    let (bad, good) = ws.pods();
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &digest,
        "no signature",
    );
    // Signed, but by a key the trust store does not hold.
    let (stranger, _) = ws.keypair("stranger");
    let resigned = push_policy(&ws, &registry, &format!("{REPO}:1"), Some(&stranger));
    assert_eq!(resigned, digest);
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &digest,
        "not signed by a trusted key",
    );
    // A keyless bundle (a format gate does not verify) beside it: still refused.
    let keyless = serde_json::json!({"mediaType": SIGSTORE_BUNDLE,
        "verificationMaterial": {"certificate": {"rawBytes": "MIIB"}},
        "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": "AAAA"}, "signature": "AAAA"}});
    attach_bundle(&registry, REPO, &digest, keyless.to_string().as_bytes());
    assert_refused(
        &check(&ws, &registry, &bundle, &good),
        &digest,
        "not verified",
    );
    // The trusted key signs too: audit accepts, the policy runs.
    attach_bundle(
        &registry,
        REPO,
        &digest,
        &sigstore_bundle(&key, &digest, SIGN),
    );
    assert_ran_and_denied(&check(&ws, &registry, &bundle, &bad));
}

#[test]
fn a_signature_blob_claiming_8_gib_is_never_read_and_does_not_block_a_valid_signature() {
    let Some((registry, ws, digest, _)) = setup(true) else {
        return;
    };
    let upstream = registry.addr();
    let huge = format!("sha256:{}", "f".repeat(64));
    let empty = gate_oci::digest::sha256(b"{}");
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": SIGSTORE_BUNDLE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": SIGSTORE_BUNDLE, "digest": huge, "size": 8u64 << 30}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 1},
    })
    .to_string();
    let manifest_digest = gate_oci::digest::sha256(manifest.as_bytes());
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                       "size": manifest.len(), "artifactType": SIGSTORE_BUNDLE}]});
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let (huge_path, manifest_path) = (
        format!("/v2/{REPO}/blobs/{huge}"),
        format!("/v2/{REPO}/manifests/{manifest_digest}"),
    );
    let referrers_path = format!("/v2/{REPO}/referrers/{digest}");
    let proxy = http::HttpServer::start(move |req| {
        let path = req.path();
        if path == referrers_path {
            return http::Reply::json(200, &index);
        }
        if path == manifest_path {
            return http::Reply::Respond {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                )],
                body: manifest.clone().into_bytes(),
            };
        }
        if path == huge_path {
            let counter = counter.clone();
            let zeros = std::iter::repeat_with(move || {
                counter.fetch_add(64 << 10, Ordering::SeqCst);
                vec![0u8; 64 << 10]
            });
            return http::Reply::Stream {
                status: 200,
                headers: vec![("Content-Length".into(), (8u64 << 30).to_string())],
                chunks: Box::new(zeros),
                pause: Duration::ZERO,
            };
        }
        http::Reply::Forward(upstream)
    });
    let host = proxy.addr.to_string();
    let bundle = ws.bundle(&format!("oci://{host}/{REPO}@{digest}"));
    assert_ran_and_denied(&check_through(&ws, &host, &bundle));
    assert_eq!(
        served.load(Ordering::SeqCst),
        0,
        "gate read a signature blob over the cap"
    );
}

#[test]
fn a_registry_that_trickles_a_signature_hits_the_pull_deadline() {
    let Some((registry, ws, digest, _)) = setup(true) else {
        return;
    };
    let upstream = registry.addr();
    // The policy's own blobs pass; every other blob (the signature's) trickles.
    let policy: serde_json::Value =
        serde_json::from_slice(&std::fs::read(registry.blob_file(&digest)).expect("manifest"))
            .expect("json");
    let own = [
        policy["config"]["digest"]
            .as_str()
            .expect("config")
            .to_owned(),
        policy["layers"][0]["digest"]
            .as_str()
            .expect("layer")
            .to_owned(),
    ];
    let proxy = http::HttpServer::start(move |req| {
        let trickle =
            req.path().contains("/blobs/") && !own.iter().any(|d| req.path().ends_with(d));
        if trickle {
            http::Reply::ForwardTrickled(upstream, Duration::from_secs(1))
        } else {
            http::Reply::Forward(upstream)
        }
    });
    let host = proxy.addr.to_string();
    let bundle = ws.bundle(&format!("oci://{host}/{REPO}@{digest}"));
    let (_, good) = ws.pods();
    let _ = std::fs::remove_dir_all(ws.store());
    let mut command = ws.gate(&[&host]);
    command
        .env("GATE_REGISTRY_DEADLINE_SECS", "4")
        .env("GATE_REGISTRY_TIMEOUT_SECS", "3");
    let start = Instant::now();
    let out = ws.run_cmd(
        &mut command,
        &[
            "check",
            "-b",
            &bundle.display().to_string(),
            &good.display().to_string(),
        ],
    );
    let elapsed = start.elapsed();
    assert_refused(&out, &digest, "deadline");
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
}

#[test]
fn a_malformed_signature_manifest_does_not_block_a_valid_signature() {
    let Some((registry, ws, digest, key)) = setup(false) else {
        return;
    };
    attach_bundle(
        &registry,
        REPO,
        &digest,
        &sigstore_bundle(&key, &digest, SIGN),
    );
    let upstream = registry.addr();
    let sig_tag = format!(
        "/v2/{REPO}/manifests/{}",
        gate_oci::digest::cosign_signature_tag(&digest)
    );
    let proxy = http::HttpServer::start(move |req| {
        if req.path() == sig_tag {
            return http::Reply::Respond {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                )],
                body: br#"{"schemaVersion":2,"layers":"not a list"}"#.to_vec(),
            };
        }
        http::Reply::Forward(upstream)
    });
    let host = proxy.addr.to_string();
    let bundle = ws.bundle(&format!("oci://{host}/{REPO}@{digest}"));
    assert_ran_and_denied(&check_through(&ws, &host, &bundle));
}

#[test]
fn bundle_lock_and_save_verify_when_a_trust_policy_applies_and_say_when_none_does() {
    let Some((registry, ws, digest, key)) = setup(false) else {
        return;
    };
    let bundle = ws.bundle(&format!("oci://{}/{REPO}:1", registry.host));
    let bundle_arg = bundle.display().to_string();
    let tar = ws.path("site.tar").display().to_string();

    // A trust policy applies and the module is unsigned: neither locks nor saves.
    let stderr = refused(&ws.run(&registry, &["bundle", "lock", &bundle_arg]));
    assert!(stderr.contains("no signature"), "{stderr}");
    assert!(!ws.path("bundle.lock.yaml").exists());
    std::fs::write(
        ws.path("bundle.lock.yaml"),
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: BundleLock\npolicies:\n- module: oci://{0}/{REPO}:1\n  reference: {0}/{REPO}@{digest}\n  component: sha256:{1}\n",
            registry.host,
            "0".repeat(64)
        ),
    )
    .expect("lock");
    let stderr = refused(&ws.run(&registry, &["bundle", "save", &bundle_arg, "-o", &tar]));
    assert!(stderr.contains("no signature"), "{stderr}");

    // No trust policy: both work, and both say loudly that nothing was verified.
    std::fs::remove_file(ws.path("trustpolicy.json")).expect("rm trust policy");
    std::fs::remove_file(ws.path("bundle.lock.yaml")).expect("rm lock");
    for args in [
        vec!["bundle", "lock", bundle_arg.as_str()],
        vec!["bundle", "save", bundle_arg.as_str(), "-o", tar.as_str()],
    ] {
        let out = ws.run(&registry, &args);
        ok(&out);
        let (_, _, stderr) = support::parts(&out);
        assert!(
            stderr.contains("no trust policy applies") && stderr.contains("NOT verified"),
            "{args:?}: {stderr}"
        );
    }

    // Signed and trusted: locked, and the verification is reported.
    push_policy(&ws, &registry, &format!("{REPO}:1"), Some(&key));
    ws.trust_stores(&["cosign:release"], &[]);
    let out = ws.run(&registry, &["bundle", "lock", &bundle_arg]);
    ok(&out);
    let (_, _, stderr) = support::parts(&out);
    assert!(
        stderr.contains("verified") && stderr.contains("cosign:release"),
        "{stderr}"
    );
    assert!(!stderr.contains("no trust policy"), "{stderr}");
}
