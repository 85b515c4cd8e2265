//! Tries to remember: looks for what an earlier evaluation left in its memory
//! (a static of the data segment, a zero-initialised one, and one page in every
//! four of a 256 KiB zeroed array), reports it as a violation, then leaves its
//! own marks. Within one instance the second object finds the first one's marks;
//! across instances, on a reused pooled slot, nothing may be found.
#![allow(missing_docs)]

use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use gate_policy_sdk::prelude::*;

const PAGE: usize = 4096;
const PRISTINE: u64 = u64::from_le_bytes(*b"pristine");

/// In the data segment: starts as `PRISTINE`.
static IMAGE: AtomicU64 = AtomicU64::new(PRISTINE);
/// Zero-initialised: counts evaluations.
static SEEN: AtomicU32 = AtomicU32::new(0);
/// Zero-initialised, many pages.
static PAGES: [AtomicU8; 64 * PAGE] = [const { AtomicU8::new(0) }; 64 * PAGE];

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "hostile-remember",
            "Reports anything an earlier evaluation left in memory.",
        )
        .targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let mut left = Vec::new();
        let seen = SEEN.fetch_add(1, Ordering::Relaxed);
        if seen != 0 {
            left.push(format!("{seen} earlier evaluations counted"));
        }
        if IMAGE.swap(!PRISTINE, Ordering::Relaxed) != PRISTINE {
            left.push("the data segment changed".to_owned());
        }
        let marked = (0..PAGES.len())
            .step_by(PAGE * 4)
            .filter(|&i| PAGES[i].swap(1, Ordering::Relaxed) != 0)
            .count();
        if marked != 0 {
            left.push(format!("{marked} zeroed pages marked"));
        }
        if left.is_empty() {
            return Vec::new();
        }
        vec![Violation::new(
            "metadata.name",
            format!("{} remembers: {}", object.name(), left.join(", ")),
        )]
    }
}

export_policy!(Hostile);
