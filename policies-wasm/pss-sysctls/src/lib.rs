//! pss-sysctls: pods may set only namespaced, isolated ("safe") sysctls.
//!
//! The "Sysctls" control of the baseline Pod Security Standard (upstream check
//! `sysctls`, policy version 1.37): every `spec.securityContext.sysctls[*].name` must
//! be on the safe list. The Gatekeeper library's `K8sPSPForbiddenSysctls` parameters
//! replace the safe list (`allowedSysctls`) and forbid names outright (`forbiddenSysctls`).

use gate_policy_sdk::prelude::*;

/// The safe sysctls of the baseline standard, as of policy version 1.37.
const SAFE_SYSCTLS: [&str; 14] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    // 1.27
    "net.ipv4.ip_local_reserved_ports",
    // 1.29
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    // 1.32
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    // 1.37
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

/// Settings, with the parameter names of the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The sysctls a pod may set, instead of the safe list; a trailing `*` matches any
    /// suffix, `*` alone allows any and `[]` none. Default: the safe list.
    allowed_sysctls: Option<Vec<String>>,
    /// Sysctls a pod must not set even when allowed; same patterns. Default: none.
    forbidden_sysctls: Vec<String>,
}

/// Does a sysctl name match one of the patterns?
fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == p,
    })
}

struct Sysctls {
    settings: Settings,
}

impl Sysctls {
    fn allows(&self, name: &str) -> bool {
        let allowed = match &self.settings.allowed_sysctls {
            Some(patterns) => matches_any(patterns, name),
            None => SAFE_SYSCTLS.contains(&name),
        };
        allowed && !matches_any(&self.settings.forbidden_sysctls, name)
    }
}

impl Policy for Sysctls {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-sysctls", "Pods may set only safe sysctls")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, baseline, Sysctls: denies pods whose \
                 spec.securityContext.sysctls names a sysctl outside the safe set (namespaced in \
                 the pod and isolated from other pods and the node), as of policy version 1.37. \
                 Other sysctls can disable security mechanisms or affect every pod on the node.",
            )
            .severity(Severity::Medium)
            .category("pod-security")
            .targets(workload_kinds())
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(Sysctls { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let base = pod.path.keys(&["securityContext", "sysctls"]);
        pod.security_context()
            .get("sysctls")
            .items()
            .enumerate()
            .filter(|(_, sysctl)| !sysctl.str("name").is_some_and(|name| self.allows(name)))
            .map(|(i, sysctl)| {
                let shown = sysctl
                    .str("name")
                    .map_or_else(|| "with no name".to_owned(), |n| format!("{n:?}"));
                Violation::new(
                    base.index(i).key("name"),
                    format!("forbidden sysctls: pod must not set sysctl {shown}"),
                )
            })
            .collect()
    }
}

export_policy!(Sysctls);
