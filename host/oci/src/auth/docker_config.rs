//! Credentials from docker's config file and its credential helpers.
//!
//! The helper protocol: run `docker-credential-NAME get`, write the registry host
//! on its stdin, read `{"ServerURL", "Username", "Secret"}` from its stdout. A
//! `Username` of `<token>` means `Secret` is an identity (refresh) token.

use super::{Credential, Secret};
use crate::error::{Error, Result};
use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// The default docker config file.
pub fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// The credential docker would use for `registry`, if the config has one.
pub fn lookup(path: &Path, registry: &str) -> Result<Option<Credential>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path)(e)),
    };
    let auth_err = |message: String| Error::Auth {
        registry: registry.to_owned(),
        message: format!("{}: {message}", path.display()),
    };
    let config: DockerConfig =
        serde_json::from_str(&text).map_err(|e| auth_err(format!("not a docker config: {e}")))?;
    if let Some(helper) = find(&config.cred_helpers, registry) {
        return run_helper(helper, registry);
    }
    if let Some(entry) = find(&config.auths, registry) {
        if let Some(token) = &entry.identitytoken {
            return Ok(Some(Credential::RefreshToken(Secret::new(token.clone()))));
        }
        if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
            return Ok(Some(Credential::Basic {
                username: username.clone(),
                password: Secret::new(password.clone()),
            }));
        }
        if let Some(auth) = &entry.auth {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    auth_err(format!(
                        "auths.{registry}.auth is not base64 of user:password"
                    ))
                })?;
            let (username, password) = decoded.split_once(':').ok_or_else(|| {
                auth_err(format!(
                    "auths.{registry}.auth is not base64 of user:password"
                ))
            })?;
            return Ok(Some(Credential::Basic {
                username: username.to_owned(),
                password: Secret::new(password),
            }));
        }
    }
    match &config.creds_store {
        Some(store) if !store.is_empty() => run_helper(store, registry),
        _ => Ok(None),
    }
}

/// Docker matches `auths` keys written as hosts or as URLs (`https://host/v1/`).
fn find<'a, T>(map: &'a BTreeMap<String, T>, registry: &str) -> Option<&'a T> {
    map.iter()
        .find(|(key, _)| normalize(key) == registry)
        .map(|(_, value)| value)
}

fn normalize(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

/// The message of docker-credential-helpers' `ErrCredentialsNotFound`: the helper
/// knows nothing for this registry, which docker reads as "anonymous".
const NOT_FOUND: &str = "credentials not found in native keychain";

/// Runs `docker-credential-NAME get`. Nothing the helper prints ever reaches an
/// error or a log: its output is the credential, and a broken helper may print
/// it anywhere.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credential>> {
    let program = format!("docker-credential-{helper}");
    run_program(program.as_ref(), helper, registry)
}

/// Runs the helper `program` (named `docker-credential-HELPER` in messages).
fn run_program(program: &OsStr, helper: &str, registry: &str) -> Result<Option<Credential>> {
    let err = |message: String| Error::Auth {
        registry: registry.to_owned(),
        message: format!("docker-credential-{helper}: {message}"),
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper may answer without reading its input (and exit first): its
        // answer, not the pipe, decides.
        match stdin.write_all(registry.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(err(format!("cannot write to it: {e}")));
            }
            _ => {}
        }
    }
    let output = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    if !output.status.success() {
        if String::from_utf8_lossy(&output.stdout).trim() == NOT_FOUND {
            return Ok(None);
        }
        return Err(err(format!(
            "`get` failed ({}); its output is not shown, as it may hold a secret",
            output.status
        )));
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .map_err(|_| err("its answer is not the helper protocol's JSON (not shown)".into()))?;
    if answer.username == "<token>" {
        return Ok(Some(Credential::RefreshToken(Secret::new(answer.secret))));
    }
    Ok(Some(Credential::Basic {
        username: answer.username,
        password: Secret::new(answer.secret),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_base64_auths_keyed_by_host_or_url() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let (_d, path) = config(&format!(
            r#"{{"auths":{{"https://r.example:5000/v1/":{{"auth":"{auth}"}}}}}}"#
        ));
        let cred = lookup(&path, "r.example:5000").unwrap().unwrap();
        assert_eq!(
            cred,
            Credential::Basic {
                username: "alice".into(),
                password: Secret::new("s3cret")
            }
        );
        assert_eq!(lookup(&path, "other.example").unwrap(), None);
    }

    #[test]
    fn a_missing_helper_is_an_error_naming_it_without_secrets() {
        let (_d, path) = config(r#"{"credHelpers":{"r.example":"gate-no-such-helper"}}"#);
        let err = lookup(&path, "r.example").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-gate-no-such-helper"),
            "{err}"
        );
    }

    /// A helper script in a temporary directory; returns its path.
    fn helper(dir: &Path, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("docker-credential-gatetest");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Runs a helper script just written. Another test thread that forks while the
    /// script is open for writing keeps it busy for a moment (ETXTBSY): wait that out.
    fn run_written(program: &Path) -> Result<Option<Credential>> {
        for _ in 0..100 {
            match run_program(program.as_os_str(), "gatetest", "r.example") {
                Err(e) if e.to_string().contains("os error 26") => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
        run_program(program.as_os_str(), "gatetest", "r.example")
    }

    #[test]
    fn what_a_failing_helper_prints_never_reaches_the_error() {
        let dir = tempfile::tempdir().unwrap();
        for script in [
            "echo '{\"Username\":\"alice\",\"Secret\":\"HELPER-SECRET-1\"}'; echo HELPER-SECRET-2 >&2; exit 1",
            "echo 'not json HELPER-SECRET-3'",
        ] {
            let program = helper(dir.path(), script);
            let err = run_written(&program).unwrap_err().to_string();
            assert!(err.contains("docker-credential-gatetest"), "{err}");
            assert!(
                !err.contains("HELPER-SECRET"),
                "a helper's output leaked: {err}"
            );
        }
        let program = helper(
            dir.path(),
            "echo 'credentials not found in native keychain'; exit 1",
        );
        assert_eq!(run_written(&program).unwrap(), None);
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
    }
}
