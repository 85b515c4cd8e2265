//! replica-limits: workloads run a number of replicas within an allowed range.
//!
//! Too few replicas and a single node failure is an outage; too many and one
//! deployment can exhaust the cluster. Settings take the parameters of Gatekeeper's
//! `K8sReplicaLimits`: `ranges` of `{min_replicas, max_replicas}` (inclusive); the
//! replica count must fall in at least one. A workload that sets no `spec.replicas`
//! runs one. With no ranges nothing is checked.

use gate_policy_sdk::prelude::*;

/// An inclusive range of replica counts.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Range {
    /// The lowest count allowed.
    min_replicas: i64,
    /// The highest count allowed.
    max_replicas: i64,
}

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allowed ranges; the replica count must fall in at least one.
    ranges: Vec<Range>,
}

struct ReplicaLimits {
    settings: Settings,
}

/// The kinds that have a `spec.replicas` field.
fn replicated_kinds() -> [KindSelector; 4] {
    [
        KindSelector::new("apps", "Deployment"),
        KindSelector::new("apps", "StatefulSet"),
        KindSelector::new("apps", "ReplicaSet"),
        KindSelector::new("", "ReplicationController"),
    ]
}

impl Policy for ReplicaLimits {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "replica-limits",
            "Replica counts must be within the allowed ranges",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies Deployments, StatefulSets, ReplicaSets and ReplicationControllers \
                 whose replica count (1 when unset) falls in none of the allowed ranges: too \
                 few replicas is an outage waiting for a node failure, too many can exhaust \
                 the cluster. Gatekeeper K8sReplicaLimits, with its parameter names.",
        )
        .severity(Severity::Medium)
        .category("reliability")
        .targets(replicated_kinds())
        .controls([Control::iso27001("A.8.6", "Capacity management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = settings
            .ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| r.min_replicas < 0 || r.min_replicas > r.max_replicas)
            .map(|(i, _)| {
                SettingsError::new(
                    format!("ranges[{i}]"),
                    "min_replicas must be at least 0 and at most max_replicas",
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(ReplicaLimits { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if self.settings.ranges.is_empty() {
            return Vec::new();
        }
        // Unset means 1; a value of another type ("3") is a violation of its own.
        let replicas = match object.integer(&["spec", "replicas"]) {
            Ok(replicas) => replicas.unwrap_or(1),
            Err(wrong_type) => return vec![wrong_type],
        };
        let allowed = self
            .settings
            .ranges
            .iter()
            .any(|r| r.min_replicas <= replicas && replicas <= r.max_replicas);
        if allowed {
            return Vec::new();
        }
        let ranges: Vec<String> = self
            .settings
            .ranges
            .iter()
            .map(|r| format!("{}-{}", r.min_replicas, r.max_replicas))
            .collect();
        vec![Violation::new(
            "spec.replicas",
            format!(
                "{} {:?} runs {} replicas, outside the allowed ranges [{}]",
                object.kind(),
                object.name(),
                replicas,
                ranges.join(", ")
            ),
        )]
    }
}

export_policy!(ReplicaLimits);
