//! Parsing manifests: multi-document YAML and JSON streams, read as kubectl
//! reads them (see [`crate::yaml`]), with list documents flattened and each
//! object's source position kept.

mod json;
mod objects;

use crate::error::{Error, Result};
use crate::resource::Origin;
use crate::resource::Resource;
use crate::yaml;
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

/// How far kubectl looks for the `{` that makes a stream JSON.
const SNIFF_BYTES: usize = 4096;

impl Format {
    /// The format a file name suggests; `None` if gate does not read such files
    /// when it walks a directory (kubectl reads the same extensions).
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The format kubectl reads a stream as, whatever its name: JSON if its first
    /// 4096 bytes, less leading whitespace, start with `{`, else YAML.
    pub fn sniff(text: &str) -> Format {
        let mut end = text.len().min(SNIFF_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        match text[..end]
            .trim_start_matches(yaml::split::go_is_space)
            .as_bytes()
            .first()
        {
            Some(b'{') => Format::Json,
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
    /// The objects, in order, with list items flattened.
    pub resources: Vec<Resource>,
    /// Documents that are not objects.
    pub skipped: Vec<Skipped>,
}

/// Parses a manifest stream as kubectl would. `file` names it in positions and errors.
pub fn parse(file: &str, text: &str) -> Result<Parsed> {
    parse_with(file, text, |_| ())
}

/// [`parse`], handing each object to `each` as soon as its document is parsed,
/// before the next document is: a caller that slims objects (see
/// [`Resource::slim`]) holds at most one document's parsed tree at a time.
pub fn parse_with(file: &str, text: &str, each: impl FnMut(&mut Resource)) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    match Format::sniff(text) {
        Format::Yaml => parse_yaml(file, text, &mut parsed, each)?,
        Format::Json => parse_json(file, text, &mut parsed, each)?,
    }
    Ok(parsed)
}

/// Adds a document's objects to `parsed`, and hands each to `each`.
fn add_document(
    value: Value,
    origin: Origin,
    parsed: &mut Parsed,
    each: &mut impl FnMut(&mut Resource),
) -> Result<()> {
    let before = parsed.resources.len();
    objects::add_document(value, origin, parsed)?;
    parsed.resources[before..].iter_mut().for_each(each);
    Ok(())
}

/// Takes one document that arrived already parsed (an admission request's object):
/// the same rules as a document of a stream, at `origin`.
pub fn from_value(value: Value, origin: Origin) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    objects::add_document(value, origin, &mut parsed)?;
    Ok(parsed)
}

fn parse_yaml(
    file: &str,
    text: &str,
    parsed: &mut Parsed,
    mut each: impl FnMut(&mut Resource),
) -> Result<()> {
    let syntax = |e: yaml::YamlError| Error::ManifestSyntax {
        file: file.to_owned(),
        line: e.line + 1,
        column: e.column + 1,
        format: "YAML",
        message: e.problem.to_string(),
    };
    for (document, doc) in yaml::documents(text).map_err(syntax)?.enumerate() {
        let doc = doc.map_err(syntax)?;
        let origin = Origin {
            file: file.to_owned(),
            document,
            line: doc.line,
            item: None,
        };
        add_document(doc.value, origin, parsed, &mut each)?;
    }
    Ok(())
}

/// serde_json appends " at line L column C"; gate reports the position itself.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn parse_json(
    file: &str,
    text: &str,
    parsed: &mut Parsed,
    mut each: impl FnMut(&mut Resource),
) -> Result<()> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<json::Strict>();
    let mut document = 0;
    loop {
        let before = stream.byte_offset();
        let Some(next) = stream.next() else {
            return Ok(());
        };
        let json::Strict(value) = next.map_err(|e| Error::ManifestSyntax {
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
        if !value.is_null() {
            add_document(value, origin, parsed, &mut each)?;
            document += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Parsed {
        parse("f.yaml", text).unwrap()
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
        )
        .unwrap();
        let lines: Vec<_> = p.resources.iter().map(|r| r.origin.line).collect();
        assert_eq!(lines, [1, 3]);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = parse("f.json", "{\n  \"kind\": \"Pod\",\n  oops\n}").unwrap_err();
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
