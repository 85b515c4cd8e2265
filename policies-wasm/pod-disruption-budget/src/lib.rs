//! pod-disruption-budget: PodDisruptionBudgets leave room for voluntary disruptions.
//!
//! A budget of `maxUnavailable: 0`, or a `minAvailable` as large as the workload's
//! replica count, forbids every eviction: node drains hang and cluster upgrades stall
//! until someone deletes the budget by hand. The rule judges PodDisruptionBudgets on
//! their own, and Deployments, StatefulSets, ReplicaSets and ReplicationControllers
//! against every budget of the render, in their namespace, that selects their pods.
//! Gatekeeper's `K8sPodDisruptionBudget`, whose cluster inventory is here the render.

use gate_policy_sdk::LabelSelector;
use gate_policy_sdk::prelude::*;

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct PodDisruptionBudget;

const PDB: &str = "PodDisruptionBudget";

/// A budget field (`minAvailable`, `maxUnavailable`): an integer or a percentage.
#[derive(Clone, Copy, PartialEq)]
enum Budget {
    Count(i64),
    Percent(f64),
}

impl Budget {
    /// Reads the int-or-percent field at `keys` of a budget: `Ok(None)` when unset, a
    /// violation when it is neither an integer nor a percentage (`"0"`, `true`), which
    /// the API server refuses and gate does not read as unset.
    fn read(pdb: &Object<'_>, keys: &[&str]) -> Result<Option<Budget>, Violation> {
        let node = pdb.path(keys);
        let Some(text) = node.as_str() else {
            return Ok(pdb.integer(keys)?.map(Budget::Count));
        };
        text.strip_suffix('%')
            .and_then(|p| p.trim().parse().ok())
            .map(|p| Some(Budget::Percent(p)))
            .ok_or_else(|| {
                Violation::new(
                    FieldPath::root().keys(keys),
                    format!(
                        "{} must be an integer or a percentage such as \"50%\"",
                        keys.join(".")
                    ),
                )
            })
    }

    /// The number of pods this stands for out of `replicas`, rounding up as the
    /// disruption controller does.
    fn resolve(self, replicas: i64) -> i64 {
        match self {
            Budget::Count(n) => n,
            Budget::Percent(p) => (p * replicas as f64 / 100.0).ceil() as i64,
        }
    }

    /// True when this is zero (`0` or `"0%"`).
    fn is_zero(self) -> bool {
        self == Budget::Count(0) || self == Budget::Percent(0.0)
    }
}

/// True when the budget's maxUnavailable is zero (`0` or `"0%"`). A malformed value is
/// reported on the budget itself, not on every workload it selects.
fn blocks_all(pdb: &Object<'_>) -> bool {
    Budget::read(pdb, &["spec", "maxUnavailable"]).is_ok_and(|b| b.is_some_and(Budget::is_zero))
}

fn replicated_kinds() -> [KindSelector; 4] {
    [
        KindSelector::new("apps", "Deployment"),
        KindSelector::new("apps", "StatefulSet"),
        KindSelector::new("apps", "ReplicaSet"),
        KindSelector::new("", "ReplicationController"),
    ]
}

impl PodDisruptionBudget {
    fn judge_workload(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let labels = object.path(&["spec", "template", "metadata", "labels"]);
        let replicas = match object.integer(&["spec", "replicas"]) {
            Ok(replicas) => replicas.unwrap_or(1),
            Err(wrong_type) => return vec![wrong_type],
        };
        let kind = object.kind();
        let name = object.name();
        render
            .of_kind(PDB)
            .filter(|pdb| pdb.namespace() == object.namespace())
            .filter(|pdb| LabelSelector::new(pdb.path(&["spec", "selector"])).matches(labels))
            .filter_map(|pdb| {
                if blocks_all(pdb) {
                    return Some(Violation::new(
                        "spec.template.metadata.labels",
                        format!(
                            "{kind} {name:?} is selected by PodDisruptionBudget {:?}, whose maxUnavailable of 0 forbids every eviction",
                            pdb.name()
                        ),
                    ));
                }
                let min = Budget::read(pdb, &["spec", "minAvailable"])
                    .ok()??
                    .resolve(replicas);
                (min >= replicas).then(|| {
                    Violation::new(
                        "spec.replicas",
                        format!(
                            "{kind} {name:?} has {replicas} replica(s) but PodDisruptionBudget {:?} requires {min} available, so no pod can ever be evicted; keep minAvailable below the replica count",
                            pdb.name()
                        ),
                    )
                })
            })
            .collect()
    }
}

impl Policy for PodDisruptionBudget {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pod-disruption-budget",
            "PodDisruptionBudgets must allow voluntary disruptions",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies PodDisruptionBudgets with maxUnavailable of 0, and workloads selected by \
             a budget of the render whose maxUnavailable is 0 or whose minAvailable is not \
             below the replica count: such budgets forbid every eviction, so node drains and \
             upgrades hang. Gatekeeper K8sPodDisruptionBudget and Azure Policy's accurate \
             PodDisruptionBudget definition.",
        )
        .severity(Severity::Medium)
        .category("reliability")
        .targets(
            replicated_kinds()
                .into_iter()
                .chain([KindSelector::new("policy", PDB)]),
        )
        .inventory([KindSelector::new("policy", PDB)])
    }

    fn new(_settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(PodDisruptionBudget)
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        if object.kind() != PDB {
            return self.judge_workload(object, render);
        }
        let malformed: Vec<Violation> = ["minAvailable", "maxUnavailable"]
            .iter()
            .filter_map(|field| Budget::read(object, &["spec", field]).err())
            .collect();
        if !malformed.is_empty() {
            return malformed;
        }
        if !blocks_all(object) {
            return Vec::new();
        }
        vec![Violation::new(
            "spec.maxUnavailable",
            format!(
                "PodDisruptionBudget {:?} has maxUnavailable of 0, which forbids every eviction; use a positive value",
                object.name()
            ),
        )]
    }
}

export_policy!(PodDisruptionBudget);
