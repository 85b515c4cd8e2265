//! allowed-users: the user and group IDs a pod may run with.
//!
//! PodSecurityPolicy's "Users and groups" rules, with the parameters of the Gatekeeper
//! library's `K8sPSPAllowedUsers` (`runAsUser`, `runAsGroup`, `supplementalGroups`,
//! `fsGroup`, each a `rule` and `ranges`) and of its `K8sPSPFSGroup` (a top-level
//! `rule` and `ranges` for `fsGroup`). `runAsUser` and `runAsGroup` are judged per
//! container, at the value the container runs with (its own securityContext, else the
//! pod's); `supplementalGroups` and `fsGroup` exist only at pod level.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Which user IDs containers may run as.
    run_as_user: Option<UserRule>,
    /// Which primary group IDs containers may run as.
    run_as_group: Option<GroupRule>,
    /// Which supplemental groups the pod may add.
    supplemental_groups: Option<GroupRule>,
    /// Which fsGroup the pod may set.
    fs_group: Option<GroupRule>,
    /// `K8sPSPFSGroup`'s form of `fsGroup.rule`; give this or `fsGroup`, not both.
    rule: Option<GroupStrategy>,
    /// `K8sPSPFSGroup`'s form of `fsGroup.ranges`.
    ranges: Vec<IdRange>,
    /// Images exempt from the container-level checks (`runAsUser`, `runAsGroup`). A
    /// trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the container-level checks.
    excluded_containers: Vec<String>,
}

/// The `runAsUser` rule.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UserRule {
    /// How user IDs are judged.
    rule: UserStrategy,
    /// The allowed IDs for `MustRunAs`.
    #[serde(default)]
    ranges: Vec<IdRange>,
}

/// A group rule (`runAsGroup`, `supplementalGroups`, `fsGroup`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GroupRule {
    /// How group IDs are judged; none judges nothing.
    #[serde(default)]
    rule: Option<GroupStrategy>,
    /// The allowed IDs for `MustRunAs` and `MayRunAs`.
    #[serde(default)]
    ranges: Vec<IdRange>,
}

/// PodSecurityPolicy's `runAsUser` strategies.
#[derive(Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
enum UserStrategy {
    /// A user ID is required and must be in a range.
    MustRunAs,
    /// The user must not be root: `runAsUser` non-zero, or unset with `runAsNonRoot: true`.
    MustRunAsNonRoot,
    /// Any user.
    RunAsAny,
}

/// PodSecurityPolicy's group strategies.
#[derive(Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Debug)]
enum GroupStrategy {
    /// A group ID is required and must be in a range.
    MustRunAs,
    /// A group ID may be unset; if set it must be in a range.
    MayRunAs,
    /// Any group.
    RunAsAny,
}

/// An inclusive range of IDs.
#[derive(Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct IdRange {
    /// The lowest allowed ID.
    min: i64,
    /// The highest allowed ID.
    max: i64,
}

/// A group rule ready to apply.
struct GroupCheck {
    field: &'static str,
    strategy: GroupStrategy,
    ranges: Vec<IdRange>,
}

impl GroupCheck {
    fn allows(&self, id: i64) -> bool {
        in_ranges(&self.ranges, id)
    }

    fn describe(&self) -> String {
        format!(
            "{} ({:?}, ranges {})",
            self.field,
            self.strategy,
            show_ranges(&self.ranges)
        )
    }
}

fn in_ranges(ranges: &[IdRange], id: i64) -> bool {
    ranges.iter().any(|r| (r.min..=r.max).contains(&id))
}

fn show_ranges(ranges: &[IdRange]) -> String {
    if ranges.is_empty() {
        return "none".to_owned();
    }
    ranges
        .iter()
        .map(|r| format!("{}-{}", r.min, r.max))
        .collect::<Vec<_>>()
        .join(", ")
}

struct AllowedUsers {
    run_as_user: Option<UserRule>,
    /// Group rules that judge something, in the order runAsGroup, supplementalGroups, fsGroup.
    groups: Vec<GroupCheck>,
    exempt_images: Vec<String>,
    excluded_containers: Vec<String>,
}

/// A field read from the container's securityContext, else from the pod's.
struct Effective<'a> {
    value: Node<'a>,
    path: FieldPath,
}

fn effective<'a>(pod: &PodSpec<'a>, container: &Container<'a>, field: &str) -> Effective<'a> {
    let own = container.security_context().get(field);
    let pod_value = pod.security_context().get(field);
    if own.is_null() && !pod_value.is_null() {
        Effective {
            value: pod_value,
            path: pod.path.keys(&["securityContext", field]),
        }
    } else {
        Effective {
            value: own,
            path: container.path.keys(&["securityContext", field]),
        }
    }
}

fn check_ranges(ranges: &[IdRange], field: &str) -> Vec<SettingsError> {
    ranges
        .iter()
        .enumerate()
        .filter(|(_, r)| r.min > r.max)
        .map(|(i, _)| SettingsError::new(format!("{field}[{i}]"), "min must not exceed max"))
        .collect()
}

impl AllowedUsers {
    fn user_violation(&self, pod: &PodSpec<'_>, container: &Container<'_>) -> Option<Violation> {
        let rule = self.run_as_user.as_ref()?;
        let user = effective(pod, container, "runAsUser");
        let who = container.describe();
        let id = match user.path.integer(user.value) {
            Ok(id) => id,
            Err(wrong_type) if rule.rule != UserStrategy::RunAsAny => return Some(wrong_type),
            Err(_) => return None,
        };
        match (rule.rule, id) {
            (UserStrategy::RunAsAny, _) => None,
            (UserStrategy::MustRunAs, Some(id)) if in_ranges(&rule.ranges, id) => None,
            (UserStrategy::MustRunAs, Some(id)) => Some(Violation::new(
                user.path,
                format!(
                    "{who} runs as user {id}, outside runAsUser ranges {}",
                    show_ranges(&rule.ranges)
                ),
            )),
            (UserStrategy::MustRunAs, None) => Some(Violation::new(
                user.path,
                format!("{who} must set securityContext.runAsUser (runAsUser is MustRunAs)"),
            )),
            (UserStrategy::MustRunAsNonRoot, Some(0)) => Some(Violation::new(
                user.path,
                format!("{who} runs as user 0 (root); runAsUser is MustRunAsNonRoot"),
            )),
            (UserStrategy::MustRunAsNonRoot, Some(_)) => None,
            (UserStrategy::MustRunAsNonRoot, None) => {
                let non_root = effective(pod, container, "runAsNonRoot");
                match non_root.path.boolean(non_root.value) {
                    Ok(Some(true)) => None,
                    Ok(_) => Some(Violation::new(
                        non_root.path,
                        format!(
                            "{who} must set securityContext.runAsNonRoot: true or a non-zero \
                             runAsUser (runAsUser is MustRunAsNonRoot)"
                        ),
                    )),
                    Err(wrong_type) => Some(wrong_type),
                }
            }
        }
    }

    /// A group ID of a container or pod: `what` names it in the message.
    fn group_violation(
        check: &GroupCheck,
        value: Node<'_>,
        path: FieldPath,
        what: &str,
    ) -> Option<Violation> {
        // An empty supplementalGroups list is as good as none.
        let unset = value.is_null() || (value.is_array() && value.is_empty());
        match check.strategy {
            GroupStrategy::RunAsAny => return None,
            GroupStrategy::MayRunAs if unset => return None,
            GroupStrategy::MustRunAs if unset => {
                return Some(Violation::new(
                    path,
                    format!("{what} must set {}", check.describe()),
                ));
            }
            _ => {}
        }
        // A group of another type (`"0"`) is judged as a violation, never skipped.
        match path.integer(value) {
            Ok(Some(id)) if check.allows(id) => None,
            Ok(Some(id)) => Some(Violation::new(
                path,
                format!(
                    "{what} uses group {id}, which {} does not allow",
                    check.describe()
                ),
            )),
            Ok(None) => None,
            Err(wrong_type) => Some(wrong_type),
        }
    }

    fn pod_group_violations(&self, pod: &PodSpec<'_>, check: &GroupCheck) -> Vec<Violation> {
        let path = pod.path.keys(&["securityContext", check.field]);
        let value = pod.security_context().get(check.field);
        if check.field != "supplementalGroups" {
            return Self::group_violation(check, value, path, "pod")
                .into_iter()
                .collect();
        }
        if !value.is_array() || value.is_empty() {
            return Self::group_violation(check, value, path, "pod")
                .into_iter()
                .collect();
        }
        value
            .items()
            .enumerate()
            .filter_map(|(i, group)| Self::group_violation(check, group, path.index(i), "pod"))
            .collect()
    }
}

impl Policy for AllowedUsers {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "allowed-users",
            "Pods must run with allowed user and group IDs",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "PodSecurityPolicy's users and groups: runAsUser (MustRunAs ranges, \
                 MustRunAsNonRoot or RunAsAny) and runAsGroup (MustRunAs, MayRunAs or RunAsAny) \
                 of every init, regular and ephemeral container, read from the container's \
                 securityContext or else the pod's; supplementalGroups and fsGroup of the pod. \
                 A rule that is not configured judges nothing.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([
            Control::cis("5.2.7", "Minimize the admission of root containers"),
            Control::iso27001("A.8.2", "Privileged access rights"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut errors = Vec::new();
        if settings.rule.is_some() && settings.fs_group.is_some() {
            errors.push(SettingsError::new(
                "rule",
                "give either rule and ranges (K8sPSPFSGroup) or fsGroup, not both",
            ));
        }
        if let Some(user) = &settings.run_as_user {
            errors.extend(check_ranges(&user.ranges, "runAsUser.ranges"));
        }
        errors.extend(check_ranges(&settings.ranges, "ranges"));
        let fs_group = settings.fs_group.or(settings.rule.map(|rule| GroupRule {
            rule: Some(rule),
            ranges: settings.ranges,
        }));
        let mut groups = Vec::new();
        for (field, rule) in [
            ("runAsGroup", settings.run_as_group),
            ("supplementalGroups", settings.supplemental_groups),
            ("fsGroup", fs_group),
        ] {
            let Some(rule) = rule else { continue };
            errors.extend(check_ranges(&rule.ranges, &format!("{field}.ranges")));
            if let Some(strategy) = rule.rule.filter(|s| *s != GroupStrategy::RunAsAny) {
                groups.push(GroupCheck {
                    field,
                    strategy,
                    ranges: rule.ranges,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AllowedUsers {
            run_as_user: settings.run_as_user,
            groups,
            exempt_images: settings.exempt_images,
            excluded_containers: settings.excluded_containers,
        })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let mut violations = Vec::new();
        for container in pod.containers() {
            if container_exempt(&container, &self.exempt_images, &self.excluded_containers) {
                continue;
            }
            violations.extend(self.user_violation(&pod, &container));
            for check in self.groups.iter().filter(|c| c.field == "runAsGroup") {
                let group = effective(&pod, &container, "runAsGroup");
                violations.extend(Self::group_violation(
                    check,
                    group.value,
                    group.path,
                    &container.describe(),
                ));
            }
        }
        for check in self.groups.iter().filter(|c| c.field != "runAsGroup") {
            violations.extend(self.pod_group_violations(&pod, check));
        }
        violations
    }
}

export_policy!(AllowedUsers);
