//! pss-selinux: pods and containers must not set custom SELinux users, roles or types.
//!
//! The "SELinux" control of the baseline Pod Security Standard (upstream check
//! `seLinuxOptions`): in `securityContext.seLinuxOptions` of the pod and of every
//! container, `type` must be unset or one of the container types, and `user` and
//! `role` must be unset. The Gatekeeper library's `K8sPSPSELinuxV2` parameter
//! `allowedSELinuxOptions` replaces that rule: every field a `seLinuxOptions` sets must
//! equal the same field of one listed entry.

use gate_policy_sdk::prelude::*;
use gate_policy_sdk::{SecurityContext, container_exempt};

/// The SELinux types the baseline standard allows (policy 1.31 added `container_engine_t`).
const ALLOWED_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// Settings, with the parameter names of the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The SELinux options allowed instead of the standard's rule: a `seLinuxOptions` is
    /// allowed when one entry has the same value for every field it sets. `[]` allows
    /// none. Default: the standard's rule.
    #[serde(rename = "allowedSELinuxOptions")]
    allowed_selinux_options: Option<Vec<AllowedOptions>>,
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

/// One allowed combination of SELinux options (PodSecurityPolicy's `seLinuxOptions`).
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct AllowedOptions {
    /// The SELinux level, e.g. `s0:c123,c456`.
    level: Option<String>,
    /// The SELinux role.
    role: Option<String>,
    /// The SELinux type, e.g. `container_t`.
    #[serde(rename = "type")]
    selinux_type: Option<String>,
    /// The SELinux user.
    user: Option<String>,
}

impl AllowedOptions {
    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "level" => self.level.as_deref(),
            "role" => self.role.as_deref(),
            "type" => self.selinux_type.as_deref(),
            _ => self.user.as_deref(),
        }
    }

    /// Does every field `options` sets have this entry's value?
    fn allows(&self, options: Node<'_>) -> bool {
        OPTION_FIELDS.iter().all(|field| {
            let value = options.get(field);
            unset(value) || value.as_str().is_some_and(|v| self.field(field) == Some(v))
        })
    }
}

/// The fields of `seLinuxOptions`.
const OPTION_FIELDS: [&str; 4] = ["level", "role", "type", "user"];

struct SeLinux {
    settings: Settings,
}

/// A violation if this security context's `seLinuxOptions` matches no allowed entry.
fn check_allowed(context: &SecurityContext<'_>, allowed: &[AllowedOptions]) -> Vec<Violation> {
    let options = context.get("seLinuxOptions");
    if OPTION_FIELDS.iter().all(|f| unset(options.get(f)))
        || allowed.iter().any(|a| a.allows(options))
    {
        return Vec::new();
    }
    let set: Vec<String> = OPTION_FIELDS
        .iter()
        .filter(|f| !unset(options.get(f)))
        .map(|f| format!("{f}={}", shown(options.get(f))))
        .collect();
    vec![Violation::new(
        context.path.key("seLinuxOptions"),
        format!(
            "seLinuxOptions: {} sets {}, which no allowedSELinuxOptions entry allows",
            context.owner,
            set.join(", ")
        ),
    )]
}

/// Is this value of a string field unset? The API treats `""` as unset.
fn unset(value: Node<'_>) -> bool {
    value.is_null() || value.as_str() == Some("")
}

fn shown(value: Node<'_>) -> String {
    value.as_str().map_or_else(
        || "a value that is not a string".to_owned(),
        |v| format!("{v:?}"),
    )
}

/// The forbidden fields of one security context's `seLinuxOptions`.
fn check(context: &SecurityContext<'_>) -> Vec<Violation> {
    let options = context.get("seLinuxOptions");
    let base = context.path.key("seLinuxOptions");
    let who = &context.owner;
    let mut violations = Vec::new();
    let selinux_type = options.get("type");
    if !unset(selinux_type)
        && !selinux_type
            .as_str()
            .is_some_and(|t| ALLOWED_TYPES.contains(&t))
    {
        violations.push(Violation::new(
            base.key("type"),
            format!(
                "seLinuxOptions: {who} must not set securityContext.seLinuxOptions.type to {}",
                shown(selinux_type)
            ),
        ));
    }
    for field in ["user", "role"] {
        let value = options.get(field);
        if !unset(value) {
            violations.push(Violation::new(
                base.key(field),
                format!(
                    "seLinuxOptions: {who} must not set securityContext.seLinuxOptions.{field} (found {})",
                    shown(value)
                ),
            ));
        }
    }
    violations
}

impl Policy for SeLinux {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-selinux",
            "Custom SELinux users, roles and types are not allowed",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, baseline, SELinux: denies pods and containers whose \
                 securityContext.seLinuxOptions sets a user or role, or a type other than \
                 container_t, container_init_t, container_kvm_t or container_engine_t. A custom \
                 SELinux label can lift the confinement the runtime applies to containers.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([Control::cis(
            "5.7.3",
            "Apply SecurityContext to your Pods and Containers",
        )])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(SeLinux { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let settings = &self.settings;
        pod.security_contexts(|c| {
            container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
        })
        .iter()
        .flat_map(|context| match &settings.allowed_selinux_options {
            Some(allowed) => check_allowed(context, allowed),
            None => check(context),
        })
        .collect()
    }
}

export_policy!(SeLinux);
