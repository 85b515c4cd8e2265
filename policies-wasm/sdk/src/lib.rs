//! Write gate policies in Rust.
//!
//! A policy is a type that implements [`Policy`], exported with [`export_policy!`]
//! from a `cdylib` crate built for `wasm32-wasip2`:
//!
//! ```ignore
//! use gate_policy_sdk::prelude::*;
//!
//! #[derive(Default, Deserialize, JsonSchema)]
//! #[serde(default, deny_unknown_fields)]
//! struct Settings {}
//!
//! struct NoLatest;
//!
//! impl Policy for NoLatest {
//!     type Settings = Settings;
//!     fn info() -> Info { Info::new("no-latest", "No :latest images").targets(workload_kinds()) }
//!     fn new(_: Settings) -> Result<Self, Vec<SettingsError>> { Ok(NoLatest) }
//!     fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
//!         containers(object)
//!             .filter(|c| c.image().ends_with(":latest"))
//!             .map(|c| Violation::new(c.path.key("image"), "uses :latest"))
//!             .collect()
//!     }
//! }
//!
//! export_policy!(NoLatest);
//! ```
//!
//! The SDK owns the bindings of the WIT contract (`wit/policy.wit`,
//! `gate:policy@0.2.0`), hands each policy the cluster facts and the admission
//! request through [`Render`], decodes the
//! settings (errors name the field), and walks pod specs and containers of every
//! workload kind with exact field paths.

extern crate self as gate_policy_sdk;

pub mod bindings;
mod glue;
mod image;
mod matching;
mod object;
mod path;
mod pod;
mod policy;
pub mod quantity;
mod security_context;

pub use gate_tape::{Kind, Node};
pub use image::ImageRef;
pub use matching::{LabelSelector, container_exempt, image_matches};
pub use object::{Admission, Cluster, Object, Operation, Render};
pub use path::FieldPath;
pub use pod::{Container, ContainerList, PodSpec, Volume, containers, pod_spec, workload_kinds};
pub use policy::{Control, Info, KindSelector, Policy, SettingsError, Severity, Violation};
pub use security_context::SecurityContext;

#[doc(hidden)]
pub use glue::{describe, evaluate, validate_settings};

/// Re-exports for `derive(JsonSchema)` and `derive(Deserialize)` in policy crates.
pub use schemars;
pub use serde;
#[doc(hidden)]
pub use wit_bindgen;

/// Everything a policy crate usually needs.
pub mod prelude {
    pub use crate::schemars::{self, JsonSchema};
    pub use crate::serde::{self, Deserialize};
    pub use crate::{
        Container, ContainerList, Control, FieldPath, ImageRef, Info, KindSelector, Node, Object,
        Operation, PodSpec, Policy, Render, SettingsError, Severity, Violation, containers,
        export_policy, pod_spec, workload_kinds,
    };
}

/// Exports a [`Policy`] implementation as the component's `policy` world.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        struct __GatePolicyExport;

        impl $crate::bindings::Guest for __GatePolicyExport {
            fn describe() -> $crate::bindings::PolicyInfo {
                $crate::describe::<$policy>()
            }

            fn validate_settings(
                settings: ::std::string::String,
            ) -> ::std::result::Result<(), ::std::vec::Vec<$crate::bindings::SettingsError>> {
                $crate::validate_settings::<$policy>(&settings)
            }

            fn evaluate(
                request: $crate::bindings::Evaluation,
            ) -> ::std::result::Result<
                ::std::vec::Vec<$crate::bindings::Verdict>,
                ::std::string::String,
            > {
                $crate::evaluate::<$policy>(request)
            }
        }

        $crate::bindings::export!(__GatePolicyExport with_types_in $crate::bindings);
    };
}
