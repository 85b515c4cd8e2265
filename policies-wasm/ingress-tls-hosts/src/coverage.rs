//! Which Ingress hosts a TLS entry covers, as Ingress and TLS certificates define
//! wildcards. Shared with the `ingress-tls-cert-manager` policy, which includes this
//! file.

use gate_policy_sdk::prelude::*;

/// Does the TLS name `pattern` cover `host`? Names compare without case. A wildcard
/// covers exactly one more label, as an Ingress wildcard host matches and a
/// certificate's wildcard name verifies (RFC 6125): `*.example.com` covers
/// `a.example.com`, not `a.b.example.com` nor `example.com`. A wildcard host is covered
/// only by the same wildcard.
pub fn covers(pattern: &str, host: &str) -> bool {
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    match (pattern.strip_prefix("*."), host.split_once('.')) {
        (Some(domain), Some((label, rest))) => {
            !label.is_empty() && label != "*" && rest.eq_ignore_ascii_case(domain)
        }
        _ => false,
    }
}

/// Is `host` covered by a name of any `spec.tls[].hosts` of the Ingress `spec`?
pub fn tls_covers(spec: Node<'_>, host: &str) -> bool {
    spec.get("tls")
        .items()
        .flat_map(|tls| tls.get("hosts").items())
        .filter_map(|name| name.as_str())
        .any(|pattern| covers(pattern, host))
}
