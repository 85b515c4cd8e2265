//! `gate flux check` as a CI job runs it: real tar.gz artifacts served over HTTP
//! on 127.0.0.1, good and hostile. Exit 0 allowed, 1 denied, 2 when the artifact
//! cannot be trusted (digest mismatch, unsafe or oversized archive).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/flux_fixtures.rs"]
mod fx;
#[path = "support/kube_standin.rs"]
mod standin;
mod support;

use fx::Delivery;
use serde_json::json;
use standin::{GIT_REPOSITORIES, Served, StandIn};
use std::time::Duration;

fn check(args: &[&str]) -> (i32, String, String) {
    let output = support::run_with_timeout(
        support::gate().args(["flux", "check"]).args(args),
        None,
        Duration::from_secs(120),
    );
    support::parts(&output)
}

/// Serves `bytes` and runs `gate flux check` on them with their digest, the path and `extra` flags.
fn check_served(
    server: &StandIn,
    name: &str,
    bytes: &[u8],
    path: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let url = server.serve_file(name, Served::Whole(bytes.to_vec()));
    let digest = fx::digest(bytes);
    let mut args = vec!["--artifact-url", &url, "--digest", &digest, "--path", path];
    args.extend(extra);
    check(&args)
}

#[test]
fn an_approved_artifact_exits_0_and_a_denied_one_exits_1() {
    let server = StandIn::start();
    let (code, out, err) = check_served(
        &server,
        "good.tar.gz",
        &fx::app(fx::ALLOWED),
        "./deploy",
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ALLOW: 1 objects"), "{out}");

    let (code, out, err) = check_served(&server, "bad.tar.gz", &fx::app(fx::DENIED), "deploy", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("disallow-privileged"), "{out}");
    // Paths are shown relative to the artifact, not the temporary directory.
    assert!(out.contains("deploy/app.yaml:1"), "{out}");
}

#[test]
fn every_hostile_artifact_exits_2_and_names_the_problem() {
    let server = StandIn::start();
    for (name, delivery, expected) in fx::hostile() {
        let (url, digest) = match delivery {
            Delivery::Honest(bytes) => {
                let d = fx::digest(&bytes);
                (server.serve_file(name, Served::Whole(bytes)), d)
            }
            Delivery::WrongDigest(bytes) => (
                server.serve_file(name, Served::Whole(bytes)),
                fx::digest(b"something else"),
            ),
            Delivery::Broken(bytes) => {
                let d = fx::digest(&bytes);
                (server.serve_file(name, Served::Broken(bytes)), d)
            }
        };
        let mut args = vec![
            "--artifact-url",
            &url,
            "--digest",
            &digest,
            "--path",
            "deploy",
        ];
        args.extend(fx::LIMIT_FLAGS);
        let (code, out, err) = check(&args);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(
            err.contains(expected),
            "{name}: expected {expected:?} in:\n{err}"
        );
        assert!(!out.contains("ALLOW"), "{name}: {out}");
    }
}

#[test]
fn a_digest_gate_cannot_verify_is_refused_before_download() {
    let server = StandIn::start();
    let good = fx::app(fx::ALLOWED);
    let url = server.serve_file("good.tar.gz", Served::Whole(good.clone()));
    let sha512 = format!("sha512:{}", "0".repeat(128));
    let (code, _out, err) = check(&[
        "--artifact-url",
        &url,
        "--digest",
        &sha512,
        "--path",
        "deploy",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("sha256"), "{err}");
    assert!(
        !server.requests().iter().any(|r| r.contains("/artifacts/")),
        "the artifact was downloaded although its digest could not be checked"
    );
}

#[test]
fn the_judged_render_is_the_same_every_time() {
    let server = StandIn::start();
    let good = fx::app(fx::ALLOWED);
    let dir = tempfile::tempdir().unwrap();
    let mut renders = Vec::new();
    for run in 0..2 {
        let out = dir.path().join(format!("render-{run}.yaml"));
        let (code, stdout, err) = check_served(
            &server,
            "good.tar.gz",
            &good,
            "deploy",
            &["--render-output", out.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{stdout}{err}");
        renders.push(std::fs::read_to_string(out).unwrap());
    }
    assert_eq!(renders[0], renders[1]);
    // One JSON document per object, after `---`, and it is the object judged.
    let docs: Vec<&str> = renders[0]
        .split("---\n")
        .filter(|d| !d.is_empty())
        .collect();
    assert_eq!(docs.len(), 1, "{}", renders[0]);
    let object: serde_json::Value = serde_json::from_str(docs[0]).unwrap();
    assert_eq!(object["kind"], "Deployment");
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["image"],
        "contoso.azurecr.io/web:1.0"
    );
}

#[test]
fn a_source_is_read_through_the_api() {
    let server = StandIn::start();
    let good = fx::app(fx::ALLOWED);
    let url = server.serve_file("repo.tar.gz", Served::Whole(good.clone()));
    server.put(
        GIT_REPOSITORIES,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {"url": "https://example.com/shop.git", "interval": "1m"},
            "status": {"artifact": {
                "path": "gitrepository/shop/shop/abc.tar.gz", "url": url,
                "revision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
                "digest": fx::digest(&good), "lastUpdateTime": "2025-01-01T00:00:00Z", "size": good.len()
            }}
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path());
    let check_source = |extra: &[&str]| {
        let mut command = support::gate();
        command
            .env("KUBECONFIG", &kubeconfig)
            .args([
                "flux",
                "check",
                "--source",
                "gitrepository/shop",
                "-n",
                "shop",
            ])
            .args(extra);
        support::parts(&support::run_with_timeout(
            &mut command,
            None,
            Duration::from_secs(120),
        ))
    };
    let (code, out, err) = check_source(&["--path", "deploy", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["context"]["frontDoor"], "flux");
    assert_eq!(
        report["context"]["revision"],
        "main@sha1:0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(report["context"]["defaultNamespace"], "shop");
    assert!(
        report["bundleDigest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // A source without an artifact yet is an error, not an allow.
    server.set_status(GIT_REPOSITORIES, "shop", "shop", json!({"conditions": []}));
    let (code, _out, err) = check_source(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has no artifact yet"), "{err}");
}

/// True when a kustomize renderer is on PATH; in CI its absence fails the test.
fn has_kustomize() -> bool {
    let found = ["kustomize", "kubectl"].iter().any(|p| {
        std::process::Command::new(p)
            .arg("version")
            .arg("--client")
            .output()
            .is_ok()
    });
    assert!(
        found || std::env::var_os("CI").is_none(),
        "CI needs kubectl or kustomize on PATH"
    );
    found
}

#[test]
fn a_kustomization_is_judged_as_rendered_and_the_render_is_what_is_published() {
    if !has_kustomize() {
        eprintln!("skipped: neither kustomize nor kubectl is on PATH");
        return;
    }
    let server = StandIn::start();
    let artifact = fx::targz(&[
        fx::file(
            "deploy/kustomization.yaml",
            "namespace: shop\nresources: [app.yaml, config.yaml]\ncommonLabels: {team: shop}\n",
        ),
        // Strings a YAML 1.1 reader would retype if they were written bare.
        fx::file(
            "deploy/config.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {mode: '0755', enabled: 'yes', n: '1e3', t: '12:30'}\n",
        ),
        fx::file("deploy/app.yaml", fx::ALLOWED),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("render.yaml");
    let (code, stdout, err) = check_served(
        &server,
        "k.tar.gz",
        &artifact,
        "deploy",
        &["--render-output", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}{err}");
    let render = std::fs::read_to_string(out).unwrap();
    let objects: Vec<serde_json::Value> = render
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let object = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    // The kustomization's transformations are in what was judged and published.
    assert_eq!(object["metadata"]["namespace"], "shop");
    assert_eq!(object["metadata"]["labels"]["team"], "shop");
    assert!(!stdout.contains("/tmp"), "{stdout}");

    // kustomize-controller builds the published artifact once more, from a generated
    // kustomization listing its files: kustomize reads the stream as gate wrote it.
    let applied = tempfile::tempdir().unwrap();
    std::fs::write(applied.path().join("manifests.yaml"), &render).unwrap();
    std::fs::write(
        applied.path().join("kustomization.yaml"),
        "resources: [manifests.yaml]\n",
    )
    .unwrap();
    let kustomize = ["kustomize", "kubectl"]
        .iter()
        .find_map(|p| {
            let mut command = std::process::Command::new(p);
            command
                .arg(if *p == "kubectl" {
                    "kustomize"
                } else {
                    "build"
                })
                .arg(applied.path());
            command.output().ok().filter(|o| o.status.success())
        })
        .expect("kustomize build of the published render");
    let mut rebuilt: Vec<serde_json::Value> =
        serde_yaml_ng::Deserializer::from_slice(&kustomize.stdout)
            .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
            .collect();
    let mut expected = objects.clone();
    let key = |o: &serde_json::Value| o["kind"].to_string();
    rebuilt.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(rebuilt, expected);
    let config = expected.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(
        config["data"],
        json!({"mode": "0755", "enabled": "yes", "n": "1e3", "t": "12:30"})
    );
}
