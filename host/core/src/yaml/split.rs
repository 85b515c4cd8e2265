//! Splitting a YAML stream into documents the way the API machinery's
//! `YAMLReader` does (k8s.io/apimachinery/pkg/util/yaml): line by line, on every
//! line that starts with `---`. Only blanks or a comment may follow the marker on
//! its line; anything else is an error. `...` and separators inside a line are left
//! to the YAML parser, which reads only the first document of each piece.

/// One piece of the stream between separator lines.
#[derive(Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The 1-based line of the file where the piece starts.
    pub first_line: usize,
    /// The text, with `\r\n` turned into `\n` as Go's `ReadLine` does.
    pub text: String,
}

/// A separator line with something else after `---` (kubectl: "invalid Yaml
/// document separator").
#[derive(Debug, PartialEq, Eq)]
pub struct BadSeparator {
    /// Its 1-based line.
    pub line: usize,
}

/// Splits `text` into pieces; empty pieces (consecutive separators) are dropped.
pub fn split(text: &str) -> Result<Vec<Chunk>, BadSeparator> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut first_line = 1;
    let mut rest = text;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        // `ReadLine` strips "\r\n" or "\n"; a last line without newline keeps its "\r".
        let line = match rest.find('\n') {
            Some(end) => {
                let line = &rest[..end];
                rest = &rest[end + 1..];
                line.strip_suffix('\r').unwrap_or(line)
            }
            None => std::mem::take(&mut rest),
        };
        if let Some(after) = line.strip_prefix("---") {
            let trimmed = after.trim_matches(go_is_space);
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(BadSeparator { line: number });
            }
            if !current.is_empty() {
                chunks.push(Chunk {
                    first_line,
                    text: std::mem::take(&mut current),
                });
            }
            continue;
        }
        if current.is_empty() {
            first_line = number;
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.is_empty() {
        chunks.push(Chunk {
            first_line,
            text: current,
        });
    }
    Ok(chunks)
}

/// Go's `unicode.IsSpace`, which `strings.TrimSpace` uses.
pub fn go_is_space(c: char) -> bool {
    c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<(usize, String)> {
        split(input)
            .unwrap()
            .into_iter()
            .map(|c| (c.first_line, c.text))
            .collect()
    }

    #[test]
    fn splits_on_separator_lines_with_blanks_or_a_comment_after() {
        for sep in ["---", "---   ", "---\t", "--- # note", "---#note", "---\r"] {
            let input = format!("a: 1\n{sep}\nb: 2\n");
            assert_eq!(
                texts(&input),
                [(1, "a: 1\n".to_owned()), (3, "b: 2\n".to_owned())],
                "{sep:?}"
            );
        }
    }

    #[test]
    fn anything_else_after_the_marker_is_an_error_with_its_line() {
        for sep in ["--- x", "----", "--- !!map", "--- |", "--- {}", "---x"] {
            let input = format!("a: 1\n{sep}\nb: 2\n");
            assert_eq!(split(&input), Err(BadSeparator { line: 2 }), "{sep:?}");
        }
    }

    #[test]
    fn document_end_markers_and_indented_dashes_do_not_split() {
        assert_eq!(texts("a: 1\n...\nb: 2\n").len(), 1);
        assert_eq!(texts("a: |\n  ---\n").len(), 1);
        assert_eq!(texts("a: 1\r---\rb: 2\n").len(), 1);
    }

    #[test]
    fn crlf_becomes_lf_and_a_last_line_gets_its_newline() {
        assert_eq!(
            texts("a: 1\r\n---\r\nb: 2"),
            [(1, "a: 1\n".to_owned()), (3, "b: 2\n".to_owned())]
        );
    }

    #[test]
    fn leading_and_repeated_separators_make_no_empty_pieces() {
        assert_eq!(texts("---\n---\na: 1\n---\n"), [(3, "a: 1\n".to_owned())]);
        assert!(texts("").is_empty());
    }
}
