//! required-probes: containers declare the health probes you require.
//!
//! Without a readiness probe a pod receives traffic before it can serve it; without a
//! liveness probe a hung process is never restarted. Settings take the parameters of
//! Gatekeeper's `K8sRequiredProbes`: `probes` (default: `readinessProbe` and
//! `livenessProbe`) and `probeTypes`, the handlers a probe may use (default: any of
//! `exec`, `grpc`, `httpGet`, `tcpSocket`); plus Azure's `excludedImages` and
//! `excludedContainers`. `require: any` asks for at least one of the listed probes
//! instead of all of them ("a liveness, readiness or startup probe"); `all`, the
//! default, keeps Gatekeeper's semantics. Only regular containers serve traffic, so
//! only they are judged.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// The probe handlers Kubernetes knows.
const HANDLERS: [&str; 4] = ["exec", "grpc", "httpGet", "tcpSocket"];

/// The probes Kubernetes knows.
const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The probes every container must declare. Default: `[readinessProbe, livenessProbe]`.
    probes: Vec<String>,
    /// The handlers a required probe may use. Default (empty): any.
    probe_types: Vec<String>,
    /// `all` (default, Gatekeeper's semantics): every probe of `probes` is required;
    /// `any`: at least one of them, with an allowed handler.
    require: Require,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            probes: vec!["readinessProbe".to_owned(), "livenessProbe".to_owned()],
            probe_types: Vec::new(),
            require: Require::All,
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
        }
    }
}

/// How many of the listed probes a container needs.
#[derive(Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Require {
    /// Every one.
    #[default]
    All,
    /// At least one.
    Any,
}

struct RequiredProbes {
    settings: Settings,
}

fn unknown(field: &str, values: &[String], known: &[&str]) -> Vec<SettingsError> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| !known.contains(&v.as_str()))
        .map(|(i, v)| {
            SettingsError::new(
                format!("{field}[{i}]"),
                format!("unknown {v:?}; expected one of {}", known.join(", ")),
            )
        })
        .collect()
}

impl RequiredProbes {
    fn allowed_types(&self) -> Vec<&str> {
        if self.settings.probe_types.is_empty() {
            HANDLERS.to_vec()
        } else {
            self.settings
                .probe_types
                .iter()
                .map(String::as_str)
                .collect()
        }
    }

    /// What is wrong with one probe of a container, or `None` if it is declared with
    /// an allowed handler.
    fn problem(&self, container: &Container<'_>, probe: &str, types: &[&str]) -> Option<String> {
        let node = container.get(probe);
        if node.is_null() || node.is_empty() {
            Some(format!("{} has no {probe}", container.describe()))
        } else if types.iter().any(|t| !node.get(t).is_null()) {
            None
        } else {
            Some(format!(
                "{} {probe} uses none of the allowed handlers ({})",
                container.describe(),
                types.join(", ")
            ))
        }
    }

    fn check(&self, container: &Container<'_>) -> Vec<Violation> {
        let types = self.allowed_types();
        let probes = &self.settings.probes;
        let problems = probes
            .iter()
            .filter_map(|probe| Some((probe, self.problem(container, probe, &types)?)));
        match self.settings.require {
            Require::All => problems
                .map(|(probe, message)| Violation::new(container.path.key(probe), message))
                .collect(),
            Require::Any if probes.is_empty() => Vec::new(),
            Require::Any => {
                let problems: Vec<_> = problems.collect();
                if problems.len() < probes.len() {
                    return Vec::new();
                }
                vec![Violation::new(
                    &container.path,
                    format!(
                        "{} declares none of {} with an allowed handler ({})",
                        container.describe(),
                        probes.join(", "),
                        types.join(", ")
                    ),
                )]
            }
        }
    }
}

impl Policy for RequiredProbes {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("required-probes", "Containers must declare health probes")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Denies containers that do not declare each required probe (by default \
                 readiness and liveness) with an allowed handler: without them a pod gets \
                 traffic before it is ready and a hung process is never restarted. With \
                 require: any, one of the listed probes is enough. Gatekeeper \
                 K8sRequiredProbes and Azure Policy's probes definition.",
            )
            .severity(Severity::Low)
            .category("reliability")
            .targets(workload_kinds())
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut errors = unknown("probes", &settings.probes, &PROBES);
        errors.extend(unknown("probeTypes", &settings.probe_types, &HANDLERS));
        if errors.is_empty() {
            Ok(RequiredProbes { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        containers(object)
            .filter(|c| c.list == ContainerList::Regular)
            .filter(|c| {
                !container_exempt(
                    c,
                    &self.settings.exempt_images,
                    &self.settings.excluded_containers,
                )
            })
            .flat_map(|c| self.check(&c))
            .collect()
    }
}

export_policy!(RequiredProbes);
