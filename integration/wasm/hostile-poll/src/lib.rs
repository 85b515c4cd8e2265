//! Subscribes to the monotonic clock for the longest duration there is and
//! waits on it: with `wasi:io/poll.poll` for the object named `first`, with
//! `pollable.block` for any other. Both wait in the host.
#![allow(missing_docs)]
#![allow(unsafe_code)]

use gate_policy_sdk::prelude::*;

#[link(wasm_import_module = "wasi:clocks/monotonic-clock@0.2.6")]
unsafe extern "C" {
    #[link_name = "subscribe-duration"]
    fn subscribe_duration(nanoseconds: i64) -> i32;
    #[link_name = "subscribe-instant"]
    fn subscribe_instant(instant: i64) -> i32;
}

#[link(wasm_import_module = "wasi:io/poll@0.2.6")]
unsafe extern "C" {
    #[link_name = "poll"]
    fn poll(pollables: *const i32, count: usize, result: *mut [usize; 2]);
    #[link_name = "[method]pollable.block"]
    fn block(pollable: i32);
}

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("hostile-poll", "Waits on a clock for ever.").targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        // SAFETY: the canonical ABI of these two WASI functions: a handle in, a
        // list of handles as (pointer, length) and a return area for the result.
        unsafe {
            if object.name() == "first" {
                let pollable = subscribe_duration(-1); // u64::MAX nanoseconds
                let mut result = [0usize; 2];
                poll(&pollable, 1, &mut result);
            } else {
                let pollable = subscribe_instant(-1); // the end of time
                block(pollable);
            }
        }
        vec![Violation::new("", "woke up")]
    }
}

export_policy!(Hostile);
