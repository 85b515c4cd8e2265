//! gate's compliance evidence, for every front door.
//!
//! After the engine's one call returns a [`gate_core::report::Report`], a front
//! door makes a signed evaluation record with one more: [`Attester::seal`] (or
//! [`Attester::write`]). A record is an in-toto Statement v1
//! (predicate `https://gate.dev/evaluation/v1`, [`predicate::Evaluation`]) in a
//! DSSE envelope ([`Envelope`]), signed with an ECDSA P-256 key
//! ([`SigningKey`]: PKCS#8 PEM, or the encrypted key cosign writes). Its
//! subjects are the sha256 of what was judged ([`subjects`] for `gate check`,
//! [`tree_subjects`] and [`stream_subject`] for renders); [`compare`] tells which
//! files changed since. The crate also holds the framework view of a run
//! ([`controls`]) and the expiry of exceptions ([`exceptions`]). It has no CLI.
//!
//! Every front door (`gate check`, the Argo CD plugin, the Flux controller and
//! `gate flux check`) seals through one [`Attester`], so the key is read and the
//! record built and signed the same way everywhere. The crate's only IO is
//! reading that key and the files it is pointed at, and writing a record.

mod attester;
pub mod controls;
mod cosign_key;
mod dsse;
mod error;
pub mod exceptions;
mod keys;
pub mod predicate;
mod record;
mod statement;
mod subjects_check;
mod tree;

pub use attester::{Attester, PASSWORD_VARIABLES, write_atomically};
pub use dsse::{Envelope, EnvelopeSignature, PAYLOAD_TYPE, Verification, pae};
pub use error::{Error, Result};
pub use keys::{SigningKey, VerifyingKey};
pub use record::Record;
pub use statement::{PREDICATE_TYPE, STATEMENT_TYPE, STDIN_NAME, Statement, Subject, subjects};
pub use subjects_check::{SubjectDiff, compare};
pub use tree::{MAX_TREE_FILES, RENDER_NAME, is_stream_name, stream_subject, tree_subjects};
