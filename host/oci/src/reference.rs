//! Artifact references: `REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]`.

use crate::error::{Error, Result};
use std::fmt;

/// A parsed reference to an artifact in a registry. The registry is always
/// explicit: gate never guesses `docker.io`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactRef {
    /// Registry host, with port if any (`myacr.azurecr.io`, `localhost:5000`).
    pub registry: String,
    /// Repository path (`policies/no-latest`).
    pub repository: String,
    /// Tag, if given.
    pub tag: Option<String>,
    /// `sha256:` manifest digest, if given.
    pub digest: Option<String>,
}

impl ArtifactRef {
    /// Parses a reference; an `oci://` prefix is accepted.
    pub fn parse(text: &str) -> Result<ArtifactRef> {
        let err = |message: &str| Error::Reference {
            reference: text.to_owned(),
            message: message.to_owned(),
        };
        let body = text.strip_prefix("oci://").unwrap_or(text);
        let (name_tag, digest) = match body.split_once('@') {
            Some((left, digest)) => {
                if !crate::digest::is_sha256(digest) {
                    return Err(err(
                        "the digest must be sha256: followed by 64 lowercase hex digits",
                    ));
                }
                (left, Some(digest.to_owned()))
            }
            None => (body, None),
        };
        let (registry, path) = name_tag
            .split_once('/')
            .ok_or_else(|| err("expected REGISTRY/REPOSITORY[:TAG][@DIGEST]"))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(err(
                "the first path component must be a registry host (e.g. myacr.azurecr.io or localhost:5000)",
            ));
        }
        if !is_registry_host(registry) {
            return Err(err(&format!(
                "the registry {registry:?} is not a lowercase host[:port] (letters, digits, '-' and '.', or an IP address, then an optional port)"
            )));
        }
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_owned())),
            _ => (path, None),
        };
        let repo_ok = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !repo_ok {
            return Err(err(
                "the repository must be lowercase letters, digits, '.', '_', '-' and '/'",
            ));
        }
        if let Some(tag) = &tag {
            let tag_ok = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !tag_ok {
                return Err(err("the tag must be letters, digits, '.', '_' and '-'"));
            }
        }
        Ok(ArtifactRef {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// `REGISTRY/REPOSITORY`: the scope trust policies match on.
    pub fn repository_path(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository, pinned to a digest (no tag).
    pub fn at_digest(&self, digest: &str) -> ArtifactRef {
        ArtifactRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.to_owned()),
        }
    }

    /// The same repository at a tag (no digest).
    pub fn at_tag(&self, tag: &str) -> ArtifactRef {
        ArtifactRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        }
    }

    /// What the registry's manifest endpoint is asked for: the digest if pinned, else the tag.
    pub fn manifest_key(&self) -> Option<&str> {
        self.digest.as_deref().or(self.tag.as_deref())
    }

    /// The `oci-client` form of this reference.
    pub(crate) fn to_oci(&self) -> oci_client::Reference {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => oci_client::Reference::with_digest(
                self.registry.clone(),
                self.repository.clone(),
                digest.clone(),
            ),
            (None, Some(tag)) => oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                tag.clone(),
            ),
            (None, None) => oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                "latest".to_owned(),
            ),
        }
    }
}

/// Is this a registry as a reference may name it: a lowercase DNS name, an IPv4
/// address or a bracketed IPv6 address, with an optional port (1-65535)?
///
/// Registries are put into URLs (`https://REGISTRY/v2/...`) and compared to decide
/// where credentials go, so anything a URL parser would read differently (`?`, `#`,
/// `@`, `\\`, `%`, upper case, empty labels) is refused here, once, for every caller.
pub fn is_registry_host(registry: &str) -> bool {
    let (host, port) = match registry.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) => {
                let port = match after {
                    "" => None,
                    _ => match after.strip_prefix(':') {
                        Some(port) => Some(port),
                        None => return false,
                    },
                };
                let lowercase = !v6.bytes().any(|b| b.is_ascii_uppercase());
                if !(lowercase && v6.parse::<std::net::Ipv6Addr>().is_ok()) {
                    return false;
                }
                return port.is_none_or(is_port);
            }
            None => return false,
        },
        None => match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        },
    };
    port.is_none_or(is_port) && is_dns_name(host)
}

/// 1 to 65535, digits only, no sign, no leading zero.
fn is_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && !port.starts_with('0')
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
}

/// Lowercase labels of letters, digits and inner hyphens, 1-63 bytes each, 253 in all.
fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

impl fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ArtifactRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ArtifactRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_registry_port_repository_tag_and_digest() {
        let r = ArtifactRef::parse(&format!("oci://localhost:5000/policies/no-latest:1.0@{D}"))
            .unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "policies/no-latest");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(
            r.to_string(),
            format!("localhost:5000/policies/no-latest:1.0@{D}")
        );
        assert_eq!(r.repository_path(), "localhost:5000/policies/no-latest");
    }

    #[test]
    fn refuses_references_without_a_registry_host() {
        let err = ArtifactRef::parse("policies/no-latest:1").unwrap_err();
        assert!(err.to_string().contains("registry host"), "{err}");
    }

    #[test]
    fn refuses_short_digests_and_uppercase_repositories() {
        assert!(ArtifactRef::parse("acr.io/p@sha256:abc").is_err());
        assert!(ArtifactRef::parse("acr.io/Policies:1").is_err());
    }

    #[test]
    fn refuses_registries_that_are_not_a_lowercase_host_and_port() {
        for bad in [
            "evil.example?.azurecr.io/p:1",
            "evil.example#.azurecr.io/p:1",
            "evil.example%2f.azurecr.io/p:1",
            "evil.example\\.azurecr.io/p:1",
            "Registry.example/p:1",
            "LOCALHOST:5000/p:1",
            "a..b.example/p:1",
            ".example.io/p:1",
            "-bad.example.io/p:1",
            "bad-.example.io/p:1",
            "r.example:/p:1",
            "r.example:0/p:1",
            "r.example:65536/p:1",
            "r.example:05000/p:1",
            "r.example:+50/p:1",
            "r.example:50:50/p:1",
            "r_x.example/p:1",
            "r x.example/p:1",
            "[::1/p:1",
            "[::1]x/p:1",
            "[FE80::1]:5000/p:1",
            "[not-v6]:5000/p:1",
        ] {
            let err = ArtifactRef::parse(bad).expect_err(bad).to_string();
            assert!(
                err.starts_with(bad),
                "the error must name the reference: {err}"
            );
        }
        for good in [
            "myacr.azurecr.io/p:1",
            "localhost/p:1",
            "localhost:5000/p:1",
            "127.0.0.1:5000/p:1",
            "registry-1.example.io:443/p:1",
            "[::1]:5000/p:1",
            "[fe80::1]/p:1",
            "myregistry:5000/p:1",
        ] {
            assert!(ArtifactRef::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_port_is_not_a_tag() {
        let r = ArtifactRef::parse("localhost:5000/p").unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.repository, "p");
    }
}
