//! unique-service-selector: no two Services of a namespace select the same pods.
//!
//! Two Services with the same selector usually mean a copy-paste mistake, or one
//! Service shadowing another to receive its traffic. The rule compares the selector of
//! each Service with every other Service of the same namespace in the render. Services
//! without a selector (endpoints managed by hand, ExternalName) are not compared.
//! Gatekeeper's `K8sUniqueServiceSelector`, whose cluster inventory is here the render.

use gate_policy_sdk::prelude::*;
use std::collections::HashMap;

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct UniqueServiceSelector;

/// A selector as a set of `key=value` pairs, sorted: two selectors are the same
/// whatever their order. A value that is not a string reads as empty.
fn selector_key(selector: Node<'_>) -> Vec<(&str, &str)> {
    let mut pairs: Vec<(&str, &str)> = selector
        .entries()
        .map(|(key, value)| (key, value.as_str().unwrap_or_default()))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// The render's core Services that have a selector, by namespace and selector:
/// built once per render and shared by every Service judged against it, so that
/// a render of hundreds of Services is not compared pair by pair.
#[derive(Default)]
struct ByNamespaceAndSelector(HashMap<Key, Vec<usize>>);

/// A namespace, and a selector's sorted `key=value` pairs.
type Key = (String, Vec<(String, String)>);

impl ByNamespaceAndSelector {
    fn of(render: &Render<'_>) -> Self {
        let mut index = ByNamespaceAndSelector::default();
        for (i, other) in render.objects().iter().enumerate() {
            if other.kind() != "Service" || !other.group().is_empty() {
                continue;
            }
            let selector = selector_key(other.path(&["spec", "selector"]));
            if selector.is_empty() {
                continue;
            }
            let owned = selector
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            index
                .0
                .entry((other.namespace().to_owned(), owned))
                .or_default()
                .push(i);
        }
        index
    }
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
        let mine = selector_key(object.path(&["spec", "selector"]));
        if mine.is_empty() {
            return Vec::new();
        }
        let index = render.memo(ByNamespaceAndSelector::of);
        let key = (
            object.namespace().to_owned(),
            mine.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        );
        let Some(same) = index.0.get(&key) else {
            return Vec::new();
        };
        let objects = render.objects();
        same.iter()
            .map(|&i| &objects[i])
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
