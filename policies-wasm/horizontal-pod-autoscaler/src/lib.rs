//! horizontal-pod-autoscaler: autoscalers scale within bounds, with room to scale, and
//! point at a workload that exists.
//!
//! Settings take the parameters of Gatekeeper's `K8sHorizontalPodAutoscaler`:
//! `ranges` of `{min_replicas, max_replicas}` that `spec.minReplicas` and
//! `spec.maxReplicas` must fit in together, `minimumReplicaSpread` (maxReplicas minus
//! minReplicas must be at least this), and `enforceScaleTargetRef` (the
//! `scaleTargetRef` must be in the render, in the autoscaler's namespace). Gatekeeper
//! checks the target against its cluster inventory; here the render is the inventory.

use gate_policy_sdk::prelude::*;

/// An inclusive range of replica counts.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Range {
    /// The lowest minReplicas allowed.
    min_replicas: i64,
    /// The highest maxReplicas allowed.
    max_replicas: i64,
}

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allowed ranges: minReplicas and maxReplicas must both fit in one of them.
    ranges: Vec<Range>,
    /// The smallest allowed difference between maxReplicas and minReplicas.
    minimum_replica_spread: Option<i64>,
    /// Require the scaleTargetRef to be in the render.
    enforce_scale_target_ref: bool,
}

struct HorizontalPodAutoscaler {
    settings: Settings,
}

/// The kinds an autoscaler can target, which the render is searched for.
fn scalable_kinds() -> [KindSelector; 4] {
    [
        KindSelector::new("apps", "Deployment"),
        KindSelector::new("apps", "StatefulSet"),
        KindSelector::new("apps", "ReplicaSet"),
        KindSelector::new("", "ReplicationController"),
    ]
}

impl HorizontalPodAutoscaler {
    fn target_exists(&self, hpa: &Object<'_>, render: &Render<'_>) -> bool {
        let target = hpa.path(&["spec", "scaleTargetRef"]);
        let kind = target.str("kind").unwrap_or_default();
        let name = target.str("name").unwrap_or_default();
        let group = target
            .str("apiVersion")
            .and_then(|v| v.rsplit_once('/'))
            .map_or("", |(group, _)| group);
        render
            .find(kind, hpa.namespace(), name)
            .is_some_and(|workload| workload.group() == group)
    }
}

impl Policy for HorizontalPodAutoscaler {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "horizontal-pod-autoscaler",
            "Autoscalers must scale within bounds and target an existing workload",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies HorizontalPodAutoscalers whose minReplicas and maxReplicas fit none of \
             the allowed ranges, whose spread between them is below minimumReplicaSpread, or \
             (with enforceScaleTargetRef) whose scaleTargetRef is not in the render. \
             Gatekeeper K8sHorizontalPodAutoscaler, with its parameter names.",
        )
        .severity(Severity::Medium)
        .category("reliability")
        .targets([KindSelector::new("autoscaling", "HorizontalPodAutoscaler")])
        .inventory(scalable_kinds())
        .controls([Control::iso27001("A.8.6", "Capacity management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut errors: Vec<SettingsError> = settings
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
        if settings.minimum_replica_spread.is_some_and(|s| s < 0) {
            errors.push(SettingsError::new(
                "minimumReplicaSpread",
                "must not be negative",
            ));
        }
        if errors.is_empty() {
            Ok(HorizontalPodAutoscaler { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let spec = object.root.get("spec");
        // minReplicas defaults to 1; maxReplicas is required by the API. A value of
        // another type ("3") is a violation, and then fits no range.
        let mut out = Vec::new();
        let min = match object.integer(&["spec", "minReplicas"]) {
            Ok(min) => Some(min.unwrap_or(1)),
            Err(wrong_type) => {
                out.push(wrong_type);
                None
            }
        };
        let max = object
            .integer(&["spec", "maxReplicas"])
            .unwrap_or_else(|wrong_type| {
                out.push(wrong_type);
                None
            });
        let name = object.name();
        if !self.settings.ranges.is_empty() {
            let fits = self.settings.ranges.iter().any(|r| {
                min.is_some_and(|m| r.min_replicas <= m) && max.is_some_and(|m| m <= r.max_replicas)
            });
            if !fits {
                let ranges: Vec<String> = self
                    .settings
                    .ranges
                    .iter()
                    .map(|r| format!("{}-{}", r.min_replicas, r.max_replicas))
                    .collect();
                out.push(Violation::new(
                    "spec",
                    format!(
                        "HorizontalPodAutoscaler {name:?}: minReplicas {:?} and maxReplicas {:?} fit none of the allowed ranges [{}]",
                        spec.get("minReplicas"),
                        spec.get("maxReplicas"),
                        ranges.join(", ")
                    ),
                ));
            }
        }
        if let Some(spread) = self.settings.minimum_replica_spread {
            let actual = min.zip(max).map(|(min, max)| max - min);
            if actual.is_none_or(|actual| actual < spread) {
                out.push(Violation::new(
                    "spec.maxReplicas",
                    format!(
                        "HorizontalPodAutoscaler {name:?} can scale by {} replica(s); the spread between minReplicas and maxReplicas must be at least {spread}",
                        actual.map_or_else(|| "an unknown number of".to_owned(), |a| a.to_string())
                    ),
                ));
            }
        }
        if self.settings.enforce_scale_target_ref && !self.target_exists(object, render) {
            let target = spec.get("scaleTargetRef");
            out.push(Violation::new(
                "spec.scaleTargetRef",
                format!(
                    "HorizontalPodAutoscaler {name:?} targets {} {:?}, which is not in the render",
                    target.str("kind").unwrap_or("an unnamed kind"),
                    target.str("name").unwrap_or_default()
                ),
            ));
        }
        out
    }
}

export_policy!(HorizontalPodAutoscaler);
