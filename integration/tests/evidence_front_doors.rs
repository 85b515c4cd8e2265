//! Evaluation records from the Argo CD and Flux front doors: the same attester
//! as `gate check --attest`, the real binary, records checked by `gate evidence
//! verify` and by Python's `cryptography`. Keys are generated during the test.
//! (The Flux controller's records are tested in flux_controller.rs, with its
//! stand-in API server.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/flux_fixtures.rs"]
mod fx;
#[path = "support/records.rs"]
mod records;
#[path = "support/kube_standin.rs"]
mod standin;
mod support;

use records::{key_pair, statement, tampered, validate_predicate, verify, verify_with_python};
use serde_json::Value;
use sha2::{Digest, Sha256};
use standin::{Served, StandIn};
use std::path::{Path, PathBuf};
use std::time::Duration;

const REVISION: &str = "3f1c9a7e52d04b8c9e1f6a2b7c3d8e9f0a1b2c3d";

/// Keys and a plugin configuration whose `attest` section is `attest`.
struct Platform {
    dir: tempfile::TempDir,
    config: PathBuf,
    private: String,
    public_key: PathBuf,
}

impl Platform {
    fn new(attest: &str) -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = key_pair();
        std::fs::write(dir.path().join("key.pem"), &private).unwrap();
        let public_key = dir.path().join("key.pub");
        std::fs::write(&public_key, public).unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "apiVersion: gate.dev/v1alpha1\nkind: ArgoCDPluginConfig\nspec:\n  bundles:\n    default: builtin:default\n  default:\n    bundle: default\n{attest}"
            ),
        )
        .unwrap();
        Platform {
            dir,
            config,
            private,
            public_key,
        }
    }

    fn records(&self) -> PathBuf {
        self.dir.path().join("records")
    }

    /// The record of app `shop` at [`REVISION`].
    fn record(&self) -> PathBuf {
        self.records().join(format!("shop_{REVISION}.intoto.json"))
    }

    /// An app directory holding `manifest`.
    fn app(&self, name: &str, manifest: &str) -> PathBuf {
        let app = self.dir.path().join(name);
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("app.yaml"), manifest).unwrap();
        std::fs::write(app.join("README.md"), "# not a manifest, still an input\n").unwrap();
        app
    }

    /// `gate argocd generate SOURCE` as the sidecar runs it for app `shop`.
    fn generate(&self, source: &Path, stdin: Option<&[u8]>) -> (i32, String, String) {
        let mut command = support::gate();
        command
            .args(["argocd", "generate"])
            .arg(source)
            .arg("--config")
            .arg(&self.config)
            .arg("--report-dir")
            .arg(self.dir.path().join("reports"))
            .env("ARGOCD_APP_NAME", "shop")
            .env("ARGOCD_APP_NAMESPACE", "shop")
            .env("ARGOCD_APP_PROJECT_NAME", "default")
            .env("ARGOCD_APP_REVISION", REVISION)
            .env("GATE_TEST_ATTEST_KEY", &self.private)
            .env_remove("GATE_ATTEST_KEY");
        let output = support::run_with_timeout(&mut command, stdin, Duration::from_secs(120));
        support::parts(&output)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 of subject `name`, in hex.
fn subject_sha256<'a>(statement: &'a Value, name: &str) -> &'a str {
    subject(statement, name)["digest"]["sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("subject {name} has no sha256: {statement}"))
}

fn subject<'a>(statement: &'a Value, name: &str) -> &'a Value {
    statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no subject {name}: {statement}"))
}

fn verdicts(statement: &Value, verdict: &str) -> Vec<Value> {
    statement["predicate"]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["verdict"] == verdict)
        .cloned()
        .collect()
}

const SIGNED: &str = "  attest:\n    directory: records\n    keyEnv: GATE_TEST_ATTEST_KEY\n";

#[test]
fn argocd_signs_a_record_of_an_allowed_render() {
    let platform = Platform::new(SIGNED);
    let app = platform.app("app", fx::ALLOWED);
    let (code, stdout, stderr) = platform.generate(&app, None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"kind\":\"Deployment\""), "{stdout}");

    let record = platform.record();
    let statement = statement(&record);
    let run = &statement["predicate"]["run"];
    assert_eq!(run["frontDoor"], "argocd");
    assert_eq!(run["revision"], REVISION);
    assert_eq!(run["metadata"]["argocd.bundle"], "default");
    assert_eq!(statement["predicate"]["decision"], "allow");
    // The render subject is exactly what Argo CD received on stdout; the files
    // are every file of the app directory, the README included.
    assert_eq!(
        subject_sha256(&statement, "<render>"),
        sha256_hex(stdout.as_bytes())
    );
    assert_eq!(
        subject_sha256(&statement, "app.yaml"),
        sha256_hex(fx::ALLOWED.as_bytes())
    );
    subject(&statement, "README.md");
    assert_eq!(statement["subject"].as_array().unwrap().len(), 3);
    validate_predicate(&statement["predicate"]);

    let (code, out, err) = verify(&record, &platform.public_key, &[&app]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("signature verified"), "{out}");
    assert!(out.contains("2 file(s) unchanged"), "{out}");
    verify_with_python(&record, &platform.public_key);

    // A record of a render names the app directory's files: a single file is
    // not what it is about (exit 2, not a silent mismatch).
    let (code, _, err) = verify(&record, &platform.public_key, &[&app.join("app.yaml")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("give that directory"), "{err}");

    // The app changed since: named.
    std::fs::write(app.join("app.yaml"), fx::DENIED).unwrap();
    let (code, out, _) = verify(&record, &platform.public_key, &[&app]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed: app.yaml"), "{out}");

    // A record turned from deny to allow, or with a subject swapped, fails.
    let forged = tampered(&record, platform.dir.path(), |s| {
        s["predicate"]["run"]["revision"] = "0000000".into();
    });
    let (code, out, _) = verify(&forged, &platform.public_key, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT VERIFIED"), "{out}");
}

/// A kustomization: the render is kustomize's output, the files are what it
/// was built from (the kustomization included), and both are in the record.
#[test]
fn argocd_records_a_kustomized_app_and_its_sources() {
    let platform = Platform::new(SIGNED);
    let app = platform.app("kustomized", fx::ALLOWED);
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources: [app.yaml]\n";
    std::fs::write(app.join("kustomization.yaml"), kustomization).unwrap();
    let (code, stdout, stderr) = platform.generate(&app, None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"namespace\":\"shop\""), "{stdout}");
    let record = platform.record();
    let statement = statement(&record);
    assert_eq!(
        subject_sha256(&statement, "<render>"),
        sha256_hex(stdout.as_bytes())
    );
    assert_eq!(
        subject_sha256(&statement, "kustomization.yaml"),
        sha256_hex(kustomization.as_bytes())
    );
    let (code, out, err) = verify(&record, &platform.public_key, &[&app]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 file(s) unchanged"), "{out}");
    assert!(out.contains("not compared: <render>"), "{out}");
    // A changed base is caught although the render is not at hand.
    std::fs::write(
        app.join("kustomization.yaml"),
        kustomization.replace("shop", "other"),
    )
    .unwrap();
    let (code, out, _) = verify(&record, &platform.public_key, &[&app]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed: kustomization.yaml"), "{out}");
}

#[test]
fn argocd_signs_a_record_of_a_denied_render_with_its_verdicts() {
    let platform = Platform::new(SIGNED);
    let app = platform.app("app", fx::DENIED);
    let (code, stdout, stderr) = platform.generate(&app, None);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "", "a denied render prints nothing");
    let record = platform.record();
    let statement = statement(&record);
    assert_eq!(statement["predicate"]["decision"], "deny");
    validate_predicate(&statement["predicate"]);
    let denied = verdicts(&statement, "deny");
    assert!(
        denied
            .iter()
            .any(|v| v["policy"] == "disallow-privileged" && v["object"]["name"] == "web"),
        "{denied:?}"
    );
    let (code, out, err) = verify(&record, &platform.public_key, &[&app]);
    assert_eq!(code, 0, "{out}{err}");
    verify_with_python(&record, &platform.public_key);

    // Tampered: the deny made an allow.
    let forged = tampered(&record, platform.dir.path(), |s| {
        s["predicate"]["decision"] = "allow".into();
    });
    assert_eq!(verify(&forged, &platform.public_key, &[]).0, 1);
}

#[test]
fn argocd_records_a_render_read_from_stdin() {
    let platform = Platform::new(SIGNED);
    let (code, stdout, stderr) = platform.generate(Path::new("-"), Some(fx::ALLOWED.as_bytes()));
    assert_eq!(code, 0, "{stderr}");
    let record = platform.record();
    let statement = statement(&record);
    assert_eq!(
        subject_sha256(&statement, "<render>"),
        sha256_hex(stdout.as_bytes())
    );
    assert_eq!(
        subject_sha256(&statement, "<stdin>"),
        sha256_hex(fx::ALLOWED.as_bytes())
    );
    assert_eq!(verify(&record, &platform.public_key, &[]).0, 0);
}

#[test]
fn argocd_fails_closed_when_the_record_cannot_be_written() {
    // The records directory is a file: no record can be written there.
    let platform = Platform::new(SIGNED);
    std::fs::write(platform.records(), "not a directory").unwrap();
    let app = platform.app("app", fx::ALLOWED);
    let (code, stdout, stderr) = platform.generate(&app, None);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stdout, "",
        "an allowed render without its record is not handed on"
    );
    assert!(stderr.contains("evaluation record"), "{stderr}");
    assert!(stderr.contains("records"), "{stderr}");

    // A key variable that is not set, or not a key: the same, before any policy runs.
    let unset =
        Platform::new("  attest:\n    directory: records\n    keyEnv: GATE_TEST_NO_SUCH_KEY\n");
    let app = unset.app("app", fx::ALLOWED);
    let (code, stdout, stderr) = unset.generate(&app, None);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.contains("GATE_TEST_NO_SUCH_KEY"), "{stderr}");
    let garbage = Platform::new("  attest:\n    directory: records\n    key: README.md\n");
    std::fs::write(garbage.dir.path().join("README.md"), "hello").unwrap();
    let app = garbage.app("app", fx::ALLOWED);
    let (code, stdout, stderr) = garbage.generate(&app, None);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.contains("README.md"), "{stderr}");

    // Unsigned only when configured so: then the record is written, and
    // `gate evidence verify` refuses it.
    let unsigned = Platform::new("  attest:\n    directory: records\n    unsigned: true\n");
    let app = unsigned.app("app", fx::ALLOWED);
    let (code, _, stderr) = unsigned.generate(&app, None);
    assert_eq!(code, 0, "{stderr}");
    let record = unsigned.record();
    let (code, out, _) = verify(&record, &unsigned.public_key, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unsigned"), "{out}");
}

/// `gate flux check --attest` on an artifact served over HTTP.
fn flux_check(server: &StandIn, bytes: &[u8], record: &Path, key: &str) -> (i32, String, String) {
    let url = server.serve_file("app.tar.gz", Served::Whole(bytes.to_vec()));
    let digest = fx::digest(bytes);
    let mut command = support::gate();
    command
        .args(["flux", "check", "--artifact-url", &url, "--digest", &digest])
        .args([
            "--path",
            "deploy",
            "--revision",
            &format!("main@sha1:{REVISION}"),
        ])
        .arg("--attest")
        .arg(record)
        .env("GATE_ATTEST_KEY", key);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
    support::parts(&output)
}

#[test]
fn flux_check_signs_a_record_of_the_source_revision() {
    let platform = Platform::new("");
    let server = StandIn::start();
    let record = platform.dir.path().join("record.json");
    let artifact = fx::app(fx::ALLOWED);
    let (code, out, err) = flux_check(&server, &artifact, &record, &platform.private);
    assert_eq!(code, 0, "{out}{err}");
    let statement = statement(&record);
    let run = &statement["predicate"]["run"];
    assert_eq!(run["frontDoor"], "flux");
    assert_eq!(run["revision"], format!("main@sha1:{REVISION}"));
    assert_eq!(
        format!("sha256:{}", subject_sha256(&statement, "<source-artifact>")),
        fx::digest(&artifact)
    );
    assert_eq!(
        subject_sha256(&statement, "app.yaml"),
        sha256_hex(fx::ALLOWED.as_bytes())
    );
    validate_predicate(&statement["predicate"]);
    let (code, out, err) = verify(&record, &platform.public_key, &[]);
    assert_eq!(code, 0, "{out}{err}");
    verify_with_python(&record, &platform.public_key);

    let denied = platform.dir.path().join("denied.json");
    let (code, out, err) = flux_check(&server, &fx::app(fx::DENIED), &denied, &platform.private);
    assert_eq!(code, 1, "{out}{err}");
    let statement = self::statement(&denied);
    assert_eq!(statement["predicate"]["decision"], "deny");
    assert!(!verdicts(&statement, "deny").is_empty());
    assert_eq!(verify(&denied, &platform.public_key, &[]).0, 0);
    let forged = tampered(&denied, platform.dir.path(), |s| {
        s["predicate"]["verdicts"] = Value::Array(Vec::new());
    });
    assert_eq!(verify(&forged, &platform.public_key, &[]).0, 1);
}
