//! A Kubernetes object as a policy sees it, and the render around it.

mod typed;

use crate::path::FieldPath;
use crate::policy::Violation;
use gate_tape::Node;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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
    memo: Memo,
}

/// The render's objects by kind, namespace and name: the first of each.
struct ByIdentity(HashMap<(String, String, String), usize>);

impl ByIdentity {
    fn of(render: &Render<'_>) -> Self {
        let mut index = HashMap::with_capacity(render.objects.len());
        for (i, object) in render.objects.iter().enumerate() {
            let key = (
                object.kind().to_owned(),
                object.namespace().to_owned(),
                object.name().to_owned(),
            );
            index.entry(key).or_insert(i);
        }
        ByIdentity(index)
    }
}

/// Values computed from a render once and shared by every object judged against
/// it (see [`Render::memo`]).
#[derive(Default)]
struct Memo(RefCell<Vec<(TypeId, Rc<dyn Any>)>>);

impl<'a> Render<'a> {
    /// A value computed from this render once, the first time it is asked for,
    /// then shared by every object judged against the render: an index over the
    /// inventory, so that a cross-object rule costs one pass over the render
    /// instead of one per object. One value per type `T`; `build` sees the
    /// render, not the object being judged.
    pub fn memo<T: Any>(&self, build: impl FnOnce(&Self) -> T) -> Rc<T> {
        let found = self
            .memo
            .0
            .borrow()
            .iter()
            .find_map(|(id, value)| (*id == TypeId::of::<T>()).then(|| Rc::clone(value)));
        let value = match found {
            Some(value) => value,
            None => {
                // Built without holding the borrow: `build` may memoise too.
                let value: Rc<dyn Any> = Rc::new(build(self));
                self.memo
                    .0
                    .borrow_mut()
                    .push((TypeId::of::<T>(), Rc::clone(&value)));
                value
            }
        };
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("memo values are stored under their own type"))
    }

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

    /// The object of this kind, namespace and name, if it is in the render (the
    /// first one, if several are). Looked up in an index built once per render:
    /// a rule that looks up a ServiceAccount for each of hundreds of workloads
    /// does not scan the render each time.
    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&Object<'a>> {
        let index = self.memo(ByIdentity::of);
        let key = (kind.to_owned(), namespace.to_owned(), name.to_owned());
        index.0.get(&key).map(|&i| &self.objects[i])
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

#[cfg(test)]
mod tests {
    use super::*;
    use gate_tape::Writer;
    use std::cell::Cell;

    fn object(kind: &str, namespace: &str, name: &str, marker: &str) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_object();
        w.key("kind");
        w.str(kind);
        w.key("metadata");
        w.begin_object();
        w.key("namespace");
        w.str(namespace);
        w.key("name");
        w.str(name);
        w.end();
        w.key("marker");
        w.str(marker);
        w.end();
        w.finish()
    }

    fn render(tapes: &[Vec<u8>]) -> Render<'_> {
        Render::new(
            tapes
                .iter()
                .map(|t| Object::new(gate_tape::root(t).unwrap()))
                .collect(),
        )
    }

    #[test]
    fn a_memo_is_built_once_per_render_and_per_type() {
        let tapes = [object("Service", "shop", "a", "1")];
        let render = render(&tapes);
        let builds = Cell::new(0);
        for _ in 0..3 {
            let count = render.memo(|r| {
                builds.set(builds.get() + 1);
                r.objects().len()
            });
            assert_eq!(*count, 1);
        }
        assert_eq!(builds.get(), 1);
        // Another type is another value.
        let name = render.memo(|r| r.objects()[0].name().to_owned());
        assert_eq!(*name, "a");
        assert_eq!(builds.get(), 1);
        // Another render builds its own.
        let other = super::tests::render(&tapes);
        other.memo(|_| builds.set(builds.get() + 1));
        assert_eq!(builds.get(), 2);
    }

    #[test]
    fn find_names_the_first_object_of_that_kind_namespace_and_name() {
        let tapes = [
            object("ServiceAccount", "shop", "web", "1"),
            object("ServiceAccount", "shop", "web", "2"),
            object("ServiceAccount", "other", "web", "3"),
            object("Service", "shop", "web", "4"),
        ];
        let render = render(&tapes);
        fn marker<'a>(o: Option<&Object<'a>>) -> Option<&'a str> {
            o.and_then(|o| o.root.get("marker").as_str())
        }
        assert_eq!(
            marker(render.find("ServiceAccount", "shop", "web")),
            Some("1")
        );
        assert_eq!(
            marker(render.find("ServiceAccount", "other", "web")),
            Some("3")
        );
        assert_eq!(marker(render.find("Service", "shop", "web")), Some("4"));
        assert_eq!(marker(render.find("ServiceAccount", "shop", "db")), None);
        assert_eq!(marker(render.find("ServiceAccount", "", "web")), None);
    }
}
