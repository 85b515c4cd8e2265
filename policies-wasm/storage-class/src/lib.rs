//! storage-class: volume claims name a storage class that exists (or is allowed).
//!
//! A claim without `storageClassName` silently takes the cluster's default class, and
//! a misspelt class leaves the claim pending forever. The rule judges
//! PersistentVolumeClaims and the `volumeClaimTemplates` of StatefulSets. Settings take
//! the parameters of Gatekeeper's `K8sStorageClass`: with `allowedStorageClasses`, the
//! class must be one of them; without, it must be a StorageClass of the render
//! (Gatekeeper looks in its cluster inventory; a render that does not ship its
//! StorageClasses should list them in `allowedStorageClasses`).
//! `includeStorageClassesInMessage` (default true) lists the valid classes in messages.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Name the valid storage classes in messages. Default: true.
    include_storage_classes_in_message: bool,
    /// If not empty, the only storage classes claims may use.
    allowed_storage_classes: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            include_storage_classes_in_message: true,
            allowed_storage_classes: Vec::new(),
        }
    }
}

struct StorageClass {
    settings: Settings,
}

impl StorageClass {
    /// The classes a claim may use.
    fn valid<'r>(&'r self, render: &'r Render<'_>) -> Vec<&'r str> {
        if self.settings.allowed_storage_classes.is_empty() {
            render.of_kind("StorageClass").map(|sc| sc.name()).collect()
        } else {
            self.settings
                .allowed_storage_classes
                .iter()
                .map(String::as_str)
                .collect()
        }
    }

    /// Judges one claim spec at `path`; `what` names the claim in messages.
    fn judge(
        &self,
        spec: Node<'_>,
        path: FieldPath,
        what: &str,
        valid: &[&str],
    ) -> Option<Violation> {
        let list = if self.settings.include_storage_classes_in_message {
            format!(" Must be one of [{}]", valid.join(", "))
        } else {
            String::new()
        };
        let message = match spec.str("storageClassName") {
            None => format!("{what} does not name a storage class.{list}"),
            Some(class) if valid.contains(&class) => return None,
            Some(class) => {
                format!("{what} names the storage class {class:?}, which is not valid.{list}")
            }
        };
        Some(Violation::new(path.key("storageClassName"), message))
    }
}

impl Policy for StorageClass {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "storage-class",
            "Volume claims must name a valid storage class",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies PersistentVolumeClaims and StatefulSet volumeClaimTemplates that name \
                 no storage class, or one that is neither a StorageClass of the render nor in \
                 allowedStorageClasses: an unnamed class silently takes the cluster default, a \
                 wrong one leaves the claim pending. Gatekeeper K8sStorageClass, with its \
                 parameter names.",
        )
        .severity(Severity::Low)
        .category("reliability")
        .targets([
            KindSelector::new("", "PersistentVolumeClaim"),
            KindSelector::new("apps", "StatefulSet"),
        ])
        .inventory([KindSelector::new("storage.k8s.io", "StorageClass")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(StorageClass { settings })
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let valid = self.valid(render);
        if object.kind() == "PersistentVolumeClaim" {
            let what = format!("PersistentVolumeClaim {:?}", object.name());
            let spec = FieldPath::root().key("spec");
            return self
                .judge(object.root.get("spec"), spec, &what, &valid)
                .into_iter()
                .collect();
        }
        let base = FieldPath::root().keys(&["spec", "volumeClaimTemplates"]);
        object
            .path(&["spec", "volumeClaimTemplates"])
            .items()
            .enumerate()
            .filter_map(|(i, template)| {
                let what = format!(
                    "StatefulSet {:?} volumeClaimTemplate {:?}",
                    object.name(),
                    template
                        .path(&["metadata", "name"])
                        .as_str()
                        .unwrap_or_default()
                );
                self.judge(
                    template.get("spec"),
                    base.index(i).key("spec"),
                    &what,
                    &valid,
                )
            })
            .collect()
    }
}

export_policy!(StorageClass);
