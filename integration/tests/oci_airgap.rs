//! Locking and the air gap: `bundle lock` pins tags; `bundle save` → wipe the
//! store → `bundle load` → `check --offline`, with signatures verified from the
//! store; pinned digests keep working when the registry is down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oci_fixtures.rs"]
mod fixtures;
#[path = "support/oci_registry.rs"]
mod registry;
mod support;

use fixtures::{Workspace, field, ok, push_trusted_policy, refused};
use registry::{TestRegistry, tools_present};

const REPO: &str = "policies/disallow-privileged";

#[test]
fn lock_save_wipe_load_and_check_offline() {
    if !tools_present(&["docker-registry", "openssl"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let host = registry.host.clone();
    let ws = Workspace::new();
    let digest = push_trusted_policy(&ws, &registry, &format!("{REPO}:1.0"));
    let bundle = ws.bundle(&format!("oci://{host}/{REPO}:1.0"));
    let bundle_arg = bundle.display().to_string();
    let (bad, good) = ws.pods();
    let (bad, good) = (bad.display().to_string(), good.display().to_string());

    // A tag is not a pin: refused until locked.
    let stderr = refused(&ws.run(&registry, &["check", "-b", &bundle_arg, &good]));
    assert!(
        stderr.contains("not pinned") && stderr.contains("gate bundle lock"),
        "{stderr}"
    );
    let locked = ok(&ws.run(&registry, &["bundle", "lock", &bundle_arg]));
    assert!(locked.contains(&digest), "{locked}");
    let lock = std::fs::read_to_string(ws.path("bundle.lock.yaml")).expect("lock file");
    assert!(lock.contains(&format!("{host}/{REPO}@{digest}")), "{lock}");

    // Moving the tag does not move the locked bundle.
    let other = fixtures::policy_wasm("allowed-registries")
        .display()
        .to_string();
    let moved = field(
        &ok(&ws.run(
            &registry,
            &["policy", "push", &other, &format!("{host}/{REPO}:1.0")],
        )),
        "digest",
    );
    assert_ne!(moved, digest);
    let (code, stdout, stderr) =
        support::parts(&ws.run(&registry, &["check", "-b", &bundle_arg, &bad]));
    assert_eq!(
        code, 1,
        "the locked policy must run and deny:\n{stdout}\n{stderr}"
    );

    let tarball = ws.path("airgap.tar");
    let saved = ok(&ws.run(
        &registry,
        &[
            "bundle",
            "save",
            &bundle_arg,
            "-o",
            &tarball.display().to_string(),
        ],
    ));
    assert!(saved.contains("wrote"), "{saved}");

    // The air gap: no registry, an empty store.
    drop(registry);
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let offline = |args: &[&str]| ws.run_cmd(&mut ws.gate(&[&host]), args);
    let stderr = refused(&offline(&["check", "--offline", "-b", &bundle_arg, &good]));
    assert!(stderr.contains("not in the local store"), "{stderr}");
    let loaded = ok(&offline(&[
        "bundle",
        "load",
        &tarball.display().to_string(),
    ]));
    assert!(
        loaded.contains(&format!("loaded {host}/{REPO}@{digest}")),
        "{loaded}"
    );
    assert!(
        loaded.contains(".sig"),
        "the signature must travel with the module: {loaded}"
    );
    let (code, stdout, stderr) =
        support::parts(&offline(&["check", "--offline", "-b", &bundle_arg, &bad]));
    assert_eq!(
        code, 1,
        "offline, the verified policy must run and deny:\n{stdout}\n{stderr}"
    );
    ok(&offline(&["check", "--offline", "-b", &bundle_arg, &good]));

    // Online with the registry down: pinned digests come from the store.
    let (code, stdout, stderr) = support::parts(&offline(&["check", "-b", &bundle_arg, &bad]));
    assert_eq!(
        code, 1,
        "registry down, the stored policy must still run:\n{stdout}\n{stderr}"
    );
    assert!(
        format!("{stdout}{stderr}").contains("registry unreachable"),
        "{stdout}\n{stderr}"
    );

    // Without the trust anchor, even the stored signature does not pass.
    std::fs::remove_dir_all(ws.path("truststore/cosign/release")).expect("remove key");
    let stderr = refused(&offline(&["check", "--offline", "-b", &bundle_arg, &good]));
    assert!(stderr.contains("is unknown"), "{stderr}");
}

#[test]
fn an_altered_tarball_is_refused_at_load() {
    if !tools_present(&["docker-registry", "openssl"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_trusted_policy(&ws, &registry, &format!("{REPO}:1"));
    let bundle = ws.bundle(&format!("oci://{}/{REPO}@{digest}", registry.host));
    let tarball = ws.path("airgap.tar");
    ok(&ws.run(
        &registry,
        &[
            "bundle",
            "save",
            &bundle.display().to_string(),
            "-o",
            &tarball.display().to_string(),
        ],
    ));
    let mut bytes = std::fs::read(&tarball).expect("tar");
    let wasm = std::fs::read(fixtures::policy_wasm("disallow-privileged")).expect("wasm");
    let at = bytes
        .windows(64)
        .position(|w| w == &wasm[wasm.len() - 64..])
        .expect("component in tarball");
    bytes[at] ^= 0x01;
    std::fs::write(&tarball, bytes).expect("tamper");
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let stderr = refused(&ws.run(
        &registry,
        &["bundle", "load", &tarball.display().to_string()],
    ));
    assert!(stderr.contains("altered"), "{stderr}");
}

#[test]
fn an_unreachable_registry_is_an_error_naming_the_reference_and_the_cause() {
    // A port that nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let reference = format!("127.0.0.1:{port}/{REPO}@sha256:{}", "0".repeat(64));
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.yaml");
    std::fs::write(
        &bundle,
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: down}}\nspec:\n  \
             policies:\n    - module: oci://{reference}\n  trust:\n    version: \"1.0\"\n    \
             trustPolicies:\n      - name: all\n        registryScopes: [\"*\"]\n        \
             signatureVerification: {{level: skip}}\n"
        ),
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let output = support::run(&[
        "check",
        "integration/example-repo",
        "-b",
        &bundle.display().to_string(),
        "--cache-dir",
        &cache.display().to_string(),
    ]);
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(
        code, 2,
        "an unreachable registry fails closed\n{stdout}\n{stderr}"
    );
    for expected in [reference.as_str(), "Connection refused", "gave up after"] {
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in the error:\n{stderr}"
        );
    }
    assert!(
        !stdout.contains("DENY") && !stdout.contains("ALLOW"),
        "no verdict without the policy:\n{stdout}"
    );
}
