//! The host side of the `gate:policy` contract: the only `bindgen!` calls in
//! gate, one per supported version of the contract.
#![allow(missing_docs)]

/// `gate:policy@0.2.0` (`wit/policy.wit`), the current contract.
pub mod v2 {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "policy",
    });

    pub use gate::policy::types::{
        AdmissionRequest, ClusterInfo, KindSelector, Operation, Severity, Violation,
    };
}

/// `gate:policy@0.1.0` (`wit/v0.1.0/policy.wit`), frozen: components built
/// against it still run.
pub mod v1 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "policy",
    });
}
