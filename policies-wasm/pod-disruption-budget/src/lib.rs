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

/// An int-or-percent field (`2`, `"50%"`) resolved against a replica count, rounding up
/// as the disruption controller does. `None` when unset or unreadable.
fn resolve(node: Node<'_>, replicas: i64) -> Option<i64> {
    if let Some(n) = node.as_i64() {
        return Some(n);
    }
    let percent: f64 = node.as_str()?.strip_suffix('%')?.trim().parse().ok()?;
    Some((percent * replicas as f64 / 100.0).ceil() as i64)
}

/// True when the budget's maxUnavailable is zero (`0` or `"0%"`).
fn blocks_all(pdb: &Object<'_>) -> bool {
    let node = pdb.path(&["spec", "maxUnavailable"]);
    node.as_i64() == Some(0)
        || node
            .as_str()
            .and_then(|s| s.strip_suffix('%'))
            .and_then(|s| s.trim().parse::<f64>().ok())
            == Some(0.0)
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
        let node = object.path(&["spec", "replicas"]);
        let replicas = if node.is_null() {
            1
        } else {
            node.as_i64().unwrap_or(1)
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
                let min = resolve(pdb.path(&["spec", "minAvailable"]), replicas)?;
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
