//! No secret value reaches any output of `gate check`.
//!
//! A render with a plaintext Secret (`data`, `stringData`, and a copy of the data in
//! the last-applied annotation) and a Deployment with a literal password in `env` goes
//! through the built-in `aks-secrets-tls` bundle in every output format. The run must
//! deny, and neither stdout nor stderr may carry any of the values: not as written, not
//! decoded, not base64-encoded, and not any 12-character piece of those.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::Duration;

const FORMATS: [&str; 6] = ["text", "json", "sarif", "junit", "github", "azure-devops"];

/// Planted values, distinctive enough that no output can contain them by chance.
const DATA_VALUE: &str = "dV4-vault-passw0rd-q8Zr-7Kf2";
const STRING_DATA_VALUE: &str = "sD7-api-t0ken-mK3x-Lp90";
const ANNOTATION_VALUE: &str = "aN5-applied-s3cret-h6Yt-2Wq";
const ENV_VALUE: &str = "eV9-literal-passw0rd-w2Pn-4Rb";

const PLANTED: [&str; 4] = [DATA_VALUE, STRING_DATA_VALUE, ANNOTATION_VALUE, ENV_VALUE];

/// The length of the pieces looked for: long enough to be distinctive.
const PIECE: usize = 12;

/// Standard base64 (RFC 4648), with or without padding, or the URL-safe alphabet.
fn base64(bytes: &[u8], url_safe: bool, pad: bool) -> String {
    let alphabet: &[u8] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// Every form in which a value could leak.
fn forms(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    vec![
        value.to_owned(),
        base64(bytes, false, true),
        base64(bytes, false, false),
        base64(bytes, true, false),
    ]
}

/// The planted values (by index) whose forms, or a piece of one, occur in `text`.
fn leaks(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, value) in PLANTED.iter().enumerate() {
        for form in forms(value) {
            let chars: Vec<char> = form.chars().collect();
            let piece = chars
                .windows(PIECE.min(chars.len()))
                .map(|w| w.iter().collect::<String>())
                .find(|piece| text.contains(piece.as_str()));
            if let Some(piece) = piece {
                found.push((i, piece));
            }
        }
    }
    found
}

fn render_yaml() -> String {
    let data = base64(DATA_VALUE.as_bytes(), false, true);
    let applied = format!(
        r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"db","namespace":"shop"}},"data":{{"previous":"{}"}}}}"#,
        base64(ANNOTATION_VALUE.as_bytes(), false, true)
    );
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{applied}'
type: Opaque
data:
  password: {data}
stringData:
  api-token: {STRING_DATA_VALUE}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {{app: api}}
  template:
    metadata:
      labels: {{app: api}}
    spec:
      containers:
        - name: api
          image: contoso.azurecr.io/api:1.0
          env:
            - name: DB_PASSWORD
              value: {ENV_VALUE}
            - name: API_TOKEN
              valueFrom:
                secretKeyRef: {{name: db, key: api-token}}
"#
    )
}

fn check(render: &Path, format: &str) -> (i32, String, String) {
    let mut command = support::gate();
    command.args([
        "check",
        "--bundle",
        "builtin:aks-secrets-tls",
        "--format",
        format,
    ]);
    command.arg(render);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
    support::parts(&output)
}

#[test]
fn the_leak_detector_finds_every_planted_value_in_the_render() {
    let render = render_yaml();
    let found: Vec<usize> = leaks(&render).into_iter().map(|(i, _)| i).collect();
    for i in 0..PLANTED.len() {
        assert!(
            found.contains(&i),
            "the detector misses planted value {i} in the render:\n{render}"
        );
    }
    assert!(leaks("no secret here, only policy names and paths like data.password").is_empty());
}

#[test]
fn base64_matches_rfc_4648() {
    assert_eq!(base64(b"foobar", false, true), "Zm9vYmFy");
    assert_eq!(base64(b"fooba", false, true), "Zm9vYmE=");
    assert_eq!(base64(b"foob", false, true), "Zm9vYg==");
    assert_eq!(base64(b"foob", false, false), "Zm9vYg");
    assert_eq!(base64(&[0xfb, 0xff], true, false), "-_8");
}

#[test]
fn the_run_denies() {
    let dir = tempfile::tempdir().unwrap();
    let render = dir.path().join("render.yaml");
    std::fs::write(&render, render_yaml()).unwrap();
    let (code, stdout, stderr) = check(&render, "json");
    assert_eq!(code, 1, "expected a denial\n{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["decision"], "deny");
    let denials: Vec<(String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["action"] == "deny")
        .flat_map(|f| {
            let policy = f["policy"].as_str().unwrap_or_default().to_owned();
            f["violations"].as_array().unwrap().iter().map(move |v| {
                (
                    policy.clone(),
                    v["path"].as_str().unwrap_or_default().to_owned(),
                )
            })
        })
        .collect();
    let expected = [
        ("no-plaintext-secrets", "data.password"),
        ("no-plaintext-secrets", "stringData.api-token"),
        (
            "no-plaintext-secrets",
            "metadata.annotations[\"kubectl.kubernetes.io/last-applied-configuration\"]",
        ),
        (
            "no-env-credentials",
            "spec.template.spec.containers[0].env[0].value",
        ),
        (
            "no-env-credentials",
            "spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name",
        ),
    ];
    for (policy, path) in expected {
        assert!(
            denials.iter().any(|(p, at)| p == policy && at == path),
            "expected {policy} to deny at {path}; denials: {denials:?}"
        );
    }
}

#[test]
fn no_output_format_carries_a_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    let render = dir.path().join("render.yaml");
    std::fs::write(&render, render_yaml()).unwrap();
    for format in FORMATS {
        let (code, stdout, stderr) = check(&render, format);
        assert_eq!(
            code, 1,
            "-f {format}: expected a denial\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("no-plaintext-secrets"),
            "-f {format} reports no finding:\n{stdout}"
        );
        for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            let found = leaks(text);
            assert!(
                found.is_empty(),
                "-f {format}: {stream} carries planted values {found:?}:\n{text}"
            );
        }
    }
}
