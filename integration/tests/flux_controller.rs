//! `gate flux serve` as a cluster runs it, against a stand-in kube-apiserver (no
//! API server can run here; see support/kube_standin.rs) and real tar.gz source
//! artifacts served over HTTP on 127.0.0.1. What gets published is decided by
//! the controller under test: the stand-in only stores what it is sent.
//!
//! The published artifact is downloaded from the controller's own artifact
//! server as kustomize-controller downloads it: sha256 of the bytes against
//! `status.artifact.digest`, then gunzip and untar.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/flux_fixtures.rs"]
mod fx;
#[path = "support/records.rs"]
mod records;
#[path = "support/kube_standin.rs"]
mod standin;
mod support;

use fx::Delivery;
use serde_json::{Value, json};
use standin::{EVENTS, EXTERNAL_ARTIFACTS, GATES, GIT_REPOSITORIES, Served, StandIn};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const NS: &str = "shop";
const WAIT: Duration = Duration::from_secs(120);

const CONFIG: &str = "
bundles:
  default: builtin:default
  restricted: builtin:aks-restricted
namespaces:
  - match: [shop]
    allowed: [default]
    default: default
";

struct Harness {
    api: StandIn,
    dir: tempfile::TempDir,
    storage: PathBuf,
    controller: Child,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.controller.kill();
        let _ = self.controller.wait();
        if std::thread::panicking() {
            eprintln!("controller log:\n{}", self.log());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A stand-in API holding a Gate `shop/shop` on GitRepository `shop/shop`, and the controller.
fn start(gate_spec: Value) -> Harness {
    start_with(gate_spec, Vec::new())
}

/// [`start`], with more objects in the API before the controller starts.
fn start_with(gate_spec: Value, objects: Vec<(&str, Value)>) -> Harness {
    launch(gate_spec, objects, None)
}

/// [`start`], signing an evaluation record of every judgement with this key (PEM).
fn start_signed(gate_spec: Value, key: &str) -> Harness {
    launch(gate_spec, Vec::new(), Some(key))
}

fn launch(gate_spec: Value, objects: Vec<(&str, Value)>, attest_key: Option<&str>) -> Harness {
    let api = StandIn::start();
    for (resource, object) in objects {
        api.put(resource, object);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let storage = dir.path().join("storage");
    api.put(
        GATES,
        json!({"apiVersion": "gate.dev/v1alpha1", "kind": "Gate",
               "metadata": {"name": "shop", "namespace": NS}, "spec": gate_spec}),
    );
    api.put(
        GIT_REPOSITORIES,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "shop", "namespace": NS},
               "spec": {"url": "https://example.com/shop.git", "interval": "1m"}}),
    );
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("controller.log")).unwrap();
    let mut command = support::gate();
    match attest_key {
        Some(key) => command.env("GATE_ATTEST_KEY", key),
        None => command.env_remove("GATE_ATTEST_KEY"),
    };
    let controller = command
        .env("KUBECONFIG", api.kubeconfig(dir.path()))
        .env("GATE_LOG", "info")
        .args(["flux", "serve", "--config"])
        .arg(&config)
        .arg("--storage-path")
        .arg(&storage)
        .arg("--work-dir")
        .arg(dir.path())
        .args(["--storage-addr", &format!("127.0.0.1:{port}")])
        .args(["--storage-adv-addr", &format!("http://127.0.0.1:{port}")])
        .args([
            "--artifact-retention-records",
            "2",
            "--interval",
            "3600",
            "--retry-interval",
            "1",
        ])
        .args(fx::LIMIT_FLAGS)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Harness {
        api,
        dir,
        storage,
        controller,
    }
}

/// Commits of the sequence test (the README shows them).
const COMMIT_A: &str = "3f1c9a7e52d04b8c9e1f6a2b7c3d8e9f0a1b2c3d";
const COMMIT_B: &str = "8e2d4f6a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e";
const COMMIT_C: &str = "c41a7b29e6d35f8a0b1c2d3e4f5a6b7c8d9e0f1a";

/// Flux's CLI shortens every hex string of 40 to 128 characters to its first 8.
fn truncate_hex(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if (40..=128).contains(&run.len()) {
            out.push_str(&run[..8]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase() {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `flux get sources all` and `kubectl describe` of the ExternalArtifact, abridged,
/// from what the controller wrote (the messages are verbatim).
fn user_view(ea: &Value, events: &[Value]) -> String {
    let ready = ready(ea);
    let artifact = &ea["status"]["artifact"];
    let revision = artifact["revision"].as_str().unwrap();
    let mut out = String::from("```console\n$ flux get sources all -n shop\n");
    let row = [
        "externalartifact/shop".to_owned(),
        truncate_hex(revision),
        "Gate/shop/shop".to_owned(),
        ready["status"].as_str().unwrap().to_owned(),
        truncate_hex(ready["message"].as_str().unwrap()),
    ];
    let header = ["NAME", "REVISION", "SOURCE", "READY", "MESSAGE"];
    let widths: Vec<usize> = header
        .iter()
        .zip(&row)
        .map(|(h, r)| h.len().max(r.len()))
        .collect();
    for cells in [header.map(str::to_owned).to_vec(), row.to_vec()] {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i + 1 == cells.len() {
                    c.clone()
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str("\n$ kubectl describe externalartifact shop -n shop\n...\nSpec:\n  Source Ref:\n    API Version:  gate.dev/v1alpha1\n    Kind:         Gate\n    Name:         shop\n    Namespace:    shop\nStatus:\n  Artifact:\n");
    let digest = artifact["digest"].as_str().unwrap();
    let redacted = |text: &str| text.replace(&digest[7..], "<sha256>");
    out.push_str(&format!(
        "    Digest:    sha256:<sha256>\n    Path:      {}\n",
        redacted(artifact["path"].as_str().unwrap())
    ));
    out.push_str(&format!("    Revision:  {revision}\n"));
    out.push_str("    URL:       http://gate-flux.flux-system.svc.cluster.local./gate/shop/shop/<sha256>.tar.gz\n");
    out.push_str(&format!(
        "  Conditions:\n    Message:  {}\n    Reason:   {}\n    Status:   {}\n    Type:     Ready\nEvents:\n  Type     Reason        From       Message\n  ----     ------        ----       -------\n",
        ready["message"].as_str().unwrap(),
        ready["reason"].as_str().unwrap(),
        ready["status"].as_str().unwrap(),
    ));
    let mut about: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["regarding"]["kind"] == "ExternalArtifact" && e["regarding"]["name"] == "shop"
        })
        .collect();
    about.sort_by_key(|e| e["eventTime"].as_str().unwrap_or_default().to_owned());
    for event in about {
        out.push_str(&format!(
            "  {:<8} {:<13} {:<10} {}\n",
            event["type"].as_str().unwrap(),
            event["reason"].as_str().unwrap(),
            event["reportingController"].as_str().unwrap(),
            event["note"].as_str().unwrap()
        ));
    }
    out.push_str("```");
    out
}

fn default_spec() -> Value {
    json!({"sourceRef": {"kind": "GitRepository", "name": "shop"}, "path": "./deploy"})
}

impl Harness {
    /// A new source revision, as source-controller would publish it.
    fn publish(&self, commit: &str, delivery: Delivery) -> String {
        let revision = format!("main@sha1:{}", commit.repeat(40 / commit.len()));
        let name = format!("{commit}.tar.gz");
        let (bytes, digest, served) = match delivery {
            Delivery::Honest(b) => (b.clone(), fx::digest(&b), Served::Whole(b)),
            Delivery::WrongDigest(b) => {
                (b.clone(), fx::digest(b"not these bytes"), Served::Whole(b))
            }
            Delivery::Broken(b) => (b.clone(), fx::digest(&b), Served::Broken(b)),
        };
        let url = self.api.serve_file(&name, served);
        self.api.set_status(
            GIT_REPOSITORIES,
            NS,
            "shop",
            json!({"artifact": {
                "path": format!("gitrepository/{NS}/shop/{name}"), "url": url, "revision": revision,
                "digest": digest, "lastUpdateTime": "2025-01-01T00:00:00Z", "size": bytes.len()
            }}),
        );
        revision
    }

    /// Waits until the Gate has judged `revision`; returns the Gate and its ExternalArtifact.
    fn judged(&self, revision: &str, reason: &str) -> (Value, Value) {
        let gate = self.api.wait_for(
            &format!("{revision} to be judged ({reason})"),
            WAIT,
            |api| {
                let gate = api.get(GATES, NS, "shop")?;
                let status = &gate["status"];
                (status["lastAttemptedRevision"] == revision && ready(&gate)["reason"] == reason)
                    .then_some(gate)
            },
        );
        let ea = self
            .api
            .get(EXTERNAL_ARTIFACTS, NS, "shop")
            .expect("ExternalArtifact");
        (gate, ea)
    }

    /// The artifact the ExternalArtifact points at, downloaded and checked as
    /// kustomize-controller does; returns (digest, manifests.yaml).
    fn served(&self, ea: &Value) -> (String, String) {
        let artifact = &ea["status"]["artifact"];
        let (code, bytes) = http_get(artifact["url"].as_str().unwrap());
        assert_eq!(code, 200, "the published artifact is not served");
        assert_eq!(
            fx::digest(&bytes),
            artifact["digest"],
            "the digest is not that of the bytes served"
        );
        assert_eq!(bytes.len() as u64, artifact["size"].as_u64().unwrap());
        (fx::digest(&bytes), untar_render(&bytes))
    }

    fn stored_files(&self) -> Vec<String> {
        let dir = self.storage.join("gate").join(NS).join("shop");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tar.gz"))
            .collect();
        files.sort();
        files
    }

    fn events(&self, reason: &str) -> Vec<Value> {
        self.api
            .list(EVENTS, NS)
            .into_iter()
            .filter(|e| {
                e["regarding"]["kind"] == "ExternalArtifact"
                    && e["regarding"]["name"] == "shop"
                    && e["reason"] == reason
            })
            .collect()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("controller.log")).unwrap_or_default()
    }
}

fn ready(object: &Value) -> Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// A plain HTTP/1.0 GET: status code and body.
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, response[split + 4..].to_vec())
}

/// Untars as kustomize-controller does (gzip required) and returns manifests.yaml,
/// checking the archive follows Flux's archiver conventions.
fn untar_render(bytes: &[u8]) -> String {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut render = None;
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(
            (
                header.uid().unwrap(),
                header.gid().unwrap(),
                header.mtime().unwrap()
            ),
            (0, 0, 0)
        );
        assert_eq!(header.mode().unwrap(), 0o600);
        let name = entry.path().unwrap().display().to_string();
        if name == "manifests.yaml" {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            render = Some(text);
        }
        names.push(name);
    }
    assert_eq!(names, ["manifests.yaml"]);
    render.unwrap()
}

fn image_of(render: &str) -> String {
    let doc = render.trim().strip_prefix("---\n").unwrap();
    let object: Value = serde_json::from_str(doc).unwrap();
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn file_of(artifact: &Value) -> String {
    Path::new(artifact["path"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn approved_denied_approved_serves_a_a_c_and_says_why() {
    let h = start(default_spec());

    // A: approved and published.
    let a = h.publish(COMMIT_A, Delivery::Honest(fx::app(fx::ALLOWED)));
    let (gate, ea) = h.judged(&a, "Succeeded");
    assert_eq!(
        ea["status"]["artifact"]["revision"],
        a.as_str(),
        "{}",
        h.log()
    );
    assert_eq!(ready(&ea)["status"], "True");
    assert!(
        ready(&ea)["message"]
            .as_str()
            .unwrap()
            .contains(&format!("stored artifact for revision '{a}'"))
    );
    let (digest_a, render_a) = h.served(&ea);
    assert_eq!(image_of(&render_a), "contoso.azurecr.io/web:1.0");
    assert_eq!(gate["status"]["artifact"], ea["status"]["artifact"]);
    // Who published it, and with which bundle.
    assert_eq!(ea["metadata"]["labels"]["gate.dev/gate"], "shop");
    assert_eq!(
        ea["metadata"]["ownerReferences"][0]["uid"],
        gate["metadata"]["uid"]
    );
    assert_eq!(
        ea["spec"]["sourceRef"],
        json!({"apiVersion": "gate.dev/v1alpha1", "kind": "Gate", "name": "shop", "namespace": NS})
    );
    let metadata = &ea["status"]["artifact"]["metadata"];
    assert!(
        metadata["gate.dev/bundle-digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        ea["metadata"]["annotations"]["gate.dev/bundle-digest"],
        metadata["gate.dev/bundle-digest"]
    );
    assert_eq!(
        (
            metadata["gate.dev/objects"].as_str(),
            metadata["gate.dev/denied"].as_str()
        ),
        (Some("1"), Some("0"))
    );
    assert_eq!(h.events("Succeeded").len(), 1);

    // B: denied. Still A, and the status and an event say why.
    let b = h.publish(COMMIT_B, Delivery::Honest(fx::app(fx::DENIED)));
    let (gate, ea) = h.judged(&b, "PolicyDenied");
    assert_eq!(ea["status"]["artifact"]["revision"], a.as_str());
    assert_eq!(ready(&ea)["status"], "False");
    let message = ready(&ea)["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with(&format!("revision '{b}' denied by bundle 'default' (1 denied): Deployment web: disallow-privileged:")), "{message}");
    assert!(
        message.ends_with(&format!("; still serving '{a}'")),
        "{message}"
    );
    assert_eq!(ready(&gate)["message"], message.as_str());
    let (digest, render) = h.served(&ea);
    assert_eq!(
        (digest.as_str(), image_of(&render).as_str()),
        (digest_a.as_str(), "contoso.azurecr.io/web:1.0")
    );
    let denied = h.events("PolicyDenied");
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["type"], "Warning");
    assert_eq!(denied[0]["note"], message.as_str());
    // The denied render was never stored, so it can never be served.
    assert_eq!(h.stored_files(), [file_of(&ea["status"]["artifact"])]);
    // What a user sees now, as the README shows it.
    support::check_doc_section(
        "README.md",
        "flux-denied",
        &user_view(&ea, &h.api.list(EVENTS, NS)),
        "cargo test -p gate --test flux_controller approved_denied",
    );

    // C: approved again.
    let c = h.publish(
        COMMIT_C,
        Delivery::Honest(fx::app(&fx::ALLOWED.replace("web:1.0", "web:3.0"))),
    );
    let (_gate, ea) = h.judged(&c, "Succeeded");
    assert_eq!(ea["status"]["artifact"]["revision"], c.as_str());
    let (digest_c, render_c) = h.served(&ea);
    assert_ne!(digest_c, digest_a);
    assert_eq!(image_of(&render_c), "contoso.azurecr.io/web:3.0");
    let succeeded = h.events("Succeeded");
    assert_eq!(succeeded.len(), 2);
    assert!(
        succeeded
            .iter()
            .any(|e| e["note"].as_str().unwrap().contains(&c))
    );

    // Every API call the controller made is one the shipped RBAC allows.
    let rules = rbac_rules();
    let mut checked = 0;
    for request in h.api.requests() {
        let Some((group, resource, verb)) = api_call(&request) else {
            continue;
        };
        checked += 1;
        assert!(
            rules
                .iter()
                .any(|(g, r, v)| g.contains(&group) && r.contains(&resource) && v.contains(&verb)),
            "integration/flux/deploy/rbac.yaml does not allow {verb} {group}/{resource} ({request})"
        );
    }
    assert!(checked > 10, "only {checked} API calls seen");
}

#[test]
fn a_refused_artifact_leaves_the_last_approved_one_served() {
    let h = start(default_spec());
    let good = h.publish("0", Delivery::Honest(fx::app(fx::ALLOWED)));
    let (_, ea) = h.judged(&good, "Succeeded");
    let approved = ea["status"]["artifact"].clone();
    let (digest, _) = h.served(&ea);
    for (index, (name, delivery, expected)) in fx::hostile().into_iter().enumerate() {
        let commit = format!("{:x}", index + 1);
        let revision = h.publish(&commit, delivery);
        let (gate, ea) = h.judged(&revision, "GateError");
        let message = ready(&ea)["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains(expected),
            "{name}: expected {expected:?} in {message:?}"
        );
        assert!(
            message.ends_with(&format!("still serving '{good}'")),
            "{name}: {message}"
        );
        assert_eq!(
            ea["status"]["artifact"], approved,
            "{name} changed the published artifact"
        );
        assert_eq!(gate["status"]["artifact"], approved);
        assert_eq!(h.served(&ea).0, digest, "{name}");
        assert_eq!(h.stored_files().len(), 1, "{name} left a file in storage");
    }
    assert_eq!(h.events("GateError").len(), fx::hostile().len());
}

#[test]
fn the_same_render_gives_the_same_artifact_and_old_ones_are_collected() {
    let h = start(default_spec());
    let one = h.publish("1", Delivery::Honest(fx::app(fx::ALLOWED)));
    let (_, ea) = h.judged(&one, "Succeeded");
    let first = ea["status"]["artifact"].clone();
    // Another revision whose tree differs (a README) but whose render is the same.
    let two = h.publish(
        "2",
        Delivery::Honest(fx::targz(&[
            fx::file("deploy/app.yaml", fx::ALLOWED),
            fx::file("NOTES", "x"),
        ])),
    );
    let (_, ea) = h.judged(&two, "Succeeded");
    assert_eq!(ea["status"]["artifact"]["revision"], two.as_str());
    assert_eq!(
        ea["status"]["artifact"]["digest"], first["digest"],
        "same render, different bytes"
    );
    assert_eq!(ea["status"]["artifact"]["url"], first["url"]);
    // Two more approved renders: with two records kept, the first is collected.
    let three = h.publish(
        "3",
        Delivery::Honest(fx::app(&fx::ALLOWED.replace("1.0", "3.0"))),
    );
    let (_, ea3) = h.judged(&three, "Succeeded");
    assert_eq!(h.stored_files().len(), 2);
    let four = h.publish(
        "4",
        Delivery::Honest(fx::app(&fx::ALLOWED.replace("1.0", "4.0"))),
    );
    let (_, ea4) = h.judged(&four, "Succeeded");
    let kept = h.stored_files();
    assert_eq!(kept, {
        let mut k = vec![
            file_of(&ea3["status"]["artifact"]),
            file_of(&ea4["status"]["artifact"]),
        ];
        k.sort();
        k
    });
    assert_eq!(http_get(first["url"].as_str().unwrap()).0, 404);
    h.served(&ea4);
}

#[test]
fn a_status_changed_behind_gates_back_is_restored() {
    let h = start(default_spec());
    let one = h.publish("1", Delivery::Honest(fx::app(fx::ALLOWED)));
    let (_, ea) = h.judged(&one, "Succeeded");
    let published = ea["status"]["artifact"].clone();
    let mut forged = ea["status"].clone();
    forged["artifact"]["url"] = json!("http://evil.example/payload.tar.gz");
    forged["artifact"]["revision"] = json!("main@sha1:forged");
    h.api.set_status(EXTERNAL_ARTIFACTS, NS, "shop", forged);
    h.api
        .wait_for("the published artifact to be restored", WAIT, |api| {
            let ea = api.get(EXTERNAL_ARTIFACTS, NS, "shop")?;
            (ea["status"]["artifact"] == published).then_some(())
        });
    h.api.wait_for("an ArtifactRestored event", WAIT, |_| {
        (!h.events("ArtifactRestored").is_empty()).then_some(())
    });
}

#[test]
fn a_first_revision_denied_publishes_nothing() {
    let h = start(default_spec());
    let one = h.publish("1", Delivery::Honest(fx::app(fx::DENIED)));
    let (gate, ea) = h.judged(&one, "PolicyDenied");
    assert!(ea["status"]["artifact"].is_null(), "{ea}");
    assert!(gate["status"]["artifact"].is_null());
    assert!(
        ready(&ea)["message"]
            .as_str()
            .unwrap()
            .ends_with("; nothing is served")
    );
    assert!(!h.storage.join("gate").join(NS).join("shop").exists() || h.stored_files().is_empty());
}

#[test]
fn a_tenant_cannot_pick_a_bundle_the_platform_did_not_allow() {
    let h = start(
        json!({"sourceRef": {"kind": "GitRepository", "name": "shop"}, "path": "deploy", "bundle": "restricted"}),
    );
    h.publish("1", Delivery::Honest(fx::app(fx::ALLOWED)));
    let ea = h
        .api
        .wait_for("the Gate to refuse its bundle", WAIT, |api| {
            let ea = api.get(EXTERNAL_ARTIFACTS, NS, "shop")?;
            (ready(&ea)["reason"] == "GateError").then_some(ea)
        });
    let message = ready(&ea)["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(
            "bundle \"restricted\" is not allowed in namespace \"shop\"; allowed: default"
        ),
        "{message}"
    );
    assert!(ea["status"]["artifact"].is_null());
    assert!(!h.requests_downloaded());
}

impl Harness {
    fn requests_downloaded(&self) -> bool {
        self.api
            .requests()
            .iter()
            .any(|r| r.contains("/artifacts/"))
    }
}

/// The ClusterRole's rules as (groups, resources, verbs).
fn rbac_rules() -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
    let text =
        std::fs::read_to_string(support::root().join("integration/flux/deploy/rbac.yaml")).unwrap();
    let strings = |v: &serde_yaml_ng::Value| -> Vec<String> {
        v.as_sequence()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    text.split("\n---")
        .map(|doc| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(doc).unwrap())
        .filter(|doc| doc["kind"] == "ClusterRole")
        .flat_map(|doc| doc["rules"].as_sequence().unwrap().clone())
        .map(|rule| {
            (
                strings(&rule["apiGroups"]),
                strings(&rule["resources"]),
                strings(&rule["verbs"]),
            )
        })
        .collect()
}

/// `METHOD /apis/group/version/[namespaces/ns/]plural[/name[/sub]]?query` as (group, resource, verb).
fn api_call(request: &str) -> Option<(String, String, String)> {
    let (method, uri) = request.split_once(' ')?;
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let parts: Vec<&str> = path.strip_prefix("/apis/")?.split('/').collect();
    let (group, rest) = (parts[0], &parts[2..]);
    let rest = if rest.first() == Some(&"namespaces") {
        &rest[2..]
    } else {
        rest
    };
    let resource = match rest {
        [plural] | [plural, _] => (*plural).to_owned(),
        [plural, _, sub] => format!("{plural}/{sub}"),
        _ => return None,
    };
    let named = rest.len() > 1;
    let verb = match method {
        "GET" if query.contains("watch=true") => "watch",
        "GET" if named => "get",
        "GET" => "list",
        "POST" => "create",
        "PATCH" => "patch",
        "PUT" => "update",
        "DELETE" => "delete",
        other => other,
    };
    Some((group.to_owned(), resource, verb.to_owned()))
}

#[test]
fn an_external_artifact_gate_does_not_control_is_never_written() {
    let api_object = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
        "metadata": {"name": "shop", "namespace": NS, "labels": {"gate.dev/gate": "shop"}},
        "spec": {},
        "status": {"artifact": {"path": "x", "url": "http://evil.example/x.tar.gz", "revision": "evil",
                                "digest": format!("sha256:{}", "0".repeat(64))}}
    });
    let h = start_with(default_spec(), vec![(EXTERNAL_ARTIFACTS, api_object)]);
    let before = h.api.get(EXTERNAL_ARTIFACTS, NS, "shop").unwrap();
    h.publish("1", Delivery::Honest(fx::app(fx::ALLOWED)));
    let gate = h.api.wait_for(
        "the Gate to refuse the foreign ExternalArtifact",
        WAIT,
        |api| {
            let gate = api.get(GATES, NS, "shop")?;
            (ready(&gate)["reason"] == "GateError").then_some(gate)
        },
    );
    let message = ready(&gate)["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("is not controlled by this Gate"),
        "{message}"
    );
    let after = h.api.get(EXTERNAL_ARTIFACTS, NS, "shop").unwrap();
    assert_eq!(
        after, before,
        "gate wrote to an ExternalArtifact it does not control"
    );
    assert!(
        !h.requests_downloaded(),
        "the source was judged for an ExternalArtifact gate cannot publish to"
    );
}

#[test]
fn a_failed_judgement_is_tried_again_at_the_same_revision() {
    let h = start(default_spec());
    // source-controller announces the revision before its file can be downloaded.
    let bytes = fx::app(fx::ALLOWED);
    let revision = "main@sha1:5555555555555555555555555555555555555555";
    let url = format!("{}/artifacts/late.tar.gz", h.api.url());
    h.api.set_status(
        GIT_REPOSITORIES,
        NS,
        "shop",
        json!({"artifact": {"path": "gitrepository/shop/shop/late.tar.gz", "url": url, "revision": revision,
                            "digest": fx::digest(&bytes), "size": bytes.len(), "lastUpdateTime": "2025-01-01T00:00:00Z"}}),
    );
    let (_, ea) = h.judged(revision, "GateError");
    assert!(
        ready(&ea)["message"].as_str().unwrap().contains("HTTP 404"),
        "{ea}"
    );
    // The file appears; nothing else changes, and the same revision is published.
    h.api.serve_file("late.tar.gz", Served::Whole(bytes));
    let (_, ea) = h.judged(revision, "Succeeded");
    assert_eq!(ea["status"]["artifact"]["revision"], revision);
    assert_eq!(
        h.events("GateError").len(),
        1,
        "a repeated failure was announced again"
    );
}

/// With a key, every judged revision leaves a signed record beside the
/// artifacts: the approved one is named in the artifact's metadata and the
/// ExternalArtifact's annotation, the denied one in the Gate's status. Both
/// verify with `gate evidence verify` and with Python's `cryptography`.
#[test]
fn every_judged_revision_leaves_a_signed_record_served_beside_the_artifact() {
    let (private, public) = records::key_pair();
    let h = start_signed(default_spec(), &private);
    let public_key = h.dir.path().join("key.pub");
    std::fs::write(&public_key, public).unwrap();

    let a = h.publish(COMMIT_A, Delivery::Honest(fx::app(fx::ALLOWED)));
    let (gate, ea) = h.judged(&a, "Succeeded");
    let metadata = &ea["status"]["artifact"]["metadata"];
    let url = metadata["gate.dev/attestation"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ea["metadata"]["annotations"]["gate.dev/attestation"],
        url.as_str()
    );
    assert_eq!(gate["status"]["lastAttestation"]["url"], url.as_str());
    assert_eq!(gate["status"]["lastAttestation"]["decision"], "allow");
    let (code, bytes) = http_get(&url);
    assert_eq!(code, 200, "{url}");
    assert_eq!(fx::digest(&bytes), metadata["gate.dev/attestation-digest"]);
    let record_a = h.dir.path().join("a.intoto.json");
    std::fs::write(&record_a, &bytes).unwrap();
    let statement = records::statement(&record_a);
    let run = &statement["predicate"]["run"];
    assert_eq!(
        (run["frontDoor"].as_str(), run["revision"].as_str()),
        (Some("flux"), Some(a.as_str()))
    );
    assert_eq!(run["metadata"]["flux.gate"], "shop/shop");
    records::validate_predicate(&statement["predicate"]);
    // Bound to what was served: the published tar.gz is a subject.
    let (served_digest, _) = h.served(&ea);
    let published = statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "<artifact>")
        .unwrap();
    assert_eq!(
        format!("sha256:{}", published["digest"]["sha256"].as_str().unwrap()),
        served_digest
    );
    let (code, out, err) = records::verify(&record_a, &public_key, &[]);
    assert_eq!(code, 0, "{out}{err}");
    records::verify_with_python(&record_a, &public_key);

    // B: denied. Nothing new is served, but the record of the denial is, and
    // the Gate names it; the published artifact keeps its own.
    let b = h.publish(COMMIT_B, Delivery::Honest(fx::app(fx::DENIED)));
    let (gate, ea) = h.judged(&b, "PolicyDenied");
    assert_eq!(
        ea["metadata"]["annotations"]["gate.dev/attestation"],
        url.as_str()
    );
    let last = &gate["status"]["lastAttestation"];
    assert_eq!(
        (last["revision"].as_str(), last["decision"].as_str()),
        (Some(b.as_str()), Some("deny"))
    );
    let (code, bytes) = http_get(last["url"].as_str().unwrap());
    assert_eq!(code, 200);
    assert_eq!(fx::digest(&bytes), last["digest"]);
    let record_b = h.dir.path().join("b.intoto.json");
    std::fs::write(&record_b, &bytes).unwrap();
    let statement = records::statement(&record_b);
    assert_eq!(statement["predicate"]["decision"], "deny");
    assert_eq!(statement["predicate"]["run"]["revision"], b.as_str());
    assert!(
        statement["predicate"]["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["verdict"] == "deny" && v["policy"] == "disallow-privileged")
    );
    assert!(
        !statement["subject"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "<artifact>")
    );
    assert_eq!(records::verify(&record_b, &public_key, &[]).0, 0);
    records::verify_with_python(&record_b, &public_key);
    let forged = records::tampered(&record_b, h.dir.path(), |s| {
        s["predicate"]["decision"] = "allow".into();
    });
    assert_eq!(records::verify(&forged, &public_key, &[]).0, 1);
    // The approved artifact's record is still served.
    assert_eq!(http_get(&url).0, 200);
}
