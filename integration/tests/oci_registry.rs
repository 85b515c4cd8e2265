//! Policies in a real registry (Debian's docker-registry on 127.0.0.1): push,
//! pull, an independent client each way, TLS, basic auth, token auth, ACR
//! Workload Identity, retries, and `gate check` end to end with verification on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oci_fixtures.rs"]
mod fixtures;
#[path = "support/oci_http.rs"]
mod http;
#[path = "support/oci_registry.rs"]
mod registry;
mod support;
#[path = "support/oci_token.rs"]
mod token;

use fixtures::{Workspace, field, ok, policy_wasm, push_policy, refused, sh};
use registry::{Auth, TestRegistry, tools_present};
use std::sync::{Arc, Mutex};
use token::TokenService;

fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("hex")
        .to_owned()
}

#[test]
fn a_signed_policy_pushed_by_digest_runs_gate_check_end_to_end() {
    if !tools_present(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let (key, public) = ws.keypair("release");
    let digest = push_policy(
        &ws,
        &registry,
        "policies/disallow-privileged:1.0",
        Some(&key),
    );

    // skopeo, an independent client, sees exactly what we pushed.
    let raw = sh(&format!(
        "skopeo inspect --tls-verify=false --raw docker://{}/policies/disallow-privileged:1.0",
        registry.host
    ));
    assert_eq!(format!("sha256:{}", sha256_hex(raw.as_bytes())), digest);
    let manifest: serde_json::Value = serde_json::from_str(&raw).expect("manifest json");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.gate.policy.config.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.gate.policy.component.v1+wasm"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "disallow-privileged"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.licenses"],
        "Apache-2.0"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.source"],
        "https://github.com/gate-dev/gate"
    );
    for key in ["version", "description"] {
        assert!(
            manifest["annotations"][format!("org.opencontainers.image.{key}")].is_string(),
            "{key}: {raw}"
        );
    }
    let sig = sh(&format!(
        "skopeo inspect --tls-verify=false --raw docker://{}/policies/disallow-privileged:sha256-{}.sig",
        registry.host,
        digest.trim_start_matches("sha256:")
    ));
    assert!(sig.contains("dev.cosignproject.cosign/signature"), "{sig}");
    // The component skopeo copies out is byte for byte ours.
    let out = ws.path("skopeo-dir");
    sh(&format!(
        "skopeo copy --src-tls-verify=false docker://{}/policies/disallow-privileged@{digest} dir:{}",
        registry.host,
        out.display()
    ));
    let wasm = std::fs::read(policy_wasm("disallow-privileged")).expect("wasm");
    let layer_hex = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .trim_start_matches("sha256:")
        .to_owned();
    assert_eq!(
        std::fs::read(out.join(&layer_hex)).expect("copied layer"),
        wasm
    );

    // gate check with a bundle pinned to the digest, verification on.
    ws.trust_cosign_key("release", &public);
    ws.trust_stores(&["cosign:release"], &[]);
    let bundle = ws.bundle(&format!(
        "oci://{}/policies/disallow-privileged@{digest}",
        registry.host
    ));
    let (bad, good) = ws.pods();
    let denied = ws.run(
        &registry,
        &[
            "check",
            "-b",
            &bundle.display().to_string(),
            &bad.display().to_string(),
        ],
    );
    let (code, stdout, stderr) = support::parts(&denied);
    assert_eq!(
        code, 1,
        "the privileged pod must be denied by the pulled policy:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("privileged"), "{stdout}");
    ok(&ws.run(
        &registry,
        &[
            "check",
            "-b",
            &bundle.display().to_string(),
            &good.display().to_string(),
        ],
    ));

    // The same trust policy inside the bundle (spec.trust) instead of beside it.
    std::fs::remove_file(ws.path("trustpolicy.json")).expect("remove trust policy");
    let inline = ws.path("inline.yaml");
    std::fs::write(
        &inline,
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: inline}}\nspec:\n  policies:\n  - module: oci://{}/policies/disallow-privileged@{digest}\n  trust:\n    version: \"1.0\"\n    trustPolicies:\n    - name: ours\n      registryScopes: [\"{}/policies/*\"]\n      signatureVerification: {{level: strict}}\n      trustStores: [\"cosign:release\"]\n",
            registry.host, registry.host
        ),
    )
    .expect("bundle");
    let inline = inline.display().to_string();
    let (code, stdout, stderr) = support::parts(&ws.run(
        &registry,
        &["check", "-b", &inline, &bad.display().to_string()],
    ));
    assert_eq!(
        code, 1,
        "spec.trust: the verified policy must run:\n{stdout}\n{stderr}"
    );
    // Without any trust policy the same bundle is refused.
    let bare = ws.bundle(&format!(
        "oci://{}/policies/disallow-privileged@{digest}",
        registry.host
    ));
    let stderr = fixtures::refused(&ws.run(
        &registry,
        &[
            "check",
            "-b",
            &bare.display().to_string(),
            &good.display().to_string(),
        ],
    ));
    assert!(stderr.contains("no trust policy"), "{stderr}");
}

#[test]
fn we_pull_what_oras_pushes() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let have_oras = std::process::Command::new("python3")
        .args(["-c", "import oras.client"])
        .status()
        .is_ok_and(|s| s.success());
    if !have_oras {
        if std::env::var("GATE_REQUIRE_REGISTRY").as_deref() == Ok("1") {
            panic!(
                "GATE_REQUIRE_REGISTRY=1 but the oras Python package is missing: pip install oras"
            );
        }
        eprintln!("SKIPPED: pip install oras");
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let wasm = ws.path("policy.wasm");
    std::fs::copy(policy_wasm("disallow-privileged"), &wasm).expect("copy");
    std::fs::write(
        ws.path("config.json"),
        r#"{"policy":{"name":"disallow-privileged"}}"#,
    )
    .expect("config");
    let script = format!(
        r#"
import os, oras.client
os.chdir({dir:?})
c = oras.client.OrasClient(hostname="{host}", insecure=True)
c.push(target="{host}/policies/from-oras:1", files=["policy.wasm:application/vnd.gate.policy.component.v1+wasm"],
       manifest_config="config.json:application/vnd.gate.policy.config.v1+json", disable_path_validation=True)
"#,
        dir = ws.dir.path().display().to_string(),
        host = registry.host
    );
    sh(&format!("python3 -c '{}'", script.replace('\'', "\"")));
    let out = ws.path("pulled.wasm");
    let pulled = ok(&ws.run(
        &registry,
        &[
            "policy",
            "pull",
            &format!("{}/policies/from-oras:1", registry.host),
            "-o",
            &out.display().to_string(),
        ],
    ));
    assert!(pulled.contains("pulled "), "{pulled}");
    assert_eq!(
        std::fs::read(&out).expect("pulled"),
        std::fs::read(&wasm).expect("wasm")
    );
}

#[test]
fn tls_registry_trusts_the_ca_made_in_the_test_and_nothing_else() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let ws = Workspace::new();
    support::make_tls(&ws.path(""));
    let registry =
        TestRegistry::start(Auth::None, Some((&ws.path("tls.crt"), &ws.path("tls.key"))));
    let wasm = policy_wasm("disallow-privileged").display().to_string();
    let reference = format!("{}/policies/tls:1", registry.host);

    // Without the CA: a TLS error, not a push.
    let untrusted = ws.run_cmd(&mut ws.gate(&[]), &["policy", "push", &wasm, &reference]);
    let stderr = refused(&untrusted);
    assert!(
        stderr.to_lowercase().contains("certificate")
            || stderr.contains("tls")
            || stderr.contains("error sending request"),
        "{stderr}"
    );

    let ca = ws.path("ca.pem").display().to_string();
    let pushed = ok(&ws.run_cmd(
        &mut ws.gate(&[]),
        &["policy", "push", &wasm, &reference, "--registry-ca", &ca],
    ));
    let digest = field(&pushed, "digest");
    std::fs::remove_dir_all(ws.store()).expect("wipe store");
    let pulled = ok(&ws.run_cmd(
        &mut ws.gate(&[]),
        &[
            "policy",
            "pull",
            &format!("{}/policies/tls@{digest}", registry.host),
            "--registry-ca",
            &ca,
        ],
    ));
    assert!(pulled.contains(&digest), "{pulled}");
}

#[test]
fn htpasswd_basic_auth_from_flags_environment_docker_config_and_a_credential_helper() {
    if !tools_present(&["docker-registry", "htpasswd"]) {
        return;
    }
    let ws = Workspace::new();
    let htpasswd = ws.path("htpasswd");
    std::fs::write(&htpasswd, sh("htpasswd -Bbn alice wonderland-pass")).expect("htpasswd");
    let registry = TestRegistry::start(Auth::Htpasswd(htpasswd), None);
    let wasm = policy_wasm("disallow-privileged").display().to_string();
    let reference = format!("{}/policies/basic:1", registry.host);

    // Anonymous: refused by the registry, and said so.
    let anonymous = refused(&ws.run(&registry, &["policy", "push", &wasm, &reference]));
    assert!(
        anonymous.contains("authentication")
            || anonymous.contains("401")
            || anonymous.contains("Not authorized"),
        "{anonymous}"
    );

    // Wrong password: refused, and the password is not printed.
    let wrong = refused(&ws.run(
        &registry,
        &[
            "policy",
            "push",
            &wasm,
            &reference,
            "--username",
            "alice",
            "--password",
            "not-the-pass-123",
        ],
    ));
    assert!(!wrong.contains("not-the-pass-123"), "{wrong}");

    // Flags.
    ok(&ws.run(
        &registry,
        &[
            "policy",
            "push",
            &wasm,
            &reference,
            "--username",
            "alice",
            "--password",
            "wonderland-pass",
        ],
    ));
    // Environment.
    let mut env = ws.gate(&[&registry.host]);
    env.env("GATE_REGISTRY_USERNAME", "alice")
        .env("GATE_REGISTRY_PASSWORD", "wonderland-pass");
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    ok(&ws.run_cmd(&mut env, &["policy", "pull", &reference]));

    // ~/.docker/config.json auths.
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:wonderland-pass");
    std::fs::write(
        ws.path("docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
    )
    .expect("config");
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    ok(&ws.run(&registry, &["policy", "pull", &reference]));

    // credHelpers through the docker-credential-* protocol.
    let bin = ws.path("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let helper = bin.join("docker-credential-gatetest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n[ \"$host\" = \"{}\" ] || {{ echo 'credentials not found'; exit 1; }}\necho '{{\"ServerURL\":\"'$host'\",\"Username\":\"alice\",\"Secret\":\"wonderland-pass\"}}'\n",
            registry.host
        ),
    )
    .expect("helper");
    sh(&format!("chmod +x {}", helper.display()));
    std::fs::write(
        ws.path("docker/config.json"),
        format!(r#"{{"credHelpers":{{"{}":"gatetest"}}}}"#, registry.host),
    )
    .expect("config");
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let mut with_helper = ws.gate(&[&registry.host]);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    with_helper.env("PATH", &path);
    ok(&ws.run_cmd(&mut with_helper, &["policy", "pull", &reference]));
    // credsStore, the fallback helper.
    std::fs::write(
        ws.path("docker/config.json"),
        r#"{"credsStore":"gatetest"}"#,
    )
    .expect("config");
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let mut with_store = ws.gate(&[&registry.host]);
    with_store.env("PATH", &path);
    ok(&ws.run_cmd(&mut with_store, &["policy", "pull", &reference]));
}

/// A registry in `auth: token` mode behind an HTTPS front (a CA made by the test)
/// that also serves the token service at `/token`: one host and port, as Harbor or
/// GHCR lay it out. gate sends credentials to a token realm only in this layout.
#[test]
fn token_auth_with_a_token_service_run_by_the_test() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let ws = Workspace::new();
    let ca = http::TestCa::new(ws.dir.path());
    let tokens = Arc::new(TokenService::new(&ws, "gate-test-registry"));
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let upstream = Arc::new(std::sync::OnceLock::<std::net::SocketAddr>::new());
    let (t, log, up) = (tokens.clone(), issued.clone(), upstream.clone());
    let front = http::HttpServer::start_tls(&ca, move |req| {
        if !req.tls {
            return http::Reply::status(400, &[]);
        }
        if req.path() != "/token" {
            return match up.get() {
                Some(addr) => http::Reply::Forward(*addr),
                None => http::Reply::status(503, &[]),
            };
        }
        use base64::Engine as _;
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:token-pass")
        );
        if req.header("authorization") != Some(good.as_str()) {
            return http::Reply::status(401, &[]);
        }
        let scopes = req.query("scope");
        log.lock().expect("log").extend(scopes.iter().cloned());
        http::Reply::json(
            200,
            &serde_json::json!({"token": t.token(&scopes), "expires_in": 300}),
        )
    });
    let registry = tokens.registry(&ws, &format!("{}/token", front.url()));
    upstream.set(registry.addr()).expect("upstream");
    let host = front.addr.to_string();
    let ca_pem = ca.pem.display().to_string();
    let wasm = policy_wasm("disallow-privileged").display().to_string();
    let reference = format!("{host}/policies/token:1");
    let run = |args: &[&str], password: &str| {
        let mut args = args.to_vec();
        args.extend([
            "--registry-ca",
            &ca_pem,
            "--username",
            "alice",
            "--password",
            password,
        ]);
        ws.run_cmd(&mut ws.gate(&[]), &args)
    };
    refused(&run(&["policy", "push", &wasm, &reference], "wrong"));
    ok(&run(&["policy", "push", &wasm, &reference], "token-pass"));
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    ok(&run(&["policy", "pull", &reference], "token-pass"));
    let issued = issued.lock().expect("log").clone();
    assert!(
        issued
            .iter()
            .any(|s| s == "repository:policies/token:pull,push"),
        "{issued:?}"
    );
    assert!(
        issued.iter().any(|s| s == "repository:policies/token:pull"),
        "{issued:?}"
    );
}

#[test]
fn acr_workload_identity_exchange_against_azure_ad_and_acr_stand_ins() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let ws = Workspace::new();
    let upstream = Arc::new(std::sync::OnceLock::<std::net::SocketAddr>::new());
    let steps = Arc::new(Mutex::new(Vec::<String>::new()));
    let proxy_host = Arc::new(std::sync::OnceLock::<String>::new());
    let tokens = Arc::new(TokenService::new(&ws, "placeholder"));
    let federated = "federated-sa-token-SECRET0";
    std::fs::write(ws.path("federated-token"), federated).expect("token file");
    let (up, log, host, t) = (
        upstream.clone(),
        steps.clone(),
        proxy_host.clone(),
        tokens.clone(),
    );
    let ca = http::TestCa::new(ws.dir.path());
    let server = http::HttpServer::start_tls(&ca, move |req| {
        if !req.tls {
            return http::Reply::status(400, &[]);
        }
        let host = host.get().cloned().unwrap_or_default();
        let step = |name: &str| log.lock().expect("log").push(name.to_owned());
        match (req.method.as_str(), req.path()) {
            ("POST", "/aad/tenant-1/oauth2/v2.0/token") => {
                let ok = req.form("grant_type").as_deref() == Some("client_credentials")
                    && req.form("client_id").as_deref() == Some("client-1")
                    && req.form("client_assertion_type").as_deref()
                        == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                    && req.form("client_assertion").as_deref()
                        == Some("federated-sa-token-SECRET0");
                if !ok {
                    step("aad-refused");
                    return http::Reply::json(401, &serde_json::json!({"error": "invalid_client"}));
                }
                step("aad");
                http::Reply::json(
                    200,
                    &serde_json::json!({"access_token": "aad-access-SECRET1", "token_type": "Bearer", "expires_in": 3600}),
                )
            }
            ("POST", "/oauth2/exchange") => {
                let ok = req.form("grant_type").as_deref() == Some("access_token")
                    && req.form("service").as_deref() == Some(host.as_str())
                    && req.form("tenant").as_deref() == Some("tenant-1")
                    && req.form("access_token").as_deref() == Some("aad-access-SECRET1");
                if !ok {
                    return http::Reply::json(401, &serde_json::json!({"error": "unauthorized"}));
                }
                step("exchange");
                http::Reply::json(
                    200,
                    &serde_json::json!({"refresh_token": "acr-refresh-SECRET2"}),
                )
            }
            ("POST", "/oauth2/token") => {
                let ok = req.form("grant_type").as_deref() == Some("refresh_token")
                    && req.form("service").as_deref() == Some(host.as_str())
                    && req.form("refresh_token").as_deref() == Some("acr-refresh-SECRET2");
                let scope = req.form("scope").unwrap_or_default();
                if !ok {
                    return http::Reply::json(401, &serde_json::json!({"error": "unauthorized"}));
                }
                step(&format!("token {scope}"));
                http::Reply::json(200, &serde_json::json!({"access_token": t.token(&[scope])}))
            }
            _ => match up.get() {
                Some(addr) => http::Reply::Forward(*addr),
                None => http::Reply::status(503, &[]),
            },
        }
    });
    let host = server.addr.to_string();
    proxy_host.set(host.clone()).expect("host");
    let registry = tokens.registry(&ws, &format!("{}/oauth2/token", server.url()));
    upstream.set(registry.addr()).expect("upstream");
    let acr = |federated_file: &std::path::Path| {
        let mut command = ws.gate(&[]);
        command
            .env("AZURE_FEDERATED_TOKEN_FILE", federated_file)
            .env("AZURE_CLIENT_ID", "client-1")
            .env("AZURE_TENANT_ID", "tenant-1")
            .env("AZURE_AUTHORITY_HOST", format!("{}/aad/", server.url()))
            .env("GATE_ACR_REGISTRIES", &host)
            .env("GATE_REGISTRY_CA_FILE", &ca.pem);
        command
    };
    let wasm = policy_wasm("disallow-privileged").display().to_string();
    let reference = format!("{host}/policies/acr:1");
    let pushed = ws.run_cmd(
        &mut acr(&ws.path("federated-token")),
        &["policy", "push", &wasm, &reference],
    );
    let (_, out, err) = support::parts(&pushed);
    ok(&pushed);
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let pulled = ws.run_cmd(
        &mut acr(&ws.path("federated-token")),
        &["policy", "pull", &reference],
    );
    ok(&pulled);
    let steps = steps.lock().expect("steps").clone();
    assert_eq!(steps.iter().filter(|s| *s == "aad").count(), 2, "{steps:?}");
    assert_eq!(
        steps.iter().filter(|s| *s == "exchange").count(),
        2,
        "{steps:?}"
    );
    assert!(
        steps.contains(&"token repository:policies/acr:pull,push".to_owned()),
        "{steps:?}"
    );
    assert!(
        steps.contains(&"token repository:policies/acr:pull".to_owned()),
        "{steps:?}"
    );
    let (_, out2, err2) = support::parts(&pulled);
    for text in [out, err, out2, err2] {
        for secret in ["SECRET0", "SECRET1", "SECRET2"] {
            assert!(
                !text.contains(secret),
                "a token leaked into the output: {text}"
            );
        }
    }

    // A federated token Azure AD does not accept: refused, the step named, no secret shown.
    std::fs::write(ws.path("bad-token"), "federated-sa-token-WRONG-SECRET3").expect("bad token");
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let stderr = refused(&ws.run_cmd(
        &mut acr(&ws.path("bad-token")),
        &["policy", "pull", &reference],
    ));
    assert!(
        stderr.contains("Azure AD token") && stderr.contains("invalid_client"),
        "{stderr}"
    );
    assert!(!stderr.contains("SECRET"), "{stderr}");
}

#[test]
fn registry_errors_are_retried_with_backoff_then_reported() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let registry = TestRegistry::plain();
    let ws = Workspace::new();
    let digest = push_policy(&ws, &registry, "policies/flaky:1", None);
    let upstream = registry.addr();
    let faults = Arc::new(Mutex::new(vec!["slow", "503", "429", "truncate"]));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (f, s) = (faults.clone(), seen.clone());
    let proxy = http::HttpServer::start(move |req| {
        if !req.path().contains("/blobs/") {
            return http::Reply::Forward(upstream);
        }
        let fault = {
            let mut f = f.lock().expect("faults");
            if f.is_empty() {
                None
            } else {
                Some(f.remove(0))
            }
        };
        s.lock()
            .expect("seen")
            .push(fault.unwrap_or("pass").to_owned());
        match fault {
            Some("slow") => http::Reply::Delay(
                std::time::Duration::from_secs(4),
                Box::new(http::Reply::Forward(upstream)),
            ),
            Some("503") => http::Reply::status(503, &[]),
            Some("429") => http::Reply::status(429, &[("Retry-After", "1")]),
            Some("truncate") => http::Reply::ForwardTruncated(upstream, 100),
            _ => http::Reply::Forward(upstream),
        }
    });
    let host = proxy.addr.to_string();
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let mut command = ws.gate(&[&host]);
    command
        .env("GATE_REGISTRY_ATTEMPTS", "6")
        .env("GATE_REGISTRY_TIMEOUT_SECS", "2");
    let start = std::time::Instant::now();
    let pulled = ok(&ws.run_cmd(
        &mut command,
        &["policy", "pull", &format!("{host}/policies/flaky@{digest}")],
    ));
    assert!(pulled.contains(&digest), "{pulled}");
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(&seen[..4], &["slow", "503", "429", "truncate"], "{seen:?}");

    // A registry that keeps failing: a clear error after the last attempt.
    let down = http::HttpServer::start(|_| http::Reply::status(503, &[]));
    let host = down.addr.to_string();
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let mut command = ws.gate(&[&host]);
    command.env("GATE_REGISTRY_ATTEMPTS", "3");
    let stderr = refused(&ws.run_cmd(
        &mut command,
        &["policy", "pull", &format!("{host}/policies/flaky@{digest}")],
    ));
    assert!(
        stderr.contains("503") && stderr.contains("gave up after 3 attempts"),
        "{stderr}"
    );
}
