//! Splitting a YAML stream into documents the way the API machinery's
//! `YAMLReader` does (k8s.io/apimachinery/pkg/util/yaml): line by line, on every
//! line that starts with `---`. Only blanks or a comment may follow the marker on
//! its line; anything else is an error. `...` and separators inside a line are left
//! to the YAML parser, which reads only the first document of each piece.

use std::borrow::Cow;

/// One piece of the stream between separator lines.
#[derive(Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The 1-based line of the file where the piece starts.
    pub first_line: usize,
    /// The text, with `\r\n` turned into `\n` as Go's `ReadLine` does: borrowed
    /// from the stream when that changes nothing (a large file is not copied).
    pub text: Cow<'a, str>,
}

/// A separator line with something else after `---` (kubectl: "invalid Yaml
/// document separator").
#[derive(Debug, PartialEq, Eq)]
pub struct BadSeparator {
    /// Its 1-based line.
    pub line: usize,
}

/// The piece being read: a range of the stream while its lines are as `ReadLine`
/// returns them plus `\n`, a copy once one is not.
struct Piece<'a> {
    first_line: usize,
    start: usize,
    end: usize,
    copied: Option<String>,
    text: &'a str,
}

impl<'a> Piece<'a> {
    /// Adds a line that spans `raw` in the stream (its `\n` included, if it has
    /// one) and reads as `line`.
    fn push(&mut self, raw: std::ops::Range<usize>, line: &str) {
        let verbatim = self.copied.is_none()
            && raw.start == self.end
            && self.text[raw.clone()].strip_suffix('\n') == Some(line);
        if verbatim {
            self.end = raw.end;
            return;
        }
        let copied = self
            .copied
            .get_or_insert_with(|| self.text[self.start..self.end].to_owned());
        copied.push_str(line);
        copied.push('\n');
    }

    fn finish(self) -> Option<Chunk<'a>> {
        let text = match self.copied {
            Some(copied) => Cow::Owned(copied),
            None => Cow::Borrowed(&self.text[self.start..self.end]),
        };
        (!text.is_empty()).then_some(Chunk {
            first_line: self.first_line,
            text,
        })
    }
}

/// Splits `text` into pieces; empty pieces (consecutive separators) are dropped.
pub fn split(text: &str) -> Result<Vec<Chunk<'_>>, BadSeparator> {
    let mut chunks = Vec::new();
    let mut piece: Option<Piece<'_>> = None;
    let mut offset = 0;
    let mut number = 0;
    while offset < text.len() {
        number += 1;
        let rest = &text[offset..];
        // `ReadLine` strips "\r\n" or "\n"; a last line without newline keeps its "\r".
        let (line, raw_len) = match rest.find('\n') {
            Some(end) => {
                let line = &rest[..end];
                (line.strip_suffix('\r').unwrap_or(line), end + 1)
            }
            None => (rest, rest.len()),
        };
        let raw = offset..offset + raw_len;
        offset += raw_len;
        if let Some(after) = line.strip_prefix("---") {
            let trimmed = after.trim_matches(go_is_space);
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(BadSeparator { line: number });
            }
            chunks.extend(piece.take().and_then(Piece::finish));
            continue;
        }
        piece
            .get_or_insert(Piece {
                first_line: number,
                start: raw.start,
                end: raw.start,
                copied: None,
                text,
            })
            .push(raw, line);
    }
    chunks.extend(piece.and_then(Piece::finish));
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
            .map(|c| (c.first_line, c.text.into_owned()))
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
    fn pieces_are_borrowed_unless_a_line_changes() {
        let input = "a: 1\nb: 2\n---\nc: 3\r\nd: 4\n---\ne: 5";
        let chunks = split(input).unwrap();
        assert!(matches!(chunks[0].text, Cow::Borrowed("a: 1\nb: 2\n")));
        assert_eq!(chunks[1].text, "c: 3\nd: 4\n");
        assert!(matches!(chunks[1].text, Cow::Owned(_)));
        assert_eq!(chunks[2].text, "e: 5\n");
        assert_eq!(chunks[2].first_line, 7);
    }

    #[test]
    fn leading_and_repeated_separators_make_no_empty_pieces() {
        assert_eq!(texts("---\n---\na: 1\n---\n"), [(3, "a: 1\n".to_owned())]);
        assert!(texts("").is_empty());
    }
}
