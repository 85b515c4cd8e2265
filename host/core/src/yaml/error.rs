//! What can go wrong reading YAML. No message quotes the document: a scalar
//! could be a Secret's value.

use super::resolve::ResolveError;

/// A YAML error at a position of one piece of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 0-based line in the piece (the caller makes it absolute).
    pub line: usize,
    /// 0-based column.
    pub column: usize,
    /// What is wrong.
    pub problem: Problem,
}

/// The problems, each a fixed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// libyaml's scanner, parser or reader refused the text.
    Syntax {
        /// libyaml's problem.
        problem: &'static str,
        /// libyaml's context, with its 1-based line in the piece.
        context: Option<(&'static str, usize)>,
    },
    /// A line that starts with `---` followed by something other than blanks or a comment.
    BadSeparator,
    /// `\/` in a double-quoted scalar: YAML 1.2, which go-yaml v2 refuses.
    SlashEscape,
    /// A `?` inside a plain scalar in a flow collection, which go-yaml v2 refuses.
    QuestionMarkInFlow,
    /// The YAML parser stopped on input it does not handle.
    ParserGaveUp,
    /// An alias names no anchor defined before it.
    UnknownAnchor,
    /// An alias expands to a node that contains it.
    RecursiveAlias,
    /// Alias expansion makes up too much of the document (go-yaml's rule).
    ExcessiveAliasing,
    /// Nesting deeper than the limit.
    TooDeep,
    /// The event stream closed a collection that was not open.
    Unbalanced,
    /// `<<` with something other than a mapping or a list of mappings.
    MergeNotMapping,
    /// A mapping or a sequence used as a key.
    CollectionKey,
    /// A key that JSON cannot carry (null, or an integer above `i64::MAX`).
    UnsupportedKey,
    /// The same key twice in one mapping.
    DuplicateKey {
        /// 1-based line of the first one.
        first_line: usize,
    },
    /// Two different keys that become the same JSON string (`1` and `"1"`).
    CollidingKeys {
        /// 1-based line of the first one.
        first_line: usize,
    },
    /// An explicit tag that does not fit the value.
    Tag(ResolveError),
    /// `!!binary` that is not base64.
    Binary,
    /// `.nan` or `.inf`: JSON has no such number, and kubectl refuses it.
    NotJsonNumber,
}

impl YamlError {
    /// An error at a 0-based position.
    pub fn at(line: usize, column: usize, problem: Problem) -> YamlError {
        YamlError {
            line,
            column,
            problem,
        }
    }

    /// The same error with its lines counted from `offset` lines earlier.
    pub fn shifted(mut self, offset: usize) -> YamlError {
        self.line += offset;
        match &mut self.problem {
            Problem::DuplicateKey { first_line } | Problem::CollidingKeys { first_line } => {
                *first_line += offset;
            }
            Problem::Syntax {
                context: Some((_, line)),
                ..
            } => *line += offset,
            _ => {}
        }
        self
    }

    /// Converts libyaml's error, locating reader errors (bad characters) itself.
    pub fn from_libyaml(error: &libyaml_safer::Error, text: &str) -> YamlError {
        let problem = Problem::Syntax {
            problem: error.problem(),
            context: error.context().zip(error.context_mark().map(|m| {
                usize::try_from(m.line)
                    .unwrap_or(usize::MAX)
                    .saturating_add(1)
            })),
        };
        match error.problem_mark() {
            Some(mark) => YamlError::at(
                usize::try_from(mark.line).unwrap_or(usize::MAX),
                usize::try_from(mark.column).unwrap_or(usize::MAX),
                problem,
            ),
            None => {
                let (line, column) = first_unprintable(text);
                YamlError::at(line, column, problem)
            }
        }
    }
}

/// Where libyaml's reader stops: the first character YAML does not allow.
fn first_unprintable(text: &str) -> (usize, usize) {
    let mut line = 0;
    let mut column = 0;
    for c in text.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}')
            || ('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}';
        if !allowed {
            return (line, column);
        }
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
    }
    (line, column)
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Syntax { problem, context } => {
                f.write_str(problem)?;
                if let Some((context, _)) = context {
                    write!(f, " ({context})")?;
                }
                Ok(())
            }
            Problem::BadSeparator => f.write_str(
                "invalid document separator: only blanks or a comment may follow `---` on its line",
            ),
            Problem::SlashEscape => f.write_str(
                "the escape \\/ is YAML 1.2: Kubernetes' parser refuses it (write /)",
            ),
            Problem::QuestionMarkInFlow => f.write_str(
                "`?` inside an unquoted value in [...] or {...}: Kubernetes' parser refuses it (quote the value)",
            ),
            Problem::ParserGaveUp => f.write_str(
                "the YAML parser cannot read what follows (a tag directly followed by `,`?)",
            ),
            Problem::UnknownAnchor => {
                f.write_str("alias to an anchor that is not defined before it")
            }
            Problem::RecursiveAlias => {
                f.write_str("alias to an anchor whose value contains the alias")
            }
            Problem::ExcessiveAliasing => f.write_str(
                "aliases expand to too much of the document (more than Kubernetes' go-yaml allows)",
            ),
            Problem::TooDeep => {
                write!(f, "nested deeper than {} levels", super::compose::MAX_DEPTH)
            }
            Problem::Unbalanced => f.write_str("unbalanced collection"),
            Problem::MergeNotMapping => {
                f.write_str("merge key `<<` needs a mapping or a sequence of mappings")
            }
            Problem::CollectionKey => f.write_str("a mapping or sequence cannot be a key"),
            Problem::UnsupportedKey => {
                f.write_str("key cannot be a JSON object key (null, or an integer above 2^63-1)")
            }
            Problem::DuplicateKey { first_line } => {
                write!(f, "duplicate key (first set on line {first_line})")
            }
            Problem::CollidingKeys { first_line } => write!(
                f,
                "two different keys become the same JSON key (the other is on line {first_line})"
            ),
            Problem::Tag(e) => write!(f, "{e}"),
            Problem::Binary => f.write_str("!!binary value is not valid base64"),
            Problem::NotJsonNumber => {
                f.write_str(".nan and .inf are not JSON numbers: Kubernetes refuses them")
            }
        }
    }
}
