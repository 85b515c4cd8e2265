//! The platform's configuration file: which bundle judges which app, and what an
//! app may ask for.
//!
//! It comes from a ConfigMap the platform owns, mounted in the sidecar. Apps never
//! write it: their parameters and `ARGOCD_ENV_*` only choose among what it allows.
//!
//! ```yaml
//! apiVersion: gate.dev/v1alpha1
//! kind: ArgoCDPluginConfig
//! spec:
//!   bundles:                      # name -> builtin:NAME, or a bundle file (relative
//!     restricted: builtin:aks-restricted   # to this file; OCI modules pinned in the
//!     payments: payments.yaml              # lock file beside it)
//!   default:                      # every app no rule matches
//!     bundle: restricted
//!   rules:                        # first match wins: project, then app name
//!     - name: payments
//!       projects: [payments]      # ARGOCD_APP_PROJECT_NAME (glob: * and ?)
//!       apps: ["*"]               # ARGOCD_APP_NAME, `<namespace>_<name>` outside argocd
//!       bundle: payments
//!       allowedBundles: [payments, restricted]
//!       modes: [enforce, audit]   # the first is used unless the app asks
//!       allowEmpty: false
//!       annotateApproved: false
//!   attest:                       # optional: a signed evaluation record of every
//!     directory: /var/run/gate/records  # judged render, allowed or denied, named
//!     keyEnv: GATE_ATTEST_KEY     # <app>_<revision>.intoto.json; the key as a
//!                                 # PEM file (key: PATH), a variable holding PEM
//!                                 # or a path (keyEnv), or `unsigned: true`
//! ```

use crate::error::{Error, Result};
use crate::pattern::glob_matches;
use gate_core::bundle::Mode;
use gate_engine::BundleRef;
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value as YamlValue};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the sidecar patch mounts the configuration.
pub const DEFAULT_CONFIG: &str = "/home/argocd/cmp-server/gate/config.yaml";

/// The `apiVersion` and `kind` of the file.
const API_VERSION: &str = "gate.dev/v1alpha1";
const KIND: &str = "ArgoCDPluginConfig";

/// The platform's configuration, validated.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The file it was read from.
    pub path: PathBuf,
    /// Bundles by name.
    pub bundles: BTreeMap<String, BundleChoice>,
    /// What applies to apps no rule matches.
    pub default: Policy,
    /// Rules, in order.
    pub rules: Vec<Rule>,
    /// Where and how evaluation records are written, when they are.
    pub attest: Option<AttestConfig>,
}

/// `spec.attest`: every judged render leaves a signed evaluation record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestConfig {
    /// The directory records are written to (resolved against the file's directory).
    pub directory: PathBuf,
    /// What signs them.
    pub key: AttestKey,
}

/// Where the signing key of records comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestKey {
    /// A PEM file (PKCS#8 ECDSA P-256, or a cosign key).
    File(PathBuf),
    /// A variable holding the PEM text or the path of a PEM file.
    Env(String),
    /// No key: records are unsigned. Only when the configuration says so.
    Unsigned,
}

/// A bundle an app may be judged with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleChoice {
    /// As written in the configuration.
    pub written: String,
    /// Resolved against the configuration's directory.
    pub reference: BundleRef,
}

/// What a project (or the default) may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The bundle used unless the app asks for another allowed one.
    pub bundle: String,
    /// The bundles an app may ask for (`bundle` included).
    pub allowed_bundles: Vec<String>,
    /// The modes an app may ask for; the first is used unless it asks.
    pub modes: Vec<Mode>,
    /// Whether an empty render is intended (Argo CD then prunes the app's objects).
    pub allow_empty: bool,
    /// Whether approved objects carry `gate.dev/approved: <bundle digest>`.
    pub annotate_approved: bool,
}

/// A rule: which apps it covers, and what they may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its name, for messages.
    pub name: String,
    /// Project patterns; empty for every project.
    pub projects: Vec<String>,
    /// App name patterns; empty for every app.
    pub apps: Vec<String>,
    /// What the apps it covers may use.
    pub policy: Policy,
}

impl Rule {
    /// Whether the rule covers an app of `project` named `app`.
    pub fn covers(&self, project: &str, app: &str) -> bool {
        let any = |patterns: &[String], value: &str| {
            patterns.is_empty() || patterns.iter().any(|p| glob_matches(p, value))
        };
        any(&self.projects, project) && any(&self.apps, app)
    }
}

impl PluginConfig {
    /// Reads and validates the configuration file.
    pub fn load(path: &Path) -> Result<PluginConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        PluginConfig::parse(path, &text)
    }

    /// Parses and validates configuration text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<PluginConfig> {
        let invalid = |message: String| Error::ConfigInvalid {
            path: path.to_owned(),
            message,
        };
        let document: Document =
            serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if document.api_version != API_VERSION || document.kind != KIND {
            return Err(invalid(format!(
                "apiVersion {:?} kind {:?}: expected apiVersion {API_VERSION} kind {KIND}",
                document.api_version, document.kind
            )));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut bundles = BTreeMap::new();
        for (name, written) in document.spec.bundles {
            if written.trim().is_empty() {
                return Err(invalid(format!("spec.bundles.{name}: empty reference")));
            }
            let reference = match written.parse::<BundleRef>() {
                Ok(BundleRef::File(file)) if file.is_relative() => BundleRef::File(base.join(file)),
                Ok(reference) => reference,
                Err(never) => match never {},
            };
            bundles.insert(name, BundleChoice { written, reference });
        }
        let check =
            |field: &str, choice: PolicyDocument| choice.validate(field, &bundles).map_err(invalid);
        let default = check("spec.default", document.spec.default)?;
        let mut rules = Vec::with_capacity(document.spec.rules.len());
        for (index, rule) in document.spec.rules.into_iter().enumerate() {
            let field = format!("spec.rules[{index}]");
            let (selector, policy) =
                split_rule(rule).map_err(|e| invalid(format!("{field}: {e}")))?;
            if selector.name.trim().is_empty() {
                return Err(invalid(format!("{field}.name: empty")));
            }
            let field = format!("{field} ({})", selector.name);
            if selector
                .projects
                .iter()
                .chain(&selector.apps)
                .any(String::is_empty)
            {
                return Err(invalid(format!(
                    "{field}: an empty pattern matches nothing; omit the list to match all"
                )));
            }
            rules.push(Rule {
                policy: check(&field, policy)?,
                name: selector.name,
                projects: selector.projects,
                apps: selector.apps,
            });
        }
        let attest = document
            .spec
            .attest
            .map(|a| a.validate(base))
            .transpose()
            .map_err(invalid)?;
        Ok(PluginConfig {
            path: path.to_owned(),
            bundles,
            default,
            rules,
            attest,
        })
    }

    /// The rule covering an app (first match), or `None` for the default.
    pub fn rule_for(&self, project: &str, app: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.covers(project, app))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    api_version: String,
    kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<serde_yaml_ng::Value>,
    spec: SpecDocument,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SpecDocument {
    bundles: BTreeMap<String, String>,
    default: PolicyDocument,
    /// Each a [`RuleSelector`] and a [`PolicyDocument`] in one mapping, split by
    /// [`split_rule`]: serde cannot flatten a struct that refuses unknown fields.
    #[serde(default)]
    rules: Vec<Mapping>,
    #[serde(default)]
    attest: Option<AttestDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AttestDocument {
    directory: PathBuf,
    #[serde(default)]
    key: Option<PathBuf>,
    #[serde(default)]
    key_env: Option<String>,
    #[serde(default)]
    unsigned: bool,
}

impl AttestDocument {
    /// Exactly one source of key, or `unsigned: true`: a record is never left
    /// unsigned because a field was forgotten.
    fn validate(self, base: &Path) -> std::result::Result<AttestConfig, String> {
        if self.directory.as_os_str().is_empty() {
            return Err("spec.attest.directory: empty".into());
        }
        let key = match (self.key, self.key_env, self.unsigned) {
            (Some(file), None, false) if !file.as_os_str().is_empty() => {
                AttestKey::File(base.join(file))
            }
            (None, Some(variable), false) if !variable.trim().is_empty() => {
                AttestKey::Env(variable)
            }
            (None, None, true) => AttestKey::Unsigned,
            _ => {
                return Err(
                    "spec.attest: give exactly one of key (a PEM file), keyEnv (a \
                            variable) or unsigned: true"
                        .into(),
                );
            }
        };
        Ok(AttestConfig {
            directory: base.join(self.directory),
            key,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyDocument {
    bundle: String,
    #[serde(default)]
    allowed_bundles: Vec<String>,
    #[serde(default)]
    modes: Vec<Mode>,
    #[serde(default)]
    allow_empty: bool,
    #[serde(default)]
    annotate_approved: bool,
}

/// The fields of a rule that say which apps it covers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSelector {
    name: String,
    #[serde(default)]
    projects: Vec<String>,
    #[serde(default)]
    apps: Vec<String>,
}

const SELECTOR_FIELDS: [&str; 3] = ["name", "projects", "apps"];

/// A rule's mapping as its selector and its policy, each checked for unknown fields.
fn split_rule(mut rule: Mapping) -> std::result::Result<(RuleSelector, PolicyDocument), String> {
    let mut selector = Mapping::new();
    for key in SELECTOR_FIELDS {
        if let Some(value) = rule.remove(key) {
            selector.insert(YamlValue::from(key), value);
        }
    }
    let selector =
        serde_yaml_ng::from_value(YamlValue::Mapping(selector)).map_err(|e| e.to_string())?;
    let policy = serde_yaml_ng::from_value(YamlValue::Mapping(rule)).map_err(|e| {
        let message = e.to_string();
        // Unknown fields of the policy list only its own; a rule also has these.
        if message.contains("unknown field") {
            format!("{message} (or {})", SELECTOR_FIELDS.join(", "))
        } else {
            message
        }
    })?;
    Ok((selector, policy))
}

impl PolicyDocument {
    fn validate(
        self,
        field: &str,
        bundles: &BTreeMap<String, BundleChoice>,
    ) -> std::result::Result<Policy, String> {
        let known = |name: &str, what: &str| {
            if bundles.contains_key(name) {
                Ok(())
            } else {
                let names: Vec<&str> = bundles.keys().map(String::as_str).collect();
                Err(format!(
                    "{field}.{what}: no bundle named {name:?} in spec.bundles (known: {})",
                    names.join(", ")
                ))
            }
        };
        known(&self.bundle, "bundle")?;
        let mut allowed = vec![self.bundle.clone()];
        for name in self.allowed_bundles {
            known(&name, "allowedBundles")?;
            if !allowed.contains(&name) {
                allowed.push(name);
            }
        }
        let mut modes = Vec::new();
        for mode in if self.modes.is_empty() {
            vec![Mode::Enforce]
        } else {
            self.modes
        } {
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
        Ok(Policy {
            bundle: self.bundle,
            allowed_bundles: allowed,
            modes,
            allow_empty: self.allow_empty,
            annotate_approved: self.annotate_approved,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
apiVersion: gate.dev/v1alpha1
kind: ArgoCDPluginConfig
spec:
  bundles:
    restricted: builtin:aks-restricted
    payments: bundles/payments.yaml
    absolute: /etc/gate/b.yaml
  default:
    bundle: restricted
  rules:
    - name: payments
      projects: [payments]
      apps: ["team-a_*", shop]
      bundle: payments
      allowedBundles: [restricted, payments]
      modes: [enforce, audit]
      allowEmpty: true
"#;

    fn parse(text: &str) -> Result<PluginConfig> {
        PluginConfig::parse(Path::new("/etc/gate/config.yaml"), text)
    }

    #[test]
    fn reads_bundles_rules_and_defaults() {
        let config = parse(GOOD).unwrap();
        assert_eq!(
            config.bundles["payments"].reference,
            BundleRef::File(PathBuf::from("/etc/gate/bundles/payments.yaml"))
        );
        assert_eq!(
            config.bundles["absolute"].reference,
            BundleRef::File(PathBuf::from("/etc/gate/b.yaml"))
        );
        assert_eq!(
            config.bundles["restricted"].reference,
            BundleRef::Builtin("aks-restricted".into())
        );
        assert_eq!(config.default.modes, vec![Mode::Enforce]);
        assert_eq!(config.default.allowed_bundles, vec!["restricted"]);
        assert!(!config.default.allow_empty && !config.default.annotate_approved);
        let rule = &config.rules[0];
        assert_eq!(rule.policy.allowed_bundles, vec!["payments", "restricted"]);
        assert_eq!(rule.policy.modes, vec![Mode::Enforce, Mode::Audit]);
    }

    #[test]
    fn the_project_then_the_app_name_pick_the_rule() {
        let config = parse(GOOD).unwrap();
        assert!(config.rule_for("payments", "shop").is_some());
        assert!(config.rule_for("payments", "team-a_cart").is_some());
        // The namespaced form is part of the name: `shop` in team-b is not `shop`.
        assert!(config.rule_for("payments", "team-b_shop").is_none());
        assert!(config.rule_for("other", "shop").is_none());
    }

    #[test]
    fn the_shipped_configuration_is_valid() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integration/argocd/gate-config.yaml");
        let config = PluginConfig::load(&path).unwrap();
        assert_eq!(config.default.bundle, "restricted");
        let sandbox = config.rule_for("sandbox", "anything").unwrap();
        assert_eq!(sandbox.policy.modes, vec![Mode::Enforce, Mode::Audit]);
    }

    #[test]
    fn refuses_unknown_bundles_fields_and_kinds_with_the_place() {
        let unknown = GOOD.replace("bundle: payments", "bundle: nope");
        let err = parse(&unknown).unwrap_err().to_string();
        assert!(
            err.contains("spec.rules[0] (payments).bundle: no bundle named \"nope\"")
                && err.contains("/etc/gate/config.yaml"),
            "{err}"
        );
        let typo = GOOD.replace("allowEmpty", "allowEmtpy");
        let err = parse(&typo).unwrap_err().to_string();
        assert!(
            err.contains("spec.rules[0]: unknown field `allowEmtpy`"),
            "a typo in a rule is named with the rule: {err}"
        );
        let typo = GOOD.replace("    bundle: restricted", "    bundel: restricted");
        let err = parse(&typo).unwrap_err().to_string();
        assert!(
            err.contains("bundel") && err.contains("line"),
            "a typo elsewhere is named with its line: {err}"
        );
        let nameless = GOOD.replace("- name: payments", "- nam: payments");
        assert!(
            parse(&nameless)
                .unwrap_err()
                .to_string()
                .contains("spec.rules[0]")
        );
        let kind = GOOD.replace("ArgoCDPluginConfig", "Bundle");
        assert!(parse(&kind).unwrap_err().to_string().contains("expected"));
        let mode = GOOD.replace("[enforce, audit]", "[enforce, off]");
        assert!(parse(&mode).unwrap_err().to_string().contains("off"));
        let empty = GOOD.replace("projects: [payments]", "projects: [\"\"]");
        assert!(
            parse(&empty)
                .unwrap_err()
                .to_string()
                .contains("empty pattern")
        );
        assert!(parse("").is_err());
        assert!(parse(": : :").is_err());
    }

    #[test]
    fn the_attest_section_needs_exactly_one_key_source() {
        assert_eq!(parse(GOOD).unwrap().attest, None);
        let with = |section: &str| parse(&format!("{GOOD}  attest:\n{section}"));
        let config = with("    directory: records\n    key: keys/gate.pem\n").unwrap();
        assert_eq!(
            config.attest,
            Some(AttestConfig {
                directory: PathBuf::from("/etc/gate/records"),
                key: AttestKey::File(PathBuf::from("/etc/gate/keys/gate.pem")),
            })
        );
        let env = with("    directory: /r\n    keyEnv: GATE_ATTEST_KEY\n").unwrap();
        assert_eq!(
            env.attest.map(|a| a.key),
            Some(AttestKey::Env("GATE_ATTEST_KEY".into()))
        );
        let unsigned = with("    directory: /r\n    unsigned: true\n").unwrap();
        assert_eq!(unsigned.attest.map(|a| a.key), Some(AttestKey::Unsigned));
        for bad in [
            "    directory: /r\n",
            "    directory: /r\n    unsigned: false\n",
            "    directory: /r\n    key: k.pem\n    unsigned: true\n",
            "    directory: /r\n    key: k.pem\n    keyEnv: K\n",
            "    directory: \"\"\n    key: k.pem\n",
            "    directory: /r\n    keyEnv: \"\"\n",
            "    directory: /r\n    key: k.pem\n    sign: yes\n",
        ] {
            let err = with(bad).map(|_| ()).unwrap_err().to_string();
            assert!(
                err.contains("spec.attest") || err.contains("sign"),
                "{bad}: {err}"
            );
        }
    }
}
