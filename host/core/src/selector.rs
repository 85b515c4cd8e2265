//! Matching objects against a policy's group/version/kind selectors.

use serde::{Deserialize, Serialize};

/// Selects objects by group, version and kind; `*` matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindSelector {
    /// API group; empty for the core group.
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl KindSelector {
    /// Does this selector match an object of this group, version and kind?
    pub fn matches(&self, group: &str, version: &str, kind: &str) -> bool {
        field_matches(&self.group, group)
            && field_matches(&self.version, version)
            && field_matches(&self.kind, kind)
    }
}

fn field_matches(pattern: &str, value: &str) -> bool {
    pattern == "*" || pattern == value
}

/// Does any selector match?
pub fn any_matches(selectors: &[KindSelector], group: &str, version: &str, kind: &str) -> bool {
    selectors.iter().any(|s| s.matches(group, version, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(group: &str, version: &str, kind: &str) -> KindSelector {
        KindSelector {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn wildcard_matches_any_version() {
        assert!(sel("apps", "*", "Deployment").matches("apps", "v1", "Deployment"));
        assert!(!sel("apps", "*", "Deployment").matches("extensions", "v1beta1", "Deployment"));
    }

    #[test]
    fn empty_group_is_the_core_group_not_a_wildcard() {
        assert!(sel("", "v1", "Pod").matches("", "v1", "Pod"));
        assert!(!sel("", "v1", "Pod").matches("example.com", "v1", "Pod"));
    }
}
