//! The manifest loader, bytes to documents: it must never panic, and what it
//! accepts must read back the same. Each object gate returns is written as JSON
//! and read again through both of gate's paths, the JSON reader and the YAML one
//! (kubectl reads JSON documents in a YAML stream as YAML): all three must agree.

#![no_main]

use gate_core::manifest;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys's hook aborts on any panic, even one gate catches (see
    // gate_core::yaml::compose); the default hook lets an uncaught panic still
    // reach libfuzzer-sys, which reports it as a crash.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let _ = std::panic::take_hook();
    });
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = manifest::parse("fuzz.yaml", text) else {
        return;
    };
    for resource in &parsed.resources {
        let object = &resource.object;
        // An object with `items` is a list when read on its own, as for kubectl.
        if object.get("items").is_some() {
            continue;
        }
        let json = serde_json::to_string(object).expect("a value always serializes");
        let again = manifest::parse("again.json", &json).expect("gate reads its own JSON");
        assert_eq!(again.resources.len(), 1, "{json}");
        assert_eq!(&again.resources[0].object, object, "JSON round trip: {json}");
        if let Some(yaml) = as_yaml(object) {
            let again = manifest::parse("again.yaml", &yaml).expect("gate reads JSON as YAML");
            assert_eq!(again.resources.len(), 1, "{yaml}");
            assert_eq!(&again.resources[0].object, object, "YAML path: {yaml}");
        }
    }
});

/// The object as a YAML document written in JSON syntax: a comment first so that
/// it is not sniffed as JSON, and every non-ASCII character escaped (YAML folds
/// some raw line-break characters and refuses others). `None` when libyaml's
/// 1024-character limit on a flow key would apply.
fn as_yaml(object: &Value) -> Option<String> {
    fn long_key(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| k.len() > 1000 || long_key(v)),
            Value::Array(a) => a.iter().any(long_key),
            _ => false,
        }
    }
    if long_key(object) {
        return None;
    }
    let json = serde_json::to_string(object).ok()?;
    let mut out = String::from("# yaml\n");
    for c in json.chars() {
        match c as u32 {
            0..=0x7e => out.push(c),
            n @ 0x7f..=0xffff => out.push_str(&format!("\\u{n:04x}")),
            n => out.push_str(&format!("\\U{n:08x}")),
        }
    }
    Some(out)
}
