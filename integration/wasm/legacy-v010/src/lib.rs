//! A policy built against the frozen `gate:policy@0.1.0` contract
//! (`wit/v0.1.0/policy.wit`), without the SDK, which follows the current one. It
//! proves that the host still runs 0.1.0 components: it denies every object
//! labelled `legacy: deny`.
#![allow(missing_docs)]

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "policy",
});

use gate::policy::types::{KindSelector, Severity, Violation};

struct Legacy;

impl Guest for Legacy {
    fn describe() -> PolicyInfo {
        PolicyInfo {
            name: "legacy-v010".into(),
            version: "0.1.0".into(),
            title: "Denies objects labelled legacy: deny".into(),
            description: "Built against gate:policy@0.1.0.".into(),
            severity: Severity::Low,
            category: "test".into(),
            targets: vec![KindSelector {
                group: "*".into(),
                version: "*".into(),
                kind: "*".into(),
            }],
            inventory: Vec::new(),
            settings_schema: "{}".into(),
            controls: Vec::new(),
        }
    }

    fn validate_settings(_settings: String) -> Result<(), Vec<SettingsError>> {
        Ok(())
    }

    fn evaluate(request: Evaluation) -> Result<Vec<Verdict>, String> {
        request
            .objects
            .iter()
            .map(|tape| {
                let root = gate_tape::root(tape).map_err(|e| e.to_string())?;
                let label = root.path(&["metadata", "labels", "legacy"]).as_str();
                Ok(if label == Some("deny") {
                    let name = root
                        .path(&["metadata", "name"])
                        .as_str()
                        .unwrap_or_default();
                    Verdict::Denied(vec![Violation {
                        message: format!("the 0.1.0 policy denies {name}"),
                        path: "metadata.labels.legacy".into(),
                        severity: None,
                    }])
                } else {
                    Verdict::Allowed
                })
            })
            .collect()
    }
}

export!(Legacy);
