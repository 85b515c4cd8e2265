//! What Pod Security Standards checks ask of a pod beyond its raw fields: is it a
//! Windows pod, does it run in a user namespace, and each security context of the pod
//! with its path and owner.

use crate::path::FieldPath;
use crate::pod::{Container, PodSpec};
use crate::policy::Violation;
use gate_tape::Node;

/// One `securityContext` of a pod: the pod's own or a container's.
#[derive(Clone, Debug)]
pub struct SecurityContext<'a> {
    /// The `securityContext` object; null when unset.
    pub node: Node<'a>,
    /// Its path, e.g. `spec.securityContext` or `spec.containers[1].securityContext`.
    pub path: FieldPath,
    /// Its owner as the upstream Pod Security messages name it: `pod` or `container "app"`.
    pub owner: String,
}

impl<'a> SecurityContext<'a> {
    /// A member of the security context, e.g. `runAsUser`.
    pub fn get(&self, key: &str) -> Node<'a> {
        self.node.get(key)
    }

    /// The field at `keys` in the security context (e.g. `["runAsNonRoot"]`), read as a
    /// boolean; a value of another type is a violation at its path.
    pub fn boolean(&self, keys: &[&str]) -> Result<Option<bool>, Violation> {
        self.path.keys(keys).boolean(self.node.path(keys))
    }

    /// The field at `keys` in the security context (e.g. `["runAsUser"]`), read as an
    /// integer; a value of another type is a violation at its path.
    pub fn integer(&self, keys: &[&str]) -> Result<Option<i64>, Violation> {
        self.path.keys(keys).integer(self.node.path(keys))
    }
}

impl<'a> PodSpec<'a> {
    /// True when the pod declares `spec.os.name: windows`. The restricted Pod
    /// Security Standard exempts such pods from its Linux-only checks
    /// (privilege escalation, capabilities, seccomp).
    pub fn is_windows(&self) -> bool {
        self.get("os").str("name") == Some("windows")
    }

    /// True when the pod runs in a user namespace (`spec.hostUsers: false`). Since
    /// policy version 1.35 the Pod Security Standards skip the `runAsNonRoot` and
    /// `runAsUser` checks for such pods, and baseline allows any `procMount`.
    ///
    /// Only a real `false` counts: `hostUsers: "false"` (a string) exempts nothing, so
    /// the checks still run, and fail closed.
    pub fn in_user_namespace(&self) -> bool {
        self.boolean(&["hostUsers"]) == Ok(Some(false))
    }

    /// The pod's security context, then that of every container (init, regular,
    /// ephemeral) for which `skip` is false: for the checks that judge a field at
    /// both levels.
    pub fn security_contexts<F>(&self, skip: F) -> Vec<SecurityContext<'a>>
    where
        F: Fn(&Container<'a>) -> bool,
    {
        let pod = SecurityContext {
            node: self.security_context(),
            path: self.path.key("securityContext"),
            owner: "pod".to_owned(),
        };
        let containers = self
            .containers()
            .filter(|c| !skip(c))
            .map(|c| SecurityContext {
                node: c.security_context(),
                path: c.path.key("securityContext"),
                owner: format!("container {:?}", c.name()),
            });
        std::iter::once(pod).chain(containers).collect()
    }
}
