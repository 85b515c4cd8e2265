//! Events to a node tree, for the first document of a piece, as go-yaml v2's
//! `parser` builds it: anchors are bound when their node starts, an alias points at
//! the node its anchor names at that moment, and later documents are not read.

use super::error::{Problem, YamlError};
use libyaml_safer::{Event, EventData, MappingStyle, Parser, ScalarStyle, SequenceStyle};
use std::collections::HashMap;

/// Index of a node in [`Tree::nodes`].
pub type NodeId = usize;

/// A node of the document.
#[derive(Debug)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// 0-based line in the piece.
    pub line: usize,
    /// 0-based column.
    pub column: usize,
}

/// The kinds of node go-yaml distinguishes.
#[derive(Debug)]
pub enum Kind {
    /// A scalar with its tag (`""` if none) and whether it is plain-implicit
    /// (plain and untagged, or tagged `!`).
    Scalar {
        /// The text.
        value: String,
        /// The resolved tag, or empty.
        tag: String,
        /// libyaml's `plain_implicit`.
        implicit: bool,
    },
    /// A sequence.
    Sequence(Vec<NodeId>),
    /// A mapping: keys and values alternate.
    Mapping(Vec<NodeId>),
    /// An alias, bound to its anchor's node.
    Alias(NodeId),
}

/// The first document of a piece.
#[derive(Debug, Default)]
pub struct Tree {
    /// Every node; the root is `root`.
    pub nodes: Vec<Node>,
    /// The root, if the piece holds a document.
    pub root: Option<NodeId>,
}

/// Deeper nesting is refused: go-yaml stops at 10000 flow levels, and a tree this
/// deep is no Kubernetes object. Keeping it lower bounds the stack used later.
pub const MAX_DEPTH: usize = 1000;

/// An open collection and the children read so far.
struct Open {
    id: NodeId,
    children: Vec<NodeId>,
    flow: bool,
}

/// Reads the first document of `text`.
///
/// libyaml-safer panics on one input libyaml accepts (a tag followed by `,` in a
/// flow mapping: scanner.rs "TODO"). That panic is caught here and reported as an
/// error at the last position read: refusing is the safe answer, and go-yaml
/// refuses that input too.
pub fn compose(text: &str) -> Result<Tree, YamlError> {
    let last = std::cell::Cell::new((0, 0));
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_first(text, &last)));
    read.unwrap_or_else(|_| {
        let (line, column) = last.get();
        Err(YamlError::at(line, column, Problem::ParserGaveUp))
    })
}

fn read_first(text: &str, last: &std::cell::Cell<(usize, usize)>) -> Result<Tree, YamlError> {
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut tree = Tree::default();
    let mut anchors: HashMap<String, NodeId> = HashMap::new();
    let mut open: Vec<Open> = Vec::new();
    loop {
        let event = next(&mut parser, text)?;
        let (line, column) = mark(&event);
        last.set((line, column));
        let (id, anchor) = match event.data {
            EventData::StreamStart { .. } | EventData::DocumentStart { .. } => continue,
            EventData::StreamEnd | EventData::DocumentEnd { .. } => return Ok(tree),
            EventData::Alias { anchor } => {
                let Some(&target) = anchors.get(&anchor) else {
                    return Err(YamlError::at(line, column, Problem::UnknownAnchor));
                };
                (push(&mut tree, Kind::Alias(target), line, column), None)
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                plain_implicit,
                style,
                ..
            } => {
                let in_flow = open.last().is_some_and(|o| o.flow);
                if let Some(problem) = go_yaml_refuses(
                    text,
                    &event.start_mark,
                    &event.end_mark,
                    style,
                    &value,
                    in_flow,
                ) {
                    return Err(YamlError::at(line, column, problem));
                }
                let kind = Kind::Scalar {
                    value,
                    tag: tag.unwrap_or_default(),
                    implicit: plain_implicit,
                };
                (push(&mut tree, kind, line, column), anchor)
            }
            EventData::SequenceStart { anchor, style, .. } => {
                let flow = style == SequenceStyle::Flow;
                open_collection(
                    &mut tree,
                    &mut open,
                    &mut anchors,
                    (Kind::Sequence(Vec::new()), flow),
                    anchor,
                    line,
                    column,
                )?;
                continue;
            }
            EventData::MappingStart { anchor, style, .. } => {
                let flow = style == MappingStyle::Flow;
                open_collection(
                    &mut tree,
                    &mut open,
                    &mut anchors,
                    (Kind::Mapping(Vec::new()), flow),
                    anchor,
                    line,
                    column,
                )?;
                continue;
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                let Some(done) = open.pop() else {
                    return Err(YamlError::at(line, column, Problem::Unbalanced));
                };
                if let Some(node) = tree.nodes.get_mut(done.id) {
                    match &mut node.kind {
                        Kind::Sequence(children) | Kind::Mapping(children) => {
                            *children = done.children;
                        }
                        _ => {}
                    }
                }
                (done.id, None)
            }
        };
        if let Some(anchor) = anchor {
            anchors.insert(anchor, id);
        }
        match open.last_mut() {
            Some(parent) => parent.children.push(id),
            None => tree.root = Some(id),
        }
    }
}

/// Starts a collection: its anchor is bound now, before its children are read.
fn open_collection(
    tree: &mut Tree,
    open: &mut Vec<Open>,
    anchors: &mut HashMap<String, NodeId>,
    (kind, flow): (Kind, bool),
    anchor: Option<String>,
    line: usize,
    column: usize,
) -> Result<(), YamlError> {
    if open.len() >= MAX_DEPTH {
        return Err(YamlError::at(line, column, Problem::TooDeep));
    }
    let id = push(tree, kind, line, column);
    if let Some(anchor) = anchor {
        anchors.insert(anchor, id);
    }
    open.push(Open {
        id,
        children: Vec::new(),
        flow,
    });
    Ok(())
}

/// Where go-yaml v2 (a port of libyaml 0.1) refuses a scalar that libyaml 0.2,
/// which this parser follows, accepts: the `\/` escape in double quotes, and `?`
/// inside a plain scalar in a flow collection (0.1 ends the scalar there).
fn go_yaml_refuses(
    text: &str,
    start: &libyaml_safer::Mark,
    end: &libyaml_safer::Mark,
    style: ScalarStyle,
    value: &str,
    in_flow: bool,
) -> Option<Problem> {
    match style {
        ScalarStyle::Plain if in_flow && value.contains('?') => Some(Problem::QuestionMarkInFlow),
        ScalarStyle::DoubleQuoted => {
            let from = usize::try_from(start.index).ok()?;
            let to = usize::try_from(end.index).ok()?;
            let raw = text.get(from..to)?;
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '\\' && chars.next() == Some('/') {
                    return Some(Problem::SlashEscape);
                }
            }
            None
        }
        _ => None,
    }
}

fn push(tree: &mut Tree, kind: Kind, line: usize, column: usize) -> NodeId {
    tree.nodes.push(Node { kind, line, column });
    tree.nodes.len() - 1
}

fn mark(event: &Event) -> (usize, usize) {
    let m = event.start_mark;
    (
        usize::try_from(m.line).unwrap_or(usize::MAX),
        usize::try_from(m.column).unwrap_or(usize::MAX),
    )
}

/// The next event, or the parser's error at its position.
fn next(parser: &mut Parser<&mut &[u8]>, text: &str) -> Result<Event, YamlError> {
    parser
        .parse()
        .map_err(|e| YamlError::from_libyaml(&e, text))
}
