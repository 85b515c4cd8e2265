//! Hot reload of `gate serve` under concurrent load: no request fails during a
//! swap, answers switch to the new policy set, a broken bundle leaves the old
//! one serving (and raises the error metric), SIGHUP reloads, and a server that
//! starts without a usable bundle is not ready until one loads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
#[path = "support/webhook.rs"]
mod webhook;

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use webhook::{Server, judge, pod, review, write_bundle};

/// Replaces a file in one step, as a ConfigMap volume does.
fn replace(path: &Path, write: impl FnOnce(&Path)) {
    let staged = path.with_extension("staged");
    write(&staged);
    std::fs::rename(&staged, path).expect("rename");
}

/// Enforced: a privileged pod is denied.
fn enforcing(path: &Path) {
    write_bundle(
        path,
        "enforcing",
        "",
        &[("builtin:disallow-privileged", "")],
    );
}

/// Audited: a privileged pod is allowed with a warning.
fn auditing(path: &Path) {
    write_bundle(
        path,
        "auditing",
        "",
        &[("builtin:disallow-privileged", "mode: audit")],
    );
}

/// Which bundle answered: `A` denied (enforcing), `B` allowed with a warning (auditing).
fn which(response: &Value) -> char {
    match (
        response["allowed"].as_bool(),
        response["warnings"].is_array(),
    ) {
        (Some(false), false) => 'A',
        (Some(true), true) => 'B',
        _ => panic!("an answer from neither bundle: {response}"),
    }
}

/// Waits until `condition` holds on the metrics, or fails after a minute.
async fn until_metric(server: &Server, series: &str, expected: f64) {
    let start = Instant::now();
    while server.metric(series).await != expected {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{series} never became {expected}:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_fails_no_request_and_switches_the_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle.yaml");
    enforcing(&bundle);
    let server = Server::start(dir.path(), &bundle.display().to_string(), &[]);
    server.wait_ready().await;
    let url = server.url("/validate");

    // Clients hammer the server with the same privileged pod, each recording which
    // bundle answered, in order. Any failed request fails the test (judge asserts).
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, url, stop) = (server.client(), url.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut seen = String::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = review(
                    &format!("c{c}-{n}"),
                    "CREATE",
                    "team",
                    &pod("p", true),
                    false,
                );
                seen.push(which(&judge(&client, &url, &r).await));
                n += 1;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    replace(&bundle, auditing);
    until_metric(
        &server,
        r#"gate_reloads_total{target="bundle",outcome="success"}"#,
        2.0,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A broken bundle: the old one keeps serving, and the failure is visible.
    replace(&bundle, |p| {
        std::fs::write(
            p,
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nspec: {policies: [",
        )
        .expect("write")
    });
    until_metric(&server, r#"gate_reload_failing{target="bundle"}"#, 1.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);

    for client in clients {
        let seen = client.await.expect("client");
        assert!(
            seen.starts_with('A') && seen.ends_with('B'),
            "answers: {seen}"
        );
        let switch = seen.find('B').unwrap();
        assert!(
            seen[switch..].chars().all(|c| c == 'B'),
            "once the new bundle answered, the old one never did again: {seen}"
        );
    }
    assert_eq!(
        server
            .metric(r#"gate_reloads_total{target="bundle",outcome="failure"}"#)
            .await,
        1.0
    );
    assert_eq!(
        server.metric("gate_ready").await,
        1.0,
        "still serving the old bundle"
    );
    let logs = server.logs();
    assert!(logs.contains("bundle load failed"), "{logs}");
    assert!(logs.contains("\"still_serving\":\"sha256:"), "{logs}");
    let ready = server
        .client()
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap().contains("auditing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_a_bad_start_recovers_when_the_file_is_fixed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle.yaml");
    write_bundle(&bundle, "broken", "", &[("builtin:no-such-policy", "")]);
    let server = Server::start(dir.path(), &bundle.display().to_string(), &[]);
    let client = server.client();
    let url = server.url("/validate");

    // Not ready, and every review fails closed, until a usable bundle loads.
    let start = Instant::now();
    loop {
        let ready = client.get(server.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        let text = ready.text().await.unwrap();
        if text.contains("no-such-policy") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = judge(
        &client,
        &url,
        &review("r1", "CREATE", "team", &pod("p", false), false),
    )
    .await;
    assert_eq!(
        response["allowed"], false,
        "fail closed without a bundle: {response}"
    );
    assert_eq!(response["status"]["code"], 503);
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "alive, just not ready");

    replace(&bundle, enforcing);
    server.wait_ready().await;
    let response = judge(
        &client,
        &url,
        &review("r2", "CREATE", "team", &pod("p", true), false),
    )
    .await;
    assert_eq!(which(&response), 'A');

    // SIGHUP reloads even when nothing changed: the counter moves.
    let before = server
        .metric(r#"gate_reloads_total{target="bundle",outcome="success"}"#)
        .await;
    server.signal("HUP");
    until_metric(
        &server,
        r#"gate_reloads_total{target="bundle",outcome="success"}"#,
        before + 1.0,
    )
    .await;
    assert!(server.logs().contains("SIGHUP"), "{}", server.logs());
}
