//! Walks the pod spec of every workload kind, and every container in it.

use crate::object::Object;
use crate::path::FieldPath;
use crate::policy::{KindSelector, Violation};
use gate_tape::Node;

/// Where the pod template lives in each workload kind: (group, kind, path to the pod's
/// `metadata`/`spec` parent).
const WORKLOADS: &[(&str, &str, &[&str])] = &[
    ("", "Pod", &[]),
    ("", "PodTemplate", &["template"]),
    ("", "ReplicationController", &["spec", "template"]),
    ("apps", "Deployment", &["spec", "template"]),
    ("apps", "ReplicaSet", &["spec", "template"]),
    ("apps", "StatefulSet", &["spec", "template"]),
    ("apps", "DaemonSet", &["spec", "template"]),
    ("batch", "Job", &["spec", "template"]),
    (
        "batch",
        "CronJob",
        &["spec", "jobTemplate", "spec", "template"],
    ),
];

/// Selectors for every kind that carries a pod spec: Pod, PodTemplate,
/// ReplicationController, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob.
pub fn workload_kinds() -> Vec<KindSelector> {
    WORKLOADS
        .iter()
        .map(|(group, kind, _)| KindSelector::new(group, kind))
        .collect()
}

/// A pod spec inside an object, with the paths to it.
#[derive(Clone, Debug)]
pub struct PodSpec<'a> {
    /// The pod spec (`spec` of a Pod, `spec.template.spec` of a Deployment, ...).
    pub spec: Node<'a>,
    /// The pod's metadata (`metadata` of a Pod, `spec.template.metadata` of a Deployment).
    pub metadata: Node<'a>,
    /// Path to [`PodSpec::spec`].
    pub path: FieldPath,
    /// Path to [`PodSpec::metadata`].
    pub metadata_path: FieldPath,
}

/// The pod spec of a workload object, or `None` for other kinds or when it is absent.
pub fn pod_spec<'a>(object: &Object<'a>) -> Option<PodSpec<'a>> {
    let kind = object.kind();
    let group = object.group();
    let (_, _, parent) = WORKLOADS
        .iter()
        .find(|(g, k, _)| *k == kind && *g == group)?;
    let parent_node = object.path(parent);
    let spec = parent_node.get("spec");
    if !spec.is_object() {
        return None;
    }
    let base = FieldPath::root().keys(parent);
    Some(PodSpec {
        spec,
        metadata: parent_node.get("metadata"),
        path: base.key("spec"),
        metadata_path: base.key("metadata"),
    })
}

/// Every container of a workload object: init, regular and ephemeral.
pub fn containers<'a>(object: &Object<'a>) -> impl Iterator<Item = Container<'a>> + use<'a> {
    pod_spec(object)
        .into_iter()
        .flat_map(|pod| pod.containers())
}

/// Which container list a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    /// `initContainers`.
    Init,
    /// `containers`.
    Regular,
    /// `ephemeralContainers`.
    Ephemeral,
}

impl ContainerList {
    /// The field name of the list.
    pub fn field(self) -> &'static str {
        match self {
            ContainerList::Init => "initContainers",
            ContainerList::Regular => "containers",
            ContainerList::Ephemeral => "ephemeralContainers",
        }
    }

    /// The three lists, in the order Kubernetes visits them.
    pub const ALL: [ContainerList; 3] = [
        ContainerList::Init,
        ContainerList::Regular,
        ContainerList::Ephemeral,
    ];
}

/// One container of a pod spec.
#[derive(Clone, Debug)]
pub struct Container<'a> {
    /// The container object.
    pub node: Node<'a>,
    /// Its path, e.g. `spec.template.spec.initContainers[0]`.
    pub path: FieldPath,
    /// The list it is in.
    pub list: ContainerList,
    /// Its index in that list.
    pub index: usize,
}

impl<'a> Container<'a> {
    /// `name`.
    pub fn name(&self) -> &'a str {
        self.node.str("name").unwrap_or_default()
    }

    /// `image`; empty when unset.
    pub fn image(&self) -> &'a str {
        self.node.str("image").unwrap_or_default()
    }

    /// `securityContext`.
    pub fn security_context(&self) -> Node<'a> {
        self.node.get("securityContext")
    }

    /// A member of the container.
    pub fn get(&self, key: &str) -> Node<'a> {
        self.node.get(key)
    }

    /// The field at `keys` in the container (e.g. `["securityContext", "privileged"]`),
    /// read as a boolean; a value of another type is a violation at its path.
    pub fn boolean(&self, keys: &[&str]) -> Result<Option<bool>, Violation> {
        self.path.keys(keys).boolean(self.node.path(keys))
    }

    /// The field at `keys` in the container, read as an integer; a value of another
    /// type is a violation at its path.
    pub fn integer(&self, keys: &[&str]) -> Result<Option<i64>, Violation> {
        self.path.keys(keys).integer(self.node.path(keys))
    }
}

/// One volume of a pod spec.
#[derive(Clone, Debug)]
pub struct Volume<'a> {
    /// The volume object.
    pub node: Node<'a>,
    /// Its path, e.g. `spec.volumes[2]`.
    pub path: FieldPath,
}

impl<'a> PodSpec<'a> {
    /// A member of the pod spec.
    pub fn get(&self, key: &str) -> Node<'a> {
        self.spec.get(key)
    }

    /// The field at `keys` in the pod spec (e.g. `["hostPID"]`), read as a boolean; a
    /// value of another type is a violation at its path.
    pub fn boolean(&self, keys: &[&str]) -> Result<Option<bool>, Violation> {
        self.path.keys(keys).boolean(self.spec.path(keys))
    }

    /// The field at `keys` in the pod spec, read as an integer; a value of another type
    /// is a violation at its path.
    pub fn integer(&self, keys: &[&str]) -> Result<Option<i64>, Violation> {
        self.path.keys(keys).integer(self.spec.path(keys))
    }

    /// The pod-level `securityContext`.
    pub fn security_context(&self) -> Node<'a> {
        self.spec.get("securityContext")
    }

    /// The containers of one list.
    pub fn containers_in(
        &self,
        list: ContainerList,
    ) -> impl Iterator<Item = Container<'a>> + use<'a> {
        let base = self.path.key(list.field());
        self.spec
            .get(list.field())
            .items()
            .enumerate()
            .map(move |(index, node)| Container {
                node,
                path: base.index(index),
                list,
                index,
            })
    }

    /// Every container: init, regular, then ephemeral.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + use<'a> {
        let pod = self.clone();
        ContainerList::ALL
            .into_iter()
            .flat_map(move |list| pod.containers_in(list))
    }

    /// The volumes.
    pub fn volumes(&self) -> impl Iterator<Item = Volume<'a>> + use<'a> {
        let base = self.path.key("volumes");
        self.spec
            .get("volumes")
            .items()
            .enumerate()
            .map(move |(i, node)| Volume {
                node,
                path: base.index(i),
            })
    }
}
