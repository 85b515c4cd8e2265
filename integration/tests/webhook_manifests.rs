//! The deployable files of the webhook (integration/webhook): they pass gate's own
//! `aks-restricted` bundle, and they fit together (the Service reaches the
//! container port, the certificate names the Service, cert-manager injects the
//! CA of that certificate, the webhook configuration and the bundle leave out the
//! same namespaces, the container's flags exist).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

fn dir() -> PathBuf {
    support::root().join("integration/webhook")
}

/// Every object of the folder, by kind.
fn objects() -> Vec<Value> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("integration/webhook")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(document).expect("YAML");
            if !value.is_null() {
                out.push(value);
            }
        }
    }
    out
}

fn one(kind: &str) -> Value {
    let found: Vec<Value> = objects()
        .into_iter()
        .filter(|o| o["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} expected");
    found.into_iter().next().unwrap()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

#[test]
fn the_deployable_files_pass_aks_restricted() {
    for bundle in ["builtin:aks-restricted", "builtin:pss-restricted"] {
        let output = support::run_with_timeout(
            support::gate()
                .args(["check", "--bundle", bundle, "-f", "json"])
                .arg(dir()),
            None,
            Duration::from_secs(300),
        );
        let (code, stdout, stderr) = support::parts(&output);
        assert_eq!(code, 0, "{bundle}:\n{stdout}\n{stderr}");
        let report: Value = serde_json::from_str(&stdout).expect("JSON report");
        assert_eq!(report["decision"], "allow", "{bundle}");
        assert_eq!(report["summary"]["warnings"], 0, "{bundle}: {stdout}");
        assert_eq!(report["summary"]["skipped"], 0, "{bundle}: {stdout}");
        assert!(
            report["summary"]["evaluations"].as_u64().unwrap() >= 8,
            "{bundle}: the Deployment was judged: {stdout}"
        );
    }
}

#[test]
fn the_deployment_is_hardened_and_highly_available() {
    let deployment = one("Deployment");
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 2);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert!(
        pod["affinity"]["podAntiAffinity"]
            .as_object()
            .is_some_and(|a| !a.is_empty())
    );
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["scheme"], "HTTPS", "{probe}");
    }
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    for quantity in ["cpu", "memory"] {
        assert!(
            container["resources"]["requests"][quantity].is_string(),
            "{quantity}"
        );
        assert!(
            container["resources"]["limits"][quantity].is_string(),
            "{quantity}"
        );
    }
    // The grace period covers gate's own shutdown grace.
    let args = strings(&container["args"]);
    let grace: u64 = args
        .iter()
        .find_map(|a| {
            a.strip_prefix("--shutdown-grace=")?
                .strip_suffix('s')?
                .parse()
                .ok()
        })
        .expect("--shutdown-grace=Ns");
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > grace);
    // Mounted whole (no subPath), so renewed certificates and edited bundles arrive.
    for mount in container["volumeMounts"].as_array().unwrap() {
        assert!(mount.get("subPath").is_none(), "{mount}");
    }
    let pdb = one("PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        spec["selector"]["matchLabels"]
    );
}

#[test]
fn service_certificate_and_webhook_configuration_fit_together() {
    let deployment = one("Deployment");
    let service = one("Service");
    let certificate = one("Certificate");
    let issuer = one("Issuer");
    let configuration = one("ValidatingWebhookConfiguration");
    let namespace = deployment["metadata"]["namespace"].as_str().unwrap();
    let pod = &deployment["spec"]["template"];

    // The Service selects the pods and reaches the container's port by name.
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod["metadata"]["labels"][k], v, "selector {k}");
    }
    let port = &service["spec"]["ports"][0];
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["name"], port["targetPort"]);
    assert_eq!(container["ports"][0]["containerPort"], 8443);
    assert!(strings(&container["args"]).contains("--listen=0.0.0.0:8443"));

    // The certificate names the Service, is issued by the Issuer, and lands in the
    // Secret the Deployment mounts.
    let service_name = service["metadata"]["name"].as_str().unwrap();
    let dns = strings(&certificate["spec"]["dnsNames"]);
    assert!(
        dns.contains(&format!("{service_name}.{namespace}.svc")),
        "{dns:?}"
    );
    assert_eq!(
        certificate["spec"]["issuerRef"]["name"],
        issuer["metadata"]["name"]
    );
    let secret = &certificate["spec"]["secretName"];
    assert!(
        pod["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| &v["secret"]["secretName"] == secret),
        "the Deployment mounts {secret}"
    );

    // The webhook configuration: fail closed, no side effects, v1 only, a timeout
    // above gate's deadline, the CA injected from that certificate.
    assert_eq!(
        configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!(
            "{namespace}/{}",
            certificate["metadata"]["name"].as_str().unwrap()
        )
    );
    let hook = &configuration["webhooks"][0];
    assert_eq!(hook["failurePolicy"], "Fail");
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
    let timeout = hook["timeoutSeconds"].as_u64().unwrap();
    let deadline: u64 = strings(&container["args"])
        .iter()
        .find_map(|a| {
            a.strip_prefix("--deadline=")?
                .strip_suffix('s')?
                .parse()
                .ok()
        })
        .expect("--deadline=Ns");
    assert!(
        deadline < timeout && timeout <= 30,
        "deadline {deadline} s, timeout {timeout} s"
    );
    let client = &hook["clientConfig"]["service"];
    assert_eq!(client["name"], service_name);
    assert_eq!(client["namespace"], namespace);
    assert_eq!(client["path"], "/validate");
    assert_eq!(client["port"], port["port"]);
    for rule in hook["rules"].as_array().unwrap() {
        let operations = strings(&rule["operations"]);
        assert!(
            operations.is_subset(&BTreeSet::from(["CREATE".to_owned(), "UPDATE".to_owned()])),
            "{rule}"
        );
    }
}

#[test]
fn the_webhook_and_the_bundle_leave_out_the_same_namespaces() {
    let configuration = one("ValidatingWebhookConfiguration");
    let expressions = configuration["webhooks"][0]["namespaceSelector"]["matchExpressions"]
        .as_array()
        .unwrap();
    let excluded = expressions
        .iter()
        .find(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
        .map(|e| strings(&e["values"]))
        .expect("a NotIn on kubernetes.io/metadata.name");
    let gate_namespace = one("Deployment")["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(excluded.contains(&gate_namespace), "gate's own namespace");
    for system in gate_core::bundle::DEFAULT_EXCLUDED_NAMESPACES {
        assert!(excluded.contains(system), "{system}");
    }
    let config_map = one("ConfigMap");
    let bundle_text = config_map["data"]["bundle.yaml"].as_str().unwrap();
    let bundle = gate_core::bundle::Bundle::parse(std::path::Path::new("configmap"), bundle_text)
        .expect("the ConfigMap holds a bundle");
    let in_bundle: BTreeSet<String> = bundle.spec.excluded_namespaces.iter().cloned().collect();
    assert_eq!(in_bundle, excluded);

    // Its policies are those of builtin:aks-restricted, with the same settings.
    let builtin =
        std::fs::read_to_string(support::root().join("bundles/aks-restricted.yaml")).unwrap();
    let builtin =
        gate_core::bundle::Bundle::parse(std::path::Path::new("aks-restricted"), &builtin).unwrap();
    assert_eq!(
        serde_json::to_value(&bundle.spec.policies).unwrap(),
        serde_json::to_value(&builtin.spec.policies).unwrap()
    );
}

#[test]
fn the_container_flags_are_flags_of_gate_serve() {
    let help = support::run(&["serve", "--help"]);
    let (code, stdout, stderr) = support::parts(&help);
    assert_eq!(code, 0, "{stderr}");
    let container = one("Deployment")["spec"]["template"]["spec"]["containers"][0].clone();
    let args = container["args"].as_array().unwrap();
    assert_eq!(args[0], "serve");
    for arg in &args[1..] {
        let flag = arg.as_str().unwrap().split('=').next().unwrap();
        assert!(
            stdout.contains(&format!("{flag} ")) || stdout.contains(&format!("{flag} <")),
            "{flag} is not a flag of gate serve:\n{stdout}"
        );
    }
    for env in container["env"].as_array().unwrap() {
        let name = env["name"].as_str().unwrap();
        assert!(
            stdout.contains(name),
            "{name} is not read by gate serve:\n{stdout}"
        );
    }
}
