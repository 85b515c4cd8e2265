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

/// The objects of the render that a policy asked to see (its inventory).
#[derive(Default)]
pub struct Render<'a> {
    objects: Vec<Object<'a>>,
}

impl<'a> Render<'a> {
    /// A render made of these objects.
    pub fn new(objects: Vec<Object<'a>>) -> Self {
        Render { objects }
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
