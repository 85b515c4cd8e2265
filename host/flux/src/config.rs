//! The platform's choice of bundles: which namespaces may use gate, which bundles
//! each may pick, and the default. Tenants never name a bundle file: a `Gate`
//! names one of the bundles this file lists for its namespace, or gets the default.
//!
//! ```yaml
//! bundles:
//!   restricted: builtin:aks-restricted
//!   shop-strict: bundles/shop.yaml        # relative to this file
//! namespaces:
//!   - match: [shop, team-*]
//!     allowed: [restricted, shop-strict]
//!     default: restricted
//!   - match: ["*"]
//!     allowed: [restricted]
//!     default: restricted
//! ```
//!
//! The first rule whose `match` holds for the namespace decides. A namespace no
//! rule matches cannot use gate at all.

use crate::error::{Error, Result};
use gate_engine::loader::BundleRef;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    bundles: BTreeMap<String, String>,
    namespaces: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(rename = "match")]
    patterns: Vec<String>,
    allowed: Vec<String>,
    default: String,
}

#[derive(Debug, Clone)]
struct Rule {
    patterns: Vec<String>,
    allowed: Vec<String>,
    default: String,
}

/// The controller's configuration of bundles per namespace.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    bundles: BTreeMap<String, BundleRef>,
    rules: Vec<Rule>,
}

/// A bundle chosen for a `Gate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleChoice {
    /// The name the configuration gives it.
    pub name: String,
    /// Where it is.
    pub reference: BundleRef,
}

impl PlatformConfig {
    /// Reads and checks the configuration file.
    pub fn load(path: &Path) -> Result<PlatformConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            file: path.to_owned(),
            message: e.to_string(),
        })?;
        PlatformConfig::parse(path, &text)
    }

    /// Parses and checks a configuration; relative bundle paths are relative to `path`'s directory.
    pub fn parse(path: &Path, text: &str) -> Result<PlatformConfig> {
        let invalid = |message: String| Error::Config {
            file: path.to_owned(),
            message,
        };
        let file: ConfigFile = serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut bundles = BTreeMap::new();
        for (name, reference) in file.bundles {
            let reference: BundleRef = match reference.parse() {
                Ok(BundleRef::File(file)) if file.is_relative() => BundleRef::File(base.join(file)),
                Ok(other) => other,
                Err(never) => match never {},
            };
            bundles.insert(name, reference);
        }
        if file.namespaces.is_empty() {
            return Err(invalid(
                "`namespaces` is empty: no namespace could use gate".into(),
            ));
        }
        let mut rules = Vec::new();
        for (index, rule) in file.namespaces.into_iter().enumerate() {
            let at = format!("namespaces[{index}]");
            if rule.patterns.is_empty() || rule.patterns.iter().any(String::is_empty) {
                return Err(invalid(format!(
                    "{at}.match must list namespace names or patterns"
                )));
            }
            if rule.allowed.is_empty() {
                return Err(invalid(format!("{at}.allowed is empty")));
            }
            if let Some(unknown) = rule.allowed.iter().find(|b| !bundles.contains_key(*b)) {
                return Err(invalid(format!(
                    "{at}.allowed names bundle {unknown:?}, which `bundles` does not define"
                )));
            }
            if !rule.allowed.contains(&rule.default) {
                return Err(invalid(format!(
                    "{at}.default {:?} is not one of its allowed bundles",
                    rule.default
                )));
            }
            rules.push(Rule {
                patterns: rule.patterns,
                allowed: rule.allowed,
                default: rule.default,
            });
        }
        Ok(PlatformConfig { bundles, rules })
    }

    /// The bundle a `Gate` in `namespace` gets when it asks for `requested` (or nothing).
    pub fn choose(&self, namespace: &str, requested: Option<&str>) -> Result<BundleChoice> {
        let rule = self
            .rules
            .iter()
            .find(|r| r.patterns.iter().any(|p| glob_match(p, namespace)))
            .ok_or_else(|| {
                Error::NotAllowed(format!(
                    "namespace {namespace:?} is not configured for gate: the platform's configuration lists no bundle for it"
                ))
            })?;
        let name = match requested {
            None => &rule.default,
            Some(name) if rule.allowed.iter().any(|a| a == name) => name,
            Some(name) => {
                return Err(Error::NotAllowed(format!(
                    "bundle {name:?} is not allowed in namespace {namespace:?}; allowed: {}",
                    rule.allowed.join(", ")
                )));
            }
        };
        let reference = self
            .bundles
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotAllowed(format!("bundle {name:?} is not defined")))?;
        Ok(BundleChoice {
            name: name.to_owned(),
            reference,
        })
    }

    /// Every bundle the configuration defines, by name.
    pub fn bundles(&self) -> impl Iterator<Item = (&str, &BundleRef)> {
        self.bundles.iter().map(|(n, r)| (n.as_str(), r))
    }
}

/// Matches a name against a pattern where `*` stands for any run of characters.
fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*` at all: the whole name must have been the prefix.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CONFIG: &str = "
bundles:
  restricted: builtin:aks-restricted
  baseline: builtin:aks-baseline
  shop: bundles/shop.yaml
namespaces:
  - match: [shop, team-*]
    allowed: [restricted, shop]
    default: restricted
  - match: [sandbox-*-dev]
    allowed: [baseline]
    default: baseline
";

    fn config() -> PlatformConfig {
        PlatformConfig::parse(Path::new("/etc/gate/config.yaml"), CONFIG).unwrap()
    }

    #[test]
    fn a_namespace_gets_its_default_or_one_of_its_allowed_bundles() {
        let config = config();
        let chosen = config.choose("shop", None).unwrap();
        assert_eq!(chosen.name, "restricted");
        assert_eq!(
            chosen.reference,
            BundleRef::Builtin("aks-restricted".into())
        );
        let chosen = config.choose("team-a", Some("shop")).unwrap();
        assert_eq!(
            chosen.reference,
            BundleRef::File("/etc/gate/bundles/shop.yaml".into())
        );
        assert_eq!(
            config.choose("sandbox-x-dev", None).unwrap().name,
            "baseline"
        );
    }

    #[test]
    fn a_tenant_cannot_pick_outside_its_list() {
        let config = config();
        let err = config
            .choose("shop", Some("baseline"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not allowed") && err.contains("restricted, shop"),
            "{err}"
        );
        let err = config.choose("other", None).unwrap_err().to_string();
        assert!(err.contains("not configured"), "{err}");
        // A bundle name that is a path is just an unknown name.
        let err = config
            .choose("shop", Some("/etc/passwd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not allowed"), "{err}");
    }

    #[test]
    fn a_bad_configuration_is_refused_with_its_reason() {
        for (text, expected) in [
            ("bundles: {a: builtin:default}\nnamespaces: []\n", "empty"),
            (
                "bundles: {}\nnamespaces: [{match: [x], allowed: [a], default: a}]\n",
                "does not define",
            ),
            (
                "bundles: {a: builtin:default}\nnamespaces: [{match: [x], allowed: [a], default: b}]\n",
                "not one of",
            ),
            (
                "bundles: {a: builtin:default}\nnamespaces: [{match: [], allowed: [a], default: a}]\n",
                "match",
            ),
            (
                "bundles: {a: builtin:default}\nnamespaces: [{match: [x], allowed: [a], default: a, extra: 1}]\n",
                "extra",
            ),
        ] {
            let err = PlatformConfig::parse(Path::new("c.yaml"), text)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("c.yaml") && err.contains(expected),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn globs_match_whole_names() {
        for (pattern, name, expected) in [
            ("*", "anything", true),
            ("team-*", "team-a", true),
            ("team-*", "team-", true),
            ("team-*", "xteam-a", false),
            ("*-dev", "a-dev", true),
            ("*-dev", "a-dev-x", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("shop", "shop", true),
            ("shop", "shops", false),
            ("a*a", "a", false),
        ] {
            assert_eq!(glob_match(pattern, name), expected, "{pattern} ~ {name}");
        }
    }
}
