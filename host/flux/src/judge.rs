//! Rendering a directory of an extracted artifact and judging the render, through
//! the same engine calls as `gate check` and the Argo CD plugin.

use crate::error::{Error, Result};
use crate::pack::{Packed, pack};
use gate_core::report::Report;
use gate_engine::evaluate::{EvaluateOptions, evaluate};
use gate_engine::loader::LoadedBundle;
use gate_engine::render::{RenderOptions, Renderer, render_dir, to_stream};
use gate_engine::sources::Loaded;
use gate_runtime::Runtime;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The file that holds the judged render in a published artifact.
pub const RENDER_FILE: &str = "manifests.yaml";

/// A judged render.
#[derive(Debug)]
pub struct Judgement {
    /// The engine's report.
    pub report: Report,
    /// Exactly the objects judged, as one YAML stream (what gets published).
    pub stream: String,
    /// What rendered the directory.
    pub renderer: Renderer,
    /// Every file of the rendered directory, named relative to it, with its
    /// digest: what the render was made from (the record's file subjects).
    pub files: Vec<gate_evidence::Subject>,
}

impl Judgement {
    /// The artifact to publish: the judged render, packed as Flux packs artifacts.
    pub fn pack(&self) -> Result<Packed> {
        let mut files = BTreeMap::new();
        files.insert(RENDER_FILE.to_owned(), self.stream.clone().into_bytes());
        pack(&files)
    }
}

/// The directory `path` names inside `tree`: relative, never climbing out, and
/// existing as a directory. The tree holds no links (see [`crate::extract`]), so
/// a path made of normal components cannot lead anywhere else.
pub fn resolve_path(tree: &Path, path: &str) -> Result<PathBuf> {
    let refuse = |reason: &str| Error::RenderPath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut dir = tree.to_owned();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(name) => dir.push(name),
            Component::CurDir => {}
            // A leading `/` means the artifact root, as in a Kustomization's spec.path.
            Component::RootDir if dir == tree => {}
            _ => return Err(refuse("must stay inside the artifact (no `..`)")),
        }
    }
    if !dir.is_dir() {
        return Err(refuse("is not a directory of the artifact"));
    }
    Ok(dir)
}

/// Renders `path` of `tree` and judges the render with `bundle`.
pub fn judge(
    tree: &Path,
    path: &str,
    runtime: &Runtime,
    bundle: &LoadedBundle,
    evaluate_options: &EvaluateOptions,
    render_options: &RenderOptions,
) -> Result<Judgement> {
    let dir = resolve_path(tree, path)?;
    let files = gate_evidence::tree_subjects(&dir).map_err(Error::Record)?;
    let rendered = render_dir(&dir, render_options).map_err(|e| Error::Render {
        path: path.to_owned(),
        message: relative_to(tree, &e.to_string()),
    })?;
    let mut loaded = rendered.loaded;
    relabel(&mut loaded, tree);
    // Written before the engine takes the render: the stream is the judged objects.
    let stream = to_stream(&loaded.resources);
    let report = evaluate(runtime, bundle, loaded, evaluate_options);
    Ok(Judgement {
        report,
        stream,
        renderer: rendered.renderer,
        files,
    })
}

/// Names files relative to the artifact root instead of the temporary directory
/// it was extracted to, so reports and messages show the paths a user knows.
fn relabel(loaded: &mut Loaded, tree: &Path) {
    for resource in &mut loaded.resources {
        resource.origin.file = relative_to(tree, &resource.origin.file);
    }
    for skipped in &mut loaded.skipped {
        skipped.origin.file = relative_to(tree, &skipped.origin.file);
    }
    for error in &mut loaded.errors {
        error.message = relative_to(tree, &error.message);
        if let Some(file) = &mut error.file {
            *file = relative_to(tree, file);
        }
    }
}

fn relative_to(tree: &Path, text: &str) -> String {
    let prefix = format!("{}/", tree.display());
    text.replace(&prefix, "")
        .replace(&tree.display().to_string(), ".")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_path_stays_inside_the_artifact() {
        let tree = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tree.path().join("apps/prod")).unwrap();
        std::fs::write(tree.path().join("file.yaml"), "x").unwrap();
        for ok in ["./", ".", "", "/", "apps/prod", "./apps/prod/", "/apps"] {
            assert!(resolve_path(tree.path(), ok).is_ok(), "{ok:?}");
        }
        for bad in ["../", "apps/../../x", "missing", "file.yaml", "apps/../.."] {
            assert!(resolve_path(tree.path(), bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_shown_relative_to_the_artifact() {
        let tree = Path::new("/tmp/gate/tree-x");
        assert_eq!(
            relative_to(tree, "/tmp/gate/tree-x/apps/a.yaml:3: bad"),
            "apps/a.yaml:3: bad"
        );
        assert_eq!(
            relative_to(tree, "kubectl build /tmp/gate/tree-x"),
            "kubectl build ."
        );
    }
}
