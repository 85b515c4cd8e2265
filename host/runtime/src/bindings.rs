//! The host side of the `gate:policy` contract: the only `bindgen!` in gate.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "policy",
});

pub use gate::policy::types::{KindSelector, Severity};
