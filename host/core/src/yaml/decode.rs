//! A node tree to the JSON value kubectl sends: go-yaml v2's decoder (merge keys,
//! aliases and its limit on alias expansion) followed by sigs.k8s.io/yaml's
//! conversion to JSON (keys become strings, numbers go through int64/float64).
//! gate is stricter in one way only: a key written twice in one mapping is an
//! error, where go-yaml silently keeps the last one.

use super::compose::{Kind, MAX_DEPTH, NodeId, Tree};
use super::error::{Problem, YamlError};
use super::resolve::{self, BINARY, MERGE, Scalar};
use crate::number;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Decodes the root of `tree` (`Value::Null` if there is none).
pub fn decode(tree: &Tree) -> Result<Value, YamlError> {
    let Some(root) = tree.root else {
        return Ok(Value::Null);
    };
    let mut decoder = Decoder {
        tree,
        decode_count: 0,
        alias_count: 0,
        alias_depth: 0,
        expanding: HashSet::new(),
        depth: 0,
    };
    // go-yaml counts the document node, then the root.
    decoder.count(root)?;
    decoder.count(root)?;
    decoder.value(root)
}

/// A map key as go-yaml holds it before sigs.k8s.io/yaml makes it a string.
#[derive(Debug, Clone, PartialEq)]
enum GoKey {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A JSON object being built, with the Go key behind each string and where it was set.
#[derive(Default)]
struct Object {
    values: Map<String, Value>,
    keys: HashMap<String, (GoKey, usize)>,
}

struct Decoder<'t> {
    tree: &'t Tree,
    decode_count: u64,
    alias_count: u64,
    alias_depth: u32,
    /// Aliases being expanded, to refuse one that contains itself.
    expanding: HashSet<NodeId>,
    depth: usize,
}

/// go-yaml v2's `allowedAliasRatio`: 99% of decoded nodes may come from aliases in
/// small documents, scaling down to 10% from 400,000 to 4,000,000 nodes.
fn allowed_alias_ratio(decode_count: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

impl<'t> Decoder<'t> {
    fn error(&self, id: NodeId, problem: Problem) -> YamlError {
        let (line, column) = self
            .tree
            .nodes
            .get(id)
            .map_or((0, 0), |n| (n.line, n.column));
        YamlError::at(line, column, problem)
    }

    fn kind(&self, id: NodeId) -> Option<&'t Kind> {
        self.tree.nodes.get(id).map(|n| &n.kind)
    }

    /// go-yaml's counter, bumped on every node it visits, inside aliases too:
    /// expansion is measured in nodes, not in alias jumps.
    fn count(&mut self, id: NodeId) -> Result<(), YamlError> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err(self.error(id, Problem::ExcessiveAliasing));
        }
        Ok(())
    }

    /// Runs `f` one level deeper, refusing nesting past the limit.
    fn nested<T>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut Self) -> Result<T, YamlError>,
    ) -> Result<T, YamlError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(id, Problem::TooDeep));
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    /// Follows alias `id` to `target`, as go-yaml's `alias` does.
    fn through_alias<T>(
        &mut self,
        id: NodeId,
        target: NodeId,
        f: impl FnOnce(&mut Self, NodeId) -> Result<T, YamlError>,
    ) -> Result<T, YamlError> {
        if !self.expanding.insert(id) {
            return Err(self.error(id, Problem::RecursiveAlias));
        }
        self.alias_depth += 1;
        let out = self.nested(id, |d| {
            d.count(target)?;
            f(d, target)
        });
        self.alias_depth -= 1;
        self.expanding.remove(&id);
        out
    }

    /// The value of a node already counted.
    fn value(&mut self, id: NodeId) -> Result<Value, YamlError> {
        match self.kind(id) {
            Some(Kind::Alias(target)) => {
                let target = *target;
                self.through_alias(id, target, |d, t| d.value(t))
            }
            Some(Kind::Scalar { .. }) => {
                let scalar = self.scalar(id)?;
                json(scalar).ok_or_else(|| self.error(id, Problem::NotJsonNumber))
            }
            Some(Kind::Sequence(children)) => self.nested(id, |d| {
                let mut items = Vec::with_capacity(children.len());
                for &child in children {
                    d.count(child)?;
                    items.push(d.value(child)?);
                }
                Ok(Value::Array(items))
            }),
            Some(Kind::Mapping(children)) => self.nested(id, |d| {
                if children.chunks(2).any(|pair| d.is_merge(pair[0])) {
                    let mut object = Object::default();
                    d.mapping_into(id, &mut object)?;
                    Ok(Value::Object(object.values))
                } else {
                    d.plain_mapping(children)
                }
            }),
            None => Ok(Value::Null),
        }
    }

    /// go-yaml's `scalar` for an `interface{}` target.
    fn scalar(&self, id: NodeId) -> Result<Scalar, YamlError> {
        let Some(Kind::Scalar {
            value,
            tag,
            implicit,
        }) = self.kind(id)
        else {
            return Ok(Scalar::Null);
        };
        if tag.is_empty() && !implicit {
            return Ok(Scalar::Str(value.clone()));
        }
        if tag == BINARY {
            let bytes = base64_decode(value).ok_or_else(|| self.error(id, Problem::Binary))?;
            return Ok(Scalar::Str(go_string(&bytes)));
        }
        resolve::resolve(tag, value).map_err(|e| self.error(id, Problem::Tag(e)))
    }

    /// go-yaml's `mapping` into an existing map: merges in order, then keys.
    fn mapping_into(&mut self, id: NodeId, object: &mut Object) -> Result<(), YamlError> {
        let Some(Kind::Mapping(children)) = self.kind(id) else {
            return Ok(());
        };
        let mut explicit: HashSet<String> = HashSet::new();
        let mut merged_at: Option<usize> = None;
        for pair in children.chunks(2) {
            let [key, value] = *pair else {
                return Err(self.error(id, Problem::Unbalanced));
            };
            if self.is_merge(key) {
                if let Some(first_line) = merged_at {
                    return Err(self.error(key, Problem::DuplicateKey { first_line }));
                }
                merged_at = Some(self.line_of(key));
                self.merge(value, object)?;
                continue;
            }
            self.count(key)?;
            let go_key = self.key(key)?;
            self.count(value)?;
            let value_json = self.value(value)?;
            let (name, go_key) = match go_key {
                Some(k) => (key_string(&k), k),
                None => return Err(self.error(key, Problem::UnsupportedKey)),
            };
            let line = self.line_of(key);
            if let Some((previous, first_line)) = object.keys.get(&name) {
                if explicit.contains(&name) {
                    return Err(self.error(
                        key,
                        Problem::DuplicateKey {
                            first_line: *first_line,
                        },
                    ));
                }
                if !same_go_key(previous, &go_key) {
                    return Err(self.error(
                        key,
                        Problem::CollidingKeys {
                            first_line: *first_line,
                        },
                    ));
                }
            }
            if let Some(first_line) = zero_collision(object, &go_key) {
                return Err(self.error(key, Problem::CollidingKeys { first_line }));
            }
            explicit.insert(name.clone());
            object.keys.insert(name.clone(), (go_key, line));
            object.values.insert(name, value_json);
        }
        Ok(())
    }

    /// A mapping without merge keys: every key is explicit, so any key met twice
    /// (as a JSON string) is a duplicate, and no bookkeeping is needed until then.
    fn plain_mapping(&mut self, children: &'t [NodeId]) -> Result<Value, YamlError> {
        let mut values = Map::new();
        for pair in children.chunks(2) {
            let [key, value] = *pair else {
                return Err(self.error(pair[0], Problem::Unbalanced));
            };
            self.count(key)?;
            let go_key = self.key(key)?;
            self.count(value)?;
            let value_json = self.value(value)?;
            let Some(go_key) = go_key else {
                return Err(self.error(key, Problem::UnsupportedKey));
            };
            let name = key_string(&go_key);
            if values.contains_key(&name) || zero_twin(&values, &go_key) {
                let first_line = self.first_line_of(children, &name, key);
                return Err(self.error(key, Problem::DuplicateKey { first_line }));
            }
            values.insert(name, value_json);
        }
        Ok(Value::Object(values))
    }

    /// The line of the first key of `children` that becomes `name` (error path only).
    fn first_line_of(&mut self, children: &'t [NodeId], name: &str, fallback: NodeId) -> usize {
        for pair in children.chunks(2) {
            if let Ok(Some(k)) = self.key(pair[0])
                && key_string(&k) == name
            {
                return self.line_of(pair[0]);
            }
        }
        self.line_of(fallback)
    }

    /// 1-based line of a node in the piece.
    fn line_of(&self, id: NodeId) -> usize {
        self.tree.nodes.get(id).map_or(0, |n| n.line + 1)
    }

    /// go-yaml's `isMerge`: a `<<` that is plain-implicit or tagged `!!merge`.
    fn is_merge(&self, id: NodeId) -> bool {
        matches!(self.kind(id), Some(Kind::Scalar { value, tag, implicit })
            if value == "<<" && (*implicit || tag == MERGE))
    }

    /// go-yaml's `merge`: a mapping, an alias to one, or a sequence of those,
    /// applied last to first so that earlier ones win.
    fn merge(&mut self, id: NodeId, object: &mut Object) -> Result<(), YamlError> {
        match self.kind(id) {
            Some(Kind::Mapping(_)) => {
                self.count(id)?;
                self.nested(id, |d| d.mapping_into(id, object))
            }
            Some(Kind::Alias(target)) => {
                let target = *target;
                self.merge_alias(id, target, object)
            }
            Some(Kind::Sequence(children)) => {
                let children = children.clone();
                for child in children.into_iter().rev() {
                    match self.kind(child) {
                        Some(Kind::Alias(target)) => {
                            let target = *target;
                            self.merge_alias(child, target, object)?;
                        }
                        Some(Kind::Mapping(_)) => {
                            self.count(child)?;
                            self.nested(child, |d| d.mapping_into(child, object))?;
                        }
                        _ => return Err(self.error(child, Problem::MergeNotMapping)),
                    }
                }
                Ok(())
            }
            _ => Err(self.error(id, Problem::MergeNotMapping)),
        }
    }

    fn merge_alias(
        &mut self,
        id: NodeId,
        target: NodeId,
        object: &mut Object,
    ) -> Result<(), YamlError> {
        if !matches!(self.kind(target), Some(Kind::Mapping(_))) {
            return Err(self.error(id, Problem::MergeNotMapping));
        }
        self.count(id)?;
        self.through_alias(id, target, |d, t| {
            d.nested(t, |d| d.mapping_into(t, object))
        })
    }

    /// A key node (already counted) as go-yaml decodes it; `None` for null keys.
    fn key(&mut self, id: NodeId) -> Result<Option<GoKey>, YamlError> {
        match self.kind(id) {
            Some(Kind::Alias(target)) => {
                let target = *target;
                self.through_alias(id, target, |d, t| d.key(t))
            }
            Some(Kind::Scalar { .. }) => Ok(match self.scalar(id)? {
                Scalar::Null => None,
                Scalar::Bool(b) => Some(GoKey::Bool(b)),
                Scalar::Int(i) => Some(GoKey::Int(i)),
                Scalar::Float(f) => Some(GoKey::Float(f)),
                Scalar::Str(s) => Some(GoKey::Str(s)),
                Scalar::Uint(_) => return Err(self.error(id, Problem::UnsupportedKey)),
            }),
            _ => Err(self.error(id, Problem::CollectionKey)),
        }
    }
}

/// Go map key equality (floats by value: NaN is never equal, so never merged).
fn same_go_key(a: &GoKey, b: &GoKey) -> bool {
    match (a, b) {
        (GoKey::Float(x), GoKey::Float(y)) => x == y,
        _ => a == b,
    }
}

/// `0.0` and `-0.0` are one Go key but two JSON strings: refuse the pair.
fn zero_collision(object: &Object, key: &GoKey) -> Option<usize> {
    let GoKey::Float(f) = key else { return None };
    if *f != 0.0 {
        return None;
    }
    let other = if f.is_sign_negative() { "0" } else { "-0" };
    match object.keys.get(other) {
        Some((GoKey::Float(_), line)) => Some(*line),
        _ => None,
    }
}

/// Is the other-signed zero of a float zero key already there?
fn zero_twin(values: &Map<String, Value>, key: &GoKey) -> bool {
    matches!(key, GoKey::Float(f) if *f == 0.0)
        && values.contains_key(if let GoKey::Float(f) = key {
            if f.is_sign_negative() { "0" } else { "-0" }
        } else {
            ""
        })
}

/// sigs.k8s.io/yaml's key conversion.
fn key_string(key: &GoKey) -> String {
    match key {
        GoKey::Str(s) => s.clone(),
        GoKey::Int(i) => i.to_string(),
        GoKey::Float(f) => number::float_key(*f),
        GoKey::Bool(b) => b.to_string(),
    }
}

/// A scalar as JSON, through kubectl's int64/float64; `None` for NaN and infinities.
fn json(scalar: Scalar) -> Option<Value> {
    Some(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::from(i),
        Scalar::Uint(u) => number::from_u64(u),
        Scalar::Float(f) => number::from_f64(f)?,
        Scalar::Str(s) => Value::String(s),
    })
}

/// Go's `base64.StdEncoding.DecodeString`: padded standard alphabet, newlines
/// ignored, stray bits after the last full byte allowed.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text.bytes().filter(|&b| b != b'\n' && b != b'\r').collect();
    if !symbols.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    let quads = symbols.chunks(4);
    let last = symbols.len() / 4;
    for (index, quad) in quads.enumerate() {
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && index + 1 != last) {
            return None;
        }
        let mut acc: u32 = 0;
        for &b in &quad[..4 - pad] {
            let v = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            };
            acc = (acc << 6) | u32::from(v);
        }
        acc <<= 6 * pad as u32;
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

/// Bytes as Go's JSON encoder writes a string: each invalid UTF-8 byte becomes U+FFFD.
fn go_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                rest = after.get(1..).unwrap_or_default();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_go() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("/w==").unwrap(), [0xff]);
        assert!(base64_decode("@@@@").is_none());
        assert!(base64_decode("aGVsbG8").is_none());
        assert!(base64_decode("aG==bG8=").is_none());
        assert_eq!(
            go_string(&[b'a', 0xff, 0xe2, 0x82, b'b']),
            "a\u{fffd}\u{fffd}\u{fffd}b"
        );
    }
}
