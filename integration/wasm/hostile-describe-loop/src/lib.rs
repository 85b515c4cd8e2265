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
        // A chain of divisions by a divisor the compiler cannot see: each step
        // costs tens of cycles for a few units of fuel, so the default fuel
        // lasts far longer than the bundle's 10 ms and only the time limit can
        // stop this loop first (a multiply chain burns its fuel in about 20 ms,
        // a race with the limit).
        let divisor = std::hint::black_box(7u64) | 1;
        let mut n: u64 = 1;
        loop {
            n = std::hint::black_box(n.wrapping_add(0x9E37_79B9_7F4A_7C15) / divisor);
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
