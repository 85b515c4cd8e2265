//! Loops forever in `describe`, before any evaluation.
#![allow(missing_docs)]

use gate_policy_sdk::prelude::*;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        let mut n: u64 = 1;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, _object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        Vec::new()
    }
}

export_policy!(Hostile);
