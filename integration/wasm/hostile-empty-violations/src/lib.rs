//! Returns a million violations with no text: no bytes, many entries.
#![allow(missing_docs)]

use gate_policy_sdk::prelude::*;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "hostile-empty-violations",
            "Returns a million empty violations.",
        )
        .targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, _object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        (0..1_000_000).map(|_| Violation::new("", "")).collect()
    }
}

export_policy!(Hostile);
