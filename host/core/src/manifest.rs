//! Parsing manifests: multi-document YAML and JSON streams, with `List` kinds
//! flattened and each object's source position kept.

use crate::error::{Error, Result};
use crate::resource::{Origin, Resource};
use serde::Serialize;
use serde_json::Value;

/// The syntax of a manifest stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML, possibly many documents separated by `---`.
    Yaml,
    /// JSON, possibly many values one after the other.
    Json,
}

impl Format {
    /// The format of a file, from its extension; `None` if gate does not read it.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// Guesses the format of a stream with no name (stdin): JSON if it starts with `{` or `[`.
    pub fn sniff(text: &str) -> Format {
        match text.trim_start().as_bytes().first() {
            Some(b'{' | b'[') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// A document that is not a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Where it is.
    #[serde(flatten)]
    pub origin: Origin,
    /// Why it was skipped.
    pub reason: String,
}

/// What a stream holds.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The objects, in order, with `List` items flattened.
    pub resources: Vec<Resource>,
    /// Documents that are not objects.
    pub skipped: Vec<Skipped>,
}

/// Parses a manifest stream. `file` names it in positions and errors.
pub fn parse(file: &str, text: &str, format: Format) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Yaml => parse_yaml(file, text, &mut parsed)?,
        Format::Json => parse_json(file, text, &mut parsed)?,
    }
    Ok(parsed)
}

/// A YAML document: the line its text starts on, and the text.
struct Chunk<'a> {
    first_line: usize,
    text: &'a str,
}

/// Is this line a document marker (`---` or `...` followed by a space or the end)?
/// YAML forbids such a line inside any scalar, so splitting on it is exact.
fn is_marker(line: &str) -> bool {
    let rest = line
        .strip_prefix("---")
        .or_else(|| line.strip_prefix("..."));
    rest.is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r', '\n']))
}

fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if is_marker(line) && offset > start {
            chunks.push(Chunk {
                first_line: start_line,
                text: &text[start..offset],
            });
            start = offset;
            start_line = index + 1;
        }
        offset += line.len();
    }
    chunks.push(Chunk {
        first_line: start_line,
        text: &text[start..],
    });
    chunks
}

/// The 1-based line of the first line with content (not blank, comment, marker or
/// directive), or `None` if the document is empty.
fn content_line(chunk: &Chunk<'_>) -> Option<usize> {
    chunk.text.lines().enumerate().find_map(|(i, line)| {
        let trimmed = line.trim();
        let empty = trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with('%')
            || (is_marker(line) && trimmed.len() == 3);
        (!empty).then_some(chunk.first_line + i)
    })
}

fn parse_yaml(file: &str, text: &str, parsed: &mut Parsed) -> Result<()> {
    let mut document = 0;
    for chunk in split_documents(text) {
        let Some(line) = content_line(&chunk) else {
            continue;
        };
        let value: Value = serde_yaml_ng::from_str(chunk.text).map_err(|e| {
            let (line, column) = e
                .location()
                .map_or((line, 1), |l| (chunk.first_line + l.line() - 1, l.column()));
            Error::ManifestSyntax {
                file: file.to_owned(),
                line,
                column,
                format: "YAML",
                message: relocate(&strip_location(&e.to_string()), chunk.first_line - 1),
            }
        })?;
        let origin = Origin {
            file: file.to_owned(),
            document,
            line,
            item: None,
        };
        add_document(value, origin, parsed);
        document += 1;
    }
    Ok(())
}

/// serde_yaml appends " at line L column C" with positions relative to the
/// document; gate reports its own absolute position, so drop theirs.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Shifts every "line N" in a parser message by `offset`: serde_yaml counts lines
/// from the start of the document, users count them from the start of the file.
fn relocate(message: &str, offset: usize) -> String {
    if offset == 0 {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let (before, after) = rest.split_at(at + 5);
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn parse_json(file: &str, text: &str, parsed: &mut Parsed) -> Result<()> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut document = 0;
    loop {
        let before = stream.byte_offset();
        let Some(next) = stream.next() else {
            return Ok(());
        };
        let value = next.map_err(|e| Error::ManifestSyntax {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
            format: "JSON",
            message: strip_location(&e.to_string()),
        })?;
        let start = before + text[before..].len() - text[before..].trim_start().len();
        let line = 1 + text.as_bytes()[..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        let origin = Origin {
            file: file.to_owned(),
            document,
            line,
            item: None,
        };
        add_document(value, origin, parsed);
        document += 1;
    }
}

/// Takes one document that arrived already parsed (an admission request's object):
/// the same rules as a document of a stream, at `origin`.
pub fn from_value(value: Value, origin: Origin) -> Parsed {
    let mut parsed = Parsed::default();
    add_document(value, origin, &mut parsed);
    parsed
}

fn is_object(value: &Value) -> bool {
    value["apiVersion"].is_string() && value["kind"].is_string()
}

fn add_document(value: Value, origin: Origin, parsed: &mut Parsed) {
    if value.is_null() {
        return;
    }
    if !is_object(&value) {
        parsed.skipped.push(Skipped {
            origin,
            reason: "not a Kubernetes object: no apiVersion and kind".to_owned(),
        });
        return;
    }
    let kind = value["kind"].as_str().unwrap_or_default();
    if kind.ends_with("List") && value["items"].is_array() {
        let Value::Object(mut list) = value else {
            return;
        };
        let Some(Value::Array(items)) = list.remove("items") else {
            return;
        };
        for (i, item) in items.into_iter().enumerate() {
            let origin = Origin {
                item: Some(i),
                ..origin.clone()
            };
            if is_object(&item) {
                parsed.resources.push(Resource {
                    origin,
                    object: item,
                });
            } else {
                parsed.skipped.push(Skipped {
                    origin,
                    reason: "List item is not a Kubernetes object: no apiVersion and kind"
                        .to_owned(),
                });
            }
        }
        return;
    }
    parsed.resources.push(Resource {
        origin,
        object: value,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Parsed {
        parse("f.yaml", text, Format::Yaml).unwrap()
    }

    #[test]
    fn keeps_the_line_where_each_document_starts() {
        let p = yaml(
            "# leading comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\n# Source: chart/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n",
        );
        let lines: Vec<_> = p.resources.iter().map(|r| r.origin.line).collect();
        assert_eq!(lines, [2, 8]);
        assert_eq!(p.resources[1].origin.document, 1);
        assert_eq!(p.resources[1].name(), "b");
    }

    #[test]
    fn flattens_lists_and_their_items_keep_an_index() {
        let p = yaml(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n- {foo: bar}\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\n",
        );
        let names: Vec<_> = p.resources.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["p", "s"]);
        assert_eq!(p.resources[1].origin.item, Some(2));
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].origin.item, Some(1));
    }

    #[test]
    fn typed_lists_are_flattened_too() {
        let p = yaml(
            "apiVersion: v1\nkind: PodList\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
        );
        assert_eq!(p.resources.len(), 1);
        assert_eq!(p.resources[0].kind(), "Pod");
    }

    #[test]
    fn documents_without_kind_are_skipped_not_errors() {
        let p = yaml(
            "resources:\n- a.yaml\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
        );
        assert_eq!(p.resources.len(), 1);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].origin.line, 1);
    }

    #[test]
    fn malformed_yaml_names_the_absolute_line_and_column() {
        let err = parse(
            "bad.yaml",
            "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: [unclosed\n",
            Format::Yaml,
        )
        .unwrap_err();
        let Error::ManifestSyntax { file, line, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(file, "bad.yaml");
        assert!(
            *line >= 7,
            "error line {line} must point into the second document"
        );
        assert!(err.to_string().starts_with("bad.yaml:"), "{err}");
        for relative in ["line 1 ", "line 2 ", "line 3 ", "line 4 "] {
            assert!(
                !err.to_string().contains(relative),
                "positions must be absolute: {err}"
            );
        }
    }

    #[test]
    fn tab_indentation_is_an_error_with_position() {
        let err = parse(
            "t.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n",
            Format::Yaml,
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::ManifestSyntax { line: 4, .. }),
            "{err}"
        );
    }

    #[test]
    fn reads_json_streams_with_lines() {
        let p = parse(
            "f.json",
            "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}",
            Format::Json,
        )
        .unwrap();
        let lines: Vec<_> = p.resources.iter().map(|r| r.origin.line).collect();
        assert_eq!(lines, [1, 3]);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = parse("f.json", "{\n  \"kind\": \"Pod\",\n  oops\n}", Format::Json).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ManifestSyntax {
                    line: 3,
                    format: "JSON",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_marker_inside_a_block_scalar_needs_indentation_so_is_not_split() {
        let p = yaml(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: |\n    ---\n    y\n",
        );
        assert_eq!(p.resources.len(), 1);
        assert_eq!(p.resources[0].object["data"]["x"], "---\ny\n");
    }
}
