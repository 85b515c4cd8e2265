//! Field paths into an object, as users read them: `spec.containers[1].image`.

/// A field path such as `spec.template.spec.containers[1].image`.
///
/// Keys that are not plain identifiers are quoted:
/// `metadata.annotations["cert-manager.io/issuer"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// The empty path: the object itself.
    pub fn root() -> Self {
        FieldPath(String::new())
    }

    /// This path followed by an object key.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut out = self.0.clone();
        let plain = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !key.as_bytes()[0].is_ascii_digit();
        if plain {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(key);
        } else {
            out.push_str("[\"");
            for c in key.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push_str("\"]");
        }
        FieldPath(out)
    }

    /// This path followed by a sequence of object keys.
    pub fn keys(&self, keys: &[&str]) -> FieldPath {
        keys.iter().fold(self.clone(), |path, k| path.key(k))
    }

    /// This path followed by an array index.
    pub fn index(&self, index: usize) -> FieldPath {
        FieldPath(format!("{}[{index}]", self.0))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<&FieldPath> for FieldPath {
    fn from(path: &FieldPath) -> Self {
        path.clone()
    }
}

impl From<String> for FieldPath {
    fn from(path: String) -> Self {
        FieldPath(path)
    }
}

impl From<&str> for FieldPath {
    fn from(path: &str) -> Self {
        FieldPath(path.to_owned())
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_keys_and_indices() {
        let p = FieldPath::root()
            .keys(&["spec", "containers"])
            .index(1)
            .key("image");
        assert_eq!(p.as_str(), "spec.containers[1].image");
    }

    #[test]
    fn quotes_keys_that_are_not_identifiers() {
        let p = FieldPath::root()
            .keys(&["metadata", "annotations"])
            .key("cert-manager.io/issuer");
        assert_eq!(
            p.as_str(),
            "metadata.annotations[\"cert-manager.io/issuer\"]"
        );
    }
}
