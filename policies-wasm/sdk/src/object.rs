//! A Kubernetes object as a policy sees it, and the render around it.

mod typed;

use crate::path::FieldPath;
use crate::policy::Violation;
use gate_tape::Node;

/// One Kubernetes object, read in place from its tape.
#[derive(Clone, Copy, Debug)]
pub struct Object<'a> {
    /// The whole object.
    pub root: Node<'a>,
}

impl<'a> Object<'a> {
    /// Wraps a decoded tape root.
    pub fn new(root: Node<'a>) -> Self {
        Object { root }
    }

    /// `apiVersion`, e.g. `apps/v1`.
    pub fn api_version(&self) -> &'a str {
        self.root.str("apiVersion").unwrap_or_default()
    }

    /// The API group: `apps` for `apps/v1`, empty for `v1`.
    pub fn group(&self) -> &'a str {
        self.api_version()
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// `kind`.
    pub fn kind(&self) -> &'a str {
        self.root.str("kind").unwrap_or_default()
    }

    /// `metadata`.
    pub fn metadata(&self) -> Node<'a> {
        self.root.get("metadata")
    }

    /// `metadata.name`.
    pub fn name(&self) -> &'a str {
        self.metadata().str("name").unwrap_or_default()
    }

    /// `metadata.namespace`; empty when unset.
    pub fn namespace(&self) -> &'a str {
        self.metadata().str("namespace").unwrap_or_default()
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> Node<'a> {
        self.metadata().get("labels")
    }

    /// `metadata.annotations`.
    pub fn annotations(&self) -> Node<'a> {
        self.metadata().get("annotations")
    }

    /// The member at a path of keys from the root.
    pub fn path(&self, keys: &[&str]) -> Node<'a> {
        self.root.path(keys)
    }

    /// The field at `keys`, read as a boolean; a value of another type is a violation.
    /// See [`FieldPath::boolean`].
    pub fn boolean(&self, keys: &[&str]) -> Result<Option<bool>, Violation> {
        FieldPath::root().keys(keys).boolean(self.path(keys))
    }

    /// The field at `keys`, read as an integer; a value of another type is a violation.
    /// See [`FieldPath::integer`].
    pub fn integer(&self, keys: &[&str]) -> Result<Option<i64>, Violation> {
        FieldPath::root().keys(keys).integer(self.path(keys))
    }

    /// True if this is the same object as `other`: same group, kind, namespace and name.
    pub fn same_as(&self, other: &Object<'_>) -> bool {
        self.kind() == other.kind()
            && self.group() == other.group()
            && self.namespace() == other.namespace()
            && self.name() == other.name()
    }
}

/// The operation of a Kubernetes admission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A new object.
    Create,
    /// A change to a stored object.
    Update,
    /// The deletion of a stored object.
    Delete,
    /// A connection to an object (exec, attach, port-forward, proxy).
    Connect,
}

/// What the host knows of the target cluster. Every part may be unknown.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cluster<'a> {
    /// The Kubernetes version as the front door gives it (`1.31`, `v1.31.2`).
    pub kube_version: Option<&'a str>,
    /// The API versions served: `group/version` and `group/version/Kind`.
    pub api_versions: &'a [String],
}

/// The admission request the judged object came in.
#[derive(Clone, Copy, Debug)]
pub struct Admission<'a> {
    /// The request's operation.
    pub operation: Operation,
    /// The object as stored before the request (UPDATE and DELETE).
    pub old_object: Option<Object<'a>>,
}

/// The objects of the render that a policy asked to see (its inventory), and
/// what the host knows around them: the cluster and the admission request.
#[derive(Default)]
pub struct Render<'a> {
    objects: Vec<Object<'a>>,
    cluster: Cluster<'a>,
    admission: Option<Admission<'a>>,
}

impl<'a> Render<'a> {
    /// A render made of these objects, with nothing known of the cluster and no
    /// admission request.
    pub fn new(objects: Vec<Object<'a>>) -> Self {
        Render {
            objects,
            ..Render::default()
        }
    }

    /// The same render, for this cluster.
    pub fn with_cluster(mut self, cluster: Cluster<'a>) -> Self {
        self.cluster = cluster;
        self
    }

    /// The same render, judged at admission.
    pub fn with_admission(mut self, admission: Admission<'a>) -> Self {
        self.admission = Some(admission);
        self
    }

    /// What is known of the target cluster.
    pub fn cluster(&self) -> Cluster<'a> {
        self.cluster
    }

    /// The cluster's Kubernetes version, when the front door knows it.
    pub fn kube_version(&self) -> Option<&'a str> {
        self.cluster.kube_version
    }

    /// The API versions the cluster serves; empty when unknown.
    pub fn api_versions(&self) -> &'a [String] {
        self.cluster.api_versions
    }

    /// The admission request, when the object is judged at admission; `None` for
    /// renders judged before apply.
    pub fn admission(&self) -> Option<Admission<'a>> {
        self.admission
    }

    /// The admission operation, when judged at admission.
    pub fn operation(&self) -> Option<Operation> {
        self.admission.map(|a| a.operation)
    }

    /// The object as stored in the cluster before the admission request (UPDATE
    /// and DELETE).
    pub fn old_object(&self) -> Option<Object<'a>> {
        self.admission.and_then(|a| a.old_object)
    }

    /// Every object.
    pub fn objects(&self) -> &[Object<'a>] {
        &self.objects
    }

    /// Objects of one kind (any group).
    pub fn of_kind<'r>(&'r self, kind: &'r str) -> impl Iterator<Item = &'r Object<'a>> + 'r {
        self.objects.iter().filter(move |o| o.kind() == kind)
    }

    /// The object of this kind, namespace and name, if it is in the render.
    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&Object<'a>> {
        self.objects
            .iter()
            .find(|o| o.kind() == kind && o.namespace() == namespace && o.name() == name)
    }

    /// Objects of one kind other than `this`.
    pub fn others<'r>(
        &'r self,
        this: &'r Object<'_>,
        kind: &'r str,
    ) -> impl Iterator<Item = &'r Object<'a>> + 'r {
        self.of_kind(kind).filter(move |o| !o.same_as(this))
    }
}
