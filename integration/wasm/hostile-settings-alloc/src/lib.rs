//! Allocates without bound in `validate-settings`, before any evaluation.
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
            "hostile-settings-alloc",
            "Allocates without bound when checking settings.",
        )
        .targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
            std::hint::black_box(&hoard);
        }
    }

    fn evaluate(&self, _object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        Vec::new()
    }
}

export_policy!(Hostile);
