//! Reading YAML as Kubernetes does. kubectl and the API machinery split a stream
//! with `YAMLReader`, parse each piece with go-yaml v2 (a port of libyaml, YAML
//! 1.1), and convert it to JSON with sigs.k8s.io/yaml. This module does the same
//! with libyaml's Rust port, so that gate judges the object the cluster gets.

mod compose;
mod decode;
mod error;
pub mod resolve;
pub mod split;

pub use error::{Problem, YamlError};
use serde_json::Value;

/// One document of a stream.
#[derive(Debug)]
pub struct Document {
    /// The document as JSON; never null (null documents are dropped, as kubectl does).
    pub value: Value,
    /// The 1-based line where its content starts.
    pub line: usize,
}

/// Reads every document of a YAML stream; lines in errors are absolute.
pub fn parse(text: &str) -> Result<Vec<Document>, YamlError> {
    documents(text)?.collect()
}

/// The documents of a YAML stream, each parsed when the iterator reaches it: a
/// caller that is done with each document before the next one never holds the
/// parsed trees of a whole large file. The stream is split first, so a bad
/// separator anywhere fails before any document is read; lines in errors are
/// absolute.
pub fn documents(
    text: &str,
) -> Result<impl Iterator<Item = Result<Document, YamlError>>, YamlError> {
    let chunks = split::split(text)
        .map_err(|bad| YamlError::at(bad.line.saturating_sub(1), 3, Problem::BadSeparator))?;
    Ok(chunks.into_iter().filter_map(|chunk| {
        let offset = chunk.first_line - 1;
        let document = compose::compose(&chunk.text)
            .map_err(|e| e.shifted(offset))
            .and_then(|tree| {
                let line = tree
                    .root
                    .and_then(|root| tree.nodes.get(root))
                    .map_or(chunk.first_line, |node| node.line + 1 + offset);
                let value = decode::decode(&tree).map_err(|e| e.shifted(offset))?;
                Ok(Document { value, line })
            });
        match document {
            Ok(document) if document.value.is_null() => None,
            other => Some(other),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        let mut docs = parse(text).unwrap();
        assert_eq!(docs.len(), 1, "{text}");
        docs.remove(0).value
    }

    fn problem(text: &str) -> YamlError {
        parse(text).unwrap_err()
    }

    #[test]
    fn merge_keys_apply_in_order_as_go_yaml_v2_does() {
        // An explicit key before the merge is overridden by it; one after wins.
        assert_eq!(one("x: 1\n<<: {x: 2, z: 3}\n"), json!({"x": 2, "z": 3}));
        assert_eq!(one("<<: {x: 2}\nx: 1\n"), json!({"x": 1}));
        // In a list of maps the earlier map wins.
        assert_eq!(
            one("a: &a {p: 1, q: 1}\nb:\n  <<: [{p: 2}, *a]\n").get("b"),
            Some(&json!({"p": 2, "q": 1}))
        );
        assert_eq!(one("<<: {<<: {a: 1}, b: 2}\n"), json!({"a": 1, "b": 2}));
        assert_eq!(one("'<<': {a: 1}\n"), json!({"<<": {"a": 1}}));
    }

    #[test]
    fn merge_needs_mappings() {
        for text in ["<<: 1\n", "<<: ~\n", "x: &s [1]\n<<: *s\n", "<<: [1]\n"] {
            assert_eq!(problem(text).problem, Problem::MergeNotMapping, "{text}");
        }
    }

    #[test]
    fn the_kind_can_hide_behind_a_merge_key() {
        let v = one("<<: {apiVersion: v1, kind: Pod}\nmetadata: {name: p}\n");
        assert_eq!(v["kind"], "Pod");
    }

    #[test]
    fn duplicate_keys_are_errors_with_both_lines() {
        let e = problem("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!(e.line, 3);
        assert_eq!(e.problem, Problem::DuplicateKey { first_line: 3 });
        // `yes` and `true` are the same key in YAML 1.1.
        assert!(matches!(
            problem("yes: 1\ntrue: 2\n").problem,
            Problem::DuplicateKey { .. }
        ));
        // `1` and `"1"` are different YAML keys but one JSON key.
        assert!(matches!(
            problem("1: a\n'1': b\n").problem,
            Problem::DuplicateKey { .. }
        ));
        assert!(matches!(
            problem("<<: {1: a}\n'1': b\n").problem,
            Problem::CollidingKeys { .. }
        ));
        assert!(matches!(
            problem("<<: {a: 1}\n<<: {b: 1}\n").problem,
            Problem::DuplicateKey { .. }
        ));
    }

    #[test]
    fn keys_become_strings_like_sigs_yaml() {
        assert_eq!(
            one("1: a\ny: b\n1.5: c\n1e6: d\n!!binary aGk=: e\n"),
            json!({"1": "a", "true": "b", "1.5": "c", "1e+06": "d", "hi": "e"})
        );
        for text in ["~: a\n", "18446744073709551615: a\n"] {
            assert_eq!(problem(text).problem, Problem::UnsupportedKey, "{text}");
        }
        assert_eq!(problem("? [a]\n: 1\n").problem, Problem::CollectionKey);
    }

    #[test]
    fn anchors_and_aliases_copy_values_and_refuse_recursion() {
        assert_eq!(
            one("a: &x {b: 1}\nc: *x\n"),
            json!({"a": {"b": 1}, "c": {"b": 1}})
        );
        assert_eq!(one("&k a: 1\nb: *k\n"), json!({"a": 1, "b": "a"}));
        assert_eq!(problem("a: &x [*x]\n").problem, Problem::RecursiveAlias);
        assert_eq!(problem("a: *nope\n").problem, Problem::UnknownAnchor);
    }

    #[test]
    fn an_alias_bomb_is_refused_after_a_bounded_amount_of_work() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..=9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert_eq!(problem(&text).problem, Problem::ExcessiveAliasing);
    }

    #[test]
    fn a_few_aliases_are_fine() {
        let mut text = String::from("base: &b {x: 1}\n");
        for i in 0..200 {
            text.push_str(&format!("k{i}: *b\n"));
        }
        assert_eq!(one(&text)["k199"], json!({"x": 1}));
    }

    #[test]
    fn nesting_is_capped() {
        let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
        assert_eq!(problem(&deep).problem, Problem::TooDeep);
    }

    #[test]
    fn only_the_first_document_of_a_piece_is_read_as_kubectl_does() {
        assert_eq!(one("a: 1\n...\nb: 2\n"), json!({"a": 1}));
        // libyaml (and go-yaml) skip `...` only after a document.
        assert!(parse("...\nb: 2\n").is_err());
    }

    #[test]
    fn a_panic_in_the_yaml_parser_is_an_error() {
        // libyaml-safer panics here (scanner "TODO"); kubectl refuses the input.
        assert_eq!(
            problem("a: {b: !!str, c: d}\n").problem,
            Problem::ParserGaveUp
        );
    }

    #[test]
    fn go_yaml_v2_refusals_that_libyaml_0_2_lifted() {
        assert_eq!(problem("a: \"x\\/y\"\n").problem, Problem::SlashEscape);
        assert_eq!(problem("a: [b?c]\n").problem, Problem::QuestionMarkInFlow);
        assert_eq!(one("a: \"x\\\\/y\"\n"), json!({"a": "x\\/y"}));
    }

    #[test]
    fn nan_and_infinity_are_refused_like_kubectl() {
        for text in ["a: .nan\n", "a: -.Inf\n"] {
            assert_eq!(problem(text).problem, Problem::NotJsonNumber, "{text}");
        }
    }

    #[test]
    fn tags_follow_go_yaml() {
        assert_eq!(
            one("a: !!str 1\nb: !!int \"2\"\nc: !custom 3\nd: !!binary aGk=\ne: !!null {x: 1}\n"),
            json!({"a": "1", "b": 2, "c": "3", "d": "hi", "e": {"x": 1}})
        );
        assert!(matches!(
            problem("a: !!bool \"1\"\n").problem,
            Problem::Tag(_)
        ));
        assert_eq!(problem("a: !!binary \"@@\"\n").problem, Problem::Binary);
    }

    #[test]
    fn errors_never_quote_the_document() {
        let secret = "hunter2-s3cr3t";
        for text in [
            format!("a: !!int {secret}\n"),
            format!("a: {secret}\na: {secret}\n"),
            format!("a: \"{secret}\n"),
            format!("a: [{secret}\n"),
            format!("{secret}: &x [*x]\n"),
            format!("--- {secret}\n"),
        ] {
            let e = problem(&text);
            assert!(
                !e.problem.to_string().contains("s3cr3t"),
                "{text}: {}",
                e.problem
            );
        }
    }
}
