//! Sleeps forever with `std::thread::sleep`, which waits in the host.
#![allow(missing_docs)]

use gate_policy_sdk::prelude::*;
use std::time::Duration;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("hostile-sleep", "Sleeps forever.").targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, _object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

export_policy!(Hostile);
