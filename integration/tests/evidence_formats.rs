//! The evidence formats of `gate check`: PolicyReports validated against the
//! CRD's own schema, the HTML report rendered by a real headless Chromium (its
//! DOM checked for the counts, its filters run), and the framework view.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BUNDLE: &str = "integration/fixtures/outputs/bundle.yaml";
const MANIFESTS: &str = "integration/fixtures/outputs/manifests";
const NOW: &str = "2026-11-28T12:00:00Z";

fn check(args: &[&str]) -> (i32, String, String) {
    let mut command = support::gate();
    command.args(["check", "--now", NOW]).args(args);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(180));
    support::parts(&output)
}

// ---------------------------------------------------------------- PolicyReport

/// The `openAPIV3Schema` of the v1alpha2 version of a CRD file.
fn crd_schema(file: &str) -> Value {
    let text = std::fs::read_to_string(
        support::root()
            .join("integration/fixtures/policyreport")
            .join(file),
    )
    .unwrap();
    let crd: Value = serde_yaml_ng::from_str(&text).unwrap();
    crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1alpha2")
        .unwrap()["schema"]["openAPIV3Schema"]
        .clone()
}

fn yaml_documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

/// Validates documents with Python's jsonschema against the CRDs' schemas.
/// Objects with `properties` get `additionalProperties: false` unless the schema
/// says otherwise: the API server prunes unknown fields of a structural schema,
/// so a field it does not know would be lost silently. Returns the errors.
fn validate_reports(documents: &[Value]) -> Option<Vec<String>> {
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must validate PolicyReports: python3 jsonschema"
        );
        eprintln!("notice: python3 jsonschema not found; PolicyReport validation skipped");
        return None;
    }
    let script = "import json, sys, jsonschema\n\
        def closed(s):\n\
        \x20   if 'properties' in s:\n\
        \x20       s.setdefault('additionalProperties', False)\n\
        \x20       for v in s['properties'].values(): closed(v)\n\
        \x20   for key in ('items', 'additionalProperties'):\n\
        \x20       if isinstance(s.get(key), dict): closed(s[key])\n\
        \x20   return s\n\
        data = json.load(sys.stdin)\n\
        errors = 0\n\
        for i, doc in enumerate(data['documents']):\n\
        \x20   schema = closed(data['schemas'][doc.get('kind', '')])\n\
        \x20   jsonschema.Draft4Validator.check_schema(schema)\n\
        \x20   for e in jsonschema.Draft4Validator(schema).iter_errors(doc):\n\
        \x20       errors += 1\n\
        \x20       print(i, doc.get('kind'), e.message, list(e.path))\n\
        sys.exit(1 if errors else 0)\n";
    let input = json!({
        "schemas": {
            "PolicyReport": crd_schema("wgpolicyk8s.io_policyreports.v1alpha2.yaml"),
            "ClusterPolicyReport": crd_schema("wgpolicyk8s.io_clusterpolicyreports.v1alpha2.yaml"),
        },
        "documents": documents,
    });
    let mut command = Command::new("python3");
    command.arg("-c").arg(script);
    let output = support::run_with_timeout(
        &mut command,
        Some(input.to_string().as_bytes()),
        Duration::from_secs(60),
    );
    let (_, stdout, stderr) = support::parts(&output);
    Some(
        stdout
            .lines()
            .chain(stderr.lines())
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn policy_reports_validate_against_the_crd_and_count_every_pair() {
    let (code, stdout, stderr) = check(&["--bundle", BUNDLE, "-f", "policyreport", MANIFESTS]);
    assert_eq!(code, 2, "{stderr}");
    let documents = yaml_documents(&stdout);
    let kinds: Vec<(String, String)> = documents
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("ClusterPolicyReport".to_owned(), String::new()),
            ("PolicyReport".to_owned(), "legacy".to_owned()),
            ("PolicyReport".to_owned(), "shop".to_owned()),
        ]
    );
    for d in &documents {
        assert_eq!(d["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        assert_eq!(d["metadata"]["name"], "gate-outputs");
    }
    // The unreadable file: an error with no resource, cluster-wide.
    assert_eq!(
        documents[0]["summary"],
        json!({"pass": 0, "fail": 0, "warn": 0, "error": 1, "skip": 0})
    );
    // legacy: the privileged agent under a live exception is skipped (as Kyverno
    // reports an exempted object), its image passes.
    assert_eq!(
        documents[1]["summary"],
        json!({"pass": 1, "fail": 0, "warn": 0, "error": 0, "skip": 1})
    );
    let skipped = &documents[1]["results"][0];
    assert_eq!(skipped["result"], "skip");
    assert_eq!(skipped["properties"]["exception"], "legacy-agent");
    assert_eq!(skipped["resources"][0]["name"], "legacy-agent");
    // shop: two enforced denials fail, the audit finding warns (not scored).
    assert_eq!(
        documents[2]["summary"],
        json!({"pass": 1, "fail": 2, "warn": 1, "error": 0, "skip": 0})
    );
    let warn = documents[2]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["result"] == "warn")
        .unwrap();
    assert_eq!(warn["scored"], false);
    assert_eq!(warn["policy"], "allowed-registries");
    // Every (object, policy) pair judged appears once: 6 evaluations.
    let pairs: usize = documents
        .iter()
        .map(|d| {
            d["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["resources"].is_array())
                .count()
        })
        .sum();
    assert_eq!(pairs, 6);

    let Some(errors) = validate_reports(&documents) else {
        return;
    };
    assert!(
        errors.is_empty(),
        "PolicyReports do not match the CRD:\n{}",
        errors.join("\n")
    );
    // The validation can fail: a result the API does not define, a field it would prune.
    let mut broken = documents.clone();
    broken[2]["results"][0]["result"] = "denied".into();
    broken[1]["results"][0]["verdict"] = "x".into();
    let errors = validate_reports(&broken).unwrap();
    assert!(
        errors.iter().any(|e| e.contains("'denied' is not one of")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("'verdict' was unexpected")),
        "{errors:?}"
    );
}

// ---------------------------------------------------------------- HTML

fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must render the HTML report: install chromium (.ci/run)"
        );
        eprintln!("notice: chromium not found; HTML rendering checks skipped");
    }
    found
}

/// Headless Chromium with the flags that work on a machine without network.
fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// The DOM after the page's script ran, for `file#fragment`.
fn dump_dom(browser: &Path, profile: &Path, page: &Path, fragment: &str) -> String {
    let mut command = headless(browser, profile);
    command
        .arg("--dump-dom")
        .arg(format!("file://{}{fragment}", page.display()));
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(code, 0, "chromium failed: {stderr}");
    stdout
}

/// The text of the element with this id in a dumped DOM.
fn text_of(dom: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no element #{id}"));
    let open = at + dom[at..].find('>').unwrap() + 1;
    let close = open + dom[open..].find('<').unwrap();
    dom[open..close].to_owned()
}

#[test]
fn html_report_renders_in_chromium_with_the_counts_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let (code, _, stderr) = check(&[
        "--bundle",
        BUNDLE,
        "-f",
        "html",
        "-o",
        page.to_str().unwrap(),
        MANIFESTS,
    ]);
    assert_eq!(code, 2, "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);

    let Some(browser) = chromium() else {
        return;
    };
    let profile = dir.path().join("profile");
    let dom = dump_dom(&browser, &profile, &page, "");
    assert!(
        dom.contains("data-filters=\"ready\""),
        "the page's script did not run"
    );
    assert_eq!(text_of(&dom, "decision"), "ERROR");
    for (name, value) in [
        ("objects", "5"),
        ("evaluations", "6"),
        ("passed", "2"),
        ("denied", "2"),
        ("warnings", "1"),
        ("excepted", "1"),
        ("errors", "1"),
        ("skipped", "1"),
    ] {
        assert_eq!(
            text_of(&dom, &format!("count-{name}")),
            value,
            "count of {name}"
        );
    }
    assert_eq!(
        text_of(&dom, "total"),
        "4",
        "4 findings: 2 deny, 1 warn, 1 except"
    );
    assert_eq!(text_of(&dom, "shown"), "4");
    // The expired exception is marked; the live one covers one finding.
    assert!(
        dom.contains("id=\"exc-disallow-privileged--old-debug\" class=\"exc expired\""),
        "expired exception not marked"
    );
    assert!(dom.contains("EXPIRED ("), "expired exception not marked");
    // The framework view lists uncovered controls too.
    assert!(
        dom.contains(
            "CIS Kubernetes Benchmark v1.9</strong>: <span class=\"covered\">2</span> of 35"
        ),
        "CIS view"
    );
    assert!(dom.contains("<em>not covered</em>"));
    // The record's digests: every input with its sha256.
    let app = std::fs::read(support::root().join(MANIFESTS).join("app.yaml")).unwrap();
    let digest: String = sha256_hex(&app);
    assert!(dom.contains(&digest), "the input digests are shown");

    // The filters run in the browser: a fragment preselects them.
    let denied = dump_dom(&browser, &profile, &page, "#f-verdict=deny");
    assert_eq!(text_of(&denied, "shown"), "2");
    let registries = dump_dom(&browser, &profile, &page, "#f-policy=allowed-registries");
    assert_eq!(text_of(&registries, "shown"), "1");

    // A screenshot, as a person sees it (the README's comes from `just html-screenshot`).
    let shot = dir.path().join("shot.png");
    let mut command = headless(&browser, &profile);
    command
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,1600")
        .arg(format!("file://{}", page.display()));
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
    assert_eq!(support::parts(&output).0, 0);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot: {} bytes",
        png.len()
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// No network: nothing loaded from elsewhere, and a CSP that forbids it.
fn self_contained(html: &str) {
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for forbidden in [
        "<link",
        "src=\"http",
        "@import",
        "url(",
        "<iframe",
        "@font-face",
    ] {
        assert!(
            !html.contains(forbidden),
            "the page loads something: {forbidden}"
        );
    }
    for href in html.split("href=\"").skip(1) {
        assert!(
            href.starts_with('#'),
            "a link leaves the page: {}",
            &href[..href.len().min(40)]
        );
    }
}

#[test]
fn html_report_escapes_hostile_names_and_stays_usable_at_ten_thousand_findings() {
    let dir = tempfile::tempdir().unwrap();
    // 5,000 privileged pods with images from anywhere: 10,000 findings, with
    // markup in names and images.
    let mut render = String::new();
    for i in 0..5000 {
        let _ = write!(
            render,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \"p{i}<script>alert(1)</script>\"\n  namespace: ns{}\n\
             spec:\n  containers:\n  - name: c\n    image: \"docker.io/x/<img src=x onerror=alert(2)>:{i}\"\n    securityContext: {{privileged: true}}\n",
            i % 7
        );
    }
    let manifests = dir.path().join("render.yaml");
    std::fs::write(&manifests, render).unwrap();
    let page = dir.path().join("big.html");
    let (code, _, stderr) = check(&[
        "--bundle",
        BUNDLE,
        "-f",
        "html",
        "-o",
        page.to_str().unwrap(),
        manifests.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
    assert!(html.contains("p0&lt;script&gt;alert(1)&lt;/script&gt;"));

    let Some(browser) = chromium() else {
        return;
    };
    let profile = dir.path().join("profile");
    let dom = dump_dom(&browser, &profile, &page, "#f-policy=allowed-registries");
    assert_eq!(text_of(&dom, "total"), "10000");
    assert_eq!(text_of(&dom, "count-denied"), "5000");
    assert_eq!(
        text_of(&dom, "shown"),
        "5000",
        "the filter ran over every row"
    );
    // The DOM holds exactly one script element: no name became markup.
    assert_eq!(dom.matches("<script").count(), 1);
    assert!(!dom.contains("<img"));
}

// ---------------------------------------------------------------- framework view

fn controls(framework: &str, bundle: &str, manifests: &str) -> Value {
    let (code, stdout, stderr) = check(&[
        "--bundle",
        bundle,
        "--by-control",
        framework,
        "-f",
        "json",
        manifests,
    ]);
    assert!(code <= 1 || bundle == BUNDLE, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"))
}

fn row<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no control {id}"))
}

#[test]
fn framework_view_counts_objects_per_control_and_lists_uncovered_controls() {
    let cis = controls("cis", BUNDLE, MANIFESTS);
    assert_eq!(cis["framework"], "CIS Kubernetes Benchmark v1.9");
    assert_eq!(cis["controls"].as_array().unwrap().len(), 35);
    assert_eq!(cis["covered"], 2);
    // disallow-privileged judged three pods: two denied, one under an exception.
    let privileged = row(&cis, "5.2.2");
    assert_eq!(privileged["policies"], json!(["disallow-privileged"]));
    assert_eq!(
        (
            &privileged["judged"],
            &privileged["passed"],
            &privileged["failed"],
            &privileged["excepted"]
        ),
        (&json!(3), &json!(0), &json!(2), &json!(1))
    );
    let registries = row(&cis, "5.5.1");
    assert_eq!(
        (
            &registries["judged"],
            &registries["passed"],
            &registries["failed"]
        ),
        (&json!(3), &json!(2), &json!(1))
    );
    let admin = row(&cis, "5.1.1");
    assert_eq!(admin["coverage"], "not-covered");
    assert_eq!(admin["policies"], json!([]));

    let iso = controls("ISO/IEC 27001:2022", BUNDLE, MANIFESTS);
    assert_eq!(iso["controls"].as_array().unwrap().len(), 93);
    assert_eq!(row(&iso, "A.8.2")["failed"], 2);
    let gdpr = controls("gdpr", BUNDLE, MANIFESTS);
    assert_eq!(gdpr["controls"].as_array().unwrap().len(), 6);

    let (code, stdout, _) = check(&["--bundle", BUNDLE, "--by-control", "cis", MANIFESTS]);
    assert_eq!(code, 2, "the decision still sets the exit code");
    assert!(stdout.contains("2 of 35 controls covered"), "{stdout}");
    assert!(
        stdout.contains("NOT COVERED  Ensure that the cluster-admin role"),
        "{stdout}"
    );

    let (code, _, stderr) = check(&["--bundle", BUNDLE, "--by-control", "sox", MANIFESTS]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no framework \"sox\"") && stderr.contains("iso27001"),
        "{stderr}"
    );
}

/// Every control a policy of the pack declares for a catalogued framework is in
/// the catalogue: otherwise the view would show it apart, as unknown.
#[test]
fn the_catalogues_hold_every_control_the_pack_declares() {
    let policies = support::root().join("policies-wasm");
    let mut crates: Vec<String> = std::fs::read_dir(&policies)
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("Cargo.toml"))
                .is_ok_and(|t| t.contains("\"cdylib\""))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    assert!(crates.len() > 40);
    let dir = tempfile::tempdir().unwrap();
    let mut bundle = String::from(
        "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: pack}\nspec:\n  policies:\n",
    );
    for name in &crates {
        let _ = writeln!(
            bundle,
            "    - {{module: \"builtin:{name}\", name: \"{name}\", mode: audit}}"
        );
    }
    let bundle_file = dir.path().join("bundle.yaml");
    std::fs::write(&bundle_file, bundle).unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "# no objects\n").unwrap();
    for framework in ["cis", "iso27001", "gdpr"] {
        let view = controls(
            framework,
            bundle_file.to_str().unwrap(),
            empty.to_str().unwrap(),
        );
        let unknown: Vec<&Value> = view["controls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["inCatalogue"] == false)
            .map(|r| &r["id"])
            .collect();
        assert!(
            unknown.is_empty(),
            "{framework}: declared but not catalogued: {unknown:?}"
        );
    }
    // GDPR Art. 32: only the paragraphs a manifest is real evidence for, by the
    // policies that justify them (README, "Controls: the framework view").
    let gdpr = controls(
        "gdpr",
        bundle_file.to_str().unwrap(),
        empty.to_str().unwrap(),
    );
    let by_id = |id: &str| -> Vec<String> {
        let row = gdpr["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap();
        let mut policies: Vec<String> = row["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        policies.sort();
        policies
    };
    assert_eq!(
        by_id("Art. 32(1)(a)"),
        [
            "certificate-policy",
            "https-only-ingress",
            "ingress-tls-cert-manager",
            "ingress-tls-hosts"
        ]
    );
    assert_eq!(
        by_id("Art. 32(1)(b)"),
        [
            "csi-secrets-workload-identity",
            "no-env-credentials",
            "no-plaintext-secrets",
            "secret-provider-class-workload-identity"
        ]
    );
    for uncovered in ["Art. 32(1)(c)", "Art. 32(1)(d)", "Art. 32(2)", "Art. 32(4)"] {
        assert!(by_id(uncovered).is_empty(), "{uncovered}");
    }
    assert_eq!(gdpr["covered"], 2);
}
