//! The [`Policy`] trait and the values a policy returns.

use crate::object::{Object, Operation, Render};
use crate::path::FieldPath;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// How serious a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Informational.
    Info,
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
    /// Critical risk.
    Critical,
}

/// Selects objects by API group, version and kind; `*` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSelector {
    /// API group; empty for the core group.
    pub group: String,
    /// Version, or `*`.
    pub version: String,
    /// Kind, or `*`.
    pub kind: String,
}

impl KindSelector {
    /// A selector for `kind` in `group`, any version.
    pub fn new(group: &str, kind: &str) -> Self {
        KindSelector {
            group: group.to_owned(),
            version: "*".to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// Every object of every kind.
    pub fn any() -> Self {
        KindSelector::new("*", "*")
    }
}

/// A compliance control that a policy supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// The framework, e.g. `CIS Kubernetes Benchmark v1.9`.
    pub framework: String,
    /// The control's identifier, e.g. `5.2.2`.
    pub id: String,
    /// The control's title.
    pub title: String,
}

impl Control {
    /// A control of the CIS Kubernetes Benchmark (v1.9, section 5: policies).
    pub fn cis(id: &str, title: &str) -> Self {
        Control::new("CIS Kubernetes Benchmark v1.9", id, title)
    }

    /// A control of ISO/IEC 27001:2022 Annex A.
    pub fn iso27001(id: &str, title: &str) -> Self {
        Control::new("ISO/IEC 27001:2022", id, title)
    }

    /// A paragraph of GDPR (Regulation (EU) 2016/679) Article 32, security of
    /// processing, e.g. `Art. 32(1)(a)`.
    pub fn gdpr(id: &str, title: &str) -> Self {
        Control::new("GDPR", id, title)
    }

    /// A requirement of the French HDS (Hébergeur de Données de Santé) certification, v2.
    pub fn hds(id: &str, title: &str) -> Self {
        Control::new("HDS v2", id, title)
    }

    /// A control of any framework.
    pub fn new(framework: &str, id: &str, title: &str) -> Self {
        Control {
            framework: framework.to_owned(),
            id: id.to_owned(),
            title: title.to_owned(),
        }
    }
}

/// What a policy says about itself; built with [`Info::new`] and its setters.
#[derive(Debug, Clone)]
pub struct Info {
    /// Stable identifier, lower-kebab-case.
    pub name: String,
    /// Version; defaults to the crate version of the policy when set with [`Info::version`].
    pub version: String,
    /// One-line title.
    pub title: String,
    /// What it checks and why.
    pub description: String,
    /// Default severity of its violations.
    pub severity: Severity,
    /// A grouping such as `pod-security`.
    pub category: String,
    /// Which objects it judges.
    pub targets: Vec<KindSelector>,
    /// Which other objects of the render it needs to see.
    pub inventory: Vec<KindSelector>,
    /// Controls it supports.
    pub controls: Vec<Control>,
    /// Admission operations it judges; empty means create and update.
    pub operations: Vec<Operation>,
}

impl Info {
    /// Starts a description with a name and a title. Severity defaults to medium.
    pub fn new(name: &str, title: &str) -> Self {
        Info {
            name: name.to_owned(),
            version: "0.0.0".to_owned(),
            title: title.to_owned(),
            description: String::new(),
            severity: Severity::Medium,
            category: "general".to_owned(),
            targets: Vec::new(),
            inventory: Vec::new(),
            controls: Vec::new(),
            operations: Vec::new(),
        }
    }

    /// Sets the version; pass `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: &str) -> Self {
        self.version = version.to_owned();
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    /// Sets the default severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the category.
    pub fn category(mut self, category: &str) -> Self {
        self.category = category.to_owned();
        self
    }

    /// Sets the kinds the policy judges.
    pub fn targets(mut self, targets: impl IntoIterator<Item = KindSelector>) -> Self {
        self.targets = targets.into_iter().collect();
        self
    }

    /// Sets the kinds of the render the policy needs to see.
    pub fn inventory(mut self, inventory: impl IntoIterator<Item = KindSelector>) -> Self {
        self.inventory = inventory.into_iter().collect();
        self
    }

    /// Sets the supported controls.
    pub fn controls(mut self, controls: impl IntoIterator<Item = Control>) -> Self {
        self.controls = controls.into_iter().collect();
        self
    }

    /// Sets the admission operations judged (default: create and update). List
    /// `Delete` or `Connect` to be called for those requests too.
    pub fn operations(mut self, operations: impl IntoIterator<Item = Operation>) -> Self {
        self.operations = operations.into_iter().collect();
        self
    }
}

/// One problem with a policy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The field, e.g. `registries[2]`; empty for the whole document.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl SettingsError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        SettingsError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// One error per blank entry (empty or only white space) of the list setting
    /// `field`, naming it as `field[i]`.
    pub fn blank_entries(field: &str, values: &[String]) -> Vec<SettingsError> {
        values
            .iter()
            .enumerate()
            .filter(|(_, value)| value.trim().is_empty())
            .map(|(i, _)| SettingsError::new(format!("{field}[{i}]"), "must not be empty"))
            .collect()
    }
}

/// One reason an object is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// For a human. Never quote a secret value here.
    pub message: String,
    /// Field path into the object.
    pub path: String,
    /// Overrides the policy's severity.
    pub severity: Option<Severity>,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: impl Into<FieldPath>, message: impl Into<String>) -> Self {
        Violation {
            message: message.into(),
            path: path.into().into_string(),
            severity: None,
        }
    }

    /// Overrides the severity of this violation.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }
}

/// A gate policy.
///
/// The host creates the policy from its settings once per batch ([`Policy::new`]),
/// then calls [`Policy::evaluate`] for each object of the batch.
pub trait Policy: Sized {
    /// The settings, decoded from JSON. Use `#[serde(default, deny_unknown_fields)]`
    /// so that `{}` is valid and typos are load errors.
    type Settings: DeserializeOwned + JsonSchema;

    /// Describes the policy.
    fn info() -> Info;

    /// Builds the policy from decoded settings, checking what the types cannot
    /// (ranges, regular expressions, ...). Errors reach the user at load time.
    fn new(settings: Self::Settings) -> Result<Self, Vec<SettingsError>>;

    /// Judges one object. No violations means allowed. `render` holds the objects of
    /// the render that match [`Info::inventory`].
    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_entries_are_named_by_index() {
        let values = ["a", "", " \t", "b"].map(str::to_owned);
        let errors = SettingsError::blank_entries("names", &values);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["names[1]", "names[2]"]);
        assert!(SettingsError::blank_entries("names", &[]).is_empty());
    }
}
