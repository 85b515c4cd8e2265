//! Matching rules shared by many policies: image patterns (Gatekeeper's `exemptImages`,
//! Azure's `excludedImages`), Kubernetes label selectors, and how a container is named
//! in messages.

use crate::pod::{Container, ContainerList};
use gate_tape::Node;

/// Does `image` match `pattern`? A pattern ending in `*` matches any image that starts
/// with the rest; any other pattern matches only the same image. This is the rule of
/// Gatekeeper's `exemptImages` and of Azure Policy's `excludedImages`.
pub fn image_matches(pattern: &str, image: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => image.starts_with(prefix),
        None => image == pattern,
    }
}

/// Is the container exempt: its image matches one of `images` (see [`image_matches`]) or
/// its name is one of `names`?
pub fn container_exempt(container: &Container<'_>, images: &[String], names: &[String]) -> bool {
    images.iter().any(|p| image_matches(p, container.image()))
        || names.iter().any(|n| n == container.name())
}

impl ContainerList {
    /// How messages name a container of this list: `initContainer`, `container` or
    /// `ephemeralContainer`, as Gatekeeper's messages do (so that suites which match
    /// messages on these words keep working).
    pub fn noun(self) -> &'static str {
        match self {
            ContainerList::Init => "initContainer",
            ContainerList::Regular => "container",
            ContainerList::Ephemeral => "ephemeralContainer",
        }
    }
}

impl Container<'_> {
    /// The container for a message: `initContainer "setup"`.
    pub fn describe(&self) -> String {
        format!("{} {:?}", self.list.noun(), self.name())
    }
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`), read in place.
#[derive(Clone, Copy, Debug)]
pub struct LabelSelector<'a> {
    node: Node<'a>,
}

impl<'a> LabelSelector<'a> {
    /// The selector at `node` (an object with `matchLabels` and/or `matchExpressions`).
    pub fn new(node: Node<'a>) -> Self {
        LabelSelector { node }
    }

    /// True if the selector has no requirement. Kubernetes reads an empty selector as
    /// "everything" for PodDisruptionBudgets (policy/v1) and NetworkPolicies.
    pub fn is_empty(&self) -> bool {
        self.node.get("matchLabels").is_empty() && self.node.get("matchExpressions").is_empty()
    }

    /// Does a set of labels (an object of strings) satisfy every requirement?
    pub fn matches(&self, labels: Node<'_>) -> bool {
        let labels_ok = self.node.get("matchLabels").entries().all(|(key, value)| {
            labels.get(key).as_str().is_some() && labels.str(key) == value.as_str()
        });
        labels_ok
            && self
                .node
                .get("matchExpressions")
                .items()
                .all(|expression| expression_matches(expression, labels))
    }
}

/// One `matchExpressions` requirement. An unknown operator matches nothing, so that a
/// selector gate cannot read never widens what a rule applies to.
fn expression_matches(expression: Node<'_>, labels: Node<'_>) -> bool {
    let key = expression.str("key").unwrap_or_default();
    let value = labels.get(key).as_str();
    let mut values = expression.get("values").items().filter_map(|v| v.as_str());
    match expression.str("operator").unwrap_or_default() {
        "In" => value.is_some_and(|v| values.any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| values.all(|x| x != v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_star_is_a_prefix_and_anything_else_is_exact() {
        assert!(image_matches("safeimages.com/*", "safeimages.com/nginx:1"));
        assert!(!image_matches(
            "safeimages.com/*",
            "safeimages.community/nginx"
        ));
        assert!(image_matches("nginx:1.27", "nginx:1.27"));
        assert!(!image_matches("nginx", "nginx:1.27"));
        assert!(image_matches("*", "anything"));
    }

    #[test]
    fn nouns_follow_gatekeeper_wording() {
        assert_eq!(ContainerList::Init.noun(), "initContainer");
        assert_eq!(ContainerList::Regular.noun(), "container");
        assert_eq!(ContainerList::Ephemeral.noun(), "ephemeralContainer");
    }

    /// `{"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": op, "values": ["a"]}]}`
    fn selector(op: &str) -> Vec<u8> {
        let mut w = gate_tape::Writer::new();
        w.begin_object();
        w.key("matchLabels");
        w.begin_object();
        w.key("app");
        w.str("web");
        w.end();
        w.key("matchExpressions");
        w.begin_array();
        w.begin_object();
        w.key("key");
        w.str("tier");
        w.key("operator");
        w.str(op);
        w.key("values");
        w.begin_array();
        w.str("a");
        w.end();
        w.end();
        w.end();
        w.end();
        w.finish()
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut w = gate_tape::Writer::new();
        w.begin_object();
        for (k, v) in pairs {
            w.key(k);
            w.str(v);
        }
        w.end();
        w.finish()
    }

    fn matches(op: &str, pairs: &[(&str, &str)]) -> bool {
        let selector = selector(op);
        let labels = labels(pairs);
        let (Ok(selector), Ok(labels)) = (gate_tape::root(&selector), gate_tape::root(&labels))
        else {
            return false;
        };
        LabelSelector::new(selector).matches(labels)
    }

    #[test]
    fn selectors_need_every_label_and_every_expression() {
        assert!(matches("In", &[("app", "web"), ("tier", "a")]));
        assert!(!matches("In", &[("app", "web"), ("tier", "b")]));
        assert!(!matches("In", &[("tier", "a")]));
        assert!(matches("NotIn", &[("app", "web")]));
        assert!(!matches("NotIn", &[("app", "web"), ("tier", "a")]));
        assert!(matches("Exists", &[("app", "web"), ("tier", "z")]));
        assert!(matches("DoesNotExist", &[("app", "web")]));
        assert!(!matches("Bogus", &[("app", "web"), ("tier", "a")]));
    }
}
