//! The optional mark on approved objects: `gate.dev/approved: <bundle digest>`.
//!
//! Off by default. The value changes with the bundle, so every app turns
//! OutOfSync when the bundle changes unless Argo CD ignores the annotation
//! (README, "Argo CD": `ignoreDifferences`).

use gate_core::Resource;
use serde_json::{Map, Value};

/// The annotation's key.
pub const APPROVED: &str = "gate.dev/approved";

/// Sets the annotation on every object. Objects whose `metadata` or
/// `metadata.annotations` is not a mapping are left as they are: they are
/// malformed, and the API server will say so.
pub fn annotate_approved(resources: &mut [Resource], digest: &str) {
    for resource in resources {
        let Some(object) = resource.object.as_object_mut() else {
            continue;
        };
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(metadata) = metadata.as_object_mut() else {
            continue;
        };
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if annotations.is_null() {
            *annotations = Value::Object(Map::new());
        }
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(APPROVED.to_owned(), Value::String(digest.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_core::manifest::parse;

    #[test]
    fn marks_each_object_and_keeps_its_annotations() {
        let mut resources = parse(
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {keep: me}}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, annotations: null}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .unwrap()
        .resources;
        annotate_approved(&mut resources, "sha256:1");
        for r in &resources {
            assert_eq!(r.object["metadata"]["annotations"][APPROVED], "sha256:1");
        }
        assert_eq!(resources[0].object["metadata"]["annotations"]["keep"], "me");
    }
}
