//! Which documents are objects, as kubectl decides: a document with an `items`
//! key is a list whatever its kind (its items are the objects, and items without
//! `kind` and `apiVersion` take them from the list, as for a `PodList`); any
//! other mapping with a `kind` is an object.

use super::{Parsed, Skipped};
use crate::error::{Error, Result};
use crate::resource::{Origin, Resource};
use serde_json::{Map, Value};

/// Adds one document's objects to `parsed`, or says why kubectl would not apply it.
pub fn add_document(value: Value, origin: Origin, parsed: &mut Parsed) -> Result<()> {
    let Value::Object(mut object) = value else {
        if !value.is_null() {
            let reason = "not a Kubernetes object: the document is not a mapping";
            skip(parsed, origin, reason.into());
        }
        return Ok(());
    };
    if !object.contains_key("items") {
        return add_object(object, origin, parsed);
    }
    // kubectl needs the list's own kind, and reads its apiVersion for the items.
    if let Some(reason) = type_problem(&object, false) {
        skip(parsed, origin, format!("not a Kubernetes object: {reason}"));
        return Ok(());
    }
    let list_kind = nested_string(&object, "kind").to_owned();
    let list_version = nested_string(&object, "apiVersion").to_owned();
    let items = match object.remove("items") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => return Ok(()),
        Some(_) => return Err(list_error(&origin, "`items` is not a list")),
    };
    for (index, item) in items.into_iter().enumerate() {
        let origin = Origin {
            item: Some(index),
            ..origin.clone()
        };
        let mut item = match item {
            Value::Object(item) => item,
            Value::Null => {
                skip(
                    parsed,
                    origin,
                    "List item is not a Kubernetes object: no kind".into(),
                );
                continue;
            }
            _ => return Err(list_error(&origin, "a List item is not a mapping")),
        };
        if matches!(item.get("items"), Some(Value::Array(_))) {
            return Err(list_error(&origin, "a List item is itself a list"));
        }
        if nested_string(&item, "kind").is_empty() && nested_string(&item, "apiVersion").is_empty()
        {
            // A typed list (PodList) leaves its items' kind and apiVersion out.
            let kind = list_kind.strip_suffix("List").unwrap_or(&list_kind);
            item.insert("kind".into(), Value::String(kind.to_owned()));
            item.insert("apiVersion".into(), Value::String(list_version.clone()));
        }
        match type_problem(&item, true) {
            Some(reason) => skip(
                parsed,
                origin,
                format!("List item is not a Kubernetes object: {reason}"),
            ),
            None => parsed
                .resources
                .push(Resource::new(origin, Value::Object(item))),
        }
    }
    Ok(())
}

fn add_object(object: Map<String, Value>, origin: Origin, parsed: &mut Parsed) -> Result<()> {
    if let Some(reason) = type_problem(&object, false) {
        skip(parsed, origin, format!("not a Kubernetes object: {reason}"));
        return Ok(());
    }
    if nested_string(&object, "apiVersion").is_empty() {
        // kubectl would pick a version from the cluster's discovery; gate cannot
        // know which, so it refuses rather than judge under the wrong group.
        return Err(Error::ManifestObject {
            file: origin.file,
            line: origin.line,
            message: "the object has a kind but no apiVersion".to_owned(),
        });
    }
    parsed
        .resources
        .push(Resource::new(origin, Value::Object(object)));
    Ok(())
}

/// Why kubectl refuses an object's type information, if it does: no kind, an
/// apiVersion that is not a string or not `group/version`.
fn type_problem(object: &Map<String, Value>, need_version: bool) -> Option<&'static str> {
    match object.get("apiVersion") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(_) => return Some("apiVersion is not a string"),
    }
    if nested_string(object, "kind").is_empty() {
        return Some("no kind");
    }
    let version = nested_string(object, "apiVersion");
    if version.matches('/').count() > 1 {
        return Some("apiVersion is not group/version");
    }
    if need_version && (version.is_empty() || version == "/") {
        return Some("no apiVersion");
    }
    None
}

/// apimachinery's `getNestedString`: the string, or empty if missing or not a string.
fn nested_string<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn skip(parsed: &mut Parsed, origin: Origin, reason: String) {
    parsed.skipped.push(Skipped { origin, reason });
}

/// A list kubectl refuses as a whole.
fn list_error(origin: &Origin, message: &str) -> Error {
    let item = origin
        .item
        .map(|i| format!(" (items[{i}])"))
        .unwrap_or_default();
    Error::ManifestObject {
        file: origin.file.clone(),
        line: origin.line,
        message: format!("{message}{item}: kubectl refuses this list"),
    }
}
