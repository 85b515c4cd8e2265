//! Bundles: which policies to run, with which settings, mode, scope and exceptions.
//!
//! ```yaml
//! apiVersion: gate.dev/v1alpha1
//! kind: Bundle
//! metadata:
//!   name: aks-baseline
//! spec:
//!   excludedNamespaces: [kube-system]      # default: Azure Policy's four
//!   policies:
//!     - module: builtin:disallow-privileged # or ./policy.wasm, or oci://acr.io/repo@sha256:...
//!       mode: enforce                       # or audit (alias: warn)
//!       failurePolicy: Fail                 # or Ignore: a policy error allows (fail open)
//!       settings: {}
//!       exceptions:
//!         - name: legacy-agent
//!           reason: CHG-1234, vendor fix due in Q1
//!           expires: 2027-03-31
//!           namespaces: [monitoring]
//!           names: [node-agent]
//! ```

use crate::error::{Error, Result};
use crate::resource::Resource;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The `apiVersion` of bundle files.
pub const API_VERSION: &str = "gate.dev/v1alpha1";

/// Azure Policy for Kubernetes excludes these namespaces by default; so does gate.
pub const DEFAULT_EXCLUDED_NAMESPACES: [&str; 4] = [
    "kube-system",
    "gatekeeper-system",
    "azure-arc",
    "azure-extensions-usage-system",
];

/// A bundle file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Bundle {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// Must be `Bundle`.
    pub kind: String,
    /// Name and description.
    pub metadata: BundleMetadata,
    /// The policies and their configuration.
    pub spec: BundleSpec,
}

/// A bundle's name and description.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BundleMetadata {
    /// The bundle's name.
    pub name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a bundle runs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BundleSpec {
    /// Namespaces no policy of the bundle judges.
    #[serde(default = "default_excluded_namespaces")]
    pub excluded_namespaces: Vec<String>,
    /// Resource limits for every policy, unless a policy sets its own.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// The policies.
    pub policies: Vec<PolicyEntry>,
    /// The trust policy for policies pulled from registries (see `gate-oci`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Value>,
}

fn default_excluded_namespaces() -> Vec<String> {
    DEFAULT_EXCLUDED_NAMESPACES.map(str::to_owned).to_vec()
}

/// Whether a policy's denials fail the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Violations deny.
    #[default]
    Enforce,
    /// Violations are warnings only.
    #[serde(alias = "warn", alias = "dryrun")]
    Audit,
}

/// What a policy's failure (a trap, a limit hit, an error, the request deadline)
/// does to the object it was judging. Every front door applies it the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum FailurePolicy {
    /// The failure is an error: the run cannot decide, and fails closed.
    #[default]
    Fail,
    /// The failure is reported as a warning and the object is allowed (fail open).
    Ignore,
}

impl FailurePolicy {
    /// Is this the default ([`FailurePolicy::Fail`])?
    pub fn is_fail(&self) -> bool {
        *self == FailurePolicy::Fail
    }
}

/// One policy of a bundle.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyEntry {
    /// Where the component comes from: `builtin:NAME`, a path to a `.wasm` file
    /// (relative to the bundle file), or `oci://REGISTRY/REPO@sha256:...`.
    pub module: String,
    /// The name of this use of the policy in reports; defaults to the policy's own name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The expected `sha256:` digest of the component. Required for OCI modules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Enforce or audit.
    #[serde(default)]
    pub mode: Mode,
    /// Fail closed (default) or open when the policy fails on an object.
    #[serde(default, skip_serializing_if = "FailurePolicy::is_fail")]
    pub failure_policy: FailurePolicy,
    /// The policy's settings.
    #[serde(default = "empty_settings")]
    pub settings: Value,
    /// Namespaces this policy skips, on top of the bundle's.
    #[serde(default)]
    pub excluded_namespaces: Vec<String>,
    /// If set, the only namespaces this policy judges (namespaced objects only).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Objects this policy lets through until the exception expires.
    #[serde(default)]
    pub exceptions: Vec<Exception>,
    /// Limits for this policy, overriding the bundle's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsSpec>,
}

fn empty_settings() -> Value {
    Value::Object(Default::default())
}

/// Resource limits for a policy's evaluation. Unset fields take gate's defaults.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsSpec {
    /// Wall-clock time for one batch, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Fuel (roughly, WebAssembly instructions) per object judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_per_object: Option<u64>,
    /// Linear memory, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// The size of what one batch returns, in KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_kib: Option<u64>,
}

impl LimitsSpec {
    /// These limits, with unset fields taken from `fallback`.
    pub fn or(self, fallback: LimitsSpec) -> LimitsSpec {
        LimitsSpec {
            timeout_ms: self.timeout_ms.or(fallback.timeout_ms),
            fuel_per_object: self.fuel_per_object.or(fallback.fuel_per_object),
            memory_mib: self.memory_mib.or(fallback.memory_mib),
            max_output_kib: self.max_output_kib.or(fallback.max_output_kib),
        }
    }
}

/// A time-boxed exception: matching objects are still judged, but the policy's
/// findings on them do not fail the run while the exception is live.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exception {
    /// A name for reports.
    pub name: String,
    /// Why it is granted (ticket, owner); shown in every report.
    pub reason: String,
    /// The last day it holds (`YYYY-MM-DD`, through the end of that day UTC) or an
    /// RFC 3339 instant. Required: exceptions always expire.
    pub expires: String,
    /// Kinds it covers; empty means every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Namespaces it covers; empty means every namespace.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Object names it covers (a trailing `*` matches any suffix); empty means every name.
    #[serde(default)]
    pub names: Vec<String>,
}

impl Exception {
    /// The instant after which the exception no longer holds.
    pub fn expiry(&self) -> Result<DateTime<Utc>> {
        if let Ok(at) = DateTime::parse_from_rfc3339(&self.expires) {
            return Ok(at.with_timezone(&Utc));
        }
        NaiveDate::parse_from_str(&self.expires, "%Y-%m-%d")
            .ok()
            .and_then(|day| day.succ_opt())
            .and_then(|next| next.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .ok_or_else(|| Error::ExceptionExpiry {
                name: self.name.clone(),
                value: self.expires.clone(),
            })
    }

    /// Does it cover this object (ignoring expiry)?
    pub fn covers(&self, resource: &Resource, namespace: Option<&str>) -> bool {
        let kind_ok = self.kinds.is_empty() || self.kinds.iter().any(|k| k == resource.kind());
        let ns_ok = self.namespaces.is_empty()
            || namespace.is_some_and(|ns| self.namespaces.iter().any(|n| n == ns));
        let name = resource.name();
        let name_ok = self.names.is_empty()
            || self.names.iter().any(|n| match n.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == n,
            });
        kind_ok && ns_ok && name_ok
    }
}

/// Where a policy's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleRef {
    /// Compiled into the gate binary.
    Builtin(String),
    /// A `.wasm` file.
    File(PathBuf),
    /// An OCI artifact reference (`registry/repository@sha256:...` or `:tag`).
    Oci(String),
}

impl std::fmt::Display for ModuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModuleRef::Builtin(name) => write!(f, "builtin:{name}"),
            ModuleRef::File(path) => write!(f, "{}", path.display()),
            ModuleRef::Oci(reference) => write!(f, "oci://{reference}"),
        }
    }
}

impl PolicyEntry {
    /// The module reference, with file paths resolved against `base_dir`.
    pub fn module_ref(&self, base_dir: &Path) -> ModuleRef {
        if let Some(name) = self.module.strip_prefix("builtin:") {
            ModuleRef::Builtin(name.to_owned())
        } else if let Some(reference) = self.module.strip_prefix("oci://") {
            ModuleRef::Oci(reference.to_owned())
        } else {
            ModuleRef::File(base_dir.join(&self.module))
        }
    }
}

impl Bundle {
    /// Parses and checks a bundle. `file` names it in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Bundle> {
        let err = |message: String| Error::Bundle {
            file: file.to_owned(),
            message,
        };
        let bundle: Bundle = serde_yaml_ng::from_str(text).map_err(|e| err(e.to_string()))?;
        if bundle.api_version != API_VERSION || bundle.kind != "Bundle" {
            return Err(err(format!(
                "expected apiVersion {API_VERSION} and kind Bundle, found {} {}",
                bundle.api_version, bundle.kind
            )));
        }
        if bundle.spec.policies.is_empty() {
            return Err(err(
                "spec.policies is empty: a bundle runs at least one policy".into(),
            ));
        }
        for (i, policy) in bundle.spec.policies.iter().enumerate() {
            let at = format!("spec.policies[{i}]");
            if !policy.settings.is_object() {
                return Err(err(format!("{at}.settings must be a mapping")));
            }
            if let Some(digest) = &policy.digest
                && !is_sha256_digest(digest)
            {
                return Err(err(format!(
                    "{at}.digest {digest:?} is not sha256: followed by 64 hex digits"
                )));
            }
            for (j, exception) in policy.exceptions.iter().enumerate() {
                exception
                    .expiry()
                    .map_err(|e| err(format!("{at}.exceptions[{j}]: {e}")))?;
            }
        }
        Ok(bundle)
    }
}

/// Is this `sha256:` followed by 64 lowercase hex digits?
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Bundle> {
        Bundle::parse(Path::new("b.yaml"), text)
    }

    const MINIMAL: &str = "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: t}\nspec:\n  policies:\n  - module: builtin:disallow-privileged\n";

    #[test]
    fn defaults_exclude_azure_system_namespaces_and_enforce() {
        let b = parse(MINIMAL).unwrap();
        assert_eq!(b.spec.excluded_namespaces, DEFAULT_EXCLUDED_NAMESPACES);
        assert_eq!(b.spec.policies[0].mode, Mode::Enforce);
        assert_eq!(
            b.spec.policies[0].module_ref(Path::new("/x")),
            ModuleRef::Builtin("disallow-privileged".into())
        );
    }

    #[test]
    fn unknown_fields_are_errors_naming_the_file() {
        let err = parse(&MINIMAL.replace("module:", "modle:")).unwrap_err();
        assert!(err.to_string().contains("b.yaml"), "{err}");
        assert!(err.to_string().contains("modle"), "{err}");
    }

    #[test]
    fn warn_is_an_alias_of_audit() {
        let b = parse(&format!("{MINIMAL}    mode: warn\n")).unwrap();
        assert_eq!(b.spec.policies[0].mode, Mode::Audit);
    }

    #[test]
    fn failure_policy_defaults_to_fail_and_takes_ignore() {
        let b = parse(MINIMAL).unwrap();
        assert_eq!(b.spec.policies[0].failure_policy, FailurePolicy::Fail);
        let b = parse(&format!("{MINIMAL}    failurePolicy: Ignore\n")).unwrap();
        assert_eq!(b.spec.policies[0].failure_policy, FailurePolicy::Ignore);
        let err = parse(&format!("{MINIMAL}    failurePolicy: ignore\n")).unwrap_err();
        assert!(err.to_string().contains("failurePolicy"), "{err}");
    }

    #[test]
    fn bad_expiry_dates_are_rejected() {
        let text =
            format!("{MINIMAL}    exceptions:\n    - {{name: x, reason: r, expires: next-week}}\n");
        let err = parse(&text).unwrap_err();
        assert!(
            err.to_string().contains("spec.policies[0].exceptions[0]"),
            "{err}"
        );
    }

    #[test]
    fn a_date_expiry_holds_through_the_end_of_the_day() {
        let e = Exception {
            name: "x".into(),
            reason: "r".into(),
            expires: "2026-12-31".into(),
            kinds: vec![],
            namespaces: vec![],
            names: vec![],
        };
        assert_eq!(
            e.expiry().unwrap().to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn rejects_malformed_digests() {
        let err = parse(&format!("{MINIMAL}    digest: sha256:abc\n")).unwrap_err();
        assert!(err.to_string().contains("digest"), "{err}");
    }
}
