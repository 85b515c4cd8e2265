//! Policy case files: YAML that says what a policy must decide, run against the
//! compiled component.
//!
//! ```yaml
//! # policies-wasm/<policy>/cases/<anything>.yaml
//! settings: {}                 # default settings for this file's cases
//! cases:
//!   - name: denies a privileged init container
//!     object: {apiVersion: v1, kind: Pod, ...}   # or objectFile: path relative to this file
//!     inventory: []            # other objects of the render, for cross-object rules
//!     allowed: false
//!     violations:              # optional: exactly these paths (any order)
//!       - path: spec.initContainers[0].securityContext.privileged
//!         message: privileged  # optional: a substring of the message
//!   - name: rejects an invalid regex
//!     settings: {allowedContainerImagesRegex: "("}
//!     settingsError: allowedContainerImagesRegex   # validation must fail naming this field
//! ```

use anyhow::{Context, Result, bail};
use gate_core::report::ClusterInfo;
use gate_core::selector::any_matches;
use gate_runtime::{CallContext, CompiledPolicy, Error as RuntimeError, Limits, Runtime, Verdict};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default)]
    settings: Option<Value>,
    cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    name: String,
    #[serde(default)]
    settings: Option<Value>,
    #[serde(default)]
    object: Option<Value>,
    #[serde(default)]
    object_file: Option<PathBuf>,
    #[serde(default)]
    inventory: Vec<Value>,
    /// What the front door knows of the cluster (`kubeVersion`, `apiVersions`).
    #[serde(default)]
    cluster: ClusterInfo,
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    violations: Option<Vec<ExpectedViolation>>,
    #[serde(default)]
    settings_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedViolation {
    path: String,
    #[serde(default)]
    message: Option<String>,
}

/// The result of one case.
#[derive(Debug)]
pub struct CaseOutcome {
    /// `file: case name`.
    pub name: String,
    /// `None` if it passed, else why it failed.
    pub failure: Option<String>,
}

/// The case files of a policy directory: `cases/**/*.yaml`, sorted.
pub fn case_files(policy_dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_yaml(&policy_dir.join("cases"), &mut files);
    files.sort();
    files
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Runs every case of a file against a policy.
pub fn run_file(
    runtime: &Runtime,
    policy: &CompiledPolicy,
    file: &Path,
) -> Result<Vec<CaseOutcome>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let cases: CaseFile = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{}: not a case file", file.display()))?;
    if cases.cases.is_empty() {
        bail!("{}: no cases", file.display());
    }
    let base = file.parent().unwrap_or(Path::new("."));
    Ok(cases
        .cases
        .iter()
        .map(|case| {
            let settings = case
                .settings
                .as_ref()
                .or(cases.settings.as_ref())
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()));
            let failure = run_case(runtime, policy, base, case, &settings)
                .err()
                .map(|e| format!("{e:#}"));
            CaseOutcome {
                name: format!("{}: {}", file.display(), case.name),
                failure,
            }
        })
        .collect())
}

fn run_case(
    runtime: &Runtime,
    policy: &CompiledPolicy,
    base: &Path,
    case: &Case,
    settings: &Value,
) -> Result<()> {
    let settings = serde_json::to_string(settings)?;
    let validated = policy.validate_settings(runtime, &Limits::default(), &settings);
    if let Some(field) = &case.settings_error {
        return match validated {
            Err(RuntimeError::Settings { problems, .. })
                if problems.iter().any(|p| &p.field == field) =>
            {
                Ok(())
            }
            Err(e) => bail!("expected a settings error on field {field:?}, got: {e}"),
            Ok(()) => bail!(
                "expected a settings error on field {field:?}, but the settings were accepted"
            ),
        };
    }
    validated?;
    let object = match (&case.object, &case.object_file) {
        (Some(object), None) => object.clone(),
        (None, Some(file)) => {
            let path = base.join(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_yaml_ng::from_str(&text).with_context(|| format!("{}", path.display()))?
        }
        _ => bail!("a case needs exactly one of `object` and `objectFile`"),
    };
    let tape = gate_tape::encode(&object);
    let inventory: Vec<Vec<u8>> = std::iter::once(&object)
        .chain(&case.inventory)
        .filter(|o| sees(policy, o))
        .map(gate_tape::encode)
        .collect();
    let inventory: Vec<&[u8]> = inventory.iter().map(Vec::as_slice).collect();
    let context = CallContext::new(&case.cluster, None);
    let mut verdicts = policy.evaluate_in(
        runtime,
        &Limits::default(),
        &settings,
        &inventory,
        &[&tape],
        &context,
    )?;
    let violations = match verdicts.pop() {
        Some(Verdict::Allowed) | None => Vec::new(),
        Some(Verdict::Denied(v)) => v,
    };
    let allowed = violations.is_empty();
    let found = || {
        violations
            .iter()
            .map(|v| format!("  {} — {}", v.path, v.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if let Some(expected) = case.allowed
        && expected != allowed
    {
        bail!(
            "expected {}, got {}{}",
            if expected { "allowed" } else { "denied" },
            if allowed { "allowed" } else { "denied:\n" },
            found()
        );
    }
    if let Some(expected) = &case.violations {
        let mut remaining: Vec<_> = violations.iter().collect();
        for want in expected {
            let position = remaining.iter().position(|v| {
                v.path == want.path
                    && want
                        .message
                        .as_ref()
                        .is_none_or(|m| v.message.contains(m.as_str()))
            });
            match position {
                Some(i) => {
                    remaining.remove(i);
                }
                None => bail!(
                    "expected a violation at {:?}{}; found:\n{}",
                    want.path,
                    want.message
                        .as_ref()
                        .map_or(String::new(), |m| format!(" containing {m:?}")),
                    found()
                ),
            }
        }
        if !remaining.is_empty() {
            bail!("unexpected violations:\n{}", found());
        }
    }
    if case.allowed.is_none() && case.violations.is_none() {
        bail!("a case must say `allowed`, `violations` or `settingsError`");
    }
    Ok(())
}

fn sees(policy: &CompiledPolicy, object: &Value) -> bool {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = gate_core::resource::split_api_version(api_version);
    let kind = object["kind"].as_str().unwrap_or_default();
    any_matches(&policy.info.inventory, group, version, kind)
}
