//! The glue between the WIT exports and a [`Policy`]: decoding settings and
//! objects, and converting results.

use crate::bindings as wit;
use crate::object::{Admission, Cluster, Object, Operation, Render};
use crate::policy::{Control, Info, KindSelector, Policy, SettingsError, Severity, Violation};

fn severity(s: Severity) -> wit::Severity {
    match s {
        Severity::Info => wit::Severity::Info,
        Severity::Low => wit::Severity::Low,
        Severity::Medium => wit::Severity::Medium,
        Severity::High => wit::Severity::High,
        Severity::Critical => wit::Severity::Critical,
    }
}

fn selector(s: KindSelector) -> wit::KindSelector {
    wit::KindSelector {
        group: s.group,
        version: s.version,
        kind: s.kind,
    }
}

fn control(c: Control) -> wit::Control {
    wit::Control {
        framework: c.framework,
        id: c.id,
        title: c.title,
    }
}

fn violation(v: Violation) -> wit::Violation {
    wit::Violation {
        message: v.message,
        path: v.path,
        severity: v.severity.map(severity),
    }
}

fn operation(op: Operation) -> wit::Operation {
    match op {
        Operation::Create => wit::Operation::Create,
        Operation::Update => wit::Operation::Update,
        Operation::Delete => wit::Operation::Delete,
        Operation::Connect => wit::Operation::Connect,
    }
}

fn sdk_operation(op: wit::Operation) -> Operation {
    match op {
        wit::Operation::Create => Operation::Create,
        wit::Operation::Update => Operation::Update,
        wit::Operation::Delete => Operation::Delete,
        wit::Operation::Connect => Operation::Connect,
    }
}

fn settings_error(e: SettingsError) -> wit::SettingsError {
    wit::SettingsError {
        field: e.field,
        message: e.message,
    }
}

/// `describe`: the policy's [`Info`] plus the JSON Schema of its settings.
pub fn describe<P: Policy>() -> wit::PolicyInfo {
    let info: Info = P::info();
    let schema = schemars::schema_for!(P::Settings);
    wit::PolicyInfo {
        name: info.name,
        version: info.version,
        title: info.title,
        description: info.description,
        severity: severity(info.severity),
        category: info.category,
        targets: info.targets.into_iter().map(selector).collect(),
        inventory: info.inventory.into_iter().map(selector).collect(),
        settings_schema: serde_json::to_string(&schema).unwrap_or_default(),
        controls: info.controls.into_iter().map(control).collect(),
        operations: info.operations.into_iter().map(operation).collect(),
    }
}

/// Decodes settings, naming the offending field on error, then builds the policy.
fn build<P: Policy>(settings: &str) -> Result<P, Vec<SettingsError>> {
    let mut deserializer = serde_json::Deserializer::from_str(settings);
    let decoded: P::Settings =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            let message = e.into_inner().to_string();
            // The position in the one-line JSON the host sends means nothing to a user.
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_owned(),
                None => message,
            };
            vec![SettingsError::new(field, message)]
        })?;
    P::new(decoded)
}

/// `validate-settings`.
pub fn validate_settings<P: Policy>(settings: &str) -> Result<(), Vec<wit::SettingsError>> {
    build::<P>(settings)
        .map(drop)
        .map_err(|errors| errors.into_iter().map(settings_error).collect())
}

/// `evaluate`: builds the policy once, then judges each object of the batch.
pub fn evaluate<P: Policy>(request: wit::Evaluation) -> Result<Vec<wit::Verdict>, String> {
    let policy = build::<P>(&request.settings).map_err(|errors| {
        let details: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        format!("invalid settings: {}", details.join("; "))
    })?;
    let inventory = request
        .inventory
        .iter()
        .map(|tape| gate_tape::root(tape).map(Object::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("inventory: {e}"))?;
    let old_object = match request
        .admission
        .as_ref()
        .and_then(|a| a.old_object.as_ref())
    {
        Some(tape) => Some(
            gate_tape::root(tape)
                .map(Object::new)
                .map_err(|e| format!("old object: {e}"))?,
        ),
        None => None,
    };
    let mut render = Render::new(inventory).with_cluster(Cluster {
        kube_version: request.cluster.kube_version.as_deref(),
        api_versions: &request.cluster.api_versions,
    });
    if let Some(admission) = &request.admission {
        render = render.with_admission(Admission {
            operation: sdk_operation(admission.operation),
            old_object,
        });
    }
    request
        .objects
        .iter()
        .map(|tape| {
            let object = Object::new(gate_tape::root(tape).map_err(|e| e.to_string())?);
            let violations = policy.evaluate(&object, &render);
            Ok(if violations.is_empty() {
                wit::Verdict::Allowed
            } else {
                wit::Verdict::Denied(violations.into_iter().map(violation).collect())
            })
        })
        .collect()
}
