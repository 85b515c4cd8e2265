//! flux-source-through-gate: Flux applies only what gate published.
//!
//! gate's Flux controller judges each new revision of a source and publishes what it
//! approves as an `ExternalArtifact` (source.toolkit.fluxcd.io/v1), one per `Gate`
//! object, named after it. A tenant could point a Kustomization straight at the
//! GitRepository and skip the gate; this policy denies that, in the namespaces the
//! platform lists:
//! - a `Kustomization` (kustomize.toolkit.fluxcd.io) whose `spec.sourceRef` is not an
//!   ExternalArtifact;
//! - a `HelmRelease` (helm.toolkit.fluxcd.io) whose `spec.chartRef` is not one, or which
//!   takes its chart from `spec.chart.spec.sourceRef` (a HelmRepository, GitRepository
//!   or Bucket: that field cannot name an ExternalArtifact);
//! - a reference to an ExternalArtifact whose name matches none of `artifactNames`, or
//!   that lives in another namespace than the object's and those of
//!   `artifactNamespaces`, or whose `apiVersion` is not source.toolkit.fluxcd.io.
//!
//! A name says nothing about who wrote the ExternalArtifact: only gate's controller may
//! create and update them (RBAC), which is what makes one published by gate. Objects
//! without a namespace are judged as if they were in a listed namespace.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Namespaces whose Kustomizations and HelmReleases must take their source from
    /// gate; `*` for every namespace. Default: `["*"]`.
    namespaces: Vec<String>,
    /// Namespaces never judged. Default: `["flux-system"]`, where Flux's own bootstrap
    /// Kustomization reads the platform repository directly.
    excluded_namespaces: Vec<String>,
    /// Names of the ExternalArtifacts gate publishes, as patterns in which `*` matches
    /// any run of characters. Default: `["*"]`: gate names each one after its `Gate`
    /// object, so any name can be gate's. Narrow it when the platform names Gate
    /// objects by a convention (`gate-*`) or other controllers publish ExternalArtifacts
    /// in the same namespaces.
    artifact_names: Vec<String>,
    /// Namespaces where gate publishes ExternalArtifacts besides the object's own.
    /// Default: none, so a reference to another namespace is denied.
    artifact_namespaces: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            namespaces: vec!["*".to_owned()],
            excluded_namespaces: vec!["flux-system".to_owned()],
            artifact_names: vec!["*".to_owned()],
            artifact_namespaces: Vec::new(),
        }
    }
}

struct FluxSourceThroughGate {
    settings: Settings,
}

const EXTERNAL_ARTIFACT: &str = "ExternalArtifact";
const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";

/// Does `name` match `pattern`, where `*` matches any run of characters?
fn glob(pattern: &str, name: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let Some(mut name) = name.strip_prefix(head) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let tail = parts.pop().unwrap_or_default();
    for part in parts {
        match name.find(part) {
            Some(at) => name = &name[at + part.len()..],
            None => return false,
        }
    }
    name.len() >= tail.len() && name.ends_with(tail)
}

impl FluxSourceThroughGate {
    fn in_scope(&self, namespace: &str) -> bool {
        let settings = &self.settings;
        if settings.excluded_namespaces.iter().any(|n| n == namespace) {
            return false;
        }
        namespace.is_empty()
            || settings
                .namespaces
                .iter()
                .any(|n| n == "*" || n == namespace)
    }

    /// A source reference (`spec.sourceRef`, `spec.chartRef`) at `path` of `object`.
    fn reference(
        &self,
        object: &Object<'_>,
        reference: Node<'_>,
        path: &FieldPath,
    ) -> Vec<Violation> {
        let what = format!("{} {:?}", object.kind(), object.name());
        let kind = reference.str("kind").unwrap_or_default();
        let name = reference.str("name").unwrap_or_default();
        if kind != EXTERNAL_ARTIFACT {
            let source = if kind.is_empty() {
                "no source kind".to_owned()
            } else {
                format!("{kind} {name:?}")
            };
            return vec![Violation::new(
                path.key("kind"),
                format!(
                    "{what} takes its source from {source}, which gate has not judged; point it \
                     at the ExternalArtifact that gate publishes (kind: {EXTERNAL_ARTIFACT})"
                ),
            )];
        }
        let mut out = Vec::new();
        if let Some(api_version) = reference.str("apiVersion").filter(|v| !v.is_empty())
            && api_version.split('/').next() != Some(SOURCE_GROUP)
        {
            out.push(Violation::new(
                path.key("apiVersion"),
                format!(
                    "{what} refers to an ExternalArtifact of {api_version:?}, not of {SOURCE_GROUP}"
                ),
            ));
        }
        if !self.settings.artifact_names.iter().any(|p| glob(p, name)) {
            out.push(Violation::new(
                path.key("name"),
                format!(
                    "{what} reads ExternalArtifact {name:?}, which is not one gate publishes \
                     (names: {})",
                    self.settings.artifact_names.join(", ")
                ),
            ));
        }
        let namespace = reference.str("namespace").unwrap_or_default();
        let allowed_namespace = namespace.is_empty()
            || namespace == object.namespace()
            || self
                .settings
                .artifact_namespaces
                .iter()
                .any(|n| n == namespace);
        if !allowed_namespace {
            out.push(Violation::new(
                path.key("namespace"),
                format!(
                    "{what} reads an ExternalArtifact in namespace {namespace:?}, where gate \
                     does not publish for it"
                ),
            ));
        }
        out
    }

    fn helm_release(&self, object: &Object<'_>) -> Vec<Violation> {
        let chart_ref = object.path(&["spec", "chartRef"]);
        if !chart_ref.is_null() {
            return self.reference(
                object,
                chart_ref,
                &FieldPath::root().keys(&["spec", "chartRef"]),
            );
        }
        let source = object.path(&["spec", "chart", "spec", "sourceRef"]);
        let path = FieldPath::root().keys(&["spec", "chart", "spec", "sourceRef"]);
        let message = if source.is_null() {
            return vec![Violation::new(
                FieldPath::root().key("spec"),
                format!(
                    "HelmRelease {:?} has no chartRef, so nothing shows that gate published \
                     its chart; use spec.chartRef with kind {EXTERNAL_ARTIFACT}",
                    object.name()
                ),
            )];
        } else {
            format!(
                "HelmRelease {:?} takes its chart from {} {:?} through spec.chart, which \
                 cannot name an ExternalArtifact, so gate never judges it; use spec.chartRef \
                 with kind {EXTERNAL_ARTIFACT}",
                object.name(),
                source.str("kind").unwrap_or("a source"),
                source.str("name").unwrap_or_default()
            )
        };
        vec![Violation::new(path.key("kind"), message)]
    }
}

impl Policy for FluxSourceThroughGate {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "flux-source-through-gate",
            "Flux must apply only sources that gate published",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies a Flux Kustomization or HelmRelease, in the listed namespaces (all but \
             flux-system by default), unless its source (spec.sourceRef, spec.chartRef) is an \
             ExternalArtifact that gate publishes: named as artifactNames says, in the object's \
             namespace or one of artifactNamespaces. A HelmRelease that takes its chart from \
             spec.chart.spec.sourceRef is denied: that field cannot name an ExternalArtifact.",
        )
        .severity(Severity::High)
        .category("governance")
        .targets([
            KindSelector::new("kustomize.toolkit.fluxcd.io", "Kustomization"),
            KindSelector::new("helm.toolkit.fluxcd.io", "HelmRelease"),
        ])
        .controls([Control::iso27001("A.8.32", "Change management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut errors = Vec::new();
        for (field, values) in [
            ("namespaces", &settings.namespaces),
            ("excludedNamespaces", &settings.excluded_namespaces),
            ("artifactNames", &settings.artifact_names),
            ("artifactNamespaces", &settings.artifact_namespaces),
        ] {
            errors.extend(SettingsError::blank_entries(field, values));
        }
        for (field, values) in [
            ("namespaces", &settings.namespaces),
            ("artifactNames", &settings.artifact_names),
        ] {
            if values.is_empty() {
                errors.push(SettingsError::new(
                    field,
                    "must not be empty; use [\"*\"] for any",
                ));
            }
        }
        if errors.is_empty() {
            Ok(FluxSourceThroughGate { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if !self.in_scope(object.namespace()) {
            return Vec::new();
        }
        if object.kind() == "HelmRelease" {
            return self.helm_release(object);
        }
        let source = object.path(&["spec", "sourceRef"]);
        self.reference(
            object,
            source,
            &FieldPath::root().keys(&["spec", "sourceRef"]),
        )
    }
}

export_policy!(FluxSourceThroughGate);

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("*", "anything"));
        assert!(glob("*", ""));
        assert!(glob("gate-*", "gate-shop"));
        assert!(!glob("gate-*", "shop-gate"));
        assert!(glob("*-gate", "shop-gate"));
        assert!(glob("gate-*-prod", "gate-shop-prod"));
        assert!(!glob("gate-*-prod", "gate-prod"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }
}
