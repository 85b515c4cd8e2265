//! A Kubernetes object of a render, and where it came from.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The file path as given, or `<stdin>`.
    pub file: String,
    /// 0-based index of the document in the file.
    pub document: usize,
    /// 1-based line where the document's content starts.
    pub line: usize,
    /// Index inside a `List` document, when the object was one of its items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(item) = self.item {
            write!(f, " (items[{item}])")?;
        }
        Ok(())
    }
}

/// One object of a render.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Where it came from.
    pub origin: Origin,
    /// The object as parsed; after [`Resource::slim`], only its `apiVersion`,
    /// `kind` and `metadata` (what reports and the choice of policies read).
    pub object: Value,
    /// What policies read of the object: see [`Body`].
    body: Body,
}

/// Where the whole object a policy reads is.
#[derive(Debug, Clone)]
enum Body {
    /// In `object`.
    Parsed,
    /// Encoded as a tape (the object as written), `object` slimmed.
    Encoded(Vec<u8>),
    /// Nowhere: `object` slimmed, and no policy of the run reads this kind.
    Dropped,
}

/// The operation of an admission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A new object.
    Create,
    /// A change to a stored object.
    Update,
    /// A deletion.
    Delete,
    /// A connection (exec, attach, port-forward, proxy).
    Connect,
}

/// What an admission request adds to the one object it carries. Policies see it;
/// renders judged before apply (CI, Argo CD, Flux) have none.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    /// The request's operation.
    pub operation: Operation,
    /// The object as stored, on UPDATE and DELETE.
    pub old_object: Option<Value>,
}

/// Identifies an object in reports: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Source position.
    #[serde(flatten)]
    pub origin: Origin,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The namespace gate assumed for a namespaced object that sets none (the run's
    /// default namespace): the one policies saw and exceptions matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumed_namespace: Option<String>,
    /// `metadata.name` (or `generateName`).
    pub name: String,
}

impl Resource {
    /// An object read from `origin`.
    pub fn new(origin: Origin, object: Value) -> Resource {
        Resource {
            origin,
            object,
            body: Body::Parsed,
        }
    }

    /// Keeps of `object` only its `apiVersion`, `kind` and `metadata`: enough for
    /// reports, exceptions and choosing the policies that judge it. When `encode`,
    /// the whole object is first encoded as a tape for the policies (see
    /// [`Resource::judged_tape`]), a fraction of the size of the parsed tree;
    /// otherwise no policy can read it any more. A loader calls this per file, so
    /// that a large render's parsed trees never all live at once. A front door that
    /// hands the objects on after judging them (Argo CD, Flux) must not.
    pub fn slim(&mut self, encode: bool) {
        if !matches!(self.body, Body::Parsed) {
            return;
        }
        if !self.object.is_object() {
            // Not a mapping (never an object the loaders keep): nothing to slim.
            return;
        }
        self.body = if encode {
            Body::Encoded(gate_tape::encode(&self.object))
        } else {
            Body::Dropped
        };
        if let Value::Object(object) = &mut self.object {
            object.retain(|key, _| matches!(key.as_str(), "apiVersion" | "kind" | "metadata"));
        }
    }

    /// The whole object as policies see it in a run with this default namespace
    /// (`metadata.namespace` set to the assumed namespace, if one is), as a tape;
    /// `None` when it was slimmed without being encoded (no policy of the run
    /// was to read it).
    pub fn judged_tape(&self, default_namespace: Option<&str>) -> Option<Cow<'_, [u8]>> {
        let assumed = self.assumed_namespace(default_namespace);
        match (&self.body, assumed) {
            (Body::Parsed, _) => Some(Cow::Owned(gate_tape::encode(
                &self.as_judged(default_namespace),
            ))),
            (Body::Encoded(tape), None) => Some(Cow::Borrowed(tape)),
            (Body::Encoded(tape), Some(namespace)) => {
                let mut object = gate_tape::to_json(gate_tape::root(tape).ok()?);
                set_namespace(&mut object, namespace);
                Some(Cow::Owned(gate_tape::encode(&object)))
            }
            (Body::Dropped, _) => None,
        }
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    /// API group and version: `("apps", "v1")`, or `("", "v1")` for the core group.
    pub fn group_version(&self) -> (&str, &str) {
        split_api_version(self.api_version())
    }

    /// `metadata.namespace`, if set and not empty.
    pub fn namespace(&self) -> Option<&str> {
        self.object["metadata"]["namespace"]
            .as_str()
            .filter(|ns| !ns.is_empty())
    }

    /// `metadata.name`, else `metadata.generateName`, else empty.
    pub fn name(&self) -> &str {
        let meta = &self.object["metadata"];
        meta["name"]
            .as_str()
            .or_else(|| meta["generateName"].as_str())
            .unwrap_or_default()
    }

    /// The namespace the object lands in: its own, `default_namespace` for a
    /// namespaced object without one, or for a `Namespace`, its name.
    pub fn effective_namespace<'a>(
        &'a self,
        default_namespace: Option<&'a str>,
    ) -> Option<&'a str> {
        if self.kind() == "Namespace" && self.group_version().0.is_empty() {
            return Some(self.name());
        }
        self.namespace().or_else(|| {
            if is_cluster_scoped(self.group_version().0, self.kind()) {
                None
            } else {
                default_namespace
            }
        })
    }

    /// The namespace assumed for this object: `default_namespace` when the object
    /// is namespaced and sets none, else `None`.
    pub fn assumed_namespace<'a>(&self, default_namespace: Option<&'a str>) -> Option<&'a str> {
        let metadata = &self.object["metadata"];
        // Without a mapping to put it in, no namespace can be assumed.
        let settable = self.object.is_object() && (metadata.is_object() || metadata.is_null());
        if !settable || self.namespace().is_some() || self.is_cluster_scoped() {
            None
        } else {
            default_namespace
        }
    }

    /// Whether the kind lives in no namespace, as far as gate knows without a
    /// cluster (see the list in `is_cluster_scoped`).
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(self.group_version().0, self.kind())
    }

    /// The object as policies see it: with `metadata.namespace` set to the
    /// assumed namespace when there is one. The user's file is never touched.
    pub(crate) fn as_judged(&self, default_namespace: Option<&str>) -> Cow<'_, Value> {
        let Some(namespace) = self.assumed_namespace(default_namespace) else {
            return Cow::Borrowed(&self.object);
        };
        let mut object = self.object.clone();
        set_namespace(&mut object, namespace);
        Cow::Owned(object)
    }

    /// A reference for reports.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            origin: self.origin.clone(),
            api_version: self.api_version().to_owned(),
            kind: self.kind().to_owned(),
            namespace: self.namespace().map(str::to_owned),
            assumed_namespace: None,
            name: self.name().to_owned(),
        }
    }

    /// A reference for reports of a run with this default namespace: it says
    /// which namespace was assumed.
    pub fn object_ref_in(&self, default_namespace: Option<&str>) -> ObjectRef {
        ObjectRef {
            assumed_namespace: self.assumed_namespace(default_namespace).map(str::to_owned),
            ..self.object_ref()
        }
    }
}

/// Sets `metadata.namespace`, creating `metadata` if it is missing or null.
fn set_namespace(object: &mut Value, namespace: &str) {
    if let Some(root) = object.as_object_mut() {
        let metadata = root
            .entry("metadata")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if metadata.is_null() {
            *metadata = Value::Object(serde_json::Map::new());
        }
        // A metadata that is not a mapping is left as written: the policies
        // judge it as it is, and the API server would reject it.
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    }
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// Well-known cluster-scoped kinds: every cluster-scoped kind of Kubernetes'
/// built-in API groups (up to 1.34) and of widely used CRDs. Without a cluster to
/// ask, gate uses this list to know which objects live in no namespace; any other
/// kind is taken as namespaced.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    match group {
        "" => matches!(
            kind,
            "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus"
        ),
        "rbac.authorization.k8s.io" => matches!(kind, "ClusterRole" | "ClusterRoleBinding"),
        "apiextensions.k8s.io" => kind == "CustomResourceDefinition",
        "storage.k8s.io" => matches!(
            kind,
            "StorageClass" | "CSIDriver" | "CSINode" | "VolumeAttachment" | "VolumeAttributesClass"
        ),
        "admissionregistration.k8s.io" => matches!(
            kind,
            "ValidatingWebhookConfiguration"
                | "MutatingWebhookConfiguration"
                | "ValidatingAdmissionPolicy"
                | "ValidatingAdmissionPolicyBinding"
                | "MutatingAdmissionPolicy"
                | "MutatingAdmissionPolicyBinding"
        ),
        "apiregistration.k8s.io" => kind == "APIService",
        "scheduling.k8s.io" => kind == "PriorityClass",
        "networking.k8s.io" => matches!(kind, "IngressClass" | "IPAddress" | "ServiceCIDR"),
        "node.k8s.io" => kind == "RuntimeClass",
        "policy" => kind == "PodSecurityPolicy",
        "certificates.k8s.io" => {
            matches!(kind, "CertificateSigningRequest" | "ClusterTrustBundle")
        }
        "flowcontrol.apiserver.k8s.io" => {
            matches!(kind, "FlowSchema" | "PriorityLevelConfiguration")
        }
        "authentication.k8s.io" => matches!(kind, "TokenReview" | "SelfSubjectReview"),
        "authorization.k8s.io" => matches!(
            kind,
            "SubjectAccessReview" | "SelfSubjectAccessReview" | "SelfSubjectRulesReview"
        ),
        "internal.apiserver.k8s.io" => kind == "StorageVersion",
        "storagemigration.k8s.io" => kind == "StorageVersionMigration",
        "resource.k8s.io" => matches!(kind, "DeviceClass" | "ResourceSlice"),
        // Common CRDs.
        "cert-manager.io" => kind == "ClusterIssuer",
        "trust.cert-manager.io" => kind == "Bundle",
        "snapshot.storage.k8s.io" => {
            matches!(kind, "VolumeSnapshotClass" | "VolumeSnapshotContent")
        }
        "gateway.networking.k8s.io" => kind == "GatewayClass",
        "templates.gatekeeper.sh" => kind == "ConstraintTemplate",
        // Every Gatekeeper constraint and mutator kind is cluster-scoped.
        "constraints.gatekeeper.sh" | "mutations.gatekeeper.sh" => true,
        "config.gatekeeper.sh" => false,
        "kyverno.io" => matches!(kind, "ClusterPolicy" | "ClusterCleanupPolicy"),
        "wgpolicyk8s.io" => kind == "ClusterPolicyReport",
        "external-secrets.io" => matches!(kind, "ClusterSecretStore" | "ClusterExternalSecret"),
        "argoproj.io" => kind == "ClusterWorkflowTemplate",
        "karpenter.sh" => matches!(kind, "NodePool" | "NodeClaim"),
        "karpenter.k8s.aws" => kind == "EC2NodeClass",
        "karpenter.azure.com" => kind == "AKSNodeClass",
        "crd.projectcalico.org" | "projectcalico.org" => matches!(
            kind,
            "GlobalNetworkPolicy"
                | "GlobalNetworkSet"
                | "IPPool"
                | "BGPConfiguration"
                | "BGPPeer"
                | "FelixConfiguration"
                | "ClusterInformation"
                | "HostEndpoint"
                | "KubeControllersConfiguration"
                | "IPReservation"
        ),
        "cilium.io" => matches!(
            kind,
            "CiliumClusterwideNetworkPolicy"
                | "CiliumNode"
                | "CiliumIdentity"
                | "CiliumExternalWorkload"
                | "CiliumLoadBalancerIPPool"
                | "CiliumBGPClusterConfig"
        ),
        "pkg.crossplane.io" => matches!(
            kind,
            "Provider"
                | "Configuration"
                | "Function"
                | "ProviderRevision"
                | "ConfigurationRevision"
        ),
        "apiextensions.crossplane.io" => {
            matches!(kind, "CompositeResourceDefinition" | "Composition")
        }
        "metrics.k8s.io" => kind == "NodeMetrics",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn resource(yaml: serde_json::Value) -> Resource {
        Resource::new(
            Origin {
                file: "f.yaml".into(),
                document: 0,
                line: 1,
                item: None,
            },
            yaml,
        )
    }

    #[test]
    fn a_namespaced_object_without_namespace_is_judged_in_the_default_namespace() {
        let deployment = resource(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}
        }));
        assert_eq!(deployment.assumed_namespace(Some("team")), Some("team"));
        assert_eq!(
            deployment.as_judged(Some("team"))["metadata"]["namespace"],
            "team"
        );
        assert_eq!(deployment.object["metadata"].get("namespace"), None);
        let reference = deployment.object_ref_in(Some("team"));
        assert_eq!(reference.namespace, None);
        assert_eq!(reference.assumed_namespace.as_deref(), Some("team"));
        assert_eq!(deployment.assumed_namespace(None), None);
    }

    #[test]
    fn an_empty_namespace_is_no_namespace() {
        let pod = resource(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ""}
        }));
        assert_eq!(pod.as_judged(Some("apps"))["metadata"]["namespace"], "apps");
        let no_metadata = resource(serde_json::json!({"apiVersion": "v1", "kind": "Pod"}));
        assert_eq!(
            no_metadata.as_judged(Some("apps"))["metadata"]["namespace"],
            "apps"
        );
    }

    #[test]
    fn own_namespaces_and_cluster_scoped_kinds_are_left_alone() {
        for object in [
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "own"}}),
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}),
            serde_json::json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sRequiredLabels", "metadata": {"name": "c"}}),
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": "not a mapping"}),
        ] {
            let r = resource(object.clone());
            assert!(
                matches!(r.as_judged(Some("apps")), std::borrow::Cow::Borrowed(_))
                    || r.as_judged(Some("apps")).as_ref() == &object,
                "{object}"
            );
            assert_eq!(
                r.object_ref_in(Some("apps")).assumed_namespace,
                None,
                "{object}"
            );
        }
    }

    #[test]
    fn a_slimmed_object_keeps_what_reports_read_and_policies_read_it_whole() {
        let whole = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"x": 1.5},
        });
        let parsed = resource(whole.clone());
        let mut slim = resource(whole.clone());
        slim.slim(true);
        assert_eq!(
            slim.object,
            serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "web"}},
            })
        );
        assert_eq!(
            slim.object_ref_in(Some("team")),
            parsed.object_ref_in(Some("team"))
        );
        // Policies read the whole object, with or without an assumed namespace.
        for namespace in [None, Some("team")] {
            let tape = slim.judged_tape(namespace).unwrap();
            assert_eq!(
                tape,
                parsed.judged_tape(namespace).unwrap(),
                "{namespace:?}"
            );
            let read = gate_tape::to_json(gate_tape::root(&tape).unwrap());
            assert_eq!(read["spec"], whole["spec"]);
            assert_eq!(
                read["metadata"]["namespace"],
                namespace.map_or(Value::Null, Value::from)
            );
        }
        // Slimming twice changes nothing.
        slim.slim(false);
        assert!(slim.judged_tape(None).is_some());
    }

    #[test]
    fn an_object_slimmed_without_encoding_gives_policies_nothing_to_read() {
        let mut slim = resource(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}
        }));
        slim.slim(false);
        assert_eq!(slim.object.get("data"), None);
        assert_eq!(slim.judged_tape(None), None);
        assert_eq!(slim.judged_tape(Some("team")), None);
    }
}
