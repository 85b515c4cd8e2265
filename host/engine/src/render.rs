//! Rendering an application directory the way GitOps tools do (kustomize, helm,
//! or plain manifest files), and writing a judged render back out as one stream.
//!
//! The Argo CD plugin and the Flux gate both judge the output of a render, then
//! hand exactly that output on. Both use this module, so both render alike.

use crate::sources::{self, Loaded};
use gate_core::Resource;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Files that make a directory a kustomization, in the order kustomize looks for them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How a directory is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// `kustomize build` (or `kubectl kustomize`).
    Kustomize,
    /// `helm template`.
    Helm,
    /// The YAML and JSON files of the directory, recursively.
    Plain,
}

impl Renderer {
    /// What renders `dir`: a kustomization file wins, then `Chart.yaml`, else plain files.
    pub fn detect(dir: &Path) -> Renderer {
        if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
            Renderer::Kustomize
        } else if dir.join("Chart.yaml").is_file() {
            Renderer::Helm
        } else {
            Renderer::Plain
        }
    }
}

impl std::fmt::Display for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Renderer::Kustomize => "kustomize",
            Renderer::Helm => "helm",
            Renderer::Plain => "plain",
        })
    }
}

/// What `helm template` needs to render as the GitOps tool would.
#[derive(Debug, Clone, Default)]
pub struct HelmOptions {
    /// The release name (Argo CD: the application name).
    pub release_name: String,
    /// The namespace the release is installed in.
    pub namespace: Option<String>,
    /// Values files, relative to the chart directory; they may not leave it.
    pub values_files: Vec<PathBuf>,
    /// The cluster's Kubernetes version (`--kube-version`), when known.
    pub kube_version: Option<String>,
    /// The API versions the cluster serves (`--api-versions`), when known.
    pub api_versions: Vec<String>,
}

/// How to render a directory.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Options for charts.
    pub helm: HelmOptions,
    /// The longest a renderer may run before it is killed.
    pub timeout: Duration,
    /// The most bytes a renderer may write to stdout.
    pub max_output: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            helm: HelmOptions::default(),
            timeout: Duration::from_secs(45),
            max_output: 256 << 20,
        }
    }
}

/// Why a directory could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No program that can render this directory is on PATH.
    #[error("{dir}: a {renderer} directory, but none of {programs} is on PATH")]
    NoRenderer {
        /// The directory.
        dir: String,
        /// What it needs.
        renderer: Renderer,
        /// The programs looked for.
        programs: String,
    },
    /// The renderer could not be started or read.
    #[error("{dir}: cannot run {program}")]
    Spawn {
        /// The directory.
        dir: String,
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The renderer exited with an error.
    #[error("{dir}: {program} failed ({status}): {stderr}")]
    Failed {
        /// The directory.
        dir: String,
        /// The program.
        program: String,
        /// Its exit status.
        status: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// The renderer ran past its deadline and was killed.
    #[error("{dir}: {program} did not finish within {seconds} s and was stopped")]
    Timeout {
        /// The directory.
        dir: String,
        /// The program.
        program: String,
        /// The deadline.
        seconds: u64,
    },
    /// The renderer wrote more than allowed.
    #[error("{dir}: {program} wrote more than {limit} bytes")]
    TooLarge {
        /// The directory.
        dir: String,
        /// The program.
        program: String,
        /// The limit.
        limit: usize,
    },
    /// A values file is outside the chart directory.
    #[error("{dir}: values file {file:?} is outside the chart directory")]
    ValuesOutside {
        /// The chart directory.
        dir: String,
        /// The file as given.
        file: String,
    },
}

/// A directory rendered: what rendered it and what it holds.
#[derive(Debug)]
pub struct Rendered {
    /// The renderer used.
    pub renderer: Renderer,
    /// The objects, with parse errors and skipped documents.
    pub loaded: Loaded,
}

/// Renders a directory with the renderer it calls for.
pub fn render_dir(dir: &Path, options: &RenderOptions) -> Result<Rendered, RenderError> {
    let renderer = Renderer::detect(dir);
    let label = dir.display().to_string();
    let loaded = match renderer {
        Renderer::Plain => sources::load(&[dir.to_owned()]),
        Renderer::Kustomize => {
            let (program, args) = kustomize_command(&label)?;
            let mut command = Command::new(&program);
            command.args(args).arg(dir);
            let text = run(command, &label, &program, options)?;
            sources::parse_text(&format!("{program} build {label}"), &text)
        }
        Renderer::Helm => {
            let command = helm_command(dir, &label, &options.helm)?;
            let text = run(command, &label, "helm", options)?;
            sources::parse_text(&format!("helm template {label}"), &text)
        }
    };
    Ok(Rendered { renderer, loaded })
}

/// `kustomize build` if kustomize is on PATH, else `kubectl kustomize`.
fn kustomize_command(dir: &str) -> Result<(String, &'static [&'static str]), RenderError> {
    if on_path("kustomize") {
        Ok(("kustomize".into(), &["build"]))
    } else if on_path("kubectl") {
        Ok(("kubectl".into(), &["kustomize"]))
    } else {
        Err(RenderError::NoRenderer {
            dir: dir.to_owned(),
            renderer: Renderer::Kustomize,
            programs: "kustomize, kubectl".into(),
        })
    }
}

fn helm_command(dir: &Path, label: &str, helm: &HelmOptions) -> Result<Command, RenderError> {
    if !on_path("helm") {
        return Err(RenderError::NoRenderer {
            dir: label.to_owned(),
            renderer: Renderer::Helm,
            programs: "helm".into(),
        });
    }
    let mut command = Command::new("helm");
    command.arg("template");
    if !helm.release_name.is_empty() {
        command.arg(&helm.release_name);
    }
    command.arg(".").arg("--include-crds");
    if let Some(namespace) = &helm.namespace {
        command.arg("--namespace").arg(namespace);
    }
    for file in &helm.values_files {
        if !stays_inside(file) {
            return Err(RenderError::ValuesOutside {
                dir: label.to_owned(),
                file: file.display().to_string(),
            });
        }
        command.arg("--values").arg(file);
    }
    if let Some(version) = &helm.kube_version {
        command.arg("--kube-version").arg(version);
    }
    for api in &helm.api_versions {
        command.arg("--api-versions").arg(api);
    }
    command.current_dir(dir);
    Ok(command)
}

/// True for a relative path that never climbs out of its base.
fn stays_inside(path: &Path) -> bool {
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let candidate = dir.join(program);
            candidate.is_file() && is_executable(&candidate)
        })
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    true
}

/// How much of a renderer's stderr an error keeps (the end, where the cause is).
const STDERR_KEPT: usize = 4096;

/// Runs a renderer with a deadline and bounded output; returns its stdout.
fn run(
    mut command: Command,
    dir: &str,
    program: &str,
    options: &RenderOptions,
) -> Result<String, RenderError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so that a deadline stops everything it started
    // (a shell, helm's plugins), and none of them keeps the pipes open.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|source| RenderError::Spawn {
        dir: dir.to_owned(),
        program: program.to_owned(),
        source,
    })?;
    // Drain both pipes on their own threads so a chatty renderer never blocks.
    let limit = options.max_output;
    let stdout = child
        .stdout
        .take()
        .map(|pipe| std::thread::spawn(move || read_bounded(pipe, limit.saturating_add(1))));
    let stderr = child
        .stderr
        .take()
        .map(|pipe| std::thread::spawn(move || read_bounded(pipe, 1 << 20)));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= options.timeout => {
                kill_group(&mut child);
                let _ = child.wait();
                break Err(RenderError::Timeout {
                    dir: dir.to_owned(),
                    program: program.to_owned(),
                    seconds: options.timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(source) => {
                kill_group(&mut child);
                break Err(RenderError::Spawn {
                    dir: dir.to_owned(),
                    program: program.to_owned(),
                    source,
                });
            }
        }
    };
    let collect = |reader: Option<std::thread::JoinHandle<std::io::Result<Vec<u8>>>>| {
        reader
            .ok_or_else(|| std::io::Error::other("no pipe"))
            .and_then(|t| {
                t.join()
                    .map_err(|_| std::io::Error::other("pipe reader panicked"))?
            })
            .map_err(|source| RenderError::Spawn {
                dir: dir.to_owned(),
                program: program.to_owned(),
                source,
            })
    };
    let out = collect(stdout);
    let err = collect(stderr);
    let status = status?;
    let (out, err) = (out?, err?);
    if !status.success() {
        return Err(RenderError::Failed {
            dir: dir.to_owned(),
            program: program.to_owned(),
            status: status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&err), STDERR_KEPT),
        });
    }
    if out.len() > limit {
        return Err(RenderError::TooLarge {
            dir: dir.to_owned(),
            program: program.to_owned(),
            limit,
        });
    }
    String::from_utf8(out).map_err(|_| RenderError::Failed {
        dir: dir.to_owned(),
        program: program.to_owned(),
        status: status.to_string(),
        stderr: "its output is not UTF-8".into(),
    })
}

/// Kills a renderer and every process of its group.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
}

/// Reads up to `limit` bytes, then drains the rest so the writer never blocks.
fn read_bounded(mut pipe: impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    (&mut pipe).take(limit as u64).read_to_end(&mut kept)?;
    std::io::copy(&mut pipe, &mut std::io::sink())?;
    Ok(kept)
}

/// The last `max` bytes of a text, on a character boundary, trimmed.
fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// Writes objects as one YAML stream: each object a JSON document after `---`.
///
/// JSON is the one YAML syntax every consumer reads the same way: Argo CD's
/// and kubectl's YAML 1.1 decoders, and kustomize's YAML 1.2 one. No scalar
/// can change type on the way (`yes`, `0755`, `1e3`), and key order is kept.
pub fn to_stream<'a>(objects: impl IntoIterator<Item = &'a Resource>) -> String {
    let mut out = String::new();
    for resource in objects {
        out.push_str("---\n");
        // Serialising a serde_json::Value cannot fail: its keys are strings.
        out.push_str(&serde_json::to_string(&resource.object).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kustomize_before_helm_before_plain() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Renderer::detect(dir.path()), Renderer::Plain);
        std::fs::write(dir.path().join("Chart.yaml"), "name: x\n").unwrap();
        assert_eq!(Renderer::detect(dir.path()), Renderer::Helm);
        std::fs::write(dir.path().join("Kustomization"), "resources: []\n").unwrap();
        assert_eq!(Renderer::detect(dir.path()), Renderer::Kustomize);
    }

    #[test]
    fn values_files_may_not_leave_the_chart() {
        for inside in ["values.yaml", "env/prod.yaml", "a/../b.yaml", "./v.yaml"] {
            assert!(stays_inside(Path::new(inside)), "{inside}");
        }
        for outside in ["../secret.yaml", "/etc/passwd", "a/../../b.yaml"] {
            assert!(!stays_inside(Path::new(outside)), "{outside}");
        }
    }

    #[test]
    fn a_stream_round_trips_through_the_parser() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {mode: '0755', ok: 'yes', n: '1e3'}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n";
        let loaded = sources::parse_text("in.yaml", text);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let stream = to_stream(&loaded.resources);
        let again = sources::parse_text("out.yaml", &stream);
        let before: Vec<_> = loaded.resources.iter().map(|r| &r.object).collect();
        let after: Vec<_> = again.resources.iter().map(|r| &r.object).collect();
        assert_eq!(before, after);
        assert!(stream.starts_with("---\n{"), "{stream}");
    }

    #[test]
    fn a_failing_renderer_reports_its_stderr() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'kustomization.yaml: bad field' >&2; exit 3"]);
        let err = run(command, "app", "kustomize", &RenderOptions::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad field") && text.contains("app"), "{text}");
    }

    #[test]
    fn a_renderer_past_its_deadline_is_stopped() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30"]);
        let options = RenderOptions {
            timeout: Duration::from_millis(200),
            ..RenderOptions::default()
        };
        let started = Instant::now();
        let err = run(command, "app", "helm", &options).unwrap_err();
        assert!(matches!(err, RenderError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn output_over_the_limit_is_refused() {
        let mut command = Command::new("sh");
        command.args(["-c", "head -c 100000 /dev/zero"]);
        let options = RenderOptions {
            max_output: 1000,
            ..RenderOptions::default()
        };
        let err = run(command, "app", "kustomize", &options).unwrap_err();
        assert!(matches!(err, RenderError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn renders_a_kustomization_with_the_real_kustomize() {
        if !on_path("kustomize") && !on_path("kubectl") {
            eprintln!("skipped: neither kustomize nor kubectl is on PATH");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "namespace: shop\nresources: [cm.yaml]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .unwrap();
        let rendered = render_dir(dir.path(), &RenderOptions::default()).unwrap();
        assert_eq!(rendered.renderer, Renderer::Kustomize);
        assert!(rendered.loaded.errors.is_empty());
        assert_eq!(rendered.loaded.resources.len(), 1);
        assert_eq!(rendered.loaded.resources[0].namespace(), Some("shop"));
    }
}
