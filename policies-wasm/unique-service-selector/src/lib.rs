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

/// Whether two selectors are the same set of `key=value` pairs, whatever their
/// order. Compared in place: the render's Services are compared pairwise, and
/// building a sorted copy of each selector for each pair made this policy cost
/// more than all the others together on a render with hundreds of Services.
fn same_selector(mine: Node<'_>, other: Node<'_>) -> bool {
    fn value(v: Node<'_>) -> &str {
        v.as_str().unwrap_or_default()
    }
    mine.entries().count() == other.entries().count()
        && mine.entries().all(|(key, v)| {
            other
                .entries()
                .any(|(other_key, other_v)| other_key == key && value(other_v) == value(v))
        })
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
        let mine = object.path(&["spec", "selector"]);
        if mine.entries().next().is_none() {
            return Vec::new();
        }
        // Every Service is compared with every other: the cheapest tests first.
        let namespace = object.namespace();
        render
            .of_kind("Service")
            .filter(|other| other.namespace() == namespace && other.group().is_empty())
            .filter(|other| same_selector(mine, other.path(&["spec", "selector"])))
            .filter(|other| !other.same_as(object))
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
