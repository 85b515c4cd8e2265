//! Container image references: `registry/repository:tag@digest`.

/// A parsed container image reference, borrowing the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// The whole reference as written.
    pub raw: &'a str,
    /// The registry host, if written (`myacr.azurecr.io`, `localhost:5000`).
    pub registry: Option<&'a str>,
    /// The repository path, without registry, tag or digest.
    pub repository: &'a str,
    /// The tag, if any.
    pub tag: Option<&'a str>,
    /// The digest (`sha256:...`), if any.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Splits a reference the way the container runtimes do. The first path
    /// component is a registry when it has a `.` or `:` or is `localhost`.
    pub fn parse(raw: &'a str) -> Self {
        let (name, digest) = match raw.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (raw, None),
        };
        // A tag is after the last ':' that comes after the last '/'.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        ImageRef {
            raw,
            registry,
            repository,
            tag,
            digest,
        }
    }

    /// The registry, with Docker Hub's implicit `docker.io` when none is written.
    pub fn registry_or_default(&self) -> &'a str {
        self.registry.unwrap_or("docker.io")
    }

    /// True when the effective tag is `latest`: written, or implied by no tag and no digest.
    pub fn is_latest(&self) -> bool {
        self.tag == Some("latest") || (self.tag.is_none() && self.digest.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_repository_tag_and_digest() {
        let r = ImageRef::parse("myacr.azurecr.io/team/app:1.2@sha256:abc");
        assert_eq!(r.registry, Some("myacr.azurecr.io"));
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag, Some("1.2"));
        assert_eq!(r.digest, Some("sha256:abc"));
    }

    #[test]
    fn a_port_is_not_a_tag() {
        let r = ImageRef::parse("localhost:5000/app");
        assert_eq!(r.registry, Some("localhost:5000"));
        assert_eq!(r.repository, "app");
        assert_eq!(r.tag, None);
        assert!(r.is_latest());
    }

    #[test]
    fn docker_hub_images_have_no_registry() {
        let r = ImageRef::parse("library/nginx:1.27");
        assert_eq!(r.registry, None);
        assert_eq!(r.registry_or_default(), "docker.io");
        assert_eq!(r.repository, "library/nginx");
        assert!(!r.is_latest());
    }
}
