//! The Argo CD plugin's contract, played as argocd-cmp-server plays it
//! (support/cmp.rs): integration/argocd/plugin.yaml's discover, init and generate,
//! run through the shell it names, in a fresh copy of the app with file modes
//! reset, with the environment Argo CD sets, under the repo-server's deadline.
//!
//! Every case checks stdout, stderr, the exit code and the time. The invariant:
//! exit 0 with the whole render on stdout (as Argo CD splits it), or non-zero
//! with nothing on stdout and the reason on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cmp.rs"]
mod cmp;
mod support;

use cmp::{AppSpec, Generation, Repo, Sidecar, argo_split, object_set};
use serde_json::json;
use std::time::Duration;

/// The platform's configuration the cases run under.
const CONFIG: &str = r#"
apiVersion: gate.dev/v1alpha1
kind: ArgoCDPluginConfig
spec:
  bundles:
    default: builtin:default
    baseline: builtin:aks-baseline
    privileged-only: privileged-only.yaml
    lifecycle: lifecycle.yaml
  default:
    bundle: default
  rules:
    - name: payments
      projects: [payments]
      bundle: default
      allowedBundles: [privileged-only]
    - name: sandbox
      projects: [sandbox]
      bundle: default
      modes: [enforce, audit]
      allowEmpty: true
    - name: upgrades
      projects: [upgrades]
      bundle: lifecycle
    - name: marked
      projects: [marked]
      bundle: privileged-only
      annotateApproved: true
"#;

const PRIVILEGED_ONLY: &str = "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: privileged-only}\nspec:\n  policies:\n    - module: builtin:disallow-privileged\n";

const LIFECYCLE: &str = "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: lifecycle}\nspec:\n  policies:\n    - module: builtin:deprecated-api\n";

fn sidecar() -> Sidecar {
    let sidecar = Sidecar::new(CONFIG);
    sidecar.config_file("privileged-only.yaml", PRIVILEGED_ONLY);
    sidecar.config_file("lifecycle.yaml", LIFECYCLE);
    sidecar
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: {app: shop}
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: contoso.azurecr.io/shop:1.4.2
          ports: [{containerPort: 8080}]
";

const SERVICE_AND_CONFIG: &str = "apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
---
# Strings that YAML 1.1 would read otherwise, quoted as they must be.
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-settings, namespace: shop}
data:
  mode: '0755'
  enabled: 'yes'
  ratio: '1e3'
  banner: \"caf\\u00e9 \\u2014 \\\"quoted\\\"\\nsecond line\"
";

fn privileged_pod(name: &str, containers: usize) -> String {
    let mut pod =
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n");
    for i in 0..containers {
        pod.push_str(&format!(
            "    - name: app{i}\n      image: contoso.azurecr.io/app:1\n      securityContext: {{privileged: true}}\n"
        ));
    }
    pod
}

/// The objects a set of manifest texts holds, as Argo CD's decoder reads them.
fn objects_of(texts: &[&str]) -> Vec<String> {
    object_set(&argo_split(&texts.join("\n---\n")))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Exit 0, discovered, in time, and stdout splits (as Argo CD splits it) into
/// exactly `expected`.
fn assert_allowed(generated: &Generation, expected: &[String]) {
    assert!(generated.discovered, "discover must match the app");
    assert_eq!(generated.code, Some(0), "stderr:\n{}", generated.stderr);
    assert!(
        generated.elapsed < cmp::ARGO_DEADLINE,
        "{:?}",
        generated.elapsed
    );
    assert!(
        !generated.stderr.contains('\u{1b}'),
        "no ANSI codes: {:?}",
        generated.stderr
    );
    let out = argo_split(&generated.stdout);
    assert_eq!(object_set(&out), expected, "stdout:\n{}", generated.stdout);
}

/// Non-zero, nothing on stdout, in time, plain stderr starting with `first`.
fn assert_refused(generated: &Generation, code: i32, first: &str) {
    assert!(generated.discovered, "discover must match the app");
    assert_eq!(generated.code, Some(code), "stderr:\n{}", generated.stderr);
    assert_eq!(generated.stdout, "", "nothing on stdout unless allowed");
    assert!(
        generated.elapsed < cmp::ARGO_DEADLINE,
        "{:?}",
        generated.elapsed
    );
    assert!(
        !generated.stderr.contains('\u{1b}'),
        "no ANSI codes: {:?}",
        generated.stderr
    );
    assert!(
        first_line(&generated.stderr).starts_with(first),
        "first line of stderr:\n{}",
        generated.stderr
    );
}

#[test]
fn plugin_yaml_is_a_plugin_argo_cd_accepts_and_announces_its_parameters() {
    let plugin = cmp::PluginConfig::load();
    assert_eq!(plugin.metadata.name, "gate");
    assert_eq!(plugin.spec.preserve_file_mode, Some(false));
    let generate = plugin.spec.generate.argv();
    assert_eq!(generate[..2], ["sh", "-c"], "through the shell it names");
    assert!(generate[2].contains("gate argocd generate"), "{generate:?}");
    let announced: Vec<(&str, Option<&str>)> = plugin
        .spec
        .parameters
        .as_ref()
        .expect("parameters")
        .r#static
        .iter()
        .map(|a| (a.name.as_str(), a.collection_type.as_deref()))
        .collect();
    assert_eq!(
        announced,
        [("bundle", None), ("values-files", Some("array"))]
    );
}

#[test]
fn an_allowed_plain_yaml_app_is_printed_whole() {
    let sidecar = sidecar();
    let repo = Repo::new(&[
        ("apps/shop/deployment.yaml", DEPLOYMENT),
        ("apps/shop/nested/service.yaml", SERVICE_AND_CONFIG),
        ("apps/shop/README.md", "not a manifest\n"),
        ("apps/other/ignored.yaml", &privileged_pod("elsewhere", 1)),
    ]);
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("payments", "shop"));
    assert_allowed(&generated, &objects_of(&[DEPLOYMENT, SERVICE_AND_CONFIG]));
    assert_eq!(
        generated.stderr,
        format!(
            "gate: ALLOW 3 objects (bundle default@{})\n",
            cmp::builtin_bundle_digest("default")
        )
    );
    // A clean allow leaves no report behind.
    assert!(!sidecar.reports().exists());
}

#[test]
fn an_allowed_kustomize_app_is_rendered_by_the_real_kubectl_kustomize() {
    let sidecar = sidecar();
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\ncommonLabels: {team: payments}\nresources: [deployment.yaml, service.yaml]\n";
    let repo = Repo::new(&[
        ("apps/shop/kustomization.yaml", kustomization),
        ("apps/shop/deployment.yaml", DEPLOYMENT),
        ("apps/shop/service.yaml", SERVICE_AND_CONFIG),
    ]);
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("payments", "shop"));
    // What kubectl kustomize renders on its own, independently of gate.
    let (rendered, err, code, _) = cmp::run(
        &["kubectl".into(), "kustomize".into(), ".".into()],
        &repo.dir.path().join("apps/shop"),
        &[("PATH".into(), std::env::var("PATH").unwrap())],
        None,
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_allowed(&generated, &object_set(&argo_split(&rendered)));
    assert!(
        generated.stdout.contains("\"team\":\"payments\""),
        "{}",
        generated.stdout
    );
    assert!(first_line(&generated.stderr).starts_with("gate: ALLOW 3 objects"));
}

#[test]
fn a_denied_app_prints_nothing_and_says_why_in_a_short_report() {
    let sidecar = sidecar();
    let repo = Repo::new(&[
        ("apps/web/pod.yaml", &privileged_pod("web", 1)),
        ("apps/web/deployment.yaml", DEPLOYMENT),
    ]);
    let mut app = AppSpec::new("payments", "team-a_web");
    app.path = "apps/web".into();
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(&generated, 1, "gate: DENY");
    let report_path = sidecar.reports().join("payments_team-a_web.json");
    assert_eq!(
        generated.stderr,
        format!(
            "gate: DENY 1 objects by 1 policies (bundle default@{})\n\
             Pod/shop/web: disallow-privileged: container \"app0\" must not run privileged (spec.containers[0].securityContext.privileged)\n\
             full report: {}\n",
            cmp::builtin_bundle_digest("default"),
            report_path.display()
        )
    );
    // The full report names the app as Argo CD described it.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["decision"], "deny");
    assert_eq!(
        report["bundleDigest"],
        cmp::builtin_bundle_digest("default")
    );
    let context = &report["context"];
    assert_eq!(context["frontDoor"], "argocd");
    assert_eq!(context["revision"], app.revision);
    assert_eq!(context["defaultNamespace"], "shop");
    assert_eq!(context["cluster"]["kubeVersion"], "1.31.2");
    assert_eq!(
        context["cluster"]["apiVersions"],
        json!(["v1", "apps/v1", "apps/v1/Deployment"])
    );
    let metadata = &context["metadata"];
    for (key, value) in [
        ("argocd.appName", "team-a_web"),
        ("argocd.project", "payments"),
        ("argocd.revision", app.revision.as_str()),
        ("argocd.sourceRepoURL", app.repo_url.as_str()),
        ("argocd.sourcePath", "apps/web"),
        ("argocd.rule", "payments"),
        ("argocd.bundle", "default"),
        ("argocd.mode", "enforce"),
    ] {
        assert_eq!(metadata[key], value, "{key}");
    }
}

#[test]
fn a_long_list_of_findings_is_capped() {
    let sidecar = sidecar();
    let repo = Repo::new(&[("apps/web/pod.yaml", &privileged_pod("web", 25))]);
    let mut app = AppSpec::new("payments", "web");
    app.parameters = vec![json!({"name": "bundle", "string": "privileged-only"})];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        1,
        "gate: DENY 1 objects by 1 policies (bundle privileged-only@sha256:",
    );
    let lines: Vec<&str> = generated.stderr.lines().collect();
    assert_eq!(lines.len(), 1 + 20 + 2, "{}", generated.stderr);
    assert_eq!(lines[21], "... and 5 more");
    assert!(lines[22].starts_with("full report: "));
}

#[test]
fn malformed_yaml_fails_naming_the_file_and_line() {
    let sidecar = sidecar();
    let repo = Repo::new(&[
        ("apps/shop/deployment.yaml", DEPLOYMENT),
        (
            "apps/shop/broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: {a: 1\n",
        ),
    ]);
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("payments", "shop"));
    assert_refused(
        &generated,
        2,
        "gate: ERROR 1 errors while judging 1 objects (bundle default@",
    );
    let line = generated.stderr.lines().nth(1).unwrap_or_default();
    assert!(
        line.starts_with("error: ./broken.yaml:5:") && line.contains("invalid YAML"),
        "{}",
        generated.stderr
    );
    assert!(
        generated.stderr.contains("full report: "),
        "{}",
        generated.stderr
    );
}

#[test]
fn a_renderer_that_fails_fails_the_generation_with_its_message() {
    let sidecar = sidecar();
    let repo = Repo::new(&[
        (
            "apps/shop/kustomization.yaml",
            "resources: [deployment.yaml, missing.yaml]\n",
        ),
        ("apps/shop/deployment.yaml", DEPLOYMENT),
    ]);
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("payments", "shop"));
    assert_refused(&generated, 2, "gate: ERROR cannot render the app: .: ");
    assert!(
        generated.stderr.contains("missing.yaml"),
        "{}",
        generated.stderr
    );
}

#[test]
fn an_empty_render_fails_unless_the_project_intends_it() {
    let sidecar = sidecar();
    let repo = Repo::new(&[("apps/shop/kustomization.yaml", "resources: []\n")]);
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("payments", "shop"));
    assert_refused(&generated, 2, "gate: ERROR the render of . holds no object");
    assert!(
        generated.stderr.contains("allowEmpty"),
        "{}",
        generated.stderr
    );

    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("sandbox", "shop"));
    assert_eq!(generated.code, Some(0), "{}", generated.stderr);
    assert_eq!(generated.stdout, "");
    assert_eq!(
        generated.stderr,
        "gate: ALLOW an empty render (rule \"sandbox\" allows empty apps)\n"
    );
}

#[test]
fn audit_mode_prints_a_denied_render_with_warnings_only_where_allowed() {
    let sidecar = sidecar();
    let pod = privileged_pod("web", 1);
    let repo = Repo::new(&[
        ("apps/web/pod.yaml", &pod),
        ("apps/web/deployment.yaml", DEPLOYMENT),
    ]);
    let mut app = AppSpec::new("sandbox", "web");
    app.plugin_env = vec![("GATE_MODE".into(), "audit".into())];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_allowed(&generated, &objects_of(&[&pod, DEPLOYMENT]));
    let report_path = sidecar.reports().join("sandbox_web.json");
    assert_eq!(
        generated.stderr,
        format!(
            "gate: ALLOW 2 objects (bundle default@{}, audit mode): 1 warnings, 0 excepted\n\
             warning: Pod/shop/web: disallow-privileged: container \"app0\" must not run privileged (spec.containers[0].securityContext.privileged)\n\
             full report: {}\n",
            cmp::builtin_bundle_digest("default"),
            report_path.display()
        )
    );

    // The same request where the project does not allow audit.
    app.project = "payments".into();
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        1,
        "gate: DENY app \"web\" (project \"payments\") may not run in audit mode: rule \"payments\" of ",
    );
    assert!(
        generated.stderr.trim_end().ends_with("allows enforce"),
        "{}",
        generated.stderr
    );
}

#[test]
fn a_bundle_the_project_does_not_allow_is_denied() {
    let sidecar = sidecar();
    let repo = Repo::new(&[("apps/shop/deployment.yaml", DEPLOYMENT)]);
    let mut app = AppSpec::new("payments", "shop");
    app.parameters = vec![json!({"name": "bundle", "string": "baseline"})];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        1,
        "gate: DENY app \"shop\" (project \"payments\") may not use bundle \"baseline\": rule \"payments\" of ",
    );
    assert!(
        generated
            .stderr
            .trim_end()
            .ends_with("allows default, privileged-only"),
        "{}",
        generated.stderr
    );
    // The plugin env is no way around it.
    app.parameters.clear();
    app.plugin_env = vec![("GATE_BUNDLE".into(), "baseline".into())];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        1,
        "gate: DENY app \"shop\" (project \"payments\") may not use bundle",
    );
}

#[test]
fn approved_objects_carry_the_bundle_digest_when_configured() {
    let sidecar = sidecar();
    let repo = Repo::new(&[("apps/shop/deployment.yaml", DEPLOYMENT)]);
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("marked", "shop"));
    assert_eq!(generated.code, Some(0), "{}", generated.stderr);
    let digest = format!("sha256:{}", cmp::sha256_hex(PRIVILEGED_ONLY.as_bytes()));
    let objects = argo_split(&generated.stdout);
    assert_eq!(objects.len(), 1);
    assert_eq!(
        objects[0]["metadata"]["annotations"]["gate.dev/approved"],
        digest.as_str()
    );
    // Apart from the annotation, the object is unchanged.
    let mut unmarked = objects[0].clone();
    unmarked["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    assert_eq!(object_set(&[unmarked]), objects_of(&[DEPLOYMENT]));
}

#[test]
fn helm_charts_get_the_release_namespace_values_and_cluster_facts() {
    // helm cannot run here: a stand-in records how it is called, and whether
    // init (`helm dependency build`) ran before generate in the same directory.
    let sidecar = sidecar();
    sidecar.install_tool(
        "helm",
        "#!/bin/sh\nif [ \"$1\" = dependency ]; then mkdir -p charts && touch charts/.built; echo built deps; exit 0; fi\n\
         printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: helm-call\\ndata:\\n  args: \"%s\"\\n  deps: \"%s\"\\n' \"$*\" \"$(ls charts 2>/dev/null; ls -A charts 2>/dev/null)\"\n",
    );
    let repo = Repo::new(&[
        (
            "apps/shop/Chart.yaml",
            "apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n",
        ),
        ("apps/shop/values.yaml", "replicas: 1\n"),
        ("apps/shop/env/prod.yaml", "replicas: 3\n"),
    ]);
    let mut app = AppSpec::new("payments", "team-a_shop");
    app.parameters =
        vec![json!({"name": "values-files", "array": ["values.yaml", "env/prod.yaml"]})];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_eq!(generated.code, Some(0), "{}", generated.stderr);
    let objects = argo_split(&generated.stdout);
    assert_eq!(
        objects[0]["data"]["args"],
        "template shop . --include-crds --namespace shop --values values.yaml --values env/prod.yaml \
         --kube-version 1.31.2 --api-versions v1 --api-versions apps/v1 --api-versions apps/v1/Deployment"
    );
    assert!(
        objects[0]["data"]["deps"]
            .as_str()
            .unwrap()
            .contains(".built"),
        "init must have built the dependencies first: {}",
        objects[0]
    );

    // A values file outside the chart is refused before helm runs.
    app.parameters = vec![json!({"name": "values-files", "array": ["../../secrets.yaml"]})];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        2,
        "gate: ERROR cannot render the app: .: values file",
    );
    assert!(
        generated.stderr.contains("outside the chart directory"),
        "{}",
        generated.stderr
    );
}

#[test]
fn the_clusters_kubernetes_version_reaches_the_policies() {
    // KUBE_VERSION reaches deprecated-api inside the component: the same app is
    // denied for a cluster that no longer serves batch/v1beta1, allowed for one
    // that still does.
    let cronjob = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  schedule: '0 1 * * *'\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: contoso.azurecr.io/job:1}]}}}}\n";
    let sidecar = sidecar();
    let repo = Repo::new(&[("apps/jobs/cronjob.yaml", cronjob)]);
    let mut app = AppSpec::new("upgrades", "jobs");
    app.kube_version = "1.29.4".to_owned();
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(&generated, 1, "gate: DENY 1 objects by 1 policies");
    assert!(
        generated.stderr.contains(
            "uses batch/v1beta1, removed in Kubernetes 1.25 (the cluster runs 1.29.4); use batch/v1"
        ),
        "{}",
        generated.stderr
    );
    app.kube_version = "1.24.0".to_owned();
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_allowed(&generated, &objects_of(&[cronjob]));
}

#[test]
fn malformed_argo_cd_variables_fail_naming_the_variable() {
    let sidecar = sidecar();
    let repo = Repo::new(&[("apps/shop/deployment.yaml", DEPLOYMENT)]);
    let mut app = AppSpec::new("payments", "shop");
    app.kube_version = "latest".into();
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        2,
        "gate: ERROR KUBE_VERSION: \"latest\" is not a Kubernetes version",
    );

    let mut app = AppSpec::new("payments", "shop");
    app.parameters = vec![json!({"name": "bundel", "string": "default"})];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        2,
        "gate: ERROR ARGOCD_APP_PARAMETERS: unknown parameter \"bundel\"",
    );

    let mut app = AppSpec::new("payments", "shop");
    app.plugin_env = vec![("GATE_MODE".into(), "off".into())];
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(
        &generated,
        2,
        "gate: ERROR ARGOCD_ENV_GATE_MODE: \"off\" is not a mode",
    );
}

#[test]
fn a_missing_or_broken_platform_configuration_fails_closed() {
    let sidecar = sidecar();
    let repo = Repo::new(&[("apps/shop/deployment.yaml", DEPLOYMENT)]);
    std::fs::remove_file(sidecar.config_path()).unwrap();
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("payments", "shop"));
    assert_refused(
        &generated,
        2,
        "gate: ERROR cannot read the gate configuration ",
    );

    sidecar.write_config(&CONFIG.replace("bundle: privileged-only", "bundle: nope"));
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("payments", "shop"));
    assert_refused(&generated, 2, "gate: ERROR gate configuration ");
    assert!(
        generated.stderr.contains("no bundle named \"nope\""),
        "{}",
        generated.stderr
    );

    // A bundle file that cannot be read is an error too, naming the bundle.
    sidecar.write_config(CONFIG);
    std::fs::remove_file(sidecar.dir.path().join("config/privileged-only.yaml")).unwrap();
    let generated = cmp::generate(&sidecar, &repo, &AppSpec::new("marked", "shop"));
    assert_refused(
        &generated,
        2,
        "gate: ERROR cannot load bundle \"privileged-only\" (privileged-only.yaml)",
    );
}

#[test]
fn a_render_on_stdin_is_judged_the_same_way() {
    let sidecar = sidecar();
    let app = AppSpec::new("payments", "shop");
    let mut env = sidecar.env();
    env.extend(app.env());
    let argv: Vec<String> = ["gate", "argocd", "generate", "-"].map(String::from).into();
    let (out, err, code, _) = cmp::run(
        &argv,
        sidecar.dir.path(),
        &env,
        Some(DEPLOYMENT.as_bytes()),
        cmp::ARGO_DEADLINE,
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(object_set(&argo_split(&out)), objects_of(&[DEPLOYMENT]));

    let (out, err, code, _) = cmp::run(
        &argv,
        sidecar.dir.path(),
        &env,
        Some(b"kind: [unclosed\n"),
        cmp::ARGO_DEADLINE,
    );
    assert_eq!((code, out.as_str()), (Some(2), ""), "{err}");
    assert!(err.contains("<stdin>"), "{err}");
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    // Debug logs of every command go to stderr; piped, they must be plain.
    let deployment = support::root().join("integration/example-repo/apps/web/deployment.yaml");
    let output = support::run_with_timeout(
        support::gate()
            .env("GATE_LOG", "debug")
            .args(["check", &deployment.display().to_string()]),
        None,
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEBUG"), "debug logs expected: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI escape in: {stderr:?}");

    let sidecar = sidecar();
    sidecar_with_debug_logs(&sidecar);
}

fn sidecar_with_debug_logs(sidecar: &Sidecar) {
    let mut sidecar_env = sidecar.env();
    sidecar_env.push(("GATE_LOG".into(), "debug".into()));
    sidecar_env.extend(AppSpec::new("payments", "shop").env());
    let (_, err, code, _) = cmp::run(
        &[
            "gate".into(),
            "argocd".into(),
            "generate".into(),
            "-".into(),
        ],
        sidecar.dir.path(),
        &sidecar_env,
        Some(DEPLOYMENT.as_bytes()),
        cmp::ARGO_DEADLINE,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("DEBUG") && !err.contains('\u{1b}'), "{err:?}");
}

/// The bundle of the README's example: a file, so its digest stays put.
const README_BUNDLE: &str = "apiVersion: gate.dev/v1alpha1
kind: Bundle
metadata: {name: platform-restricted}
spec:
  policies:
    - module: builtin:disallow-privileged
    - module: builtin:allowed-registries
      settings: {allowedContainerImagesRegex: '^contoso\\.azurecr\\.io/.+$'}
";

#[test]
fn the_readme_shows_the_condition_exactly_as_argo_cd_will() {
    let sidecar = Sidecar::new(
        "apiVersion: gate.dev/v1alpha1\nkind: ArgoCDPluginConfig\nspec:\n  bundles:\n    restricted: restricted.yaml\n  default:\n    bundle: restricted\n",
    );
    sidecar.config_file("restricted.yaml", README_BUNDLE);
    let repo = Repo::new(&[(
        "apps/web/deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: docker.io/library/nginx:1.27
          securityContext: {privileged: true}
        - name: metrics
          image: contoso.azurecr.io/metrics:2.1
",
    )]);
    let mut app = AppSpec::new("default", "web");
    app.namespace = "web".into();
    let generated = cmp::generate(&sidecar, &repo, &app);
    assert_refused(&generated, 1, "gate: DENY 1 objects by 2 policies");
    // The report directory as the sidecar patch sets it.
    let stderr = generated.stderr.replace(
        &sidecar.reports().display().to_string(),
        "/tmp/gate-reports",
    );
    // Argo CD 3.x: the controller's, repo-server's and CMP server's wrapping of a
    // failed command (cmpserver/plugin/plugin.go quotes arguments that contain
    // spaces with Go's strconv.Quote).
    let argv: Vec<String> = cmp::PluginConfig::load()
        .spec
        .generate
        .argv()
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("{a:?}")
            } else {
                a.clone()
            }
        })
        .collect();
    let condition = format!(
        "Failed to load target state: failed to generate manifest for source 1 of 1: \
         rpc error: code = Unknown desc = plugin sidecar failed. error generating manifests in cmp: \
         rpc error: code = Unknown desc = plugin (gate) error generating manifests for app (web): \
         `{}` failed exit status 1: {}",
        argv.join(" "),
        stderr.trim()
    );
    support::check_doc_section(
        "README.md",
        "argocd-condition",
        &format!("```text\n{condition}\n```"),
        "cargo test -p gate --test argocd_contract the_readme",
    );
}
