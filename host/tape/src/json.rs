//! Conversions between tapes and `serde_json` values.

use crate::{Kind, Node, Writer};
use serde_json::{Map, Number, Value};

/// Encodes a JSON value as a tape.
pub fn encode(value: &Value) -> Vec<u8> {
    encode_into(value, Vec::with_capacity(256))
}

/// Encodes a JSON value as a tape, reusing `buffer`'s allocation.
pub fn encode_into(value: &Value, buffer: Vec<u8>) -> Vec<u8> {
    let mut writer = Writer::with_buffer(buffer);
    write_value(&mut writer, value);
    writer.finish()
}

fn write_value(w: &mut Writer, value: &Value) {
    match value {
        Value::Null => w.null(),
        Value::Bool(b) => w.bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => w.int(i),
            None => w.float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => w.str(s),
        Value::Array(items) => {
            w.begin_array();
            for item in items {
                write_value(w, item);
            }
            w.end();
        }
        Value::Object(map) => {
            w.begin_object();
            for (key, item) in map {
                w.key(key);
                write_value(w, item);
            }
            w.end();
        }
    }
}

/// Decodes a node back into a JSON value.
pub fn to_json(node: Node<'_>) -> Value {
    match node.kind() {
        Kind::Null => Value::Null,
        Kind::Bool => Value::Bool(node.as_bool().unwrap_or_default()),
        Kind::Int => Value::from(node.as_i64().unwrap_or_default()),
        Kind::Float => node
            .as_f64()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Kind::Str => Value::String(node.as_str().unwrap_or_default().to_owned()),
        Kind::Array => Value::Array(node.items().map(to_json).collect()),
        Kind::Object => Value::Object(
            node.entries()
                .map(|(k, v)| (k.to_owned(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_a_deployment() {
        let value = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "template": {"spec": {"containers": [
                    {"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                     "resources": {"limits": {"cpu": 0.5}}, "tty": false, "x": null}
                ]}}
            },
            "unicode": "héllo ✓"
        });
        let tape = encode(&value);
        let root = crate::root(&tape).unwrap();
        assert_eq!(to_json(root), value);
        assert_eq!(
            root.path(&["spec", "template", "spec", "containers"])
                .at(0)
                .str("image"),
            Some("nginx:1.27")
        );
    }
}
