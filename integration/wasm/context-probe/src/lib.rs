//! Reports, as its violation, what the host told it beyond the object: the
//! cluster facts and the admission request. It judges every operation.
#![allow(missing_docs)]

use gate_policy_sdk::prelude::*;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {}

struct Probe;

impl Policy for Probe {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("context-probe", "Reports what it is told.")
            .targets([KindSelector::any()])
            .operations([
                Operation::Create,
                Operation::Update,
                Operation::Delete,
                Operation::Connect,
            ])
    }

    fn new(_: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Probe)
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let seen = format!(
            "object={}; namespace={}; kube={}; apis={}; operation={}; old={}",
            object.name(),
            object.namespace(),
            render.kube_version().unwrap_or("-"),
            render.api_versions().join(","),
            render
                .operation()
                .map_or_else(|| "-".to_owned(), |op| format!("{op:?}")),
            render.old_object().map_or("-", |old| old.name()),
        );
        vec![Violation::new("", seen)]
    }
}

export_policy!(Probe);
