//! The tape reader on arbitrary bytes: reading never panics, every accessor
//! answers, and decoding is stable (decode, encode, decode gives the same value).

#![no_main]

use gate_tape::{Kind, Node, encode, root, to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(node) = root(data) else {
        return;
    };
    walk(node, 0);
    let first = to_json(node);
    let tape = encode(&first);
    let second = to_json(root(&tape).expect("encode writes the magic"));
    assert_eq!(first, second);
});

/// Calls every accessor on every node.
fn walk(node: Node<'_>, depth: usize) {
    let _ = (node.kind(), node.is_null(), node.is_object(), node.is_array());
    let _ = (node.as_bool(), node.as_i64(), node.as_f64(), node.as_str());
    let _ = (node.len(), node.is_empty(), node.at(3), node.str("kind"));
    let _ = node.path(&["metadata", "name"]);
    let _ = format!("{node:?}");
    if depth > 64 {
        return;
    }
    match node.kind() {
        Kind::Array => node.items().for_each(|n| walk(n, depth + 1)),
        Kind::Object => node.entries().for_each(|(k, v)| {
            let _ = node.get(k);
            walk(v, depth + 1);
        }),
        _ => {}
    }
}
