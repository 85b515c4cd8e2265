//! The Pod Security Standards bundles against Kubernetes' own Pod Security Admission
//! fixtures (integration/conformance/psa, v1.37): every `pass` pod is allowed and every
//! `fail` pod denied by the bundle of its level, bare and wrapped in each workload kind,
//! and a denial comes from the policy that implements the fixture's check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The levels: fixture folder and bundle.
const LEVELS: [(&str, &str); 2] = [
    ("baseline", "builtin:pss-baseline"),
    ("restricted", "builtin:pss-restricted"),
];

/// For each level, the policy (bundle entry name) that must deny a `fail` fixture, by
/// the fixture's check prefix (`hostnamespaces0.yaml` -> `hostnamespaces`). At the
/// restricted level, restricted checks replace four baseline checks, as upstream.
const EXPECTED_POLICY: &[(&str, &str, &str)] = &[
    ("baseline", "apparmorprofile", "pss-apparmor"),
    (
        "baseline",
        "capabilities_baseline",
        "pss-capabilities-baseline",
    ),
    ("baseline", "hostnamespaces", "pss-host-namespaces"),
    ("baseline", "hostpathvolumes", "pss-host-path-volumes"),
    ("baseline", "hostports", "pss-host-ports"),
    (
        "baseline",
        "hostprobesandhostlifecycle",
        "pss-host-probes-lifecycle",
    ),
    ("baseline", "privileged", "disallow-privileged"),
    ("baseline", "procmount", "pss-proc-mount"),
    (
        "baseline",
        "seccompprofile_baseline",
        "pss-seccomp-baseline",
    ),
    ("baseline", "selinuxoptions", "pss-selinux"),
    ("baseline", "sysctls", "pss-sysctls"),
    ("baseline", "windowshostprocess", "pss-windows-host-process"),
    (
        "restricted",
        "allowprivilegeescalation",
        "pss-privilege-escalation",
    ),
    ("restricted", "apparmorprofile", "pss-apparmor"),
    (
        "restricted",
        "capabilities_baseline",
        "pss-capabilities-restricted",
    ),
    (
        "restricted",
        "capabilities_restricted",
        "pss-capabilities-restricted",
    ),
    ("restricted", "hostnamespaces", "pss-host-namespaces"),
    ("restricted", "hostpathvolumes", "pss-volume-types"),
    ("restricted", "hostports", "pss-host-ports"),
    (
        "restricted",
        "hostprobesandhostlifecycle",
        "pss-host-probes-lifecycle",
    ),
    ("restricted", "privileged", "disallow-privileged"),
    ("restricted", "procmount", "pss-proc-mount-restricted"),
    (
        "restricted",
        "procmount_restricted",
        "pss-proc-mount-restricted",
    ),
    ("restricted", "restrictedvolumes", "pss-volume-types"),
    ("restricted", "runasnonroot", "pss-run-as-non-root"),
    ("restricted", "runasuser", "pss-run-as-user"),
    (
        "restricted",
        "seccompprofile_baseline",
        "pss-seccomp-restricted",
    ),
    (
        "restricted",
        "seccompprofile_restricted",
        "pss-seccomp-restricted",
    ),
    ("restricted", "selinuxoptions", "pss-selinux"),
    ("restricted", "sysctls", "pss-sysctls"),
    (
        "restricted",
        "windowshostprocess",
        "pss-windows-host-process",
    ),
];

/// The workload kinds a pod is wrapped in, besides the bare Pod.
const WRAPPERS: [&str; 7] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicaSet",
    "ReplicationController",
];

/// One fixture: its level, expected outcome and file.
struct Fixture {
    level: &'static str,
    should_pass: bool,
    path: PathBuf,
}

impl Fixture {
    /// `baseline/fail/hostnamespaces0.yaml`, for messages.
    fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            self.level,
            if self.should_pass { "pass" } else { "fail" },
            self.stem()
        )
    }

    fn stem(&self) -> &str {
        self.path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
    }

    /// The check the fixture exercises: its name without the trailing number.
    fn check(&self) -> &str {
        self.stem().trim_end_matches(|c: char| c.is_ascii_digit())
    }
}

fn fixtures(level: &'static str) -> Vec<Fixture> {
    let dir = support::root()
        .join("integration/conformance/psa")
        .join(level);
    let mut out = Vec::new();
    for (outcome, should_pass) in [("pass", true), ("fail", false)] {
        let entries = std::fs::read_dir(dir.join(outcome)).expect("fixture folder");
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        out.extend(paths.into_iter().map(|path| Fixture {
            level,
            should_pass,
            path,
        }));
    }
    out
}

/// The pod of a fixture wrapped in a workload of `kind`: the pod spec becomes the
/// template's spec, the pod's labels and annotations the template's metadata.
fn wrap(pod: &Value, kind: &str) -> Value {
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or("fixture")
        .replace('_', "-");
    let mut labels = pod["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    labels.insert("app".into(), json!(name));
    let mut template_metadata = json!({ "labels": labels });
    if let Some(annotations) = pod["metadata"].get("annotations") {
        template_metadata["annotations"] = annotations.clone();
    }
    let template = json!({ "metadata": template_metadata, "spec": pod["spec"] });
    let selector = json!({ "matchLabels": { "app": name } });
    let (api_version, spec) = match kind {
        "Deployment" | "ReplicaSet" => (
            "apps/v1",
            json!({ "selector": selector, "template": template }),
        ),
        "StatefulSet" => (
            "apps/v1",
            json!({ "selector": selector, "serviceName": name, "template": template }),
        ),
        "DaemonSet" => (
            "apps/v1",
            json!({ "selector": selector, "template": template }),
        ),
        "Job" => ("batch/v1", json!({ "template": template })),
        "CronJob" => (
            "batch/v1",
            json!({ "schedule": "0 * * * *", "jobTemplate": { "spec": { "template": template } } }),
        ),
        "ReplicationController" => (
            "v1",
            json!({ "selector": { "app": name }, "template": template }),
        ),
        other => panic!("no wrapper for {other}"),
    };
    json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": name }, "spec": spec })
}

/// Writes every fixture wrapped in `kind` into `dir`, returning the file of each.
fn write_wrapped(fixtures: &[Fixture], kind: &str, dir: &Path) -> Vec<PathBuf> {
    fixtures
        .iter()
        .map(|fixture| {
            let text = std::fs::read_to_string(&fixture.path).expect("read fixture");
            let pod: Value = serde_yaml_ng::from_str(&text).expect("fixture is YAML");
            let file = dir.join(format!(
                "{}-{}.yaml",
                fixture.label().replace('/', "-"),
                kind
            ));
            let yaml = serde_yaml_ng::to_string(&wrap(&pod, kind)).expect("serialize wrapper");
            std::fs::write(&file, yaml).expect("write wrapper");
            file
        })
        .collect()
}

/// Runs the bundle over `files` and returns, for each file, the policies that denied
/// it with their violations. Fails on errors, skipped documents or a lost object.
/// The report goes to a file: it outgrows a pipe, which the watchdog only drains at exit.
fn denials(
    bundle: &str,
    files: &[PathBuf],
    report_file: &Path,
) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut args = vec![
        "check".to_owned(),
        "--bundle".to_owned(),
        bundle.to_owned(),
        "-f".to_owned(),
        "json".to_owned(),
        "-o".to_owned(),
        report_file.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let output =
        support::run_with_timeout(support::gate().args(&args), None, Duration::from_secs(300));
    let (code, stdout, stderr) = support::parts(&output);
    assert!(
        code == 0 || code == 1,
        "gate check exited {code}:\n{stdout}\n{stderr}"
    );
    let text = std::fs::read_to_string(report_file).expect("report file");
    let report: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("report is not JSON ({e}):\n{text}\n{stderr}"));
    assert_eq!(report["errors"], json!([]), "gate reported errors");
    assert_eq!(report["skipped"], json!([]), "gate skipped documents");
    assert_eq!(
        report["summary"]["objects"],
        json!(files.len()),
        "every file is one object"
    );
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for finding in report["results"].as_array().into_iter().flatten() {
        if finding["action"] != "deny" {
            continue;
        }
        let file = finding["object"]["file"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let policy = finding["policy"].as_str().unwrap_or_default().to_owned();
        let violations = finding["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                format!(
                    "{}: {}",
                    v["path"].as_str().unwrap_or_default(),
                    v["message"].as_str().unwrap_or_default()
                )
            })
            .collect();
        out.entry(file).or_default().insert(policy, violations);
    }
    out
}

/// Judges one run: which fixtures came out wrong, and why.
fn judge(
    fixtures: &[Fixture],
    files: &[PathBuf],
    kind: &str,
    denied: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
) -> Vec<String> {
    let expected: BTreeMap<(&str, &str), &str> = EXPECTED_POLICY
        .iter()
        .map(|(l, c, p)| ((*l, *c), *p))
        .collect();
    let mut failures = Vec::new();
    for (fixture, file) in fixtures.iter().zip(files) {
        let by_policy = denied.get(&file.display().to_string());
        let label = format!("{} as {kind}", fixture.label());
        match (fixture.should_pass, by_policy) {
            (true, None) => {}
            (true, Some(by_policy)) => failures.push(format!(
                "{label}: expected allowed, denied by {by_policy:?}"
            )),
            (false, None) => failures.push(format!("{label}: expected denied, allowed")),
            (false, Some(by_policy)) => match expected.get(&(fixture.level, fixture.check())) {
                None => failures.push(format!(
                    "{label}: no policy is mapped to check {:?} in EXPECTED_POLICY",
                    fixture.check()
                )),
                Some(policy) if !by_policy.contains_key(*policy) => failures.push(format!(
                    "{label}: expected a denial by {policy}, denied only by {:?}",
                    by_policy
                )),
                Some(_) => {}
            },
        }
    }
    failures
}

#[test]
fn pss_bundles_agree_with_pod_security_admission_fixtures() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for (level, bundle) in LEVELS {
        let fixtures = fixtures(level);
        assert!(
            fixtures.iter().filter(|f| f.should_pass).count() > 1,
            "no {level} pass fixtures"
        );
        assert!(
            fixtures.iter().filter(|f| !f.should_pass).count() > 1,
            "no {level} fail fixtures"
        );
        let bare: Vec<PathBuf> = fixtures.iter().map(|f| f.path.clone()).collect();
        let runs = std::iter::once(("Pod", bare)).chain(WRAPPERS.iter().map(|kind| {
            let dir = temp.path().join(level).join(kind);
            std::fs::create_dir_all(&dir).expect("wrapper dir");
            (*kind, write_wrapped(&fixtures, kind, &dir))
        }));
        for (kind, files) in runs {
            let report_file = temp.path().join(format!("{level}-{kind}.json"));
            let denied = denials(bundle, &files, &report_file);
            let wrong = judge(&fixtures, &files, kind, &denied);
            counts.push(format!(
                "{level} as {kind}: {}/{} right",
                fixtures.len() - wrong.len(),
                fixtures.len()
            ));
            failures.extend(wrong);
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture runs came out wrong:\n{}\n\n{}",
        failures.len(),
        failures.join("\n"),
        counts.join("\n")
    );
}

#[test]
fn wrappers_put_the_pod_where_each_workload_keeps_its_template() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "a_b", "annotations": { "k": "v" } },
        "spec": { "containers": [{ "name": "c", "image": "i" }] }
    });
    let cron = wrap(&pod, "CronJob");
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        pod["spec"]
    );
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"],
        json!({ "k": "v" })
    );
    let rc = wrap(&pod, "ReplicationController");
    assert_eq!(rc["apiVersion"], "v1");
    assert_eq!(rc["spec"]["template"]["spec"], pod["spec"]);
    assert_eq!(rc["metadata"]["name"], "a-b");
    for kind in WRAPPERS {
        let wrapped = wrap(&pod, kind);
        assert_eq!(wrapped["kind"], kind);
        let template = if kind == "CronJob" {
            &wrapped["spec"]["jobTemplate"]["spec"]["template"]
        } else {
            &wrapped["spec"]["template"]
        };
        assert_eq!(template["spec"], pod["spec"], "{kind}");
    }
}

#[test]
fn judge_names_every_fixture_that_comes_out_wrong() {
    let fixture = |should_pass, name: &str| Fixture {
        level: "baseline",
        should_pass,
        path: PathBuf::from(format!("/f/{name}.yaml")),
    };
    let fixtures = [
        fixture(true, "base"),
        fixture(true, "sysctls1"),
        fixture(false, "sysctls0"),
        fixture(false, "hostports0"),
        fixture(false, "privileged0"),
        fixture(false, "newcheck0"),
    ];
    let files: Vec<PathBuf> = fixtures.iter().map(|f| f.path.clone()).collect();
    let denied_by = |policy: &str| BTreeMap::from([(policy.to_owned(), vec![String::new()])]);
    let denied = BTreeMap::from([
        ("/f/sysctls1.yaml".to_owned(), denied_by("pss-sysctls")),
        ("/f/hostports0.yaml".to_owned(), denied_by("pss-selinux")),
        (
            "/f/privileged0.yaml".to_owned(),
            denied_by("disallow-privileged"),
        ),
        ("/f/newcheck0.yaml".to_owned(), denied_by("pss-sysctls")),
    ]);
    let wrong = judge(&fixtures, &files, "Job", &denied);
    assert_eq!(wrong.len(), 4, "{wrong:#?}");
    assert!(wrong[0].starts_with("baseline/pass/sysctls1 as Job: expected allowed"));
    assert!(wrong[1].starts_with("baseline/fail/sysctls0 as Job: expected denied, allowed"));
    assert!(
        wrong[2]
            .starts_with("baseline/fail/hostports0 as Job: expected a denial by pss-host-ports")
    );
    assert!(wrong[3].contains("no policy is mapped to check \"newcheck\""));
}
