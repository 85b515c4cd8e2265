//! The `aks-deployment-safeguards` bundle as a user runs it: a render that follows every
//! safeguard passes, and a render that breaks each of them on purpose is denied by the
//! policy of that safeguard, on the object that breaks it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const BUNDLE: &str = "builtin:aks-deployment-safeguards";

/// Follows every safeguard of the bundle.
const COMPLIANT: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, app.kubernetes.io/name: web}}
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: contoso.azurecr.io/web:1.4.2
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 500m, memory: 256Mi}}
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          livenessProbe: {httpGet: {path: /live, port: 8080}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: "true"}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations: {kubernetes.io/ingress.allow-http: "false"}
spec:
  tls: [{hosts: [web.contoso.com], secretName: web-tls}]
  rules: [{host: web.contoso.com}]
"#;

/// Breaks each safeguard once; the comments say which.
const NONCOMPLIANT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default}          # allowed-namespaces
spec:
  template:
    metadata: {labels: {app: api}}                  # required-labels (audit)
    spec:                                           # disallow-automount-token
      containers:
        - name: api
          image: docker.io/library/nginx            # allowed-registries, disallowed-tags
          resources: {limits: {cpu: "8", memory: 256Mi}}   # container-limits, required-resources
          securityContext: {privileged: true}       # disallow-privileged
                                                    # required-probes
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {type: LoadBalancer, selector: {app: api}, ports: [{port: 80}]}   # block-load-balancer-services
---
apiVersion: v1
kind: Service
metadata: {name: api-copy, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 8080}]}                     # unique-service-selector
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: shop}
spec: {rules: [{host: api.contoso.com}]}            # https-only-ingress
"#;

/// `gate check -f json` with the bundle on a render given on stdin.
fn check(render: &str) -> (i32, Value) {
    let mut command = support::gate();
    command.args(["check", "--bundle", BUNDLE, "-f", "json", "-"]);
    let output = support::run_with_timeout(
        &mut command,
        Some(render.as_bytes()),
        Duration::from_secs(600),
    );
    let (code, stdout, stderr) = support::parts(&output);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}\n{stderr}"));
    (code, report)
}

/// (policy, kind/name, action) of every finding.
fn findings(report: &Value) -> BTreeSet<(String, String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["policy"].as_str().unwrap().to_owned(),
                format!(
                    "{}/{}",
                    f["object"]["kind"].as_str().unwrap(),
                    f["object"]["name"].as_str().unwrap()
                ),
                f["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_render_that_follows_every_safeguard_passes() {
    let (code, report) = check(COMPLIANT);
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    assert_eq!(findings(&report), BTreeSet::new(), "{report:#}");
    assert_eq!(code, 0);
}

#[test]
fn each_broken_safeguard_is_reported_by_its_policy() {
    let (code, report) = check(NONCOMPLIANT);
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    let expected: BTreeSet<(String, String, String)> = [
        ("allowed-namespaces", "Deployment/api", "deny"),
        ("allowed-registries", "Deployment/api", "deny"),
        ("disallowed-tags", "Deployment/api", "deny"),
        ("container-limits", "Deployment/api", "deny"),
        ("required-resources", "Deployment/api", "deny"),
        ("required-probes", "Deployment/api", "deny"),
        ("disallow-automount-token", "Deployment/api", "deny"),
        ("disallow-privileged", "Deployment/api", "deny"),
        ("required-labels", "Deployment/api", "warn"),
        ("block-load-balancer-services", "Service/api", "deny"),
        ("unique-service-selector", "Service/api", "deny"),
        ("unique-service-selector", "Service/api-copy", "deny"),
        ("https-only-ingress", "Ingress/api", "deny"),
    ]
    .into_iter()
    .map(|(p, o, a)| (p.to_owned(), o.to_owned(), a.to_owned()))
    .collect();
    assert_eq!(findings(&report), expected, "{report:#}");
    assert_eq!(code, 1, "enforced denials fail the run");
}
