//! The author workflow, start to finish: `gate policy new` → `gate policy build`
//! → `gate policy test` → `gate policy push --sign`, then `gate check` runs the
//! published policy, verified.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oci_fixtures.rs"]
mod fixtures;
#[path = "support/oci_registry.rs"]
mod registry;
mod support;

use fixtures::{Workspace, field, ok};
use registry::{TestRegistry, tools_present};
use std::path::Path;
use std::time::Duration;

/// A copy of the policies workspace (its SDK, the tape crate and the WIT it
/// builds against) without the policies, so that `new` starts from nothing.
fn scratch_workspace(into: &Path) -> std::path::PathBuf {
    let root = support::root();
    let copy = |from: &str| {
        fixtures::sh(&format!(
            "mkdir -p {0} && cp -r {1}/{2} {0}/{2}",
            into.display(),
            root.display(),
            from
        ))
    };
    fixtures::sh(&format!(
        "mkdir -p {}/policies-wasm {}/host",
        into.display(),
        into.display()
    ));
    for item in [
        "policies-wasm/Cargo.toml",
        "policies-wasm/Cargo.lock",
        "policies-wasm/sdk",
        "host/tape",
        "wit",
    ] {
        copy(item);
    }
    std::fs::write(
        into.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"host/tape\"]\n\n[workspace.package]\nversion = \"0.1.0\"\nedition = \"2024\"\nrust-version = \"1.95\"\nlicense = \"Apache-2.0\"\n\n[workspace.lints.rust]\nunsafe_code = \"deny\"\n",
    )
    .expect("root manifest");
    into.join("policies-wasm")
}

#[test]
fn new_build_test_push_sign_then_check() {
    if !tools_present(&["docker-registry", "openssl", "cargo"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let policies = scratch_workspace(&ws.path("repo"));
    // Shared with gate's build script: the wasm dependencies are already built there.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../wasm");
    let gate = || {
        let mut command = ws.gate(&[&registry.host]);
        command.env("CARGO_TARGET_DIR", &target);
        command
    };
    let run = |args: &[&str], limit: u64| {
        support::run_with_timeout(gate().args(args), None, Duration::from_secs(limit))
    };

    let created = ok(&run(
        &[
            "policy",
            "new",
            "no-latest-tag",
            "--dir",
            &policies.display().to_string(),
        ],
        60,
    ));
    let dir = policies.join("no-latest-tag");
    assert!(created.contains("created"), "{created}");
    for file in ["Cargo.toml", "src/lib.rs", "cases/basic.yaml", "README.md"] {
        assert!(dir.join(file).is_file(), "{file} not scaffolded");
    }
    let again = run(
        &[
            "policy",
            "new",
            "no-latest-tag",
            "--dir",
            &policies.display().to_string(),
        ],
        60,
    );
    assert_eq!(
        support::parts(&again).0,
        2,
        "new must not overwrite a policy"
    );

    let built = ok(&run(&["policy", "build", &dir.display().to_string()], 900));
    let wasm = built.lines().last().expect("path").trim().to_owned();
    assert!(Path::new(&wasm).is_file(), "{built}");

    let tested = ok(&run(&["policy", "test", &dir.display().to_string()], 120));
    assert!(tested.contains("3 passed, 0 failed"), "{tested}");

    let (key, public) = ws.keypair("author");
    let reference = format!("{}/policies/no-latest-tag:0.1.0", registry.host);
    let pushed = ok(&run(
        &[
            "policy",
            "push",
            &dir.display().to_string(),
            &reference,
            "--sign",
            "--key",
            &key.display().to_string(),
            "--source-url",
            "https://example.com/policies",
        ],
        120,
    ));
    let digest = field(&pushed, "digest");
    assert!(pushed.contains("signed "), "{pushed}");

    let inspected = ok(&run(&["policy", "inspect", &reference], 60));
    let json: serde_json::Value = serde_json::from_str(&inspected).expect("inspect json");
    assert_eq!(json["digest"], digest.as_str());
    assert_eq!(json["policy"]["name"], "no-latest-tag");
    assert_eq!(
        json["annotations"]["org.opencontainers.image.licenses"],
        "Apache-2.0"
    );
    assert_eq!(
        json["annotations"]["org.opencontainers.image.source"],
        "https://example.com/policies"
    );
    assert_eq!(json["signatures"]["cosign"], 1);

    ws.trust_cosign_key("author", &public);
    ws.trust_stores(&["cosign:author"], &[]);
    let bundle = ws.bundle(&format!(
        "oci://{}/policies/no-latest-tag@{digest}",
        registry.host
    ));
    let latest = ws.path("latest.yaml");
    std::fs::write(&latest, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: apps}\nspec:\n  containers: [{name: c, image: nginx:latest}]\n").expect("pod");
    let (code, stdout, stderr) = support::parts(&run(
        &[
            "check",
            "-b",
            &bundle.display().to_string(),
            &latest.display().to_string(),
        ],
        120,
    ));
    assert_eq!(
        code, 1,
        "the published policy must deny :latest:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("no-latest-tag"), "{stdout}");
}
