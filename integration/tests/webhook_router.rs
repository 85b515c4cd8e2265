//! The webhook's router in process: real policies on the real runtime, requests
//! built as the API server sends them, answers read as the API server reads them.
//! Every answer and every HTTP refusal of `POST /validate`, and the operational
//! endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
#[path = "support/webhook.rs"]
mod webhook;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gate_engine::LoadedBundle;
use gate_engine::loader::{BundleRef, LocalResolver, load_bundle};
use gate_runtime::{Runtime, RuntimeConfig};
use gate_webhook::{AppState, RequestSettings, router};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;
use webhook::{metric_value, pod, review};

/// One bundle for every test: an enforced policy, an audited one with a live
/// exception, a cross-object policy, and an excluded namespace.
const BUNDLE: &str = "apiVersion: gate.dev/v1alpha1
kind: Bundle
metadata: {name: router-test}
spec:
  excludedNamespaces: [kube-system, gate-system]
  policies:
    - module: builtin:disallow-privileged
      exceptions:
        - {name: debug-tools, reason: CHG-1, expires: 2999-12-31, names: [debugger]}
    - module: builtin:pss-host-namespaces
      mode: audit
    - module: builtin:unique-ingress-host
";

fn shared() -> &'static (Arc<Runtime>, Arc<LoadedBundle>) {
    static SHARED: OnceLock<(Arc<Runtime>, Arc<LoadedBundle>)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(support::cache_dir()),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bundle.yaml");
        std::fs::write(&path, BUNDLE).expect("bundle");
        let bundle = load_bundle(&runtime, &BundleRef::File(path), &LocalResolver).expect("load");
        (Arc::new(runtime), Arc::new(bundle))
    })
}

/// A fresh state (fresh metrics) serving the shared bundle.
fn state(settings: RequestSettings) -> Arc<AppState> {
    let (runtime, bundle) = shared();
    let state = Arc::new(AppState::new(runtime.clone(), settings));
    state.serve(bundle.clone());
    state
}

async fn call(state: &Arc<AppState>, request: Request<Body>) -> (StatusCode, String) {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("router");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
}

fn post(body: impl Into<Body>, content_type: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/validate");
    if let Some(value) = content_type {
        builder = builder.header("content-type", value);
    }
    builder.body(body.into()).expect("request")
}

async fn answer(state: &Arc<AppState>, review: &Value) -> Value {
    let (status, body) = call(
        state,
        post(
            serde_json::to_vec(review).unwrap(),
            Some("application/json"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON answer");
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], review["request"]["uid"]);
    answer["response"].clone()
}

async fn metrics(state: &Arc<AppState>) -> String {
    let (status, body) = call(state, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    body
}

#[tokio::test]
async fn a_compliant_pod_is_allowed_without_warnings() {
    let state = state(RequestSettings::default());
    let response = answer(
        &state,
        &review("u1", "CREATE", "team", &pod("web", false), false),
    )
    .await;
    assert_eq!(response["allowed"], true, "{response}");
    assert!(response.get("warnings").is_none(), "{response}");
    let text = metrics(&state).await;
    assert_eq!(
        metric_value(
            &text,
            r#"gate_evaluations_total{policy="disallow-privileged",mode="enforce",decision="allow",dry_run="false"}"#
        ),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_privileged_pod_is_denied_with_403_naming_policy_and_field() {
    let state = state(RequestSettings::default());
    let response = answer(
        &state,
        &review("u2", "CREATE", "team", &pod("web", true), false),
    )
    .await;
    assert_eq!(response["allowed"], false, "{response}");
    let status = &response["status"];
    assert_eq!(status["code"], 403, "{response}");
    assert_eq!(status["reason"], "Forbidden");
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("[disallow-privileged]"), "{message}");
    assert!(
        message.contains("spec.containers[0].securityContext.privileged"),
        "{message}"
    );
    assert!(
        message.len() <= gate_webhook::verdict::MESSAGE_CAP,
        "{message}"
    );
}

#[tokio::test]
async fn audit_findings_and_exceptions_become_short_warnings() {
    let state = state(RequestSettings::default());
    let mut object = pod("debugger", true);
    object["spec"]["hostPID"] = json!(true);
    object["spec"]["hostIPC"] = json!(true);
    let response = answer(&state, &review("u3", "CREATE", "team", &object, false)).await;
    assert_eq!(
        response["allowed"], true,
        "the exception covers the denial: {response}"
    );
    let warnings: Vec<&str> = response["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("[pss-host-namespaces] audit")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(
            |w| w.starts_with("[disallow-privileged] excepted by debug-tools until 2999-12-31")
        ),
        "{warnings:?}"
    );
    for warning in &warnings {
        assert!(warning.len() <= 120, "{} bytes: {warning}", warning.len());
    }
}

#[tokio::test]
async fn a_cross_object_policy_is_not_judged_at_admission_and_says_so() {
    let state = state(RequestSettings::default());
    let ingress = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "team"},
        "spec": {"rules": [{"host": "web.example.com"}]}
    });
    let response = answer(&state, &review("u4", "CREATE", "team", &ingress, false)).await;
    assert_eq!(response["allowed"], true, "{response}");
    let warnings = response["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.starts_with("unique-ingress-host: not judged at admission") && w.len() <= 120
        }),
        "{warnings:?}"
    );
    let text = metrics(&state).await;
    assert!(!text.contains(r#"policy="unique-ingress-host""#), "{text}");
}

#[tokio::test]
async fn an_excluded_namespace_is_allowed_without_evaluation() {
    let state = state(RequestSettings::default());
    let response = answer(
        &state,
        &review("u5", "CREATE", "kube-system", &pod("agent", true), false),
    )
    .await;
    assert_eq!(response["allowed"], true, "{response}");
    let text = metrics(&state).await;
    assert!(!text.contains("gate_evaluations_total{"), "{text}");
    // The Namespace object itself is in the namespace it names.
    let namespace =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gate-system"}});
    let response = answer(&state, &review("u6", "UPDATE", "", &namespace, false)).await;
    assert_eq!(response["allowed"], true, "{response}");
    let text = metrics(&state).await;
    assert_eq!(
        metric_value(
            &text,
            r#"gate_admission_skipped_requests_total{reason="excluded-namespace",dry_run="false"}"#
        ),
        2.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_dry_run_is_judged_the_same_and_labelled_in_metrics() {
    let state = state(RequestSettings::default());
    let real = answer(
        &state,
        &review("u7", "CREATE", "team", &pod("web", true), false),
    )
    .await;
    let dry = answer(
        &state,
        &review("u7", "CREATE", "team", &pod("web", true), true),
    )
    .await;
    assert_eq!(real, dry, "a dry run gets the same answer");
    let text = metrics(&state).await;
    for dry_run in ["true", "false"] {
        assert_eq!(
            metric_value(
                &text,
                &format!(
                    r#"gate_evaluations_total{{policy="disallow-privileged",mode="enforce",decision="deny",dry_run="{dry_run}"}}"#
                )
            ),
            1.0,
            "{text}"
        );
    }
}

#[tokio::test]
async fn delete_is_allowed_and_update_is_judged() {
    let state = state(RequestSettings::default());
    let response = answer(
        &state,
        &review("u8", "DELETE", "team", &pod("web", true), false),
    )
    .await;
    assert_eq!(
        response["allowed"], true,
        "no policy judges DELETE: {response}"
    );
    let response = answer(
        &state,
        &review("u9", "UPDATE", "team", &pod("web", true), false),
    )
    .await;
    assert_eq!(response["allowed"], false, "{response}");
    let text = metrics(&state).await;
    assert_eq!(
        metric_value(
            &text,
            r#"gate_admission_request_duration_seconds_count{operation="DELETE",decision="allow",dry_run="false"}"#
        ),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let state = state(RequestSettings::default());
    let body = serde_json::to_vec(&review("u", "CREATE", "team", &pod("p", false), false)).unwrap();
    let (status, message) = call(&state, post(body.clone(), Some("application/yaml"))).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(message.contains("application/json"), "{message}");
    let (status, _) = call(&state, post(body, None)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let state = state(RequestSettings {
        max_body_bytes: 4096,
        ..RequestSettings::default()
    });
    let mut object = pod("big", false);
    object["metadata"]["annotations"] = json!({"filler": "x".repeat(8192)});
    let body = serde_json::to_vec(&review("u", "CREATE", "team", &object, false)).unwrap();
    let (status, message) = call(&state, post(body.clone(), Some("application/json"))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("4096 bytes"), "{message}");
    // Without Content-Length (a chunked body), the limit still holds.
    let chunks = body
        .chunks(1000)
        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
        .collect::<Vec<_>>();
    let stream = Body::from_stream(futures_stream(chunks));
    let (status, _) = call(&state, post(stream, Some("application/json"))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let text = metrics(&state).await;
    assert_eq!(
        metric_value(
            &text,
            r#"gate_admission_rejected_requests_total{status="413"}"#
        ),
        2.0
    );
}

/// A body stream of these chunks, with no length known in advance.
fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    struct Chunks(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Chunks(chunks.into_iter())
}

#[tokio::test]
async fn what_is_not_a_v1_review_is_400_with_a_reason() {
    let state = state(RequestSettings::default());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{\"apiVersion\": ".to_vec(), "not an AdmissionReview"),
        (b"[]".to_vec(), "not an AdmissionReview"),
        (
            serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": review("u", "CREATE", "t", &pod("p", false), false)["request"]})).unwrap(),
            "admission.k8s.io/v1beta1",
        ),
        (
            serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})).unwrap(),
            "no request",
        ),
        (
            {
                let mut r = review("u", "CREATE", "t", &pod("p", false), false);
                r["request"]["object"] = Value::Null;
                serde_json::to_vec(&r).unwrap()
            },
            "request.object is missing",
        ),
        (
            {
                let mut r = review("u", "CREATE", "t", &pod("p", false), false);
                r["request"]["object"] = json!({"metadata": {"name": "no-kind"}});
                serde_json::to_vec(&r).unwrap()
            },
            "not a Kubernetes object",
        ),
        (
            {
                let mut r = review("u", "CREATE", "t", &pod("p", false), false);
                let mut deep = json!(1);
                for _ in 0..1000 {
                    deep = json!([deep]);
                }
                r["request"]["object"]["spec"]["deep"] = deep;
                serde_json::to_vec(&r).unwrap()
            },
            "not an AdmissionReview",
        ),
    ];
    for (body, expected) in cases {
        let (status, message) = call(&state, post(body, Some("application/json"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message}"
        );
    }
}

#[tokio::test]
async fn without_a_bundle_it_is_not_ready_and_denies() {
    let (runtime, bundle) = shared();
    let state = Arc::new(AppState::new(runtime.clone(), RequestSettings::default()));
    state.load_failed("bundle b.yaml: no such file".into());
    let (status, body) = call(&state, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("no such file"), "{body}");
    let (status, _) = call(
        &state,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = answer(
        &state,
        &review("u", "CREATE", "team", &pod("p", false), false),
    )
    .await;
    assert_eq!(response["allowed"], false, "fail closed: {response}");
    assert_eq!(response["status"]["code"], 503);

    state.serve(bundle.clone());
    let (status, body) = call(&state, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("router-test"), "{body}");
    state.begin_shutdown();
    let (status, _) = call(&state, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_request_deadline_denies_naming_the_policy() {
    let state = state(RequestSettings {
        deadline: std::time::Duration::from_nanos(1),
        ..RequestSettings::default()
    });
    let response = answer(
        &state,
        &review("u", "CREATE", "team", &pod("p", false), false),
    )
    .await;
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 500, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("fails closed"), "{message}");
    assert!(
        message.contains("disallow-privileged") && message.contains("request deadline"),
        "{message}"
    );
    let text = metrics(&state).await;
    assert!(
        text.contains(r#"gate_policy_limit_hits_total{policy="disallow-privileged",limit="deadline",dry_run="false"} 1"#),
        "{text}"
    );
}

/// A state serving a bundle of the context probe (integration/wasm), which
/// denies with a message saying what it was told: the operation, the old object.
fn probe_state() -> Arc<AppState> {
    let (runtime, _) = shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let probe = support::hostile_components().join("context_probe.wasm");
    let path = dir.path().join("probe.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: probe}}\nspec:\n  policies:\n    - module: {}\n",
            probe.display()
        ),
    )
    .expect("bundle");
    let bundle = load_bundle(runtime, &BundleRef::File(path), &LocalResolver).expect("load");
    let state = Arc::new(AppState::new(runtime.clone(), RequestSettings::default()));
    state.serve(Arc::new(bundle));
    state
}

#[tokio::test]
async fn the_operation_and_the_old_object_reach_policies_that_judge_them() {
    let state = probe_state();
    let mut update = review("p1", "UPDATE", "team", &pod("web", false), false);
    update["request"]["oldObject"] = pod("web-before", false);
    let response = answer(&state, &update).await;
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert_eq!(response["allowed"], false, "{response}");
    assert!(
        message.contains("operation=Update") && message.contains("old=web-before"),
        "{message}"
    );
    assert!(message.contains("object=web;"), "{message}");

    // DELETE reaches a policy that declares it, judged on the stored object.
    let response = answer(
        &state,
        &review("p2", "DELETE", "team", &pod("gone", false), false),
    )
    .await;
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert_eq!(response["allowed"], false, "{response}");
    assert!(
        message.contains("operation=Delete") && message.contains("object=gone"),
        "{message}"
    );

    // CREATE has no old object.
    let response = answer(
        &state,
        &review("p3", "CREATE", "team", &pod("new", false), false),
    )
    .await;
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("operation=Create") && message.contains("old=-"),
        "{message}"
    );
}
