//! Tries every capability and reports what it saw.
#![allow(missing_docs)]

use gate_policy_sdk::prelude::*;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Hostile;

impl Policy for Hostile {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "hostile-capabilities",
            "Tries every capability and reports what it saw.",
        )
        .targets([KindSelector::any()])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Hostile)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        vec![Violation::new("", probe(object.name()))]
    }
}

export_policy!(Hostile);

/// What the policy can see of the outside world, as one line of `key=value;` pairs.
fn probe(target: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let files = match std::fs::read_dir("/") {
        Ok(entries) => format!("listed {} entries", entries.count()),
        Err(e) => format!("denied ({e})"),
    };
    let file = match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => format!("read {} bytes", text.len()),
        Err(e) => format!("denied ({e})"),
    };
    let env = std::env::vars().count();
    let args = std::env::args().count();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(u128::MAX);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(b"gate");
    let entropy = hasher.finish();
    let net = match std::net::TcpStream::connect(target) {
        Ok(_) => "connected".to_owned(),
        Err(e) => format!("denied ({e})"),
    };
    format!(
        "files={files}; file={file}; env={env}; args={args}; clock_ns={now}; entropy={entropy:016x}; net={net};"
    )
}
