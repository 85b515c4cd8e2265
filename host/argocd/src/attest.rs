//! The evaluation record of a render, when the configuration asks for one
//! (`spec.attest`): signed by the one attester every front door shares, written
//! for allowed and denied renders alike, never to stdout.
//!
//! The record's subjects are the render as judged (`<render>`: the objects as
//! the YAML stream gate prints for Argo CD) and what it was rendered from: every
//! file of the app directory, or the stream read on stdin. Its revision is
//! `ARGOCD_APP_REVISION`.

use crate::config::{AttestConfig, AttestKey};
use crate::env::AppEnv;
use crate::error::{Error, Result};
use crate::report_file::safe_stem;
use gate_core::report::Report;
use gate_evidence::{Attester, RENDER_NAME, stream_subject, subjects, tree_subjects};
use std::path::{Path, PathBuf};

/// Records to write, with the key already read.
#[derive(Debug)]
pub struct Recorder {
    directory: PathBuf,
    attester: Attester,
}

impl Recorder {
    /// Reads the key now, so that a missing or bad key fails the generate before
    /// any policy runs.
    pub fn new(config: &AttestConfig) -> Result<Recorder> {
        let failed = |source| Error::AttestKey { source };
        let attester = match &config.key {
            AttestKey::Unsigned => Attester::unsigned(),
            AttestKey::File(path) => {
                Attester::from_key(&path.to_string_lossy(), "spec.attest.key").map_err(failed)?
            }
            AttestKey::Env(variable) => {
                let value = std::env::var(variable)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| Error::Environment {
                        variable: variable.clone(),
                        message: "spec.attest.keyEnv names it, but it is not set".into(),
                    })?;
                Attester::from_key(&value, variable).map_err(failed)?
            }
        };
        Ok(Recorder {
            directory: config.directory.clone(),
            attester,
        })
    }

    /// Writes the record of a judged render and returns where. `stream` is the
    /// render as judged; `source` the app directory, or `-` for stdin.
    pub fn write(
        &self,
        env: &AppEnv,
        source: &Path,
        stream: &str,
        report: &Report,
    ) -> Result<PathBuf> {
        let path = self.directory.join(file_name(env));
        let failed = |source| Error::Attest { source };
        // The volume is mounted; the directory inside it may not exist yet.
        std::fs::create_dir_all(&self.directory).map_err(|source| {
            failed(gate_evidence::Error::Io {
                action: "create the records directory",
                path: self.directory.clone(),
                source,
            })
        })?;
        let mut subjects_now = vec![stream_subject(RENDER_NAME, stream.as_bytes())];
        if source.as_os_str() == "-" {
            subjects_now.extend(subjects(&report.inputs, &[]));
        } else {
            subjects_now.extend(tree_subjects(source).map_err(failed)?);
        }
        self.attester
            .write(&path, report, subjects_now)
            .map_err(failed)?;
        Ok(path)
    }
}

/// `<app>_<revision>.intoto.json`, with anything but `[A-Za-z0-9._-]` replaced:
/// both come from Argo CD and must not climb out of the directory. Each
/// generation of the same app at the same revision replaces the last one.
pub fn file_name(env: &AppEnv) -> String {
    let app = env.name.as_deref().unwrap_or("app");
    let revision = env.revision.as_deref().unwrap_or("unknown");
    format!(
        "{}.intoto.json",
        safe_stem(&format!("{app}_{revision}"), "app")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_named_by_app_and_revision_and_stays_in_the_directory() {
        let env = AppEnv {
            name: Some("team-a_shop".into()),
            revision: Some("3f1c9a7e".into()),
            ..AppEnv::default()
        };
        assert_eq!(file_name(&env), "team-a_shop_3f1c9a7e.intoto.json");
        let hostile = AppEnv {
            name: Some("../../etc".into()),
            revision: Some("x/../y".into()),
            ..AppEnv::default()
        };
        let name = file_name(&hostile);
        assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
        assert_eq!(file_name(&AppEnv::default()), "app_unknown.intoto.json");
    }

    #[test]
    fn a_key_variable_that_is_not_set_is_named() {
        let config = AttestConfig {
            directory: PathBuf::from("/r"),
            key: AttestKey::Env("GATE_TEST_ATTEST_KEY_NEVER_SET".into()),
        };
        let err = Recorder::new(&config).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("GATE_TEST_ATTEST_KEY_NEVER_SET")),
            "{err:?}"
        );
    }
}
