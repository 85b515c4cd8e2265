//! A Kubernetes object of a render, and where it came from.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// The object as parsed.
    pub object: Value,
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
    /// `metadata.name` (or `generateName`).
    pub name: String,
}

impl Resource {
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

    /// A reference for reports.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            origin: self.origin.clone(),
            api_version: self.api_version().to_owned(),
            kind: self.kind().to_owned(),
            namespace: self.namespace().map(str::to_owned),
            name: self.name().to_owned(),
        }
    }
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// Well-known cluster-scoped kinds. Without a cluster to ask, gate uses this list
/// to know which objects live in no namespace.
fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "",
            "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus"
        ) | (
            "rbac.authorization.k8s.io",
            "ClusterRole" | "ClusterRoleBinding"
        ) | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | (
                "storage.k8s.io",
                "StorageClass" | "CSIDriver" | "CSINode" | "VolumeAttachment"
            )
            | (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration"
                    | "MutatingWebhookConfiguration"
                    | "ValidatingAdmissionPolicy"
                    | "ValidatingAdmissionPolicyBinding"
            )
            | ("apiregistration.k8s.io", "APIService")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("networking.k8s.io", "IngressClass")
            | ("node.k8s.io", "RuntimeClass")
            | ("policy", "PodSecurityPolicy")
            | ("certificates.k8s.io", "CertificateSigningRequest")
            | ("cert-manager.io", "ClusterIssuer")
    )
}
