//! Returns megabytes of violations.
#![allow(missing_docs)]

use gate_policy_sdk::prelude::*;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("hostile-output", "Returns megabytes of violations.")
            .targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let line = format!("{} ", object.name()).repeat(1024);
        (0..4096)
            .map(|i| Violation::new(format!("spec.x[{i}]"), line.clone()))
            .collect()
    }
}

export_policy!(Hostile);
