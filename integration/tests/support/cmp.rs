//! Plays Argo CD's argocd-cmp-server with `integration/argocd/plugin.yaml`, as
//! `cmpserver/plugin/plugin.go` does: the app's repository copied into a fresh
//! work directory with file modes reset (files 0644, directories 0755, as
//! `util/io/files/tar.go` untars them without `preserveFileMode`), `discover`
//! run in the app directory, then `init` and `generate` exactly as the file
//! writes them (`command` + `args`), in the app directory, with the sidecar's
//! environment plus the one Argo CD builds for the app, killed (process group
//! and all) at the request's deadline.
#![allow(dead_code)]

use crate::support;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The repo-server's default timeout for a manifest request (60 s); the CMP
/// server cuts its own work 100 ms earlier.
pub const ARGO_DEADLINE: Duration = Duration::from_millis(59_900);

/// `ConfigManagementPlugin`, as Argo CD's `cmpserver/plugin/config.go` reads it.
/// Unknown fields are refused here (Argo CD ignores them): a typo in plugin.yaml
/// would silently drop a setting in the sidecar.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginConfig {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `ConfigManagementPlugin`.
    pub kind: String,
    /// Its name.
    pub metadata: Metadata,
    /// The commands.
    pub spec: PluginSpec,
}

/// `metadata`.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    /// Applications name the plugin by it.
    pub name: String,
}

/// `spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSpec {
    /// Optional version.
    #[serde(default)]
    pub version: Option<String>,
    /// Runs before generate.
    #[serde(default)]
    pub init: Option<PluginCommand>,
    /// Prints the manifests.
    pub generate: PluginCommand,
    /// Which apps the plugin supports.
    #[serde(default)]
    pub discover: Option<Discover>,
    /// Announced to the UI.
    #[serde(default)]
    pub parameters: Option<Parameters>,
    #[serde(default)]
    allow_concurrency: Option<bool>,
    #[serde(default)]
    lock_repo: Option<bool>,
    /// Keep the repository's file modes.
    #[serde(default)]
    pub preserve_file_mode: Option<bool>,
    #[serde(default)]
    provide_git_creds: Option<bool>,
}

/// `command` + `args`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginCommand {
    /// The program and its first arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// More arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

impl PluginCommand {
    /// The argv Argo CD runs: `command[0]` with `command[1..]` then `args`.
    pub fn argv(&self) -> Vec<String> {
        self.command.iter().chain(&self.args).cloned().collect()
    }
}

/// `discover`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Discover {
    /// A glob in the app directory.
    #[serde(default)]
    pub file_name: Option<String>,
    /// A find command or a `**` glob.
    #[serde(default)]
    pub find: Option<Find>,
}

/// `discover.find`: a command (fields of the embedded Command) or a glob.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Find {
    /// The program and its first arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// More arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// A `**` glob.
    #[serde(default)]
    pub glob: Option<String>,
}

/// `parameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// Announced for every app.
    #[serde(default)]
    pub r#static: Vec<Announcement>,
    /// A command printing announcements.
    #[serde(default)]
    pub dynamic: Option<PluginCommand>,
}

/// One parameter announcement (`ParameterAnnouncement` in Argo CD's repository API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Announcement {
    /// The parameter's name.
    pub name: String,
    /// Shown as its label.
    #[serde(default)]
    pub title: Option<String>,
    /// Shown on hover.
    #[serde(default)]
    pub tooltip: Option<String>,
    /// Must be set.
    #[serde(default)]
    pub required: Option<bool>,
    /// `string` (default).
    #[serde(default)]
    pub item_type: Option<String>,
    /// `string` (default), `array` or `map`.
    #[serde(default)]
    pub collection_type: Option<String>,
    /// A default string.
    #[serde(default)]
    pub string: Option<String>,
    /// A default array.
    #[serde(default)]
    pub array: Option<Vec<String>>,
    /// A default map.
    #[serde(default)]
    pub map: Option<BTreeMap<String, String>>,
}

impl PluginConfig {
    /// Reads `integration/argocd/plugin.yaml` and applies Argo CD's own checks
    /// (`ValidatePluginConfig`): a name, the kind, a generate command, a discovery rule.
    pub fn load() -> PluginConfig {
        let path = support::root().join("integration/argocd/plugin.yaml");
        let text = std::fs::read_to_string(&path).expect("plugin.yaml");
        let config: PluginConfig = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not a ConfigManagementPlugin: {e}", path.display()));
        assert_eq!(config.api_version, "argoproj.io/v1alpha1");
        assert_eq!(config.kind, "ConfigManagementPlugin");
        assert!(!config.metadata.name.is_empty(), "metadata.name");
        assert!(
            !config.spec.generate.command.is_empty(),
            "spec.generate.command"
        );
        let discover = config.spec.discover.as_ref().expect("spec.discover");
        assert!(
            discover.file_name.is_some()
                || discover
                    .find
                    .as_ref()
                    .is_some_and(|f| f.glob.is_some() || !f.command.is_empty()),
            "a discovery rule"
        );
        config
    }
}

/// The sidecar container: its own /tmp, caches and configuration, and `gate`
/// on its PATH.
pub struct Sidecar {
    /// Everything of this sidecar.
    pub dir: tempfile::TempDir,
    /// Extra variables of the container (e.g. registry settings).
    pub extra_env: Vec<(String, String)>,
}

impl Sidecar {
    /// A sidecar with this platform configuration. The component cache is the
    /// test run's shared one, as the sidecar's cache volume outlives restarts.
    pub fn new(config: &str) -> Sidecar {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gate"), bin.join("gate"))
            .expect("link gate");
        std::fs::create_dir_all(dir.path().join("config")).expect("config");
        std::fs::create_dir_all(dir.path().join("tmp")).expect("tmp");
        let sidecar = Sidecar {
            dir,
            extra_env: Vec::new(),
        };
        sidecar.write_config(config);
        sidecar
    }

    /// Replaces the platform configuration.
    pub fn write_config(&self, config: &str) {
        std::fs::write(self.config_path(), config).expect("config");
    }

    /// A file next to the configuration (a bundle, a lock file, a trust policy).
    pub fn config_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join("config").join(name);
        std::fs::write(&path, text).expect("config file");
        path
    }

    /// The configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config/config.yaml")
    }

    /// Where reports go.
    pub fn reports(&self) -> PathBuf {
        self.dir.path().join("tmp/gate-reports")
    }

    /// Puts an executable script on the sidecar's PATH (a stand-in for a tool
    /// that cannot run here).
    pub fn install_tool(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join("bin").join(name);
        std::fs::write(&path, script).expect("tool");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// The container's environment (`os.Environ()` of argocd-cmp-server).
    pub fn env(&self) -> Vec<(String, String)> {
        let bin = self.dir.path().join("bin");
        let mut env = vec![
            (
                "PATH".to_owned(),
                format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
            ),
            (
                "HOME".to_owned(),
                self.dir.path().join("tmp").display().to_string(),
            ),
            (
                "TMPDIR".to_owned(),
                self.dir.path().join("tmp").display().to_string(),
            ),
            (
                "GATE_ARGOCD_CONFIG".to_owned(),
                self.config_path().display().to_string(),
            ),
            (
                "GATE_CACHE_DIR".to_owned(),
                support::cache_dir().display().to_string(),
            ),
            (
                "GATE_OCI_STORE".to_owned(),
                self.dir.path().join("oci").display().to_string(),
            ),
            (
                "GATE_REPORT_DIR".to_owned(),
                self.reports().display().to_string(),
            ),
            (
                "DOCKER_CONFIG".to_owned(),
                self.dir.path().join("docker").display().to_string(),
            ),
        ];
        if let Some(dir) = std::env::var_os("GATE_POLICIES_WASM_DIR") {
            env.push((
                "GATE_POLICIES_WASM_DIR".into(),
                dir.to_string_lossy().into(),
            ));
        }
        env.extend(self.extra_env.iter().cloned());
        env
    }
}

/// What Argo CD knows about the app, turned into the variables it sets.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// `ARGOCD_APP_NAME`.
    pub name: String,
    /// `ARGOCD_APP_NAMESPACE` (destination).
    pub namespace: String,
    /// `ARGOCD_APP_PROJECT_NAME`.
    pub project: String,
    /// `ARGOCD_APP_REVISION`.
    pub revision: String,
    /// `ARGOCD_APP_SOURCE_REPO_URL`.
    pub repo_url: String,
    /// `ARGOCD_APP_SOURCE_PATH`: the app's directory in the repository.
    pub path: String,
    /// `KUBE_VERSION`.
    pub kube_version: String,
    /// `KUBE_API_VERSIONS`, joined with commas.
    pub api_versions: Vec<String>,
    /// `spec.source.plugin.env` (sent as `ARGOCD_ENV_<NAME>`).
    pub plugin_env: Vec<(String, String)>,
    /// `spec.source.plugin.parameters` as JSON objects (`name` + `string`/`array`/`map`).
    pub parameters: Vec<serde_json::Value>,
}

impl AppSpec {
    /// An app `name` of project `project` in `apps/<name>`, destined for namespace `shop`.
    pub fn new(project: &str, name: &str) -> AppSpec {
        AppSpec {
            name: name.to_owned(),
            namespace: "shop".to_owned(),
            project: project.to_owned(),
            revision: "6f1c2a9d0b7e4c3f8a5d2e1b0c9f8e7d6a5b4c3d".to_owned(),
            repo_url: "https://git.example.com/platform/apps.git".to_owned(),
            path: format!("apps/{}", name.rsplit('_').next().unwrap_or(name)),
            kube_version: "1.31.2".to_owned(),
            api_versions: vec!["v1".into(), "apps/v1".into(), "apps/v1/Deployment".into()],
            plugin_env: Vec::new(),
            parameters: Vec::new(),
        }
    }

    /// The variables Argo CD's repo-server builds (`newEnv`, `getPluginEnvs`,
    /// `ApplicationSourcePluginParameters.Environ`). The CMP server drops the
    /// ones with an empty value.
    pub fn env(&self) -> Vec<(String, String)> {
        let short = |n: usize| self.revision.chars().take(n).collect::<String>();
        let mut env: Vec<(String, String)> = [
            ("ARGOCD_APP_NAME", self.name.clone()),
            ("ARGOCD_APP_NAMESPACE", self.namespace.clone()),
            ("ARGOCD_APP_PROJECT_NAME", self.project.clone()),
            ("ARGOCD_APP_REVISION", self.revision.clone()),
            ("ARGOCD_APP_REVISION_SHORT", short(7)),
            ("ARGOCD_APP_REVISION_SHORT_8", short(8)),
            ("ARGOCD_APP_SOURCE_REPO_URL", self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH", self.path.clone()),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION", "main".to_owned()),
            ("KUBE_VERSION", self.kube_version.clone()),
            ("KUBE_API_VERSIONS", self.api_versions.join(",")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (name, value) in &self.plugin_env {
            env.push((format!("ARGOCD_ENV_{name}"), value.clone()));
        }
        env.push((
            "ARGOCD_APP_PARAMETERS".to_owned(),
            serde_json::Value::Array(self.parameters.clone()).to_string(),
        ));
        for parameter in &self.parameters {
            let base = format!(
                "PARAM_{}",
                escaped(parameter["name"].as_str().unwrap_or(""))
            );
            if let Some(s) = parameter["string"].as_str() {
                env.push((base.clone(), s.to_owned()));
            }
            if let Some(items) = parameter["array"].as_array() {
                for (i, item) in items.iter().enumerate() {
                    env.push((
                        format!("{base}_{i}"),
                        item.as_str().unwrap_or("").to_owned(),
                    ));
                }
            }
            if let Some(map) = parameter["map"].as_object() {
                for (k, v) in map {
                    env.push((
                        format!("{base}_{}", escaped(k)),
                        v.as_str().unwrap_or("").to_owned(),
                    ));
                }
            }
        }
        env.retain(|(_, v)| !v.is_empty());
        env
    }
}

/// Argo CD's parameter name escaping: upper case, anything else than
/// `[A-Z0-9_]` becomes `_`.
fn escaped(name: &str) -> String {
    name.to_uppercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A repository to serve: files by path, the app in `apps/<name>`.
pub struct Repo {
    /// The checkout.
    pub dir: tempfile::TempDir,
}

impl Repo {
    /// A repository holding these files (paths relative to its root).
    pub fn new(files: &[(&str, &str)]) -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        Repo { dir }
    }
}

/// What one manifest generation did.
#[derive(Debug)]
pub struct Generation {
    /// Whether `discover` matched the app (the rest did not run if not).
    pub discovered: bool,
    /// The output of `generate`.
    pub stdout: String,
    /// Its stderr (what the Application's condition shows on failure).
    pub stderr: String,
    /// Its exit code; `None` if it was killed at the deadline.
    pub code: Option<i32>,
    /// init + generate, as the repo-server's deadline counts it.
    pub elapsed: Duration,
}

/// Generates the manifests of `app` from `repo` as argocd-cmp-server would.
pub fn generate(sidecar: &Sidecar, repo: &Repo, app: &AppSpec) -> Generation {
    let plugin = PluginConfig::load();
    let work = tempfile::Builder::new()
        .prefix("_cmp_server")
        .tempdir_in(sidecar.dir.path().join("tmp"))
        .expect("workdir");
    copy_resetting_modes(repo.dir.path(), work.path());
    let app_dir = work.path().join(&app.path);
    assert!(app_dir.is_dir(), "no app at {}", app.path);
    let mut env = sidecar.env();
    env.extend(app.env());

    let discover = plugin.spec.discover.as_ref().expect("discover");
    let discovered = match (&discover.file_name, &discover.find) {
        (Some(pattern), _) => glob_any(&app_dir, pattern),
        (None, Some(find)) if find.glob.is_some() => {
            panic!("this harness plays find.command and fileName; plugin.yaml uses find.glob")
        }
        (None, Some(find)) => {
            let argv: Vec<String> = find.command.iter().chain(&find.args).cloned().collect();
            let (out, _, code, _) = run(&argv, &app_dir, &env, None, ARGO_DEADLINE);
            code == Some(0) && !out.is_empty()
        }
        (None, None) => panic!("no discovery rule"),
    };
    if !discovered {
        return Generation {
            discovered,
            stdout: String::new(),
            stderr: String::new(),
            code: None,
            elapsed: Duration::ZERO,
        };
    }
    let started = Instant::now();
    if let Some(init) = plugin.spec.init.as_ref().filter(|i| !i.command.is_empty()) {
        let (_, err, code, _) = run(&init.argv(), &app_dir, &env, None, ARGO_DEADLINE);
        if code != Some(0) {
            return Generation {
                discovered,
                stdout: String::new(),
                stderr: err,
                code,
                elapsed: started.elapsed(),
            };
        }
    }
    let left = ARGO_DEADLINE.saturating_sub(started.elapsed());
    let (stdout, stderr, code, _) = run(&plugin.spec.generate.argv(), &app_dir, &env, None, left);
    Generation {
        discovered,
        stdout,
        stderr,
        code,
        elapsed: started.elapsed(),
    }
}

/// Runs argv in `dir` with exactly `env`, in its own process group, killed
/// with its group at `deadline`. Returns (stdout, stderr, exit code, elapsed).
pub fn run(
    argv: &[String],
    dir: &Path,
    env: &[(String, String)],
    stdin: Option<&[u8]>,
    deadline: Duration,
) -> (String, String, Option<i32>, Duration) {
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // The program is looked up on `env`'s PATH, the sidecar's, as Go's exec does.
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {argv:?}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&input);
        });
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > deadline {
            // As argocd-cmp-server does on the request's deadline: the whole group.
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (
        text(out.join().unwrap_or_default()),
        text(err.join().unwrap_or_default()),
        code,
        elapsed,
    )
}

/// Copies a tree as the CMP server untars it: regular files 0644, directories
/// 0755, whatever the modes in the repository.
fn copy_resetting_modes(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(from).expect("read repo") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("type");
        if kind.is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            copy_resetting_modes(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).expect("copy");
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
    }
}

/// `filepath.Glob` in `dir` for a pattern without `**`: any match.
fn glob_any(dir: &Path, pattern: &str) -> bool {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "for f in {pattern}; do [ -e \"$f\" ] && echo \"$f\"; done"
        ))
        .current_dir(dir)
        .output()
        .expect("sh");
    !output.stdout.is_empty()
}

/// Splits a plugin's stdout as Argo CD does, with the code Argo CD uses for it:
/// apimachinery's YAMLOrJSONDecoder, which kubectl's resource builder shares
/// with gitops-engine's `SplitYAMLToString`. `kubectl label --local` decodes
/// the stream with it and prints each object (with a probe label we remove).
pub fn argo_split(stdout: &str) -> Vec<serde_json::Value> {
    if stdout.trim().is_empty() {
        return Vec::new();
    }
    let (out, err, code, _) = run(
        &[
            "kubectl".into(),
            "label".into(),
            "--local".into(),
            "-f".into(),
            "-".into(),
            "-o".into(),
            "json".into(),
            "gate.dev/split-probe=1".into(),
        ],
        Path::new("/"),
        &[("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        Some(stdout.as_bytes()),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "kubectl could not decode the stream:\n{err}");
    let mut objects = Vec::new();
    for value in serde_json::Deserializer::from_str(&out).into_iter::<serde_json::Value>() {
        let value = value.expect("kubectl output");
        let items = if value["kind"] == "List" {
            value["items"].as_array().cloned().unwrap_or_default()
        } else {
            vec![value]
        };
        for mut object in items {
            let labels = object["metadata"]["labels"]
                .as_object_mut()
                .expect("probe label");
            labels.remove("gate.dev/split-probe");
            if labels.is_empty() {
                object["metadata"]
                    .as_object_mut()
                    .expect("metadata")
                    .remove("labels");
            }
            objects.push(object);
        }
    }
    objects
}

/// Objects as a sorted list of canonical JSON texts: an order-free set that
/// keeps duplicates.
pub fn object_set(objects: &[serde_json::Value]) -> Vec<String> {
    let mut set: Vec<String> = objects.iter().map(canonical).collect();
    set.sort();
    set
}

fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// The `sha256:` digest of a built-in bundle's document, as reports name it.
pub fn builtin_bundle_digest(name: &str) -> String {
    let path = support::root().join(format!("bundles/{name}.yaml"));
    format!(
        "sha256:{}",
        sha256_hex(&std::fs::read(path).expect("bundle"))
    )
}

/// Hex SHA-256 of bytes, by coreutils' sha256sum (independent of gate's own).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let (out, err, code, _) = run(
        &["sha256sum".into()],
        Path::new("/"),
        &[("PATH".into(), "/usr/bin:/bin".into())],
        Some(bytes),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{err}");
    out.split_whitespace().next().expect("digest").to_owned()
}
