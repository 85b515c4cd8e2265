//! The evaluation record of a judged source revision, sealed by the attester
//! every front door shares. Its revision is the Flux source revision (in the
//! report's context); its subjects bind it to what was judged and published:
//!
//! - `<source-artifact>`: the source artifact, by the digest Flux gave and gate
//!   verified before reading it;
//! - `<render>`: the judged objects as one YAML stream (`manifests.yaml` of the
//!   published artifact);
//! - `<artifact>`: the published tar.gz, when the revision was approved;
//! - every file of the rendered directory, named relative to it.

use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::judge::Judgement;
use gate_evidence::{Attester, RENDER_NAME, Subject, stream_subject};

/// The subject name of the source artifact.
pub const SOURCE_ARTIFACT_NAME: &str = "<source-artifact>";
/// The subject name of the published artifact.
pub const ARTIFACT_NAME: &str = "<artifact>";

/// The record's subjects; `published` is the digest of the stored artifact, if any.
pub fn subjects(
    judgement: &Judgement,
    source_digest: &str,
    published: Option<&Sha256Digest>,
) -> Vec<Subject> {
    let mut subjects = vec![
        Subject::sha256(SOURCE_ARTIFACT_NAME, source_digest),
        stream_subject(RENDER_NAME, judgement.stream.as_bytes()),
    ];
    if let Some(digest) = published {
        subjects.push(Subject::sha256(ARTIFACT_NAME, &digest.to_string()));
    }
    subjects.extend(judgement.files.iter().cloned());
    subjects
}

/// The sealed record, as the JSON bytes written and served.
pub fn seal(
    attester: &Attester,
    judgement: &Judgement,
    source_digest: &str,
    published: Option<&Sha256Digest>,
) -> Result<Vec<u8>> {
    let envelope = attester
        .seal(
            &judgement.report,
            subjects(judgement, source_digest, published),
        )
        .map_err(Error::Record)?;
    Ok(envelope.to_json().map_err(Error::Record)?.into_bytes())
}
