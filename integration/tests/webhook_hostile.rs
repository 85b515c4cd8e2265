//! Hostile policies behind `gate serve` (the components of integration/wasm): a
//! policy that never returns is stopped at the request deadline and denied with
//! a message naming it, while the server goes on answering other requests; a
//! policy that fails open allows with a warning; and SIGTERM lets a request in
//! flight finish before the process exits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
#[path = "support/webhook.rs"]
mod webhook;

use std::path::Path;
use std::time::{Duration, Instant};
use webhook::{Server, judge, pod, review};

fn hostile_loop() -> String {
    let wasm = support::hostile_components().join("hostile_loop.wasm");
    assert!(wasm.is_file(), "{} missing", wasm.display());
    wasm.display().to_string()
}

/// A bundle: hostile-loop in namespace `hostile` with these extra lines, and
/// disallow-privileged everywhere.
fn bundle(dir: &Path, hostile_extra: &str) -> String {
    let path = dir.join("bundle.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: hostile}}\nspec:\n  policies:\n    - module: {}\n      namespaces: [hostile]\n{hostile_extra}    - module: builtin:disallow-privileged\n",
            hostile_loop()
        ),
    )
    .expect("bundle");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_policy_is_denied_at_the_deadline_while_others_are_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The policy's own limits would let it run for a minute: the deadline stops it.
    let bundle = bundle(
        dir.path(),
        "      limits: {timeoutMs: 60000, fuelPerObject: 1000000000000000}\n",
    );
    let server = Server::start(dir.path(), &bundle, &["--deadline", "2s"]);
    server.wait_ready().await;
    let client = server.client();
    let url = server.url("/validate");

    let started = Instant::now();
    let hostile = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            let r = review("h1", "CREATE", "hostile", &pod("spin", false), false);
            let response = judge(&client, &url, &r).await;
            (response, started.elapsed())
        })
    };
    // Others, in another namespace, are judged while the loop runs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..10 {
        let privileged = i % 2 == 0;
        let r = review(
            &format!("o{i}"),
            "CREATE",
            "team",
            &pod("p", privileged),
            false,
        );
        let response = judge(&client, &url, &r).await;
        assert_eq!(response["allowed"], !privileged, "{response}");
    }
    assert!(
        !hostile.is_finished(),
        "the other requests were answered while the looping policy still ran"
    );
    let (response, elapsed) = hostile.await.expect("hostile request");
    assert_eq!(response["allowed"], false, "fail closed: {response}");
    assert_eq!(response["status"]["code"], 500, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("fails closed"), "{message}");
    assert!(
        message.contains("policy hostile-loop") && message.contains("request deadline"),
        "the message names the slow policy: {message}"
    );
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(10),
        "answered after {elapsed:?}, deadline 2 s"
    );
    assert_eq!(
        server
            .metric(r#"gate_policy_limit_hits_total{policy="hostile-loop",limit="deadline",dry_run="false"}"#)
            .await,
        1.0
    );
    // And it goes on serving.
    let response = judge(
        &client,
        &url,
        &review("after", "CREATE", "team", &pod("p", false), false),
    )
    .await;
    assert_eq!(response["allowed"], true, "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_fails_open_allows_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = bundle(
        dir.path(),
        "      failurePolicy: Ignore\n      limits: {timeoutMs: 300, fuelPerObject: 1000000000000000}\n",
    );
    let server = Server::start(dir.path(), &bundle, &[]);
    server.wait_ready().await;
    let client = server.client();
    let url = server.url("/validate");
    let response = judge(
        &client,
        &url,
        &review("f1", "CREATE", "hostile", &pod("spin", false), false),
    )
    .await;
    assert_eq!(response["allowed"], true, "{response}");
    let warnings = response["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("hostile-loop") && w.contains("time limit") && w.len() <= 120
        }),
        "{warnings:?}"
    );
    // Failing open does not hide the other policies' verdicts.
    let response = judge(
        &client,
        &url,
        &review("f2", "CREATE", "hostile", &pod("spin", true), false),
    )
    .await;
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 403, "{response}");
    assert_eq!(
        server
            .metric(r#"gate_evaluations_total{policy="hostile-loop",mode="enforce",decision="failed-open",dry_run="false"}"#)
            .await,
        2.0
    );
    assert_eq!(
        server
            .metric(r#"gate_errors_total{kind="time-limit",policy="hostile-loop",dry_run="false"}"#)
            .await,
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_then_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = bundle(
        dir.path(),
        "      limits: {timeoutMs: 3000, fuelPerObject: 1000000000000000}\n",
    );
    let mut server = Server::start(dir.path(), &bundle, &[]);
    server.wait_ready().await;
    let client = server.client();
    let url = server.url("/validate");
    let in_flight = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            judge(
                &client,
                &url,
                &review("t1", "CREATE", "hostile", &pod("spin", false), false),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.signal("TERM");
    let response = in_flight.await.expect("the request in flight is answered");
    assert_eq!(response["allowed"], false, "{response}");
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("time limit"),
        "{response}"
    );
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        server.logs()
    );
    assert!(
        client.get(server.url("/healthz")).send().await.is_err(),
        "no longer accepting connections"
    );
    assert!(server.logs().contains("shutting down"), "{}", server.logs());
}
