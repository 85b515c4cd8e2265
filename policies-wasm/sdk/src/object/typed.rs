//! Fields that Kubernetes types as booleans or integers, read strictly.
//!
//! `Node::as_bool` and `Node::as_i64` answer `None` both for an absent field and for
//! one that holds another type, so `privileged: "true"` (a quoted string) reads as
//! unset and a check written `as_bool() == Some(true)` lets it through. The API server
//! refuses such an object, but gate must not judge a value it cannot read as if it
//! were absent: these readers tell the three cases apart and turn a wrong type into a
//! violation. Policies use them instead of `as_bool`/`as_i64`, which the pack's clippy
//! configuration forbids.

use crate::path::FieldPath;
use crate::policy::Violation;
use gate_tape::{Kind, Node};

/// How a message names a node's type.
fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Int => "an integer",
        Kind::Float => "a number with a fraction",
        Kind::Str => "a string",
        Kind::Array => "a list",
        Kind::Object => "an object",
    }
}

/// The violation for a field at `path` that holds `found` where Kubernetes expects
/// `expected`. The value itself is never quoted: it may be anything.
fn wrong_type(path: &FieldPath, expected: &str, found: Kind) -> Violation {
    Violation::new(
        path,
        format!(
            "{path} must be {expected}, not {}: the API server refuses this object, and gate \
             does not read a value of the wrong type as unset",
            type_name(found)
        ),
    )
}

impl FieldPath {
    /// Reads `node`, the value at this path, as a field that Kubernetes types as a
    /// boolean: `Ok(None)` when it is absent or null, `Ok(Some(b))` for a boolean, and
    /// a violation at this path for any other type (a quoted `"true"`, a number, ...).
    #[allow(
        clippy::disallowed_methods,
        reason = "the one strict reader of booleans"
    )]
    pub fn boolean(&self, node: Node<'_>) -> Result<Option<bool>, Violation> {
        match node.kind() {
            Kind::Null => Ok(None),
            Kind::Bool => Ok(node.as_bool()),
            other => Err(wrong_type(self, "a boolean", other)),
        }
    }

    /// Reads `node`, the value at this path, as a field that Kubernetes types as an
    /// integer: `Ok(None)` when it is absent or null, `Ok(Some(n))` for an integer (or a
    /// number with no fraction, which the API machinery decodes as one), and a violation
    /// at this path for any other type (a quoted `"0"`, `1.5`, a boolean, ...).
    #[allow(
        clippy::disallowed_methods,
        reason = "the one strict reader of integers"
    )]
    pub fn integer(&self, node: Node<'_>) -> Result<Option<i64>, Violation> {
        match node.kind() {
            Kind::Null => Ok(None),
            Kind::Int | Kind::Float => node
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(self, "an integer", Kind::Float)),
            other => Err(wrong_type(self, "an integer", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_tape::Writer;

    /// A tape holding `{"v": <value>}`, written by `value`.
    fn tape(value: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_object();
        w.key("v");
        value(&mut w);
        w.end();
        w.finish()
    }

    fn read<T>(bytes: &[u8], f: impl Fn(&FieldPath, Node<'_>) -> T) -> T {
        let root = gate_tape::root(bytes).unwrap();
        f(&FieldPath::from("spec.v"), root.get("v"))
    }

    #[test]
    fn a_boolean_reads_as_itself_and_absence_as_none() {
        let t = tape(|w| w.bool(true));
        assert_eq!(read(&t, |p, n| p.boolean(n)), Ok(Some(true)));
        let t = tape(|w| w.null());
        assert_eq!(read(&t, |p, n| p.boolean(n)), Ok(None));
        let t = tape(|w| w.bool(false));
        assert_eq!(read(&t, |p, n| p.boolean(n)), Ok(Some(false)));
    }

    #[test]
    fn a_quoted_true_is_a_violation_not_an_absence() {
        let t = tape(|w| w.str("true"));
        let wrong = read(&t, |p, n| p.boolean(n)).unwrap_err();
        assert_eq!(wrong.path, "spec.v");
        assert!(wrong.message.contains("must be a boolean, not a string"));
        assert!(!wrong.message.contains("\"true\""), "{}", wrong.message);
        let t = tape(|w| w.int(1));
        assert!(read(&t, |p, n| p.boolean(n)).is_err());
    }

    #[test]
    fn integers_accept_whole_numbers_and_refuse_strings_and_fractions() {
        let t = tape(|w| w.int(0));
        assert_eq!(read(&t, |p, n| p.integer(n)), Ok(Some(0)));
        let t = tape(|w| w.float(1000.0));
        assert_eq!(read(&t, |p, n| p.integer(n)), Ok(Some(1000)));
        let t = tape(|w| w.float(0.5));
        let wrong = read(&t, |p, n| p.integer(n)).unwrap_err();
        assert!(wrong.message.contains("not a number with a fraction"));
        let t = tape(|w| w.str("0"));
        let wrong = read(&t, |p, n| p.integer(n)).unwrap_err();
        assert!(wrong.message.contains("must be an integer, not a string"));
        let t = tape(|w| w.bool(false));
        assert!(read(&t, |p, n| p.integer(n)).is_err());
    }
}
