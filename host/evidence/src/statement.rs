//! The in-toto Statement v1 a record carries, and its subjects: the manifests
//! judged, named relative to the roots given and identified by their sha256.

use crate::predicate::Evaluation;
use gate_core::report::InputDigest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of gate's evaluation records.
pub const PREDICATE_TYPE: &str = "https://gate.dev/evaluation/v1";
/// The name of the subject for manifests read from standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// An in-toto Statement v1 whose predicate is a gate evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The manifests judged.
    pub subject: Vec<Subject>,
    /// [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// What gate did with them.
    pub predicate: Evaluation,
}

/// One artifact the statement is about: a manifest file, or a render stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    /// The path relative to the root given, or the stream's name.
    pub name: String,
    /// Digests by algorithm; gate writes `sha256` (lowercase hex).
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// A subject from a name and a `sha256:<hex>` digest (or bare hex).
    pub fn sha256(name: impl Into<String>, digest: &str) -> Subject {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        Subject {
            name: name.into(),
            digest: BTreeMap::from([("sha256".to_owned(), hex.to_owned())]),
        }
    }
}

/// The subjects for the inputs a run read. `roots` are the paths the run was
/// given: a file found under a directory root is named relative to that
/// directory, so that a record made in one checkout verifies in another; a file
/// given by name keeps the path as given; a stream keeps its name. Without
/// roots (a front door that read one stream), every input keeps its name.
pub fn subjects(inputs: &[InputDigest], roots: &[PathBuf]) -> Vec<Subject> {
    inputs
        .iter()
        .map(|input| Subject::sha256(subject_name(&input.path, roots), &input.digest))
        .collect()
}

fn subject_name(path: &str, roots: &[PathBuf]) -> String {
    let as_path = Path::new(path);
    for root in roots {
        if root.as_os_str() == "-" || as_path == root.as_path() {
            continue;
        }
        if let Ok(relative) = as_path.strip_prefix(root)
            && !relative.as_os_str().is_empty()
        {
            return slashes(relative);
        }
    }
    slashes(as_path.strip_prefix(".").unwrap_or(as_path))
}

/// A name with `/` separators whatever the platform, as in-toto subjects are compared as text.
fn slashes(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(path: &str) -> InputDigest {
        InputDigest {
            path: path.to_owned(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        }
    }

    fn names(inputs: &[&str], roots: &[&str]) -> Vec<String> {
        let inputs: Vec<_> = inputs.iter().map(|p| input(p)).collect();
        let roots: Vec<PathBuf> = roots.iter().map(PathBuf::from).collect();
        subjects(&inputs, &roots)
            .into_iter()
            .map(|s| s.name)
            .collect()
    }

    #[test]
    fn files_under_a_directory_are_named_relative_to_it() {
        assert_eq!(
            names(&["repo/apps/a.yaml", "repo/b.yaml"], &["repo"]),
            ["apps/a.yaml", "b.yaml"]
        );
        assert_eq!(names(&["./repo/a.yaml"], &["./repo"]), ["a.yaml"]);
    }

    #[test]
    fn files_given_by_name_keep_their_path_and_streams_their_name() {
        assert_eq!(
            names(&["./x/deploy.yaml", "<stdin>"], &["./x/deploy.yaml", "-"]),
            ["x/deploy.yaml", "<stdin>"]
        );
        assert_eq!(names(&["render.yaml"], &[]), ["render.yaml"]);
    }

    #[test]
    fn digests_are_bare_hex_under_sha256() {
        let subject = &subjects(&[input("a.yaml")], &[])[0];
        assert_eq!(subject.digest["sha256"], "ab".repeat(32));
    }
}
