//! Shared by the webhook tests: the real `gate serve` on 127.0.0.1 over TLS, with
//! a CA made by the test; an HTTPS client that trusts that CA alone; and
//! AdmissionReviews as the API server sends them. There is no kube-apiserver
//! here: the client stands in for it, sending what it would send.
#![allow(dead_code)]

use super::support;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to become ready: the first run of a test binary
/// compiles the bundle's policies (in a debug build, on a busy machine).
pub const READY_LIMIT: Duration = Duration::from_secs(300);

/// A running `gate serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its directory: TLS files, and whatever the test wrote there (bundles).
    pub dir: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
    ca_pem: String,
}

impl Server {
    /// Starts `gate serve --bundle BUNDLE` on 127.0.0.1 (a free port) in `dir`,
    /// with `extra` arguments, and waits until it listens (not until it is ready).
    pub fn start(dir: &Path, bundle: &str, extra: &[&str]) -> Server {
        let ca_pem = support::make_tls(dir);
        let mut command = support::gate();
        command
            .arg("serve")
            .arg("--bundle")
            .arg(bundle)
            .arg("--tls-cert")
            .arg(dir.join("tls.crt"))
            .arg("--tls-key")
            .arg(dir.join("tls.key"))
            .args(["--listen", "127.0.0.1:0", "--watch-interval", "200ms"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn gate serve");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (send, receive) = mpsc::channel();
        {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(entry) = serde_json::from_str::<Value>(&line)
                        && entry["message"] == "listening (HTTPS)"
                        && let Some(addr) = entry["addr"].as_str()
                    {
                        let _ = send.send(addr.parse::<SocketAddr>().expect("addr"));
                    }
                    logs.lock().expect("logs").push(line);
                }
            });
        }
        let addr = match receive.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "gate serve did not listen within 60 s:\n{}",
                    logs.lock().expect("logs").join("\n")
                );
            }
        };
        Server {
            child,
            addr,
            dir: dir.to_owned(),
            logs,
            ca_pem,
        }
    }

    /// `https://localhost:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// An HTTPS client that trusts the test CA alone (HTTP/2 or HTTP/1.1 by ALPN).
    pub fn client(&self) -> reqwest::Client {
        self.client_with(|b| b)
    }

    /// [`Server::client`], adjusted.
    pub fn client_with(
        &self,
        adjust: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> reqwest::Client {
        gate_oci::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA PEM");
        adjust(
            reqwest::Client::builder()
                .tls_certs_only([ca])
                .timeout(Duration::from_secs(60)),
        )
        .build()
        .expect("client")
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        let client = self.client();
        let start = Instant::now();
        loop {
            if let Ok(response) = client.get(self.url("/readyz")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(
                start.elapsed() < READY_LIMIT,
                "gate serve not ready within {READY_LIMIT:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Everything it logged so far, one JSON object per line.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").join("\n")
    }

    /// Its log lines, parsed.
    pub fn log_entries(&self) -> Vec<Value> {
        self.logs
            .lock()
            .expect("logs")
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// Sends a signal (`HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "gate serve did not exit within {limit:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of a metric series (its line starts with `series `), or 0.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .client()
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text");
        metric_value(&text, series)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of a series in a metrics text, or 0 when absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// An `admission.k8s.io/v1` AdmissionReview for `object`, as the API server
/// writes it. On DELETE the object goes to `oldObject`.
pub fn review(uid: &str, operation: &str, namespace: &str, object: &Value, dry_run: bool) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or_default();
    let resource = format!("{}s", kind.to_lowercase());
    let (new, old) = match operation {
        "DELETE" => (Value::Null, object.clone()),
        "UPDATE" => (object.clone(), object.clone()),
        _ => (object.clone(), Value::Null),
    };
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": object["metadata"]["name"],
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "system:serviceaccount:flux-system:kustomize-controller", "groups": ["system:serviceaccounts"]},
            "object": new,
            "oldObject": old,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": if operation == "DELETE" { "DeleteOptions" } else { "CreateOptions" }},
        }
    })
}

/// A pod, privileged or compliant with `pss-restricted`.
pub fn pod(name: &str, privileged: bool) -> Value {
    let security = if privileged {
        json!({"privileged": true})
    } else {
        json!({
            "allowPrivilegeEscalation": false,
            "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}
        })
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1", "securityContext": security}]}
    })
}

/// Posts a review and returns the HTTP status and the body.
pub async fn post(client: &reqwest::Client, url: &str, review: &Value) -> (u16, String) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(review).expect("review JSON"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e:?}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Posts a review that must be answered, and returns its `response`.
pub async fn judge(client: &reqwest::Client, url: &str, review: &Value) -> Value {
    let (status, body) = post(client, url, review).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("answer is JSON");
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1", "{answer}");
    assert_eq!(answer["kind"], "AdmissionReview", "{answer}");
    assert_eq!(
        answer["response"]["uid"], review["request"]["uid"],
        "the answer carries the request's uid"
    );
    answer["response"].clone()
}

/// Writes a bundle file of builtin policies: `(module, extra YAML lines)` pairs.
pub fn write_bundle(path: &Path, name: &str, spec_extra: &str, policies: &[(&str, &str)]) {
    let mut text = format!(
        "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: {name}}}\nspec:\n{spec_extra}  policies:\n"
    );
    for (module, extra) in policies {
        text.push_str(&format!("    - module: {module}\n"));
        for line in extra.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    std::fs::write(path, text).expect("write bundle");
}
