//! Returns no verdicts for a batch: breaks the contract on purpose.
#![allow(missing_docs)]

use gate_policy_sdk::bindings::{self, Evaluation, Guest, PolicyInfo, SettingsError, Verdict};

struct Hostile;

impl Guest for Hostile {
    fn describe() -> PolicyInfo {
        PolicyInfo {
            name: "hostile-contract".into(),
            version: "0.1.0".into(),
            title: "Returns no verdicts".into(),
            description: String::new(),
            severity: bindings::Severity::Low,
            category: "test".into(),
            targets: vec![bindings::KindSelector {
                group: "*".into(),
                version: "*".into(),
                kind: "*".into(),
            }],
            inventory: Vec::new(),
            settings_schema: "{}".into(),
            controls: Vec::new(),
            operations: Vec::new(),
        }
    }

    fn validate_settings(_settings: String) -> Result<(), Vec<SettingsError>> {
        Ok(())
    }

    fn evaluate(_request: Evaluation) -> Result<Vec<Verdict>, String> {
        Ok(Vec::new())
    }
}

bindings::export!(Hostile with_types_in bindings);
