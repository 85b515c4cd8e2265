//! The admission webhook under load: `just loadtest` (or
//! `cargo bench -p gate --bench webhook_load -- --write`).
//!
//! Starts the release `gate serve --bundle builtin:aks-restricted` on 127.0.0.1
//! over TLS (a CA made here), then drives it with keep-alive connections from
//! the same machine, alternating a realistic Deployment (allowed) and a
//! privileged one (denied), as AdmissionReviews the API server would send:
//!
//! - at fixed rates (100, 500 and 1,000 requests/s, open loop: requests leave on
//!   schedule whether or not earlier ones were answered, so a stall shows in
//!   the latency instead of slowing the client) with the bounded client below;
//! - at saturation with Debian's `wrk` and a Lua script that posts the bodies.
//!
//! It records p50/p99/p99.9, throughput, the server's RSS idle and under load,
//! and errors (transport errors, HTTP statuses other than 200, and answers that
//! are not the expected verdict). With `--write` it rewrites its section of
//! BENCHMARKS.md (between `<!-- webhook-load:begin -->` and `:end`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("root")
}

/// A Deployment as the API server hands it to a webhook on CREATE: defaults
/// applied, managed fields set. It complies with aks-restricted.
fn deployment(name: &str, privileged: bool) -> Value {
    let mut security = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "privileged": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true
    });
    if privileged {
        security = json!({"privileged": true, "allowPrivilegeEscalation": true});
    }
    let container = |cname: &str, image: &str, port: u16| {
        json!({
            "name": cname,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
            "env": [
                {"name": "PORT", "value": port.to_string()},
                {"name": "REDIS_ADDR", "value": "redis-cart:6379"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}
            ],
            "resources": {"limits": {"cpu": "300m", "memory": "128Mi"}, "requests": {"cpu": "200m", "memory": "64Mi"}},
            "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"}, "initialDelaySeconds": 5, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
            "livenessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"}, "initialDelaySeconds": 15, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
            "securityContext": security,
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}, {"mountPath": "/etc/config", "name": "config", "readOnly": true}]
        })
    };
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": "0b7c2f5e-8a51-4c63-9d0e-5d3f0a4b2c11",
            "generation": 1,
            "creationTimestamp": "2026-01-15T10:00:00Z",
            "labels": {"app": name, "app.kubernetes.io/part-of": "shop", "kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"},
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "managedFields": [{
                "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "manager": "kustomize-controller", "operation": "Apply", "time": "2026-01-15T10:00:00Z",
                "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}, "f:app.kubernetes.io/part-of": {}}}, "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:containers": {"k:{\"name\":\"server\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}
            }]
        },
        "spec": {
            "replicas": 3,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": name, "app.kubernetes.io/part-of": "shop"}},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": false,
                    "terminationGracePeriodSeconds": 5,
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {"fsGroup": 1000, "runAsGroup": 1000, "runAsNonRoot": true, "runAsUser": 1000, "supplementalGroups": [1000], "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        container("server", "shopregistry.azurecr.io/shop/cartservice:v0.10.1", 7070),
                        container("metrics", "shopregistry.azurecr.io/shop/exporter:v1.4.0", 9090)
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "config", "configMap": {"name": name, "defaultMode": 420}}]
                }
            }
        }
    })
}

fn review(object: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "requestResource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": object["metadata"]["name"],
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:flux-system:kustomize-controller", "uid": "e0c4d9b2-3f1a-4c8e-9a7b-6d5e4f3c2b1a", "groups": ["system:serviceaccounts", "system:serviceaccounts:flux-system", "system:authenticated"]},
            "object": object,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions", "fieldManager": "kustomize-controller"}
        }
    }))
    .expect("review")
}

/// The server under test.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gate"))
            .args([
                "serve",
                "--bundle",
                "builtin:aks-restricted",
                "--listen",
                "127.0.0.1:0",
            ])
            .arg("--tls-cert")
            .arg(dir.join("tls.crt"))
            .arg("--tls-key")
            .arg(dir.join("tls.key"))
            .env("GATE_CACHE_DIR", dir.join("cache"))
            .env_remove("GATE_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gate serve");
        let stderr = child.stderr.take().expect("stderr");
        let (send, receive) = mpsc::channel();
        // Logs are drained (one JSON line per request, as in production) and dropped.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && entry["message"] == "listening (HTTPS)"
                {
                    let _ = send.send(entry["addr"].as_str().unwrap_or_default().to_owned());
                }
            }
        });
        let addr = receive
            .recv_timeout(Duration::from_secs(60))
            .expect("gate serve listens")
            .parse()
            .expect("addr");
        Server { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Resident set size, in MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib / 1024.0
    }
}

fn make_tls(dir: &Path) -> String {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
    std::fs::write(dir.join("tls.crt"), leaf.pem()).expect("crt");
    std::fs::write(dir.join("tls.key"), leaf_key.serialize_pem()).expect("key");
    ca.pem()
}

/// One run's outcome.
struct Run {
    label: String,
    sent: usize,
    throughput: f64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    errors: u64,
    rss_mib: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Samples the server's RSS every 100 ms until stopped; returns the highest.
fn sample_rss(server: &Server, stop: &AtomicBool) -> f64 {
    let mut highest: f64 = 0.0;
    while !stop.load(Ordering::Relaxed) {
        highest = highest.max(server.rss_mib());
        std::thread::sleep(Duration::from_millis(100));
    }
    highest
}

/// Open loop at `rate` requests/s for `duration`: request `i` leaves at
/// `start + i / rate`; latency runs from when it left to when its answer was read.
async fn fixed_rate(
    client: &reqwest::Client,
    url: &str,
    bodies: &[(&'static [u8], bool); 2],
    rate: f64,
    duration: Duration,
) -> (Vec<Duration>, u64, Duration) {
    let total = (rate * duration.as_secs_f64()) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let errors = Arc::new(AtomicU64::new(0));
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let (body, allowed) = bodies[i % 2];
        let (client, url, errors) = (client.clone(), url.to_owned(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let left = Instant::now();
            let ok = send(&client, &url, body, allowed).await;
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            left.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(task.await.expect("task"));
    }
    let elapsed = start.elapsed();
    (latencies, errors.load(Ordering::Relaxed), elapsed)
}

/// Sends one review; true when it was answered 200 with the expected verdict.
async fn send(client: &reqwest::Client, url: &str, body: &'static [u8], allowed: bool) -> bool {
    let Ok(response) = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    else {
        return false;
    };
    if response.status() != 200 {
        return false;
    }
    let Ok(text) = response.text().await else {
        return false;
    };
    text.contains(if allowed {
        "\"allowed\":true"
    } else {
        "\"allowed\":false"
    })
}

const WRK_SCRIPT: &str = r#"
local bodies = {}
init = function(args)
  for i, path in ipairs(args) do
    local f = assert(io.open(path, "rb"))
    bodies[i] = f:read("*a")
    f:close()
  end
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[(n % #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GATE requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

/// Saturation with wrk: `connections` keep-alive connections, as fast as answered.
fn saturate(server: &Server, dir: &Path, connections: usize, duration: Duration) -> Run {
    let script = dir.join("post.lua");
    std::fs::write(&script, WRK_SCRIPT).expect("script");
    let stop = Arc::new(AtomicBool::new(false));
    let rss = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| sample_rss(server, &stop));
        let output = Command::new("wrk")
            .args([
                "-t1",
                &format!("-c{connections}"),
                &format!("-d{}s", duration.as_secs()),
            ])
            .arg("-s")
            .arg(&script)
            .arg(server.url("/validate"))
            .arg("--")
            .arg(dir.join("allowed.json"))
            .arg(dir.join("denied.json"))
            .output()
            .expect("run wrk (apt-get install wrk)");
        stop.store(true, Ordering::Relaxed);
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "wrk failed:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (sampler.join().expect("sampler"), text)
    });
    let (rss_mib, text) = rss;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("GATE "))
        .unwrap_or_else(|| panic!("no summary from wrk:\n{text}"));
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}="))?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {line}"))
    };
    let requests = field("requests");
    Run {
        label: format!("saturation, wrk, {connections} connections"),
        sent: requests as usize,
        throughput: requests as f64 / (field("duration_us") as f64 / 1e6),
        p50: Duration::from_micros(field("p50_us")),
        p99: Duration::from_micros(field("p99_us")),
        p999: Duration::from_micros(field("p999_us")),
        errors: field("errors"),
        rss_mib,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let write = args.iter().any(|a| a == "--write");
    let seconds: u64 = std::env::var("GATE_LOADTEST_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let duration = Duration::from_secs(seconds);
    gate_oci::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = make_tls(dir.path());
    let allowed = review(&deployment("cartservice", false));
    let denied = review(&deployment("cartservice", true));
    std::fs::write(dir.path().join("allowed.json"), &allowed).expect("body");
    std::fs::write(dir.path().join("denied.json"), &denied).expect("body");
    let body_bytes = allowed.len();

    let server = Server::start(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA")])
        .http1_only()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
    let url = server.url("/validate");
    // Leaked: they live as long as the benchmark, and requests share them uncopied.
    let bodies: [(&'static [u8], bool); 2] = [
        (Box::leak(allowed.into_boxed_slice()), true),
        (Box::leak(denied.into_boxed_slice()), false),
    ];

    let mut runs = Vec::new();
    let idle_rss = runtime.block_on(async {
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(server.url("/readyz")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(300), "not ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Warm up connections and code paths, then let the server settle.
        let (_, errors, _) =
            fixed_rate(&client, &url, &bodies, 200.0, Duration::from_secs(3)).await;
        assert_eq!(errors, 0, "errors during warm-up");
        tokio::time::sleep(Duration::from_secs(2)).await;
        server.rss_mib()
    });
    eprintln!("idle RSS {idle_rss:.1} MiB");

    for rate in [100.0, 500.0, 1000.0] {
        let stop = AtomicBool::new(false);
        let (latencies, errors, elapsed, rss_mib) = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| sample_rss(&server, &stop));
            let (latencies, errors, elapsed) =
                runtime.block_on(fixed_rate(&client, &url, &bodies, rate, duration));
            stop.store(true, Ordering::Relaxed);
            (latencies, errors, elapsed, sampler.join().expect("sampler"))
        });
        let mut sorted = latencies;
        sorted.sort();
        let run = Run {
            label: format!("{rate:.0} req/s, fixed rate"),
            sent: sorted.len(),
            throughput: sorted.len() as f64 / elapsed.as_secs_f64(),
            p50: percentile(&sorted, 50.0),
            p99: percentile(&sorted, 99.0),
            p999: percentile(&sorted, 99.9),
            errors,
            rss_mib,
        };
        eprintln!(
            "{}: p50 {} p99 {} p99.9 {} errors {}",
            run.label,
            ms(run.p50),
            ms(run.p99),
            ms(run.p999),
            run.errors
        );
        runs.push(run);
    }
    for connections in [8, 32] {
        let run = saturate(&server, dir.path(), connections, duration);
        eprintln!(
            "{}: {:.0} req/s p99 {} errors {}",
            run.label,
            run.throughput,
            ms(run.p99),
            run.errors
        );
        runs.push(run);
    }
    let metrics = runtime.block_on(async {
        client
            .get(server.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    });
    let server_errors: f64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("gate_errors_total{")
                || l.starts_with("gate_admission_rejected_requests_total{")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, |total, n| total + n);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = String::from(
        "| run | requests | throughput | p50 | p99 | p99.9 | errors | server RSS (max) |\n|---|---|---|---|---|---|---|---|\n",
    );
    out.push_str(&format!(
        "| idle, after warm-up | | | | | | | {idle_rss:.1} MiB |\n"
    ));
    for run in &runs {
        out.push_str(&format!(
            "| {} | {} | {:.0} req/s | {} | {} | {} | {} | {:.1} MiB |\n",
            run.label,
            run.sent,
            run.throughput,
            ms(run.p50),
            ms(run.p99),
            ms(run.p999),
            run.errors,
            run.rss_mib
        ));
    }
    out.push_str(&format!(
        "\nServer-side errors and refused requests over the whole run (from `/metrics`): {server_errors}. \
         Load average when the run ended: {}. Body: {body_bytes}-byte AdmissionReview of a 2-container Deployment.\n",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    ));
    println!("{out}");
    if write {
        let path = root().join("BENCHMARKS.md");
        let text = std::fs::read_to_string(&path).expect("BENCHMARKS.md");
        let (begin, end) = ("<!-- webhook-load:begin -->", "<!-- webhook-load:end -->");
        let (Some(b), Some(e)) = (text.find(begin), text.find(end)) else {
            panic!("BENCHMARKS.md lacks the {begin} and {end} markers");
        };
        let updated = format!("{}{begin}\n{}\n{}", &text[..b], out.trim_end(), &text[e..]);
        std::fs::write(&path, updated).expect("write BENCHMARKS.md");
        eprintln!("wrote BENCHMARKS.md");
    }
}
