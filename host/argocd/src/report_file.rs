//! The full JSON report of a run, kept in a file the stderr text names: the
//! condition box shows the first lines, the file has everything.
//!
//! One file per app, replaced by each run: the directory stays bounded however
//! often Argo CD generates, and it always holds the latest judgement.

use crate::env::AppEnv;
use gate_core::report::Report;
use gate_engine::output::{OutputFormat, render};
use std::path::{Path, PathBuf};

/// Where the report went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportFile {
    /// Written here.
    Written(PathBuf),
    /// Could not be written here.
    Failed {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

impl std::fmt::Display for ReportFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportFile::Written(path) => write!(f, "full report: {}", path.display()),
            ReportFile::Failed { path, error } => {
                write!(f, "full report: not written to {}: {error}", path.display())
            }
        }
    }
}

/// The directory reports go to unless `GATE_REPORT_DIR` says otherwise.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join("gate-reports")
}

/// Writes the report as JSON in `dir`, named after the app's project and name.
pub fn write(dir: &Path, env: &AppEnv, report: &Report) -> ReportFile {
    let path = dir.join(file_name(env));
    match write_atomically(&path, render(report, OutputFormat::Json).as_bytes()) {
        Ok(()) => ReportFile::Written(path),
        Err(error) => ReportFile::Failed {
            path,
            error: error.to_string(),
        },
    }
}

/// `<project>_<app>.json`, with anything but `[A-Za-z0-9._-]` replaced: the
/// name comes from the Application and must not climb out of the directory.
fn file_name(env: &AppEnv) -> String {
    let stem = match (&env.project, &env.name) {
        (Some(project), Some(app)) => format!("{project}_{app}"),
        (None, Some(app)) => app.clone(),
        _ => "report".to_owned(),
    };
    format!("{}.json", safe_stem(&stem, "report"))
}

/// `stem` with anything but `[A-Za-z0-9._-]` replaced by `-` and no leading
/// dot, or `fallback` if nothing is left: names that come from an Application
/// become file names that stay in their directory and are not hidden.
pub(crate) fn safe_stem(stem: &str, fallback: &str) -> String {
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    if safe.is_empty() { fallback } else { safe }.to_owned()
}

/// Two generations of the same app can run at once: each writes its own file
/// and renames it over the report, so a reader never sees half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension(format!("json.{}.partial", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_core::report::Findings;

    fn env(project: Option<&str>, name: Option<&str>) -> AppEnv {
        AppEnv {
            project: project.map(str::to_owned),
            name: name.map(str::to_owned),
            ..AppEnv::default()
        }
    }

    #[test]
    fn names_stay_inside_the_directory() {
        assert_eq!(file_name(&env(Some("p"), Some("ns_app"))), "p_ns_app.json");
        assert_eq!(
            file_name(&env(None, Some("../../etc/passwd"))),
            "-..-etc-passwd.json"
        );
        assert_eq!(file_name(&env(None, Some(".."))), "report.json");
        assert_eq!(file_name(&env(None, None)), "report.json");
    }

    #[test]
    fn writes_and_replaces_the_report() {
        let dir = tempfile::tempdir().unwrap();
        let report = Report::new("b".into(), Vec::new(), Findings::default());
        let target = dir.path().join("nested");
        for _ in 0..2 {
            let written = write(&target, &env(Some("p"), Some("a")), &report);
            assert_eq!(written, ReportFile::Written(target.join("p_a.json")));
        }
        let files: Vec<_> = std::fs::read_dir(&target).unwrap().collect();
        assert_eq!(files.len(), 1, "no partial file is left behind");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(target.join("p_a.json")).unwrap()).unwrap();
        assert_eq!(json["bundle"], "b");
    }

    #[test]
    fn a_directory_that_cannot_be_written_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let report = Report::new("b".into(), Vec::new(), Findings::default());
        let outcome = write(&blocker, &env(None, Some("a")), &report);
        assert!(
            outcome
                .to_string()
                .starts_with("full report: not written to"),
            "{outcome}"
        );
    }
}
