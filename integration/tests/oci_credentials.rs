//! Credentials go to the registry they were given for and nowhere else: not to a
//! token realm on another host or over plain HTTP, not through a redirect, not to
//! a second registry of the same bundle, not to a host that only looks like ACR.
//! And nothing secret (passwords, tokens, what a credential helper prints) reaches
//! an error or a log, even with `GATE_LOG=debug`.
//!
//! Real parts: docker-registry on 127.0.0.1 (htpasswd and `auth: token` modes),
//! the `gate` binary, and small HTTP(S) servers on real sockets standing in for a
//! hostile token realm, a redirect target, Azure AD and ACR's token endpoints.
//! Each stand-in records whether credentials arrived.
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

use base64::Engine as _;
use fixtures::{Workspace, field, ok, policy_wasm, refused, sh};
use registry::{Auth, TestRegistry, tools_present};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use token::TokenService;

/// What a stand-in saw: one line per request, `where method path authorization=...`.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn record(&self, place: &str, req: &http::Request) {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        self.0.lock().expect("seen").push(format!(
            "{place} {} {} authorization={:?} body={body:?}",
            req.method,
            req.path(),
            req.header("authorization")
        ));
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("seen").clone()
    }

    /// Requests that carried an `Authorization` header or a secret in their body.
    fn with_credentials(&self, secrets: &[&str]) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| !l.contains("authorization=None") || secrets.iter().any(|s| l.contains(s)))
            .collect()
    }
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Asserts that no secret appears in a run's output.
fn assert_no_secret(output: &std::process::Output, secrets: &[&str]) {
    let (_, stdout, stderr) = support::parts(output);
    for secret in secrets {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret:?} leaked into the output:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
}

const PLACEHOLDER_REALM: &str = "https://realm.placeholder.invalid/token";

#[test]
fn credentials_never_reach_a_token_realm_on_another_host_over_plain_http_or_through_a_redirect() {
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let ws = Workspace::new();
    let ca = http::TestCa::new(ws.dir.path());
    let tokens = Arc::new(TokenService::new(&ws, "gate-test-registry"));
    let password = "token-pass-SECRET5";
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Seen::default();

    // Another host, HTTPS and plain HTTP on one port: hands out tokens to anyone.
    let evil_seen = seen.clone();
    let evil = http::HttpServer::start_tls(&ca, move |req| {
        evil_seen.record(if req.tls { "evil-https" } else { "evil-http" }, req);
        http::Reply::json(200, &serde_json::json!({"token": "evil-token"}))
    });
    // The registry's own front: HTTPS, with its token service at /token. Its plain
    // HTTP side (same host and port) is a listener for credentials sent in the clear.
    let upstream = Arc::new(OnceLock::<SocketAddr>::new());
    let realm = Arc::new(Mutex::new(String::new()));
    let redirect_to = Arc::new(Mutex::new(None::<String>));
    let (t, log, up, advertised, redirect, front_seen) = (
        tokens.clone(),
        issued.clone(),
        upstream.clone(),
        realm.clone(),
        redirect_to.clone(),
        seen.clone(),
    );
    let front = http::HttpServer::start_tls(&ca, move |req| {
        if !req.tls {
            front_seen.record("front-cleartext", req);
            return http::Reply::json(200, &serde_json::json!({"token": "cleartext-token"}));
        }
        if req.path() == "/token" {
            if let Some(target) = redirect.lock().expect("redirect").clone() {
                return http::Reply::status(307, &[("Location", &target)]);
            }
            if req.header("authorization") != Some(basic("alice", "token-pass-SECRET5").as_str()) {
                return http::Reply::status(401, &[]);
            }
            let token = t.token(&req.query("scope"));
            log.lock().expect("issued").push(token.clone());
            return http::Reply::json(200, &serde_json::json!({"token": token}));
        }
        let realm = advertised.lock().expect("realm").clone();
        match up.get() {
            Some(addr) => {
                http::Reply::ForwardReplacing(*addr, vec![(PLACEHOLDER_REALM.to_owned(), realm)])
            }
            None => http::Reply::status(503, &[]),
        }
    });
    let registry = tokens.registry(&ws, PLACEHOLDER_REALM);
    upstream.set(registry.addr()).expect("upstream");
    let host = front.addr.to_string();
    let ca_pem = ca.pem.display().to_string();
    let reference = format!("{host}/policies/realm:1");
    let gate = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend([
            "--registry-ca",
            &ca_pem,
            "--username",
            "alice",
            "--password",
            password,
        ]);
        let mut command = ws.gate(&[]);
        command.env("GATE_LOG", "debug");
        ws.run_cmd(&mut command, &args)
    };

    // The registry's own token service over HTTPS: pushed and pulled, and neither the
    // password nor a token shows, even in debug logs.
    *realm.lock().expect("realm") = format!("{}/token", front.url());
    let wasm = policy_wasm("disallow-privileged").display().to_string();
    let pushed = gate(&["policy", "push", &wasm, &reference]);
    ok(&pushed);
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let pulled = gate(&["policy", "pull", &reference]);
    ok(&pulled);
    let issued = issued.lock().expect("issued").clone();
    assert!(!issued.is_empty(), "the token service was not used");
    let base64_basic = basic("alice", password);
    let mut secrets: Vec<&str> = vec![password, base64_basic.trim_start_matches("Basic ")];
    secrets.extend(issued.iter().map(String::as_str));
    assert_no_secret(&pushed, &secrets);
    assert_no_secret(&pulled, &secrets);
    assert!(seen.lines().is_empty(), "{:?}", seen.lines());

    // Hostile realms: refused, saying why, and the credentials never arrive.
    for (hostile, why) in [
        (format!("http://{host}/token"), "plain HTTP"),
        (format!("{}/token", evil.url()), "another host"),
        (format!("http://{}/token", evil.addr), "plain HTTP"),
    ] {
        *realm.lock().expect("realm") = hostile.clone();
        std::fs::remove_dir_all(ws.store()).expect("wipe");
        let out = gate(&["policy", "pull", &reference]);
        assert!(
            seen.with_credentials(&[password]).is_empty(),
            "credentials reached {hostile}: {:?}",
            seen.lines()
        );
        let stderr = refused(&out);
        assert!(
            stderr.contains(why) && stderr.contains(&hostile) && stderr.contains(&host),
            "{hostile}: {stderr}"
        );
        assert_no_secret(&out, &secrets);
    }

    // The registry's token service redirects elsewhere: not followed with credentials.
    *realm.lock().expect("realm") = format!("{}/token", front.url());
    *redirect_to.lock().expect("redirect") = Some(format!("{}/token", evil.url()));
    std::fs::remove_dir_all(ws.store()).expect("wipe");
    let out = gate(&["policy", "pull", &reference]);
    let stderr = refused(&out);
    assert!(stderr.contains("redirect"), "{stderr}");
    assert!(
        seen.with_credentials(&[password]).is_empty(),
        "credentials followed the redirect: {:?}",
        seen.lines()
    );
}

#[test]
fn basic_credentials_go_only_to_the_registry_they_were_given_for() {
    if !tools_present(&["docker-registry", "htpasswd"]) {
        return;
    }
    let ws = Workspace::new();
    std::fs::write(ws.path("htpasswd"), sh("htpasswd -Bbn alice pass-SECRET6")).expect("htpasswd");
    let ours = TestRegistry::start(Auth::Htpasswd(ws.path("htpasswd")), None);
    // A second registry of the same bundle, which wants credentials too.
    let seen = Seen::default();
    let other_seen = seen.clone();
    let other = http::HttpServer::start(move |req| {
        other_seen.record("other", req);
        http::Reply::status(401, &[("WWW-Authenticate", "Basic realm=\"other\"")])
    });
    let other_host = other.addr.to_string();
    let wasm = policy_wasm("disallow-privileged").display().to_string();
    ok(&ws.run(
        &ours,
        &[
            "policy",
            "push",
            &wasm,
            &format!("{}/policies/a:1", ours.host),
            "--username",
            "alice",
            "--password",
            "pass-SECRET6",
        ],
    ));
    let bundle = ws.path("two.yaml");
    std::fs::write(
        &bundle,
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: two}}\nspec:\n  policies:\n  - module: oci://{}/policies/a:1\n  - module: oci://{other_host}/policies/b:1\n",
            ours.host
        ),
    )
    .expect("bundle");
    let bundle = bundle.display().to_string();
    let plain = [ours.host.as_str(), other_host.as_str()];

    // Two registries and no --credentials-for: gate does not guess.
    let mut flags = ws.gate(&plain);
    let out = ws.run_cmd(
        &mut flags,
        &[
            "bundle",
            "lock",
            &bundle,
            "--username",
            "alice",
            "--password",
            "pass-SECRET6",
        ],
    );
    let stderr = refused(&out);
    assert!(
        stderr.contains("--credentials-for")
            && stderr.contains(&ours.host)
            && stderr.contains(&other_host),
        "{stderr}"
    );
    assert_no_secret(&out, &["pass-SECRET6"]);

    // Named, by flag or environment: ours gets them, the other registry does not.
    let mut by_flag = ws.gate(&plain);
    let mut by_env = ws.gate(&plain);
    by_env
        .env("GATE_REGISTRY_USERNAME", "alice")
        .env("GATE_REGISTRY_PASSWORD", "pass-SECRET6")
        .env("GATE_REGISTRY_CREDENTIALS_FOR", &ours.host);
    for (command, extra) in [
        (
            &mut by_flag,
            vec![
                "--username",
                "alice",
                "--password",
                "pass-SECRET6",
                "--credentials-for",
                ours.host.as_str(),
            ],
        ),
        (&mut by_env, vec![]),
    ] {
        let mut args = vec!["bundle", "lock", bundle.as_str()];
        args.extend(extra);
        let out = ws.run_cmd(command, &args);
        let (code, stdout, stderr) = support::parts(&out);
        assert_eq!(
            code, 2,
            "the other registry refuses anonymous pulls:\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains(&format!("oci://{}/policies/a:1 ->", ours.host)),
            "ours was pulled with the credentials:\n{stdout}\n{stderr}"
        );
        assert!(stderr.contains(&other_host), "{stderr}");
        assert_no_secret(&out, &["pass-SECRET6"]);
    }
    assert!(!seen.lines().is_empty(), "the other registry was not asked");
    assert!(
        seen.with_credentials(&["pass-SECRET6"]).is_empty(),
        "credentials reached the other registry: {:?}",
        seen.lines()
    );
}

#[test]
fn azure_tokens_never_follow_a_redirect_nor_go_in_the_clear_nor_to_a_host_that_only_looks_like_acr()
{
    if !tools_present(&["docker-registry"]) {
        return;
    }
    let ws = Workspace::new();
    let ca = http::TestCa::new(ws.dir.path());
    std::fs::write(ws.path("federated-token"), "federated-sa-token-SECRET7").expect("token file");
    let seen = Seen::default();
    let evil_seen = seen.clone();
    let evil = http::HttpServer::start_tls(&ca, move |req| {
        evil_seen.record(if req.tls { "evil-https" } else { "evil-http" }, req);
        http::Reply::json(200, &serde_json::json!({"refresh_token": "stolen"}))
    });
    let evil_url = evil.url();
    // Azure AD and an ACR (HTTPS) whose token exchange redirects to another host.
    // Its plain-HTTP side listens for tokens sent in the clear.
    let acr_seen = seen.clone();
    let acr = http::HttpServer::start_tls(&ca, move |req| {
        if !req.tls {
            acr_seen.record("acr-cleartext", req);
            return http::Reply::json(200, &serde_json::json!({"refresh_token": "x"}));
        }
        match req.path() {
            "/aad/tenant-1/oauth2/v2.0/token" => http::Reply::json(
                200,
                &serde_json::json!({"access_token": "aad-access-SECRET8", "expires_in": 3600}),
            ),
            "/oauth2/exchange" => {
                http::Reply::status(307, &[("Location", &format!("{evil_url}/oauth2/exchange"))])
            }
            _ => http::Reply::status(401, &[("WWW-Authenticate", "Bearer realm=\"x\"")]),
        }
    });
    let acr_host = acr.addr.to_string();
    let digest = format!("sha256:{}", "ab".repeat(32));
    let ca_pem = ca.pem.display().to_string();
    let azure = |plain: &[&str], listed: &str| {
        let mut command = ws.gate(plain);
        command
            .env("GATE_LOG", "debug")
            .env("AZURE_FEDERATED_TOKEN_FILE", ws.path("federated-token"))
            .env("AZURE_CLIENT_ID", "client-1")
            .env("AZURE_TENANT_ID", "tenant-1")
            .env("AZURE_AUTHORITY_HOST", format!("{}/aad/", acr.url()))
            .env("GATE_ACR_REGISTRIES", listed)
            .env("GATE_REGISTRY_CA_FILE", &ca_pem);
        command
    };
    let secrets = ["SECRET7", "SECRET8"];
    let pull = |plain: &[&str], listed: &str, registry: &str| {
        ws.run_cmd(
            &mut azure(plain, listed),
            &[
                "policy",
                "pull",
                &format!("{registry}/policies/acr@{digest}"),
            ],
        )
    };

    // The exchange redirects: the token does not follow.
    let out = pull(&[], &acr_host, &acr_host);
    assert!(
        seen.lines().is_empty(),
        "a token followed the redirect: {:?}",
        seen.lines()
    );
    let stderr = refused(&out);
    assert!(
        stderr.contains("ACR token exchange") && stderr.contains("redirect"),
        "{stderr}"
    );
    assert_no_secret(&out, &secrets);

    // The same ACR declared plain HTTP: no token is sent in the clear.
    let out = pull(&[&acr_host], &acr_host, &acr_host);
    assert!(
        seen.lines().is_empty(),
        "a token went out in the clear: {:?}",
        seen.lines()
    );
    let stderr = refused(&out);
    assert!(stderr.contains("over HTTPS only"), "{stderr}");
    assert_no_secret(&out, &secrets);

    // A registry name that ends in ".azurecr.io" to a string match only.
    for hostile in [
        format!("{}?.azurecr.io", evil.addr),
        format!("{}#.azurecr.io", evil.addr),
    ] {
        let out = pull(&[], "", &hostile);
        assert!(
            seen.lines().is_empty(),
            "a token went to {hostile}: {:?}",
            seen.lines()
        );
        let stderr = refused(&out);
        assert!(
            stderr.contains(&hostile) && stderr.contains("not a lowercase host[:port]"),
            "{stderr}"
        );
        assert_no_secret(&out, &secrets);
    }
}

#[test]
fn what_a_credential_helper_prints_never_reaches_an_error_or_a_debug_log() {
    if !tools_present(&["docker-registry", "htpasswd"]) {
        return;
    }
    let ws = Workspace::new();
    std::fs::write(
        ws.path("htpasswd"),
        sh("htpasswd -Bbn alice helper-pass-SECRET9"),
    )
    .expect("htpasswd");
    let registry = TestRegistry::start(Auth::Htpasswd(ws.path("htpasswd")), None);
    let reference = format!("{}/policies/helper:1", registry.host);
    let wasm = policy_wasm("disallow-privileged").display().to_string();
    let pushed = ok(&ws.run(
        &registry,
        &[
            "policy",
            "push",
            &wasm,
            &reference,
            "--username",
            "alice",
            "--password",
            "helper-pass-SECRET9",
        ],
    ));
    let digest = field(&pushed, "digest");
    let bin = ws.path("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::fs::write(
        ws.path("docker/config.json"),
        format!(r#"{{"credHelpers":{{"{}":"gatetest"}}}}"#, registry.host),
    )
    .expect("config");
    let helper = |script: &str| {
        let file = bin.join("docker-credential-gatetest");
        std::fs::write(&file, format!("#!/bin/sh\nread host\n{script}\n")).expect("helper");
        sh(&format!("chmod +x {}", file.display()));
    };
    let pull = || {
        std::fs::remove_dir_all(ws.store()).ok();
        let mut command = ws.gate(&[&registry.host]);
        command.env("PATH", &path).env("GATE_LOG", "debug");
        ws.run_cmd(
            &mut command,
            &["policy", "pull", &format!("{reference}@{digest}")],
        )
    };
    let secrets = [
        "helper-pass-SECRET9",
        "HELPER-OUT-SECRET10",
        "HELPER-ERR-SECRET11",
    ];

    // A helper that fails after printing its answer and more: the error names the
    // helper and shows none of what it printed.
    helper(
        "echo '{\"Username\":\"alice\",\"Secret\":\"helper-pass-SECRET9\"} HELPER-OUT-SECRET10'; echo HELPER-ERR-SECRET11 >&2; exit 1",
    );
    let out = pull();
    let stderr = refused(&out);
    assert!(stderr.contains("docker-credential-gatetest"), "{stderr}");
    assert_no_secret(&out, &secrets);

    // A helper whose answer is not the protocol's JSON: the same.
    helper("echo 'helper-pass-SECRET9 HELPER-OUT-SECRET10'");
    let out = pull();
    let stderr = refused(&out);
    assert!(stderr.contains("not the helper protocol"), "{stderr}");
    assert_no_secret(&out, &secrets);

    // A working helper: the pull succeeds, and debug logs hold no secret either.
    helper(
        "echo '{\"ServerURL\":\"'$host'\",\"Username\":\"alice\",\"Secret\":\"helper-pass-SECRET9\"}'",
    );
    let out = pull();
    ok(&out);
    let (_, _, stderr) = support::parts(&out);
    assert!(
        stderr.contains("DEBUG"),
        "GATE_LOG=debug logged nothing:\n{stderr}"
    );
    let header = basic("alice", "helper-pass-SECRET9");
    assert_no_secret(
        &out,
        &[&secrets[..], &[header.trim_start_matches("Basic ")]].concat(),
    );
}
