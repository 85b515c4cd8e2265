//! Recurses until the call stack overflows.
#![allow(missing_docs)]

use gate_policy_sdk::prelude::*;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

/// Not a tail call, and opaque to the optimiser: every level is a real frame.
#[inline(never)]
#[allow(unconditional_recursion)]
fn descend(depth: u64) -> u64 {
    let next = std::hint::black_box(depth + 1);
    std::hint::black_box(descend(next)) ^ depth
}

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "hostile-recursion",
            "Recurses until the call stack overflows.",
        )
        .targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let depth = descend(object.name().len() as u64);
        vec![Violation::new("", format!("reached {depth}"))]
    }
}

export_policy!(Hostile);
