//! The Argo CD plugin with an OCI bundle (a signed module pinned in a lock file),
//! played as argocd-cmp-server plays plugin.yaml, against a real docker-registry
//! on 127.0.0.1 that then goes down: a pinned module cached in the sidecar's
//! store still judges; without it, generation fails with the reason and prints
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cmp.rs"]
mod cmp;
#[path = "support/oci_fixtures.rs"]
mod fixtures;
#[path = "support/oci_registry.rs"]
mod registry;
mod support;

use cmp::{AppSpec, Repo, Sidecar, argo_split};
use fixtures::{Workspace, ok, push_trusted_policy};
use registry::{TestRegistry, tools_present};

const REPO: &str = "policies/disallow-privileged";

const GOOD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - name: app\n      image: contoso.azurecr.io/app:1\n";
const BAD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - name: app\n      image: contoso.azurecr.io/app:1\n      securityContext: {privileged: true}\n";

#[test]
fn a_pinned_cached_module_judges_while_the_registry_is_down_and_a_missing_one_fails_closed() {
    if !tools_present(&["docker-registry", "openssl"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let host = registry.host.clone();
    let ws = Workspace::new();
    let digest = push_trusted_policy(&ws, &registry, &format!("{REPO}:1.0"));
    // The platform's bundle: a tag, pinned by `gate bundle lock` in the lock file beside it.
    let bundle = ws.bundle(&format!("oci://{host}/{REPO}:1.0"));
    let locked = ok(&ws.run(
        &registry,
        &["bundle", "lock", &bundle.display().to_string()],
    ));
    assert!(locked.contains(&digest), "{locked}");

    let mut sidecar = Sidecar::new(&format!(
        "apiVersion: gate.dev/v1alpha1\nkind: ArgoCDPluginConfig\nspec:\n  bundles:\n    signed: {}\n  default:\n    bundle: signed\n",
        bundle.display()
    ));
    sidecar.extra_env = vec![
        ("GATE_OCI_STORE".into(), ws.store().display().to_string()),
        ("GATE_PLAIN_HTTP".into(), host.clone()),
        (
            "DOCKER_CONFIG".into(),
            ws.path("docker").display().to_string(),
        ),
        ("GATE_REGISTRY_ATTEMPTS".into(), "2".into()),
        ("GATE_REGISTRY_TIMEOUT_SECS".into(), "5".into()),
    ];
    let good = Repo::new(&[("apps/web/pod.yaml", GOOD)]);
    let bad = Repo::new(&[("apps/web/pod.yaml", BAD)]);
    let app = AppSpec::new("payments", "web");

    // Registry up: the module is pulled, verified, and kept in the sidecar's store.
    let allowed = cmp::generate(&sidecar, &good, &app);
    assert_eq!(allowed.code, Some(0), "{}", allowed.stderr);
    assert_eq!(argo_split(&allowed.stdout).len(), 1);

    // Registry down: the pinned module comes from the store, signatures included.
    drop(registry);
    let allowed = cmp::generate(&sidecar, &good, &app);
    assert_eq!(allowed.code, Some(0), "{}", allowed.stderr);
    assert_eq!(
        cmp::object_set(&argo_split(&allowed.stdout)),
        cmp::object_set(&argo_split(GOOD))
    );
    assert!(
        allowed
            .stderr
            .starts_with("gate: ALLOW 1 objects (bundle oci-test@sha256:")
            && allowed.stderr.contains("\nnotice: ")
            && allowed.stderr.contains("registry unreachable"),
        "the outcome depends on the store: say so\n{}",
        allowed.stderr
    );
    assert!(allowed.elapsed < cmp::ARGO_DEADLINE);
    let denied = cmp::generate(&sidecar, &bad, &app);
    assert_eq!(
        (denied.code, denied.stdout.as_str()),
        (Some(1), ""),
        "{}",
        denied.stderr
    );
    assert!(
        denied
            .stderr
            .starts_with("gate: DENY 1 objects by 1 policies (bundle oci-test@sha256:"),
        "{}",
        denied.stderr
    );

    // Registry down and nothing cached: no decision, nothing printed, the reason given.
    std::fs::remove_dir_all(ws.store()).unwrap();
    let failed = cmp::generate(&sidecar, &good, &app);
    assert_eq!(
        (failed.code, failed.stdout.as_str()),
        (Some(2), ""),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.starts_with(&format!(
            "gate: ERROR cannot load bundle \"signed\" ({}): ",
            bundle.display()
        )),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains(&host),
        "names the registry: {}",
        failed.stderr
    );
    assert!(!failed.stderr.contains('\u{1b}'));
    assert!(failed.elapsed < cmp::ARGO_DEADLINE, "{:?}", failed.elapsed);
}
