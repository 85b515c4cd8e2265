//! JSON manifest streams, read as kubectl reads them (values one after the other,
//! numbers through int64/float64), except that a key written twice in one object
//! is refused where Go's decoder silently keeps the last.

use crate::number;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value that refuses duplicate keys and normalises numbers.
pub struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(number::from_u64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        number::from_f64(v).ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.insert(key, value).is_some() {
                // The key itself is not quoted: it is text from the document.
                return Err(de::Error::custom("duplicate key in an object"));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str::<Strict>(text).map(|s| s.0)
    }

    #[test]
    fn refuses_duplicate_keys_without_naming_them() {
        let err = strict(r#"{"a": {"secret": 1, "secret": 2}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn numbers_arrive_as_kubectl_sends_them() {
        let v = strict(r#"{"a": 1.0, "b": 18446744073709551615, "c": -0.0, "d": 2.5}"#).unwrap();
        assert_eq!(v["a"], Value::from(1u64));
        assert_eq!(v["b"], Value::from(18446744073709551615.0));
        assert_eq!(v["c"], Value::from(0u64));
        assert_eq!(v["d"], Value::from(2.5));
        assert!(strict(r#"{"a": 1e400}"#).is_err());
    }

    #[test]
    fn floats_are_read_correctly_rounded_as_go_reads_them() {
        // serde_json's fast float parser is off by one unit in the last place for
        // some inputs; Go's (and so kubectl's) is exact. Found by the fuzzer.
        for text in [
            "123456789.12345679",
            "123456789.123456789",
            "0.30000000000000004",
        ] {
            let v = strict(&format!(r#"{{"a": {text}}}"#)).unwrap();
            let exact: f64 = text.parse().unwrap();
            assert_eq!(v["a"].as_f64(), Some(exact), "{text}");
        }
    }
}
