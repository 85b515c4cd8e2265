//! Who chooses the bundle: the platform's configuration decides, the app only
//! picks among what its project allows.

use crate::config::{BundleChoice, PluginConfig, Policy};
use crate::env::AppEnv;
use gate_core::bundle::Mode;

/// What judges the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The rule that covers the app; `None` for the configuration's default.
    pub rule: Option<String>,
    /// The bundle's name in the configuration.
    pub bundle_name: String,
    /// The bundle.
    pub bundle: BundleChoice,
    /// Enforce or audit.
    pub mode: Mode,
    /// Whether an empty render is intended.
    pub allow_empty: bool,
    /// Whether approved objects get `gate.dev/approved`.
    pub annotate_approved: bool,
}

/// Why an app may not have what it asked for: a denial, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Chooses the bundle and mode for an app.
pub fn select(config: &PluginConfig, env: &AppEnv) -> Result<Selection, Refusal> {
    let project = env.project.as_deref().unwrap_or_default();
    let app = env.name.as_deref().unwrap_or_default();
    let rule = config.rule_for(project, app);
    let policy: &Policy = rule.map_or(&config.default, |r| &r.policy);
    let source = match rule {
        Some(rule) => format!("rule {:?} of {}", rule.name, config.path.display()),
        None => format!("the default of {}", config.path.display()),
    };
    let who = format!("app {app:?} (project {project:?})");

    let bundle_name = match &env.requested_bundle {
        None => policy.bundle.clone(),
        Some(asked) => {
            let by_name = policy.allowed_bundles.iter().find(|n| *n == asked);
            // An app may also name an allowed bundle by its reference.
            let by_reference = || {
                policy
                    .allowed_bundles
                    .iter()
                    .find(|n| config.bundles.get(*n).is_some_and(|b| &b.written == asked))
            };
            match by_name.or_else(by_reference) {
                Some(name) => name.clone(),
                None => {
                    return Err(Refusal(format!(
                        "{who} may not use bundle {asked:?}: {source} allows {}",
                        policy.allowed_bundles.join(", ")
                    )));
                }
            }
        }
    };
    let mode = match env.requested_mode {
        None => policy.modes.first().copied().unwrap_or(Mode::Enforce),
        Some(asked) if policy.modes.contains(&asked) => asked,
        Some(asked) => {
            let allowed: Vec<&str> = policy.modes.iter().map(|m| mode_name(*m)).collect();
            return Err(Refusal(format!(
                "{who} may not run in {} mode: {source} allows {}",
                mode_name(asked),
                allowed.join(", ")
            )));
        }
    };
    // Validation of the configuration guarantees every allowed name is a bundle.
    let bundle = config
        .bundles
        .get(&bundle_name)
        .cloned()
        .ok_or_else(|| Refusal(format!("{source} names no bundle {bundle_name:?}")))?;
    Ok(Selection {
        rule: rule.map(|r| r.name.clone()),
        bundle_name,
        bundle,
        mode,
        allow_empty: policy.allow_empty,
        annotate_approved: policy.annotate_approved,
    })
}

/// `enforce` or `audit`.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "enforce",
        Mode::Audit => "audit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> PluginConfig {
        PluginConfig::parse(
            Path::new("/etc/gate/config.yaml"),
            r#"
apiVersion: gate.dev/v1alpha1
kind: ArgoCDPluginConfig
spec:
  bundles:
    restricted: builtin:aks-restricted
    baseline: builtin:aks-baseline
    payments: payments.yaml
  default:
    bundle: restricted
  rules:
    - name: payments
      projects: [payments]
      bundle: payments
      allowedBundles: [restricted]
    - name: sandbox
      projects: [sandbox]
      bundle: baseline
      modes: [enforce, audit]
      allowEmpty: true
"#,
        )
        .unwrap()
    }

    fn app(project: &str, bundle: Option<&str>, mode: Option<Mode>) -> AppEnv {
        AppEnv {
            name: Some("team-a_shop".into()),
            project: Some(project.into()),
            requested_bundle: bundle.map(str::to_owned),
            requested_mode: mode,
            ..AppEnv::default()
        }
    }

    #[test]
    fn the_project_picks_the_default_bundle_and_mode() {
        let chosen = select(&config(), &app("payments", None, None)).unwrap();
        assert_eq!(chosen.rule.as_deref(), Some("payments"));
        assert_eq!(chosen.bundle_name, "payments");
        assert_eq!(chosen.mode, Mode::Enforce);
        let chosen = select(&config(), &app("elsewhere", None, None)).unwrap();
        assert_eq!(
            (chosen.rule, chosen.bundle_name.as_str()),
            (None, "restricted")
        );
    }

    #[test]
    fn an_app_chooses_only_among_allowed_bundles() {
        let chosen = select(&config(), &app("payments", Some("restricted"), None)).unwrap();
        assert_eq!(chosen.bundle_name, "restricted");
        let by_reference = select(
            &config(),
            &app("payments", Some("builtin:aks-restricted"), None),
        )
        .unwrap();
        assert_eq!(by_reference.bundle_name, "restricted");
        let Refusal(why) = select(&config(), &app("payments", Some("baseline"), None)).unwrap_err();
        assert!(
            why.contains("may not use bundle \"baseline\"")
                && why.contains("rule \"payments\"")
                && why.contains("allows payments, restricted"),
            "{why}"
        );
        // The default allows only its own bundle: nothing weaker can be asked for.
        assert!(select(&config(), &app("x", Some("baseline"), None)).is_err());
    }

    #[test]
    fn audit_only_where_the_project_allows_it() {
        let chosen = select(&config(), &app("sandbox", None, Some(Mode::Audit))).unwrap();
        assert_eq!(chosen.mode, Mode::Audit);
        assert!(chosen.allow_empty);
        let Refusal(why) =
            select(&config(), &app("payments", None, Some(Mode::Audit))).unwrap_err();
        assert!(
            why.contains("may not run in audit mode") && why.contains("allows enforce"),
            "{why}"
        );
    }
}
