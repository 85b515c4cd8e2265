//! gate's admission webhook: `gate serve`.
//!
//! A thin adapter onto the engine. It owns the AdmissionReview protocol
//! ([`review`], [`verdict`]), HTTP and TLS ([`router`], [`server`], [`tls`]),
//! metrics ([`metrics`]) and hot reload ([`reload`]); judging is one call to
//! [`gate_engine::evaluate`] per request ([`judge`]), with the bundle that was
//! served when the request arrived.

pub mod args;
mod error;
pub mod judge;
pub mod metrics;
pub mod reload;
pub mod review;
pub mod router;
pub mod server;
pub mod state;
pub mod tls;
pub mod verdict;

pub use args::ServeArgs;
pub use error::{Error, Result};
pub use router::router;
pub use state::{AppState, RequestSettings};
