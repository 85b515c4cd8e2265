//! The object tape: how gate hands a Kubernetes object to a policy.
//!
//! The host parses every manifest once and encodes each object into a tape: a
//! flat, self-delimiting byte layout of the JSON tree. A policy reads the tape in
//! place through [`Node`]: lookups skip over subtrees without parsing them and
//! nothing is allocated. Crossing the component boundary is then one copy of a
//! byte buffer, and no policy pays to parse JSON.
//!
//! The layout (all integers little-endian):
//!
//! ```text
//! tape   := MAGIC node
//! node   := 0x00                                   null
//!         | 0x01 | 0x02                            false | true
//!         | 0x03 i64                               integer
//!         | 0x04 f64                               float
//!         | 0x05 len:u32 utf8[len]                 string
//!         | 0x06 count:u32 size:u32 node*          array; size = bytes of the nodes
//!         | 0x07 count:u32 size:u32 (key node)*    object; key := len:u32 utf8[len]
//! ```
//!
//! Reading never panics: a truncated or malformed tape reads as missing values.

#[cfg(feature = "json")]
mod json;

#[cfg(feature = "json")]
pub use json::{encode, encode_into, to_json};

/// The four bytes every tape starts with: "GT" and the layout version.
pub const MAGIC: [u8; 4] = *b"GT\x01\x00";

const TAG_NULL: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_INT: u8 = 3;
const TAG_FLOAT: u8 = 4;
const TAG_STR: u8 = 5;
const TAG_ARRAY: u8 = 6;
const TAG_OBJECT: u8 = 7;

/// Why a buffer is not a tape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapeError {
    /// The buffer does not start with [`MAGIC`].
    BadMagic,
}

impl std::fmt::Display for TapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TapeError::BadMagic => f.write_str("not a gate object tape (bad magic)"),
        }
    }
}

impl std::error::Error for TapeError {}

/// Opens a tape and returns its root node.
pub fn root(tape: &[u8]) -> Result<Node<'_>, TapeError> {
    match tape.split_first_chunk::<4>() {
        Some((magic, rest)) if *magic == MAGIC => Ok(Node { buf: rest }),
        _ => Err(TapeError::BadMagic),
    }
}

/// The type of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`, or an unreadable node.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number that fits an `i64`.
    Int,
    /// Any other number.
    Float,
    /// A string.
    Str,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// A value inside a tape: a view, cheap to copy, that borrows the buffer.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    /// Starts at this node's tag; may run past the node's end.
    buf: &'a [u8],
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn read_u64(buf: &[u8], at: usize) -> Option<u64> {
    let bytes = buf.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// The string stored at `at` as `len:u32 bytes`, and the offset just past it.
fn read_str(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let len = read_u32(buf, at)? as usize;
    let start = at + 4;
    let end = start.checked_add(len)?;
    Some((buf.get(start..end)?, end))
}

impl<'a> Node<'a> {
    /// A node that reads as `null`: what every failed lookup returns.
    pub const NULL: Node<'static> = Node { buf: &[TAG_NULL] };

    fn tag(&self) -> u8 {
        self.buf.first().copied().unwrap_or(TAG_NULL)
    }

    /// The node's type.
    pub fn kind(&self) -> Kind {
        match self.tag() {
            TAG_FALSE | TAG_TRUE => Kind::Bool,
            TAG_INT => Kind::Int,
            TAG_FLOAT => Kind::Float,
            TAG_STR => Kind::Str,
            TAG_ARRAY => Kind::Array,
            TAG_OBJECT => Kind::Object,
            _ => Kind::Null,
        }
    }

    /// The number of bytes this node takes, or `None` if the tape is truncated.
    fn size(&self) -> Option<usize> {
        if self.buf.is_empty() {
            // A missing node reads as null, but it takes no bytes: a container whose
            // count says more items than its body holds ends here.
            return None;
        }
        match self.tag() {
            TAG_NULL | TAG_FALSE | TAG_TRUE => Some(1),
            TAG_INT | TAG_FLOAT => (self.buf.len() >= 9).then_some(9),
            TAG_STR => read_str(self.buf, 1).map(|(_, end)| end),
            TAG_ARRAY | TAG_OBJECT => {
                let size = 9usize.checked_add(read_u32(self.buf, 5)? as usize)?;
                (size <= self.buf.len()).then_some(size)
            }
            _ => None,
        }
    }

    /// Is this `null` (or missing)?
    pub fn is_null(&self) -> bool {
        self.kind() == Kind::Null
    }

    /// Is this an object?
    pub fn is_object(&self) -> bool {
        self.tag() == TAG_OBJECT
    }

    /// Is this an array?
    pub fn is_array(&self) -> bool {
        self.tag() == TAG_ARRAY
    }

    /// The boolean value, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.tag() {
            TAG_TRUE => Some(true),
            TAG_FALSE => Some(false),
            _ => None,
        }
    }

    /// The integer value, if this is an integer (or a float with no fraction).
    pub fn as_i64(&self) -> Option<i64> {
        match self.tag() {
            TAG_INT => read_u64(self.buf, 1).map(|v| v as i64),
            TAG_FLOAT => {
                let f = self.as_f64()?;
                (f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64)
                    .then_some(f as i64)
            }
            _ => None,
        }
    }

    /// The numeric value, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self.tag() {
            TAG_INT => read_u64(self.buf, 1).map(|v| v as i64 as f64),
            TAG_FLOAT => read_u64(self.buf, 1).map(f64::from_bits),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&'a str> {
        if self.tag() != TAG_STR {
            return None;
        }
        let (bytes, _) = read_str(self.buf, 1)?;
        std::str::from_utf8(bytes).ok()
    }

    /// The number of items of an array or entries of an object; 0 otherwise.
    pub fn len(&self) -> usize {
        match self.tag() {
            TAG_ARRAY | TAG_OBJECT => read_u32(self.buf, 1).unwrap_or(0) as usize,
            _ => 0,
        }
    }

    /// True if [`Node::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body of a container: the bytes of its children, and their count.
    fn body(&self, tag: u8) -> (&'a [u8], usize) {
        if self.tag() != tag {
            return (&[], 0);
        }
        let body = self
            .size()
            .and_then(|size| self.buf.get(9..size))
            .unwrap_or(&[]);
        (body, self.len())
    }

    /// The member `key` of an object. A missing member, or a non-object, reads as null.
    pub fn get(&self, key: &str) -> Node<'a> {
        self.entries()
            .find(|(k, _)| k.as_bytes() == key.as_bytes())
            .map_or(Node::NULL, |(_, v)| v)
    }

    /// Follows a path of object keys: `node.path(&["spec", "template"])`.
    pub fn path(&self, keys: &[&str]) -> Node<'a> {
        keys.iter().fold(*self, |node, key| node.get(key))
    }

    /// The item at `index` of an array; null if out of range or not an array.
    pub fn at(&self, index: usize) -> Node<'a> {
        self.items().nth(index).unwrap_or(Node::NULL)
    }

    /// The items of an array; nothing if this is not an array.
    pub fn items(&self) -> Items<'a> {
        let (body, remaining) = self.body(TAG_ARRAY);
        Items { body, remaining }
    }

    /// The `(key, value)` entries of an object, in document order; nothing if this
    /// is not an object.
    pub fn entries(&self) -> Entries<'a> {
        let (body, remaining) = self.body(TAG_OBJECT);
        Entries { body, remaining }
    }

    /// A string member: `node.str("name")` is `node.get("name").as_str()`.
    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).as_str()
    }
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            Kind::Null => f.write_str("null"),
            Kind::Bool => write!(f, "{}", self.as_bool().unwrap_or_default()),
            Kind::Int => write!(f, "{}", self.as_i64().unwrap_or_default()),
            Kind::Float => write!(f, "{}", self.as_f64().unwrap_or_default()),
            Kind::Str => write!(f, "{:?}", self.as_str().unwrap_or_default()),
            Kind::Array => f.debug_list().entries(self.items()).finish(),
            Kind::Object => f.debug_map().entries(self.entries()).finish(),
        }
    }
}

/// Iterator over the items of an array node.
pub struct Items<'a> {
    body: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for Items<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let node = Node { buf: self.body };
        let Some(size) = node.size() else {
            self.remaining = 0;
            return None;
        };
        self.remaining -= 1;
        self.body = self.body.get(size..).unwrap_or_default();
        Some(node)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

/// Iterator over the entries of an object node.
pub struct Entries<'a> {
    body: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a str, Node<'a>);

    fn next(&mut self) -> Option<(&'a str, Node<'a>)> {
        if self.remaining == 0 {
            return None;
        }
        let entry = read_str(self.body, 0).and_then(|(key, value_at)| {
            let key = std::str::from_utf8(key).ok()?;
            let value = Node {
                buf: self.body.get(value_at..)?,
            };
            Some((key, value, value_at + value.size()?))
        });
        let Some((key, value, next)) = entry else {
            self.remaining = 0;
            return None;
        };
        self.remaining -= 1;
        self.body = self.body.get(next..).unwrap_or_default();
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

/// Writes tapes. The host uses it through [`encode`]; tests build tapes with it directly.
#[derive(Default)]
pub struct Writer {
    out: Vec<u8>,
    /// Open containers: where each one's header starts, and its item count so far.
    open: Vec<(usize, u32)>,
}

impl Writer {
    /// Starts a tape.
    pub fn new() -> Self {
        Self::with_buffer(Vec::new())
    }

    /// Starts a tape at the end of `out`, which is cleared first.
    pub fn with_buffer(mut out: Vec<u8>) -> Self {
        out.clear();
        out.extend_from_slice(&MAGIC);
        Writer {
            out,
            open: Vec::new(),
        }
    }

    fn item(&mut self) {
        if let Some((_, count)) = self.open.last_mut() {
            *count += 1;
        }
    }

    fn len_u32(len: usize) -> [u8; 4] {
        // Tapes are bounded by the host's manifest size limit, far below 4 GiB.
        u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes()
    }

    /// Writes `null`.
    pub fn null(&mut self) {
        self.item();
        self.out.push(TAG_NULL);
    }

    /// Writes a boolean.
    pub fn bool(&mut self, value: bool) {
        self.item();
        self.out.push(if value { TAG_TRUE } else { TAG_FALSE });
    }

    /// Writes an integer.
    pub fn int(&mut self, value: i64) {
        self.item();
        self.out.push(TAG_INT);
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    /// Writes a float.
    pub fn float(&mut self, value: f64) {
        self.item();
        self.out.push(TAG_FLOAT);
        self.out.extend_from_slice(&value.to_bits().to_le_bytes());
    }

    /// Writes a string.
    pub fn str(&mut self, value: &str) {
        self.item();
        self.out.push(TAG_STR);
        self.raw_str(value);
    }

    /// Writes an object key; the next value written is its value.
    pub fn key(&mut self, key: &str) {
        self.raw_str(key);
    }

    fn raw_str(&mut self, value: &str) {
        self.out.extend_from_slice(&Self::len_u32(value.len()));
        self.out.extend_from_slice(value.as_bytes());
    }

    fn open(&mut self, tag: u8) {
        self.item();
        self.open.push((self.out.len(), 0));
        self.out.push(tag);
        self.out.extend_from_slice(&[0; 8]);
    }

    /// Opens an array; close it with [`Writer::end`].
    pub fn begin_array(&mut self) {
        self.open(TAG_ARRAY);
    }

    /// Opens an object; write `key` then value pairs, and close it with [`Writer::end`].
    pub fn begin_object(&mut self) {
        self.open(TAG_OBJECT);
    }

    /// Closes the innermost open array or object.
    pub fn end(&mut self) {
        if let Some((start, count)) = self.open.pop() {
            let size = self.out.len() - start - 9;
            self.out[start + 1..start + 5].copy_from_slice(&count.to_le_bytes());
            self.out[start + 5..start + 9].copy_from_slice(&Self::len_u32(size));
        }
    }

    /// The finished tape.
    pub fn finish(mut self) -> Vec<u8> {
        while !self.open.is_empty() {
            self.end();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_object();
        w.key("kind");
        w.str("Pod");
        w.key("spec");
        w.begin_object();
        w.key("containers");
        w.begin_array();
        w.begin_object();
        w.key("name");
        w.str("a");
        w.key("privileged");
        w.bool(true);
        w.end();
        w.begin_object();
        w.key("name");
        w.str("b");
        w.key("port");
        w.int(8080);
        w.key("ratio");
        w.float(0.5);
        w.key("none");
        w.null();
        w.end();
        w.end();
        w.end();
        w.key("after");
        w.str("tail");
        w.end();
        w.finish()
    }

    #[test]
    fn reads_nested_values_in_place() {
        let tape = sample();
        let root = root(&tape).unwrap();
        assert_eq!(root.str("kind"), Some("Pod"));
        assert_eq!(
            root.str("after"),
            Some("tail"),
            "skips over the spec subtree"
        );
        let containers = root.path(&["spec", "containers"]);
        assert_eq!(containers.len(), 2);
        assert_eq!(containers.at(0).get("privileged").as_bool(), Some(true));
        assert_eq!(containers.at(1).get("port").as_i64(), Some(8080));
        assert_eq!(containers.at(1).get("ratio").as_f64(), Some(0.5));
        assert!(containers.at(1).get("none").is_null());
        assert!(containers.at(2).is_null());
        let names: Vec<_> = containers.items().filter_map(|c| c.str("name")).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn wrong_types_read_as_missing() {
        let tape = sample();
        let root = root(&tape).unwrap();
        assert_eq!(root.get("kind").as_i64(), None);
        assert!(root.get("kind").get("x").is_null());
        assert_eq!(root.get("kind").items().count(), 0);
        assert_eq!(root.get("spec").entries().count(), 1);
    }

    #[test]
    fn rejects_a_buffer_without_magic() {
        assert_eq!(root(b"{}").unwrap_err(), TapeError::BadMagic);
    }

    #[test]
    fn truncated_tape_never_panics() {
        let tape = sample();
        for cut in 0..tape.len() {
            let Ok(root) = root(&tape[..cut]) else {
                continue;
            };
            // Walk everything reachable; any result is fine as long as it ends.
            let _ = format!("{root:?}");
            let _ = root
                .path(&["spec", "containers"])
                .at(1)
                .get("port")
                .as_i64();
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let tape = sample();
        for at in 4..tape.len() {
            for byte in [0x00, 0x07, 0x7f, 0xff] {
                let mut bad = tape.clone();
                bad[at] = byte;
                let root = root(&bad).unwrap();
                let _ = format!("{root:?}");
            }
        }
    }
}
