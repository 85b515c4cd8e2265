//! One loaded policy component, and the calls into it.

use crate::bindings::v2 as wit;
use crate::contract::{ContractInstance, ContractPre, EvaluateCall};
use crate::error::{Error, LimitKind, Result};
use crate::guest::{Blocked, GuestState, MemoryLimitHit, Runtime};
use crate::limits::Limits;
use gate_core::report::{Control, PolicyInfo, Severity, Violation};
use gate_core::selector::KindSelector;
use gate_core::{Admission, Operation};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::OnceLock;
use wasmtime::{Store, Trap};

/// A policy component: what it says about itself, and its code, compiled and
/// linked (at once, or on its first call: see [`CompiledPolicy::open`]).
pub struct CompiledPolicy {
    /// What it says about itself.
    pub info: PolicyInfo,
    /// `sha256:` digest of the component bytes.
    pub digest: String,
    /// Where it came from, for messages.
    pub source: String,
    /// Whether its code or its description came from the cache.
    pub from_cache: bool,
    /// The `gate:policy` version it implements.
    contract: &'static str,
    code: Code,
}

/// A component's code, loaded at most once: from the bytes kept here, on the
/// first call that needs it.
struct Code {
    bytes: Cow<'static, [u8]>,
    /// The linked component, or why it could not be loaded.
    pre: OnceLock<Result<ContractPre, String>>,
}

impl Code {
    fn loaded(pre: ContractPre) -> Code {
        Code {
            bytes: Cow::Borrowed(&[]),
            pre: OnceLock::from(Ok(pre)),
        }
    }
}

/// What a policy is told besides its objects: the cluster and, at admission, the
/// request. Built once per render and shared by every call.
#[derive(Debug, Clone)]
pub struct CallContext {
    cluster: wit::ClusterInfo,
    admission: Option<wit::AdmissionRequest>,
}

impl Default for CallContext {
    /// Nothing known of the cluster, no admission request.
    fn default() -> Self {
        CallContext {
            cluster: wit::ClusterInfo {
                kube_version: None,
                api_versions: Vec::new(),
            },
            admission: None,
        }
    }
}

impl CallContext {
    /// The context of a render: the cluster facts, and the admission request
    /// when there is one (its stored object is encoded as a tape here, once).
    pub fn new(cluster: &gate_core::report::ClusterInfo, admission: Option<&Admission>) -> Self {
        CallContext {
            cluster: wit::ClusterInfo {
                kube_version: cluster.kube_version.clone(),
                api_versions: cluster.api_versions.clone(),
            },
            admission: admission.map(|a| wit::AdmissionRequest {
                operation: operation(a.operation),
                old_object: a.old_object.as_ref().map(gate_tape::encode),
            }),
        }
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

fn core_operation(op: wit::Operation) -> Operation {
    match op {
        wit::Operation::Create => Operation::Create,
        wit::Operation::Update => Operation::Update,
        wit::Operation::Delete => Operation::Delete,
        wit::Operation::Connect => Operation::Connect,
    }
}

/// One problem with settings, as the policy reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsProblem {
    /// The field; empty for the whole document.
    pub field: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "field `{}`: {}", self.field, self.message)
        }
    }
}

/// A policy's judgement of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Complies.
    Allowed,
    /// Does not comply.
    Denied(Vec<Violation>),
}

/// The `sha256:` digest of component bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn severity(s: wit::Severity) -> Severity {
    match s {
        wit::Severity::Info => Severity::Info,
        wit::Severity::Low => Severity::Low,
        wit::Severity::Medium => Severity::Medium,
        wit::Severity::High => Severity::High,
        wit::Severity::Critical => Severity::Critical,
    }
}

fn selector(s: wit::KindSelector) -> KindSelector {
    KindSelector {
        group: s.group,
        version: s.version,
        kind: s.kind,
    }
}

impl CompiledPolicy {
    /// Compiles (or loads from cache) a component, links it, and asks it to describe
    /// itself under `limits`. `source` names it in errors; `digest` may be given
    /// when already known.
    pub fn load(
        runtime: &Runtime,
        source: &str,
        bytes: &[u8],
        digest: Option<&str>,
        limits: &Limits,
    ) -> Result<CompiledPolicy> {
        let digest = digest.map_or_else(|| digest_of(bytes), str::to_owned);
        let (pre, from_cache) = load_code(runtime, source, &digest, bytes)?;
        Self::described(
            runtime,
            source,
            digest,
            Code::loaded(pre),
            from_cache,
            limits,
        )
    }

    /// [`CompiledPolicy::load`], except that when the cache holds this
    /// component's description (recorded under the same limits by this build of
    /// gate) the component is not asked again, and its code is loaded on its
    /// first call: a run whose render holds nothing the policy targets never
    /// loads it. `bytes` are kept for that.
    pub fn open(
        runtime: &Runtime,
        source: &str,
        bytes: Cow<'static, [u8]>,
        digest: Option<&str>,
        limits: &Limits,
    ) -> Result<CompiledPolicy> {
        let digest = digest.map_or_else(|| digest_of(&bytes), str::to_owned);
        if let Some(cache) = &runtime.cache
            && let Some((contract, info)) = cache.load_description(&digest, limits)
        {
            tracing::debug!(%digest, policy = %info.name, "description read from cache");
            return Ok(CompiledPolicy {
                info,
                digest,
                source: source.to_owned(),
                from_cache: true,
                contract,
                code: Code {
                    bytes,
                    pre: OnceLock::new(),
                },
            });
        }
        Self::load(runtime, source, &bytes, Some(&digest), limits)
    }

    /// Asks a loaded component to describe itself, and records the answer.
    fn described(
        runtime: &Runtime,
        source: &str,
        digest: String,
        code: Code,
        from_cache: bool,
        limits: &Limits,
    ) -> Result<CompiledPolicy> {
        let contract = match code.pre.get() {
            Some(Ok(pre)) => pre.version(),
            _ => "",
        };
        let mut policy = CompiledPolicy {
            info: placeholder_info(),
            digest,
            source: source.to_owned(),
            from_cache,
            contract,
            code,
        };
        policy.info = policy.describe(runtime, limits)?;
        if let Some(cache) = &runtime.cache {
            cache.store_description(&policy.digest, limits, policy.contract, &policy.info);
        }
        Ok(policy)
    }

    /// Loads the component's code now if it is not loaded yet. Calls load it
    /// when they need it; a front door that wants no first-call delay, or the
    /// engine before a parallel evaluation, calls this first.
    pub fn ensure_loaded(&self, runtime: &Runtime) -> Result<()> {
        self.prepared(runtime).map(drop)
    }

    /// Whether the component's code is loaded.
    pub fn is_loaded(&self) -> bool {
        self.code.pre.get().is_some_and(Result::is_ok)
    }

    fn prepared(&self, runtime: &Runtime) -> Result<&ContractPre> {
        let pre = self.code.pre.get_or_init(|| {
            load_code(runtime, &self.source, &self.digest, &self.code.bytes)
                .map(|(pre, _)| pre)
                .map_err(|e| match e {
                    Error::Load { detail, .. } => detail,
                    other => other.to_string(),
                })
        });
        pre.as_ref().map_err(|detail| Error::Load {
            policy: self.label().to_owned(),
            detail: detail.clone(),
        })
    }

    /// The version of the `gate:policy` contract the component implements.
    pub fn contract_version(&self) -> &'static str {
        self.contract
    }

    /// The name errors use: the policy's own name once known, else its source.
    pub fn label(&self) -> &str {
        if self.info.name.is_empty() {
            &self.source
        } else {
            &self.info.name
        }
    }

    fn describe(&self, runtime: &Runtime, limits: &Limits) -> Result<PolicyInfo> {
        let raw = self.call(runtime, limits, 0, |policy, store| policy.describe(store))?;
        let contract = |detail: String| Error::Contract {
            policy: self.source.clone(),
            detail,
        };
        if raw.name.is_empty() {
            return Err(contract("describe returned an empty name".into()));
        }
        if raw.targets.is_empty() {
            return Err(contract(format!(
                "policy {:?} declares no targets",
                raw.name
            )));
        }
        let settings_schema = serde_json::from_str(&raw.settings_schema)
            .map_err(|e| contract(format!("settings-schema is not JSON: {e}")))?;
        Ok(PolicyInfo {
            name: raw.name,
            version: raw.version,
            title: raw.title,
            description: raw.description,
            severity: severity(raw.severity),
            category: raw.category,
            targets: raw.targets.into_iter().map(selector).collect(),
            inventory: raw.inventory.into_iter().map(selector).collect(),
            settings_schema,
            controls: raw
                .controls
                .into_iter()
                .map(|c| Control {
                    framework: c.framework,
                    id: c.id,
                    title: c.title,
                })
                .collect(),
            operations: raw.operations.into_iter().map(core_operation).collect(),
        })
    }

    /// Asks the policy to check settings (a JSON document), under `limits`.
    pub fn validate_settings(
        &self,
        runtime: &Runtime,
        limits: &Limits,
        settings: &str,
    ) -> Result<()> {
        if let Some(cache) = &runtime.cache
            && cache.settings_accepted(&self.digest, limits, settings)
        {
            return Ok(());
        }
        let outcome = self.call(runtime, limits, 0, |policy, store| {
            policy.validate_settings(store, settings)
        })?;
        if outcome.is_ok()
            && let Some(cache) = &runtime.cache
        {
            cache.store_settings_accepted(&self.digest, limits, settings);
        }
        outcome.map_err(|errors| Error::Settings {
            policy: self.label().to_owned(),
            problems: errors
                .into_iter()
                .map(|e| SettingsProblem {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        })
    }

    /// Judges a batch of objects (tapes) in a fresh instance, with no cluster facts
    /// and no admission request.
    pub fn evaluate(
        &self,
        runtime: &Runtime,
        limits: &Limits,
        settings: &str,
        inventory: &[&[u8]],
        objects: &[&[u8]],
    ) -> Result<Vec<Verdict>> {
        let context = CallContext::default();
        self.evaluate_in(runtime, limits, settings, inventory, objects, &context)
    }

    /// Judges a batch of objects (tapes) in a fresh instance, telling the policy
    /// what `context` holds.
    pub fn evaluate_in(
        &self,
        runtime: &Runtime,
        limits: &Limits,
        settings: &str,
        inventory: &[&[u8]],
        objects: &[&[u8]],
        context: &CallContext,
    ) -> Result<Vec<Verdict>> {
        let call = EvaluateCall {
            settings,
            inventory,
            objects,
            cluster: &context.cluster,
            admission: context.admission.as_ref(),
        };
        let outcome = self.call(runtime, limits, objects.len(), |policy, store| {
            policy.evaluate(store, &call)
        })?;
        let verdicts = outcome.map_err(|message| Error::Failed {
            policy: self.label().to_owned(),
            message: truncate(&message, 4096),
        })?;
        if verdicts.len() != objects.len() {
            return Err(Error::Contract {
                policy: self.label().to_owned(),
                detail: format!(
                    "returned {} verdicts for {} objects",
                    verdicts.len(),
                    objects.len()
                ),
            });
        }
        Ok(verdicts.into_iter().map(|v| self.verdict(v)).collect())
    }

    fn verdict(&self, raw: wit::Verdict) -> Verdict {
        match raw {
            wit::Verdict::Allowed => Verdict::Allowed,
            wit::Verdict::Denied(violations) if violations.is_empty() => {
                Verdict::Denied(vec![Violation {
                    message: "denied without a reason (the policy returned no violation)".into(),
                    path: String::new(),
                    severity: self.info.severity,
                }])
            }
            wit::Verdict::Denied(violations) => Verdict::Denied(
                violations
                    .into_iter()
                    .map(|v| Violation {
                        message: v.message,
                        path: v.path,
                        severity: v.severity.map_or(self.info.severity, severity),
                    })
                    .collect(),
            ),
        }
    }

    /// Runs one export in a fresh instance and turns every failure into an error
    /// that names the policy and, for a limit, which one.
    fn call<T>(
        &self,
        runtime: &Runtime,
        limits: &Limits,
        objects: usize,
        f: impl FnOnce(&ContractInstance, &mut Store<GuestState>) -> wasmtime::Result<T>,
    ) -> Result<T> {
        let pre = self.prepared(runtime)?;
        let mut store = runtime.store(limits, objects)?;
        let result = pre
            .instantiate(&mut store)
            .and_then(|policy| f(&policy, &mut store));
        result.map_err(|e| self.failure(e, &store, limits, objects))
    }

    fn failure(
        &self,
        error: wasmtime::Error,
        store: &Store<GuestState>,
        limits: &Limits,
        objects: usize,
    ) -> Error {
        let policy = self.label().to_owned();
        let limit = |limit, detail| Error::Limit {
            policy: policy.clone(),
            limit,
            detail,
        };
        if store.data().limiter.hit || error.downcast_ref::<MemoryLimitHit>().is_some() {
            return limit(
                LimitKind::Memory,
                format!("{} MiB", limits.memory_bytes >> 20),
            );
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => {
                return limit(
                    LimitKind::Fuel,
                    format!("{} units", limits.fuel_for(objects)),
                );
            }
            Some(Trap::Interrupt) => {
                return limit(
                    LimitKind::Time,
                    format!("{} ms", limits.timeout.as_millis()),
                );
            }
            Some(Trap::StackOverflow) => {
                return limit(LimitKind::Stack, "call stack exhausted".into());
            }
            _ => {}
        }
        if let Some(blocked) = error.downcast_ref::<Blocked>() {
            return Error::Blocked {
                policy,
                call: blocked.call,
            };
        }
        // wasmtime's error for hostcall fuel is private: its message is all there is.
        // The hostile output tests fail if a wasmtime upgrade changes it.
        if format!("{error:#}").contains(HOSTCALL_FUEL_EXHAUSTED) {
            return limit(
                LimitKind::Output,
                format!("{} bytes lifted from one call", limits.max_output_bytes),
            );
        }
        let stderr = store.data().stderr.contents();
        let stderr = String::from_utf8_lossy(&stderr);
        // One line, without the standard library's advice about RUST_BACKTRACE.
        let stderr = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect::<Vec<_>>()
            .join(" ");
        let stderr = stderr.as_str();
        let trap = error
            .downcast_ref::<Trap>()
            .map_or_else(|| first_line(&format!("{error:#}")), |t| t.to_string());
        let detail = if stderr.is_empty() {
            trap
        } else {
            format!("{trap}; the policy wrote: {}", truncate(stderr, 2048))
        };
        Error::Trap { policy, detail }
    }
}

/// Compiles a component (or loads it from the cache) and links it; returns it
/// with whether it came from the cache.
fn load_code(
    runtime: &Runtime,
    source: &str,
    digest: &str,
    bytes: &[u8],
) -> Result<(ContractPre, bool)> {
    let load_error = |detail: String| Error::Load {
        policy: source.to_owned(),
        detail,
    };
    let (component, from_cache) = runtime.component(digest, bytes).map_err(|e| match e {
        Error::Load { detail, .. } => load_error(detail),
        other => other,
    })?;
    let pre = runtime.prepare(&component).map_err(load_error)?;
    Ok((pre, from_cache))
}

/// What wasmtime says when a call returns more than its hostcall fuel allows.
const HOSTCALL_FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

fn placeholder_info() -> PolicyInfo {
    PolicyInfo {
        name: String::new(),
        version: String::new(),
        title: String::new(),
        description: String::new(),
        severity: Severity::Medium,
        category: String::new(),
        targets: Vec::new(),
        inventory: Vec::new(),
        settings_schema: serde_json::Value::Null,
        controls: Vec::new(),
        operations: Vec::new(),
    }
}
