//! What Pod Security Standards checks ask of a pod beyond its raw fields: is it a
//! Windows pod, does it run in a user namespace.

use crate::pod::PodSpec;

impl PodSpec<'_> {
    /// True when the pod declares `spec.os.name: windows`. The restricted Pod
    /// Security Standard exempts such pods from its Linux-only checks
    /// (privilege escalation, capabilities, seccomp).
    pub fn is_windows(&self) -> bool {
        self.get("os").str("name") == Some("windows")
    }

    /// True when the pod runs in a user namespace (`spec.hostUsers: false`). Since
    /// policy version 1.35 the Pod Security Standards skip the `runAsNonRoot` and
    /// `runAsUser` checks for such pods, and baseline allows any `procMount`.
    pub fn in_user_namespace(&self) -> bool {
        self.get("hostUsers").as_bool() == Some(false)
    }
}
