//! unique-service-selector: no two Services of a namespace select the same pods.
//!
//! Two Services with the same selector usually mean a copy-paste mistake, or one
//! Service shadowing another to receive its traffic. The rule compares the selector of
//! each Service with every other Service of the same namespace in the render. Services
//! without a selector (endpoints managed by hand, ExternalName) are not compared.
//! Gatekeeper's `K8sUniqueServiceSelector`, whose cluster inventory is here the render.

use gate_policy_sdk::prelude::*;

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct UniqueServiceSelector;

/// The selector as sorted `key=value` pairs, so that key order does not matter.
fn selector(service: &Object<'_>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = service
        .path(&["spec", "selector"])
        .entries()
        .map(|(k, v)| (k.to_owned(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

impl Policy for UniqueServiceSelector {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "unique-service-selector",
            "Service selectors must be unique in a namespace",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies a Service whose selector equals the selector of another Service of \
                 the same namespace in the render: one of them is a mistake, or shadows the \
                 other to receive its traffic. Gatekeeper K8sUniqueServiceSelector and Azure \
                 Policy's unique selectors definition.",
        )
        .severity(Severity::Medium)
        .category("networking")
        .targets([KindSelector::new("", "Service")])
        .inventory([KindSelector::new("", "Service")])
    }

    fn new(_settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(UniqueServiceSelector)
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let mine = selector(object);
        if mine.is_empty() {
            return Vec::new();
        }
        render
            .others(object, "Service")
            .filter(|other| other.group().is_empty() && other.namespace() == object.namespace())
            .filter(|other| selector(other) == mine)
            .map(|other| {
                Violation::new(
                    "spec.selector",
                    format!(
                        "Service {:?} has the same selector as Service {:?}",
                        object.name(),
                        other.name()
                    ),
                )
            })
            .collect()
    }
}

export_policy!(UniqueServiceSelector);
