//! Which version of the `gate:policy` contract a component implements, and the
//! calls into it. Components built against 0.1.0 are adapted to 0.2.0 here, so
//! the rest of the host knows one contract.

use crate::bindings::{v1, v2};
use crate::guest::GuestState;
use wasmtime::Store;
use wasmtime::component::{Component, InstancePre};

/// The interface every policy component imports; its version names the contract.
const TYPES_INTERFACE: &str = "gate:policy/types@";

/// The versions this host runs, newest first.
pub(crate) const SUPPORTED: &str = "0.2.0 and 0.1.0";

/// A supported contract version by its name.
pub(crate) fn known_version(version: &str) -> Option<&'static str> {
    ["0.2.0", "0.1.0"].into_iter().find(|v| *v == version)
}

/// A component linked and checked against one version of the contract.
pub(crate) enum ContractPre {
    /// `gate:policy@0.1.0`.
    V1(v1::PolicyPre<GuestState>),
    /// `gate:policy@0.2.0`.
    V2(v2::PolicyPre<GuestState>),
}

/// An instance of a policy component.
pub(crate) enum ContractInstance {
    /// `gate:policy@0.1.0`.
    V1(v1::Policy),
    /// `gate:policy@0.2.0`.
    V2(v2::Policy),
}

/// One `evaluate` call, borrowed from the caller.
pub(crate) struct EvaluateCall<'a> {
    /// Settings, as JSON.
    pub settings: &'a str,
    /// The inventory's tapes.
    pub inventory: &'a [&'a [u8]],
    /// The tapes of the objects to judge.
    pub objects: &'a [&'a [u8]],
    /// What is known of the cluster (0.2.0 only).
    pub cluster: &'a v2::ClusterInfo,
    /// The admission request (0.2.0 only).
    pub admission: Option<&'a v2::AdmissionRequest>,
}

impl ContractPre {
    /// Checks the component's exports against the version it was built for: the
    /// version of the `gate:policy/types` interface it imports, or, for a
    /// component that imports none, whichever version its exports match.
    pub(crate) fn new(
        component: &Component,
        pre: InstancePre<GuestState>,
    ) -> Result<ContractPre, String> {
        let engine = pre.engine().clone();
        let declared = component
            .component_type()
            .imports(&engine)
            .find_map(|(name, _)| name.strip_prefix(TYPES_INTERFACE).map(str::to_owned));
        let v2 = |pre| v2::PolicyPre::new(pre).map(ContractPre::V2);
        let v1 = |pre| v1::PolicyPre::new(pre).map(ContractPre::V1);
        let result = match declared.as_deref() {
            Some("0.2.0") => v2(pre),
            Some("0.1.0") => v1(pre),
            Some(other) => {
                return Err(format!(
                    "built against gate:policy@{other}; this gate runs {SUPPORTED}"
                ));
            }
            None => v2(pre.clone()).or_else(|e| v1(pre).map_err(|_| e)),
        };
        result.map_err(|e| format!("{e:#}"))
    }

    /// The contract version, for messages.
    pub(crate) fn version(&self) -> &'static str {
        match self {
            ContractPre::V1(_) => "0.1.0",
            ContractPre::V2(_) => "0.2.0",
        }
    }

    /// A fresh instance in `store`.
    pub(crate) fn instantiate(
        &self,
        store: &mut Store<GuestState>,
    ) -> wasmtime::Result<ContractInstance> {
        Ok(match self {
            ContractPre::V1(pre) => ContractInstance::V1(pre.instantiate(store)?),
            ContractPre::V2(pre) => ContractInstance::V2(pre.instantiate(store)?),
        })
    }
}

impl ContractInstance {
    /// `describe`, as 0.2.0 returns it.
    pub(crate) fn describe(
        &self,
        store: &mut Store<GuestState>,
    ) -> wasmtime::Result<v2::PolicyInfo> {
        match self {
            ContractInstance::V2(policy) => policy.call_describe(store),
            ContractInstance::V1(policy) => policy.call_describe(store).map(legacy::policy_info),
        }
    }

    /// `validate-settings`, as 0.2.0 returns it.
    pub(crate) fn validate_settings(
        &self,
        store: &mut Store<GuestState>,
        settings: &str,
    ) -> wasmtime::Result<Result<(), Vec<v2::SettingsError>>> {
        match self {
            ContractInstance::V2(policy) => policy.call_validate_settings(store, settings),
            ContractInstance::V1(policy) => {
                policy.call_validate_settings(store, settings).map(|r| {
                    r.map_err(|errors| errors.into_iter().map(legacy::settings_error).collect())
                })
            }
        }
    }

    /// `evaluate`, as 0.2.0 returns it. A 0.1.0 policy sees neither the cluster
    /// nor the admission request.
    pub(crate) fn evaluate(
        &self,
        store: &mut Store<GuestState>,
        call: &EvaluateCall<'_>,
    ) -> wasmtime::Result<Result<Vec<v2::Verdict>, String>> {
        let tapes = |tapes: &[&[u8]]| tapes.iter().map(|t| t.to_vec()).collect::<Vec<_>>();
        match self {
            ContractInstance::V2(policy) => {
                let request = v2::Evaluation {
                    settings: call.settings.to_owned(),
                    inventory: tapes(call.inventory),
                    objects: tapes(call.objects),
                    cluster: call.cluster.clone(),
                    admission: call.admission.cloned(),
                };
                policy.call_evaluate(store, &request)
            }
            ContractInstance::V1(policy) => {
                let request = v1::Evaluation {
                    settings: call.settings.to_owned(),
                    inventory: tapes(call.inventory),
                    objects: tapes(call.objects),
                };
                policy
                    .call_evaluate(store, &request)
                    .map(|r| r.map(|verdicts| verdicts.into_iter().map(legacy::verdict).collect()))
            }
        }
    }
}

/// 0.1.0 values as 0.2.0 ones: the same records, without what 0.2.0 added.
mod legacy {
    use crate::bindings::v1::gate::policy::types as old;
    use crate::bindings::v2;

    pub(super) fn policy_info(info: old::PolicyInfo) -> v2::PolicyInfo {
        v2::PolicyInfo {
            name: info.name,
            version: info.version,
            title: info.title,
            description: info.description,
            severity: severity(info.severity),
            category: info.category,
            targets: info.targets.into_iter().map(selector).collect(),
            inventory: info.inventory.into_iter().map(selector).collect(),
            settings_schema: info.settings_schema,
            controls: info
                .controls
                .into_iter()
                .map(|c| v2::gate::policy::types::Control {
                    framework: c.framework,
                    id: c.id,
                    title: c.title,
                })
                .collect(),
            // 0.1.0 had no operations: its policies judge what empty means.
            operations: Vec::new(),
        }
    }

    pub(super) fn settings_error(e: old::SettingsError) -> v2::SettingsError {
        v2::SettingsError {
            field: e.field,
            message: e.message,
        }
    }

    pub(super) fn verdict(v: old::Verdict) -> v2::Verdict {
        match v {
            old::Verdict::Allowed => v2::Verdict::Allowed,
            old::Verdict::Denied(violations) => v2::Verdict::Denied(
                violations
                    .into_iter()
                    .map(|v| v2::Violation {
                        message: v.message,
                        path: v.path,
                        severity: v.severity.map(severity),
                    })
                    .collect(),
            ),
        }
    }

    fn severity(s: old::Severity) -> v2::Severity {
        match s {
            old::Severity::Info => v2::Severity::Info,
            old::Severity::Low => v2::Severity::Low,
            old::Severity::Medium => v2::Severity::Medium,
            old::Severity::High => v2::Severity::High,
            old::Severity::Critical => v2::Severity::Critical,
        }
    }

    fn selector(s: old::KindSelector) -> v2::KindSelector {
        v2::KindSelector {
            group: s.group,
            version: s.version,
            kind: s.kind,
        }
    }
}
