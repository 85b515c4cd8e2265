//! The environment Argo CD gives a plugin command: the build environment
//! (`ARGOCD_APP_*`, `KUBE_VERSION`, `KUBE_API_VERSIONS`), the Application's
//! parameters (`ARGOCD_APP_PARAMETERS`, `PARAM_<NAME>`) and its plugin env
//! (`ARGOCD_ENV_<NAME>`).
//!
//! Argo CD 3 passes variables that are set but empty; older versions drop them.
//! Both read the same here: empty is unset.

use crate::error::{Error, Result};
use gate_core::bundle::Mode;
use gate_core::report::ClusterInfo;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The parameter that asks for a bundle (announced in plugin.yaml).
pub const PARAM_BUNDLE: &str = "bundle";
/// The parameter that lists Helm values files (announced in plugin.yaml).
pub const PARAM_VALUES_FILES: &str = "values-files";

/// What Argo CD says about the app being generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppEnv {
    /// `ARGOCD_APP_NAME`: `<app-namespace>_<name>` outside the control-plane namespace.
    pub name: Option<String>,
    /// `ARGOCD_APP_NAMESPACE`: the destination namespace.
    pub namespace: Option<String>,
    /// `ARGOCD_APP_PROJECT_NAME` (Argo CD 3.0 and later).
    pub project: Option<String>,
    /// `ARGOCD_APP_REVISION`: the resolved commit.
    pub revision: Option<String>,
    /// `ARGOCD_APP_SOURCE_REPO_URL`.
    pub source_repo_url: Option<String>,
    /// `ARGOCD_APP_SOURCE_PATH`.
    pub source_path: Option<String>,
    /// `ARGOCD_APP_SOURCE_TARGET_REVISION`: the branch, tag or commit asked for.
    pub target_revision: Option<String>,
    /// `KUBE_VERSION` and `KUBE_API_VERSIONS`.
    pub cluster: ClusterInfo,
    /// The bundle the app asks for: `PARAM_BUNDLE` or `ARGOCD_ENV_GATE_BUNDLE`.
    pub requested_bundle: Option<String>,
    /// The mode the app asks for: `ARGOCD_ENV_GATE_MODE`.
    pub requested_mode: Option<Mode>,
    /// Helm values files, from the `values-files` parameter.
    pub values_files: Vec<PathBuf>,
}

/// One entry of `ARGOCD_APP_PARAMETERS`.
#[derive(Debug, Deserialize)]
struct Parameter {
    name: String,
    #[serde(default)]
    string: Option<String>,
    #[serde(default)]
    array: Option<Vec<String>>,
    #[serde(default)]
    map: Option<BTreeMap<String, String>>,
}

impl AppEnv {
    /// Reads the process environment.
    pub fn from_process() -> Result<AppEnv> {
        AppEnv::read(|name| std::env::var(name).ok())
    }

    /// Reads the variables `get` returns.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<AppEnv> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let (requested_bundle, values_files) = parameters(&get)?;
        let requested_mode = get("ARGOCD_ENV_GATE_MODE")
            .map(|value| match value.trim() {
                "enforce" => Ok(Mode::Enforce),
                "audit" => Ok(Mode::Audit),
                other => Err(Error::Environment {
                    variable: "ARGOCD_ENV_GATE_MODE".into(),
                    message: format!("{other:?} is not a mode; use enforce or audit"),
                }),
            })
            .transpose()?;
        Ok(AppEnv {
            name: get("ARGOCD_APP_NAME"),
            namespace: get("ARGOCD_APP_NAMESPACE"),
            project: get("ARGOCD_APP_PROJECT_NAME"),
            revision: get("ARGOCD_APP_REVISION"),
            source_repo_url: get("ARGOCD_APP_SOURCE_REPO_URL"),
            source_path: get("ARGOCD_APP_SOURCE_PATH"),
            target_revision: get("ARGOCD_APP_SOURCE_TARGET_REVISION"),
            cluster: cluster(&get)?,
            requested_bundle,
            requested_mode,
            values_files,
        })
    }

    /// The name a Helm release gets: the app's own name, without the
    /// `<namespace>_` prefix (Helm names may not contain `_`), as Argo CD does.
    pub fn release_name(&self) -> String {
        let name = self.name.as_deref().unwrap_or_default();
        name.rsplit_once('_')
            .map_or(name, |(_, short)| short)
            .to_owned()
    }

    /// The facts recorded in the report under `argocd.*`.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        [
            ("argocd.appName", &self.name),
            ("argocd.destinationNamespace", &self.namespace),
            ("argocd.project", &self.project),
            ("argocd.revision", &self.revision),
            ("argocd.sourceRepoURL", &self.source_repo_url),
            ("argocd.sourcePath", &self.source_path),
            ("argocd.targetRevision", &self.target_revision),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value.clone()?)))
        .collect()
    }
}

/// `(requested bundle, values files)` from the parameters.
fn parameters(get: &impl Fn(&str) -> Option<String>) -> Result<(Option<String>, Vec<PathBuf>)> {
    let invalid = |message: String| Error::Environment {
        variable: "ARGOCD_APP_PARAMETERS".into(),
        message,
    };
    let parsed: Vec<Parameter> = match get("ARGOCD_APP_PARAMETERS").as_deref() {
        None | Some("null") => Vec::new(),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| invalid(format!("not a list of plugin parameters: {e}")))?,
    };
    let mut values_files = Vec::new();
    for parameter in &parsed {
        match parameter.name.as_str() {
            PARAM_BUNDLE if parameter.array.is_some() || parameter.map.is_some() => {
                return Err(invalid(format!("{PARAM_BUNDLE} takes a string")));
            }
            PARAM_BUNDLE => {}
            PARAM_VALUES_FILES if parameter.string.is_some() || parameter.map.is_some() => {
                return Err(invalid(format!("{PARAM_VALUES_FILES} takes an array")));
            }
            PARAM_VALUES_FILES => {
                values_files.extend(parameter.array.iter().flatten().map(PathBuf::from));
            }
            other => {
                return Err(invalid(format!(
                    "unknown parameter {other:?}; this plugin reads {PARAM_BUNDLE} and {PARAM_VALUES_FILES}"
                )));
            }
        }
    }
    let from_parameter = get("PARAM_BUNDLE").map(|v| v.trim().to_owned());
    let from_env = get("ARGOCD_ENV_GATE_BUNDLE").map(|v| v.trim().to_owned());
    let bundle = match (from_parameter, from_env) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::Environment {
                variable: "PARAM_BUNDLE".into(),
                message: format!(
                    "the parameter asks for bundle {a:?} and ARGOCD_ENV_GATE_BUNDLE for {b:?}; set one"
                ),
            });
        }
        (a, b) => a.or(b),
    };
    Ok((bundle, values_files))
}

/// `KUBE_VERSION` and `KUBE_API_VERSIONS`, checked.
fn cluster(get: &impl Fn(&str) -> Option<String>) -> Result<ClusterInfo> {
    let kube_version = get("KUBE_VERSION")
        .map(|v| v.trim().to_owned())
        .map(|version| {
            if is_kube_version(&version) {
                Ok(version)
            } else {
                Err(Error::Environment {
                    variable: "KUBE_VERSION".into(),
                    message: format!("{version:?} is not a Kubernetes version (e.g. 1.31.2)"),
                })
            }
        })
        .transpose()?;
    let mut api_versions = Vec::new();
    for entry in get("KUBE_API_VERSIONS").unwrap_or_default().split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        if !is_api_version(entry) {
            return Err(Error::Environment {
                variable: "KUBE_API_VERSIONS".into(),
                message: format!(
                    "{entry:?} is not `version`, `group/version` or `group/version/Kind`"
                ),
            });
        }
        api_versions.push(entry.to_owned());
    }
    Ok(ClusterInfo {
        kube_version,
        api_versions,
    })
}

/// `1.31`, `v1.31.2`, `1.31.2-gke.100`, `1.31.2+k3s1`.
fn is_kube_version(text: &str) -> bool {
    let text = text.strip_prefix('v').unwrap_or(text);
    let core = text.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_api_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    parts.len() <= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<AppEnv> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AppEnv::read(|name| vars.get(name).cloned())
    }

    #[test]
    fn reads_what_argo_cd_sets() {
        let env = read(&[
            ("ARGOCD_APP_NAME", "team-a_shop"),
            ("ARGOCD_APP_NAMESPACE", "shop"),
            ("ARGOCD_APP_PROJECT_NAME", "payments"),
            ("ARGOCD_APP_REVISION", "0123456789abcdef"),
            ("ARGOCD_APP_SOURCE_REPO_URL", "https://git.example/apps.git"),
            ("ARGOCD_APP_SOURCE_PATH", "apps/shop"),
            ("KUBE_VERSION", "1.31.2"),
            (
                "KUBE_API_VERSIONS",
                "v1,apps/v1,apps/v1/Deployment,policy/v1beta1",
            ),
            (
                "ARGOCD_APP_PARAMETERS",
                r#"[{"name":"bundle","string":"payments"},{"name":"values-files","array":["values.yaml","prod.yaml"]}]"#,
            ),
            ("PARAM_BUNDLE", "payments"),
            ("ARGOCD_ENV_GATE_MODE", "audit"),
        ])
        .unwrap();
        assert_eq!(env.release_name(), "shop");
        assert_eq!(env.requested_bundle.as_deref(), Some("payments"));
        assert_eq!(env.requested_mode, Some(Mode::Audit));
        assert_eq!(env.cluster.kube_version.as_deref(), Some("1.31.2"));
        assert_eq!(env.cluster.api_versions.len(), 4);
        assert_eq!(
            env.values_files,
            vec![PathBuf::from("values.yaml"), PathBuf::from("prod.yaml")]
        );
        let metadata = env.metadata();
        assert_eq!(metadata["argocd.appName"], "team-a_shop");
        assert_eq!(metadata["argocd.project"], "payments");
        assert_eq!(metadata["argocd.sourcePath"], "apps/shop");
        assert!(!metadata.contains_key("argocd.targetRevision"));
    }

    #[test]
    fn empty_is_unset_and_null_parameters_are_none() {
        let env = read(&[
            ("ARGOCD_APP_NAME", "shop"),
            ("ARGOCD_APP_PROJECT_NAME", ""),
            ("KUBE_VERSION", ""),
            ("KUBE_API_VERSIONS", ""),
            ("ARGOCD_APP_PARAMETERS", "null"),
        ])
        .unwrap();
        assert_eq!(env.project, None);
        assert!(env.cluster.is_empty());
        assert_eq!(env.release_name(), "shop");
    }

    #[test]
    fn the_bundle_comes_from_the_parameter_or_the_plugin_env_never_both_differing() {
        let env = read(&[("ARGOCD_ENV_GATE_BUNDLE", "baseline")]).unwrap();
        assert_eq!(env.requested_bundle.as_deref(), Some("baseline"));
        let err = read(&[("PARAM_BUNDLE", "a"), ("ARGOCD_ENV_GATE_BUNDLE", "b")]).unwrap_err();
        assert!(err.to_string().contains("set one"), "{err}");
    }

    #[test]
    fn malformed_values_are_errors_naming_the_variable() {
        for (name, value, expect) in [
            ("ARGOCD_ENV_GATE_MODE", "off", "not a mode"),
            ("KUBE_VERSION", "latest", "not a Kubernetes version"),
            ("KUBE_VERSION", "1", "not a Kubernetes version"),
            ("KUBE_API_VERSIONS", "apps/v1,a b", "\"a b\""),
            ("KUBE_API_VERSIONS", "a/b/c/d", "group/version/Kind"),
            ("ARGOCD_APP_PARAMETERS", "{", "not a list"),
            (
                "ARGOCD_APP_PARAMETERS",
                r#"[{"name":"bundel","string":"x"}]"#,
                "unknown parameter \"bundel\"",
            ),
            (
                "ARGOCD_APP_PARAMETERS",
                r#"[{"name":"values-files","string":"x"}]"#,
                "takes an array",
            ),
        ] {
            let err = read(&[(name, value)]).unwrap_err().to_string();
            assert!(
                err.starts_with(name) && err.contains(expect),
                "{name}={value}: {err}"
            );
        }
        for good in ["v1.31", "1.31.2-gke.100", "v1.30.4+k3s1"] {
            assert!(read(&[("KUBE_VERSION", good)]).is_ok(), "{good}");
        }
    }
}
