//! Keeps what a manifest author writes from acting on the CI runner that reads gate's
//! output.
//!
//! File paths, object names, policy messages and field paths all reach the output, and
//! every one can come from a manifest. A CI runner reads that output line by line and
//! acts on some lines:
//! - GitHub Actions runs a workflow command when a line starts with `::` once leading
//!   whitespace (any Unicode white space, as .NET's `TrimStart` trims it) is removed,
//!   and, failing that, a legacy command at a `##[` anywhere in the line
//!   (actions/runner `ActionCommand.TryParseV2`, then `TryParse`);
//! - Azure DevOps runs a logging command at a `##vso[` anywhere in the line, and renders
//!   `##[group]`, `##[section]`... formatting commands;
//! - both end a line at LF or CR, and terminals and log viewers obey ANSI escapes and
//!   reorder text around bidirectional overrides.
//!
//! So every format escapes the characters that could start a line, colour or reorder
//! it ([`is_unsafe`]), and [`neutralise_commands`] breaks every command marker in the
//! finished output by writing one of its characters in the format's own escape (text
//! `\u{23}`, JSON `\u0023`, XML `&#x23;`), which a reader of that format decodes back.

/// True for a character that must not reach a CI log as it is: C0 and C1 controls
/// (LF, CR, ESC...), DEL, the line and paragraph separators, and the invisible
/// formatting characters that reorder or hide text (bidirectional embeddings,
/// overrides, isolates and marks, zero-width spaces and joiners, the BOM).
pub(super) fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// `c` as people read an escape in text: `\n`, `\r`, `\t`, else `\u{1b}`.
pub(super) fn text_escape(c: char) -> String {
    match c {
        '\n' => "\\n".to_owned(),
        '\r' => "\\r".to_owned(),
        '\t' => "\\t".to_owned(),
        c => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

/// `c` as a JSON string escape: `\u0023`.
pub(super) fn json_escape(c: char) -> String {
    format!("\\u{:04x}", u32::from(c))
}

/// `c` as an XML character reference: `&#x23;`.
pub(super) fn xml_escape(c: char) -> String {
    format!("&#x{:x};", u32::from(c))
}

/// `text` with every [unsafe](is_unsafe) character written as a text escape, so that
/// one value stays on one line and shows what it holds.
pub(super) fn escape_controls(text: &str) -> String {
    escape_unsafe(text, |_| true)
}

/// `text` with the [unsafe](is_unsafe) characters for which `escape` is true written as
/// text escapes; the others are kept.
pub(super) fn escape_unsafe(text: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) && escape(c) {
            out.push_str(&text_escape(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Does `rest` start a command marker after a `##`: `[` (GitHub's legacy commands,
/// Azure DevOps formatting commands) or `vso[` in any case (Azure DevOps commands)?
fn marker_follows(rest: &str) -> bool {
    rest.starts_with('[')
        || rest
            .get(..4)
            .is_some_and(|head| head.eq_ignore_ascii_case("vso["))
}

/// The finished `output` of a format with every command marker broken: the second `#`
/// of `##[` and `##vso[` anywhere, and the first `:` of a line that starts with `::`
/// after white space, are written with `escape`. Lines end only where `output` has
/// its own line breaks: values must have been escaped already. An output without a
/// marker (the usual case, and a report can be megabytes) is returned as it is.
pub(super) fn neutralise_commands(output: String, escape: fn(char) -> String) -> String {
    let marks = command_marks(&output);
    if marks.is_empty() {
        return output;
    }
    let mut out = String::with_capacity(output.len() + 8 * marks.len());
    let mut from = 0;
    for at in marks {
        out.push_str(&output[from..at]);
        out.push_str(&escape(char::from(output.as_bytes()[at])));
        from = at + 1;
    }
    out.push_str(&output[from..]);
    out
}

/// Where [`neutralise_commands`] breaks `output`'s command markers, in order: the
/// offset of the second `#` of each `##[` and `##vso[`, and of the first `:` of each
/// line that starts with `::` after white space (all ASCII, one byte each).
fn command_marks(output: &str) -> Vec<usize> {
    let bytes = output.as_bytes();
    let pair_at = |at: usize, c: u8| bytes.get(at + 1) == Some(&c);
    let mut marks: Vec<usize> = memchr::memchr_iter(b':', bytes)
        .filter(|&at| {
            pair_at(at, b':') && {
                let line_start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
                output[line_start..at].chars().all(char::is_whitespace)
            }
        })
        .collect();
    // A `##` that starts no marker leaves its second `#` to start the next pair
    // (`###[`); one that starts a marker is passed whole.
    let mut next = 0;
    for at in memchr::memchr_iter(b'#', bytes) {
        if at >= next && pair_at(at, b'#') && marker_follows(&output[at + 2..]) {
            marks.push(at + 1);
            next = at + 2;
        }
    }
    marks.sort_unstable();
    marks
}

/// A finished JSON document (SARIF included) made safe for a CI log: unsafe characters
/// other than its own line breaks (serde_json leaves C1 controls, DEL and the
/// formatting characters raw; it has escaped every other control inside strings) and
/// every command marker written as `\u` escapes. Outside strings JSON holds only ASCII
/// punctuation, digits, letters of literals and white space, so each of these sits
/// inside a string, where the escape decodes back to the same text.
pub(super) fn json(document: String) -> String {
    // A report of thousands of findings is megabytes: it is copied only if it
    // holds something to escape or a marker to break.
    let escaped = if needs_escapes(&document) {
        let mut escaped = String::with_capacity(document.len());
        let mut start = 0;
        for (at, c) in document.char_indices() {
            if is_unsafe(c) && c != '\n' {
                escaped.push_str(&document[start..at]);
                escaped.push_str(&json_escape(c));
                start = at + c.len_utf8();
            }
        }
        escaped.push_str(&document[start..]);
        escaped
    } else {
        document
    };
    neutralise_commands(escaped, json_escape)
}

/// Whether `document` holds an [unsafe](is_unsafe) character other than a line
/// break. Each is an ASCII control, DEL or not ASCII: the bytes are scanned first,
/// the characters only if one of those is there.
fn needs_escapes(document: &str) -> bool {
    // In blocks without an early exit, so that the scan is vectorised.
    let suspect = document.as_bytes().chunks(64).any(|block| {
        block.iter().fold(false, |seen, &b| {
            seen | ((b < 0x20 && b != b'\n') || b >= 0x7f)
        })
    });
    suspect && document.chars().any(|c| is_unsafe(c) && c != '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_separators_and_bidi_overrides() {
        assert_eq!(
            escape_controls("a\nb\rc\td\u{1b}[31me\u{85}f\u{202e}g\u{2028}h"),
            "a\\nb\\rc\\td\\u{1b}[31me\\u{85}f\\u{202e}g\\u{2028}h"
        );
        assert_eq!(escape_controls("plain café ∑"), "plain café ∑");
    }

    #[test]
    fn breaks_github_commands_at_the_start_of_a_line_even_after_unicode_spaces() {
        let out = neutralise_commands(
            "::add-mask::x\n  ::error::y\n\u{3000}::warning::z\nok ::not-a-command::\n".to_owned(),
            text_escape,
        );
        assert_eq!(
            out,
            "\\u{3a}:add-mask::x\n  \\u{3a}:error::y\n\u{3000}\\u{3a}:warning::z\nok ::not-a-command::\n"
        );
    }

    #[test]
    fn breaks_legacy_and_azure_markers_anywhere_in_a_line() {
        let out = neutralise_commands(
            "a ##[set-output name=x]1 b ##vso[task.setvariable variable=y]2 ##VSO[x] ###[z] ## ["
                .to_owned(),
            text_escape,
        );
        assert_eq!(
            out,
            "a #\\u{23}[set-output name=x]1 b #\\u{23}vso[task.setvariable variable=y]2 \
             #\\u{23}VSO[x] ##\\u{23}[z] ## ["
        );
        assert!(!out.contains("##["));
        assert!(!out.to_ascii_lowercase().contains("##vso["));
    }

    #[test]
    fn json_escapes_decode_back_to_the_same_strings() {
        let value = serde_json::json!({
            "message": "##vso[task.setvariable variable=x]1 \u{202e}\u{9b}31m \u{1b}[0m\n::error::x",
        });
        let document = serde_json::to_string_pretty(&value).unwrap();
        let safe = json(document);
        assert!(!safe.contains("##vso["), "{safe}");
        assert!(
            !safe.contains('\u{202e}') && !safe.contains('\u{9b}'),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn markers_are_broken_exactly_where_they_start_and_nothing_else_changes() {
        let visible: fn(char) -> String = |c| format!("<{c}>");
        for (text, expected) in [
            ("plain\n", "plain\n"),
            ("a ## b\n#\n##", "a ## b\n#\n##"),
            ("###[x]", "##<#>[x]"),
            ("x ##vso[task]", "x #<#>vso[task]"),
            ("##[a]##[b]", "#<#>[a]#<#>[b]"),
            ("## [spaced]", "## [spaced]"),
            ("##\n[next line]", "##\n[next line]"),
            ("  ::warning::x\n", "  <:>:warning::x\n"),
            ("\u{3000}::x", "\u{3000}<:>:x"),
            ("a\n::", "a\n<:>:"),
            ("x\n \t ::y", "x\n \t <:>:y"),
            ("\r::x", "\r<:>:x"),
            ("::::", "<:>:::"),
            ("a::b\n", "a::b\n"),
            ("#[not]\n: :x", "#[not]\n: :x"),
        ] {
            assert_eq!(
                neutralise_commands(text.to_owned(), visible),
                expected,
                "{text:?}"
            );
        }
    }
}
