//! The generated bindings of the `gate:policy` world. Policies rarely need them
//! directly: implement [`crate::Policy`] and use [`crate::export_policy!`].
#![allow(missing_docs, clippy::too_many_arguments)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "policy",
    pub_export_macro: true,
    export_macro_name: "export",
    default_bindings_module: "::gate_policy_sdk::bindings",
    runtime_path: "::gate_policy_sdk::wit_bindgen::rt",
});

pub use gate::policy::types::{
    AdmissionRequest, ClusterInfo, Control, KindSelector, Operation, Severity, Violation,
};
