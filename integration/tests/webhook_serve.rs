//! `gate serve` end to end: the real binary on 127.0.0.1 over TLS with a CA made
//! here, a real HTTPS client standing in for the kube-apiserver (there is none
//! here). Kubernetes' own Pod Security Admission fixtures, sent as
//! AdmissionReviews, get the verdict `gate check` gives the same objects.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
#[path = "support/webhook.rs"]
mod webhook;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use webhook::{Server, judge, pod, post, review};

/// The fixtures of one level: (file, should pass).
fn fixtures(level: &str) -> Vec<(PathBuf, bool)> {
    let dir = support::root()
        .join("integration/conformance/psa")
        .join(level);
    let mut out = Vec::new();
    for (outcome, pass) in [("pass", true), ("fail", false)] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(outcome))
            .expect("fixture folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (f, pass)));
    }
    out
}

/// `gate check` over the files: for each file it denies, the policies that deny it.
fn check_denials(
    bundle: &str,
    files: &[PathBuf],
    dir: &std::path::Path,
) -> BTreeMap<String, BTreeSet<String>> {
    let report_file = dir.join("report.json");
    let mut command = support::gate();
    command
        .args(["check", "--bundle", bundle, "-f", "json", "-o"])
        .arg(&report_file)
        .args(files);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(300));
    let (code, stdout, stderr) = support::parts(&output);
    assert!(
        code == 0 || code == 1,
        "gate check exited {code}:\n{stdout}\n{stderr}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).expect("report"))
            .expect("JSON");
    assert_eq!(report["errors"], json!([]), "gate check reported errors");
    let mut denied: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for finding in report["results"].as_array().expect("results") {
        if finding["action"] == "deny" {
            denied
                .entry(finding["object"]["file"].as_str().unwrap().to_owned())
                .or_default()
                .insert(finding["policy"].as_str().unwrap().to_owned());
        }
    }
    denied
}

/// The policies a denial message names: each violation starts with `[policy]`,
/// after the message's prefix or a `; `.
fn named_policies(message: &str) -> BTreeSet<String> {
    let body = message.split_once(": ").map_or(message, |(_, rest)| rest);
    body.split("; ")
        .filter_map(|item| {
            item.strip_prefix('[')?
                .split_once(']')
                .map(|(name, _)| name.to_owned())
        })
        .collect()
}

async fn agree_with_check(level: &str) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = format!("builtin:pss-{level}");
    let server = Server::start(dir.path(), &bundle, &[]);
    let fixtures = fixtures(level);
    let files: Vec<PathBuf> = fixtures.iter().map(|(f, _)| f.clone()).collect();
    let denied = check_denials(&bundle, &files, dir.path());
    server.wait_ready().await;
    let client = server.client();
    let url = server.url("/validate");

    let mut tasks = Vec::new();
    for (i, (file, _)) in fixtures.iter().enumerate() {
        let text = std::fs::read_to_string(file).expect("fixture");
        let object: Value = serde_yaml_ng::from_str(&text).expect("fixture YAML");
        let review = review(&format!("psa-{level}-{i}"), "CREATE", "psa", &object, false);
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(
            async move { judge(&client, &url, &review).await },
        ));
    }
    let mut wrong = Vec::new();
    for ((file, should_pass), task) in fixtures.iter().zip(tasks) {
        let response = task.await.expect("task");
        let label = file.display().to_string();
        let by_check = denied.get(&label);
        let allowed = response["allowed"].as_bool().expect("allowed");
        if allowed != *should_pass {
            wrong.push(format!(
                "{label}: the fixture says pass={should_pass}, the webhook allowed={allowed}"
            ));
        }
        match (allowed, by_check) {
            (true, None) => {}
            (true, Some(policies)) => wrong.push(format!(
                "{label}: webhook allowed, gate check denied by {policies:?}"
            )),
            (false, None) => wrong.push(format!(
                "{label}: webhook denied ({response}), gate check allowed"
            )),
            (false, Some(policies)) => {
                assert_eq!(response["status"]["code"], 403, "{label}: {response}");
                let message = response["status"]["message"].as_str().unwrap_or_default();
                let named = named_policies(message);
                if named.is_empty() || !named.is_subset(policies) {
                    wrong.push(format!(
                        "{label}: the webhook's message names {named:?}, gate check denied by {policies:?}"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} fixtures disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    fixtures.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psa_fixtures_get_the_verdict_gate_check_gives() {
    let (baseline, restricted) =
        tokio::join!(agree_with_check("baseline"), agree_with_check("restricted"));
    assert!(
        baseline > 40 && restricted > 90,
        "{baseline} + {restricted} fixtures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_failures_have_their_status_over_tls_on_both_http_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        dir.path(),
        "builtin:pss-restricted",
        &["--max-body-bytes", "65536"],
    );
    server.wait_ready().await;
    let url = server.url("/validate");
    let h2 = server.client();
    let h1 = server.client_with(|b| b.http1_only());
    for client in [&h2, &h1] {
        let body =
            serde_json::to_vec(&review("s1", "CREATE", "team", &pod("p", false), false)).unwrap();
        let refused = client
            .post(&url)
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(refused.status(), 415);

        let mut big = pod("big", false);
        big["metadata"]["annotations"] = json!({"filler": "x".repeat(70_000)});
        let (status, message) =
            post(client, &url, &review("s2", "CREATE", "team", &big, false)).await;
        assert_eq!(status, 413, "{message}");
        assert!(message.contains("65536 bytes"), "{message}");

        let (status, message) =
            post(client, &url, &json!({"apiVersion": "admission.k8s.io/v1"})).await;
        assert_eq!(status, 400, "{message}");

        let response = judge(
            client,
            &url,
            &review("s3", "CREATE", "team", &pod("p", true), false),
        )
        .await;
        assert_eq!(response["allowed"], false);
    }
    let answer = h2
        .post(&url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&review("s4", "CREATE", "team", &pod("p", false), false)).unwrap())
        .send()
        .await
        .expect("send");
    assert_eq!(answer.version(), reqwest::Version::HTTP_2, "ALPN offers h2");
    let health = h1
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = h1.get(server.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap().contains("pss-restricted"));
    let metrics = h1
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = metrics.text().await.unwrap();
    assert_eq!(
        webhook::metric_value(
            &text,
            r#"gate_admission_rejected_requests_total{status="415"}"#
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        webhook::metric_value(
            &text,
            r#"gate_admission_rejected_requests_total{status="413"}"#
        ),
        2.0,
        "{text}"
    );
    assert_eq!(webhook::metric_value(&text, "gate_ready"), 1.0, "{text}");
    assert!(
        text.contains(r#"gate_bundle_info{bundle="pss-restricted",digest="sha256:"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_lines_that_never_carry_the_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), "builtin:pss-restricted", &[]);
    server.wait_ready().await;
    let client = server.client();
    let url = server.url("/validate");
    let canary = "CANARY-b64e2c-do-not-log";
    let mut object = pod("leaky", true);
    object["spec"]["containers"][0]["env"] = json!([{"name": "DB_PASSWORD", "value": canary}]);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"password": canary}});
    let denied = judge(
        &client,
        &url,
        &review("log-1", "CREATE", "team", &object, true),
    )
    .await;
    assert_eq!(denied["allowed"], false);
    let allowed = judge(
        &client,
        &url,
        &review("log-2", "CREATE", "team", &secret, false),
    )
    .await;
    assert_eq!(allowed["allowed"], true);

    let entries = server.log_entries();
    let logs = server.logs();
    assert!(
        !logs.contains(canary),
        "an object's content reached the logs:\n{logs}"
    );
    let line = entries
        .iter()
        .find(|e| e["uid"] == "log-1")
        .unwrap_or_else(|| panic!("no log line for uid log-1:\n{logs}"));
    for (field, value) in [
        ("operation", json!("CREATE")),
        ("kind", json!("Pod")),
        ("namespace", json!("team")),
        ("name", json!("leaky")),
        ("decision", json!("deny")),
        ("dry_run", json!(true)),
    ] {
        assert_eq!(line[field], value, "{field} in {line}");
    }
    assert!(line["latency_ms"].as_f64().is_some(), "{line}");
    assert!(
        line["denied_by"]
            .as_str()
            .unwrap()
            .contains("disallow-privileged"),
        "{line}"
    );
}
