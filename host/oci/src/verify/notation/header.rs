//! The JWS protected header of a Notation signature, checked as notation-core-go
//! checks it: `crit` names the signing scheme, every header that must be critical
//! (`io.cncf.notary.expiry` when set, `io.cncf.notary.authenticSigningTime` for
//! the signing-authority scheme) is listed in `crit`, every name in `crit` is
//! present, and each scheme carries its own signing time and not the other's.

use super::super::Rejection;
use super::super::trust::StoreKind;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Media type of Notation's signed payload.
pub const PAYLOAD_CONTENT_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";

const SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
const SIGNING_TIME: &str = "io.cncf.notary.signingTime";
const AUTHENTIC_SIGNING_TIME: &str = "io.cncf.notary.authenticSigningTime";
const EXPIRY: &str = "io.cncf.notary.expiry";

/// The critical headers gate understands.
const KNOWN_CRITICAL: [&str; 3] = [SIGNING_SCHEME, EXPIRY, AUTHENTIC_SIGNING_TIME];

/// A checked protected header.
#[derive(Debug, Clone)]
pub struct Protected {
    /// `alg`.
    pub alg: String,
    /// The trust store kind the signing scheme needs.
    pub store_kind: StoreKind,
    /// `io.cncf.notary.signingScheme`.
    pub scheme: String,
    /// When it was signed: the authentic time (signing authority), else the
    /// signer's own claim.
    pub signed_at: Option<DateTime<Utc>>,
    /// `io.cncf.notary.expiry`: listed in `crit`, or the header is refused.
    pub expiry: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Raw {
    alg: String,
    #[serde(default)]
    cty: String,
    #[serde(default)]
    crit: Vec<String>,
    #[serde(rename = "io.cncf.notary.signingScheme")]
    scheme: String,
    #[serde(rename = "io.cncf.notary.signingTime", default)]
    signing_time: Option<DateTime<Utc>>,
    #[serde(rename = "io.cncf.notary.authenticSigningTime", default)]
    authentic_signing_time: Option<DateTime<Utc>>,
    #[serde(rename = "io.cncf.notary.expiry", default)]
    expiry: Option<DateTime<Utc>>,
}

/// Parses and checks the decoded protected header.
pub fn parse(bytes: &[u8]) -> Result<Protected, Rejection> {
    let invalid = |m: String| Rejection::Invalid(m);
    let names: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
        .map_err(|_| invalid("the protected header is not a JSON object".into()))?;
    let raw: Raw = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("the protected header is not Notation's: {e}")))?;
    if raw.cty != PAYLOAD_CONTENT_TYPE {
        return Err(invalid(format!(
            "content type {:?} is not {PAYLOAD_CONTENT_TYPE}",
            raw.cty
        )));
    }
    let critical = |name: &str| raw.crit.iter().any(|c| c == name);
    let store_kind = match raw.scheme.as_str() {
        "notary.x509" => {
            if raw.authentic_signing_time.is_some() {
                return Err(invalid(format!(
                    "{AUTHENTIC_SIGNING_TIME} must not be set for the notary.x509 scheme"
                )));
            }
            StoreKind::Ca
        }
        "notary.x509.signingAuthority" => {
            if raw.signing_time.is_some() {
                return Err(invalid(format!(
                    "{SIGNING_TIME} must not be set for the notary.x509.signingAuthority scheme"
                )));
            }
            if raw.authentic_signing_time.is_none() || !critical(AUTHENTIC_SIGNING_TIME) {
                return Err(invalid(format!(
                    "the notary.x509.signingAuthority scheme needs {AUTHENTIC_SIGNING_TIME}, listed in crit"
                )));
            }
            StoreKind::SigningAuthority
        }
        other => {
            return Err(Rejection::Unsupported(format!("signing scheme {other:?}")));
        }
    };
    if !critical(SIGNING_SCHEME) {
        return Err(invalid(format!("crit does not name {SIGNING_SCHEME}")));
    }
    if raw.expiry.is_some() && !critical(EXPIRY) {
        // An expiry the verifier may ignore is no expiry: Notation refuses the
        // signature, and so does gate.
        return Err(invalid(format!("{EXPIRY} is set but not listed in crit")));
    }
    if let Some(absent) = raw.crit.iter().find(|c| !names.contains_key(c.as_str())) {
        return Err(invalid(format!(
            "crit names {absent:?}, which the header does not carry"
        )));
    }
    if let Some(unknown) = raw
        .crit
        .iter()
        .find(|c| !KNOWN_CRITICAL.contains(&c.as_str()))
    {
        return Err(Rejection::Unsupported(format!(
            "critical header {unknown:?} is not understood"
        )));
    }
    Ok(Protected {
        alg: raw.alg,
        store_kind,
        scheme: raw.scheme,
        signed_at: raw.authentic_signing_time.or(raw.signing_time),
        expiry: raw.expiry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(extra: serde_json::Value) -> Vec<u8> {
        let mut base = serde_json::json!({
            "alg": "ES256",
            "cty": PAYLOAD_CONTENT_TYPE,
            "crit": [SIGNING_SCHEME],
            SIGNING_SCHEME: "notary.x509",
            SIGNING_TIME: "2025-01-01T00:00:00Z",
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::to_vec(&base).unwrap()
    }

    fn invalid(extra: serde_json::Value) -> String {
        match parse(&header(extra)) {
            Err(Rejection::Invalid(m)) => m,
            other => panic!("expected an invalid header, got {other:?}"),
        }
    }

    #[test]
    fn an_expiry_counts_only_when_listed_in_crit() {
        let listed = parse(&header(serde_json::json!({
            EXPIRY: "2026-01-01T00:00:00Z",
            "crit": [SIGNING_SCHEME, EXPIRY],
        })))
        .unwrap();
        assert!(listed.expiry.is_some());
        let unlisted = invalid(serde_json::json!({EXPIRY: "2026-01-01T00:00:00Z"}));
        assert!(unlisted.contains("not listed in crit"), "{unlisted}");
    }

    #[test]
    fn crit_must_name_the_scheme_and_only_headers_that_are_there() {
        assert!(invalid(serde_json::json!({"crit": []})).contains("crit does not name"));
        assert!(
            invalid(serde_json::json!({"crit": [SIGNING_SCHEME, EXPIRY]}))
                .contains("does not carry")
        );
        assert!(matches!(
            parse(&header(
                serde_json::json!({"crit": [SIGNING_SCHEME, "x-custom"], "x-custom": 1})
            )),
            Err(Rejection::Unsupported(_))
        ));
    }

    #[test]
    fn each_scheme_carries_its_own_signing_time() {
        assert!(
            invalid(serde_json::json!({AUTHENTIC_SIGNING_TIME: "2025-01-01T00:00:00Z"}))
                .contains("must not be set")
        );
        let authority = serde_json::json!({
            SIGNING_SCHEME: "notary.x509.signingAuthority",
            SIGNING_TIME: null,
            AUTHENTIC_SIGNING_TIME: "2025-01-01T00:00:00Z",
        });
        assert!(invalid(authority.clone()).contains("listed in crit"));
        let mut listed = authority;
        listed["crit"] = serde_json::json!([SIGNING_SCHEME, AUTHENTIC_SIGNING_TIME]);
        let parsed = parse(&header(listed)).unwrap();
        assert_eq!(parsed.store_kind, StoreKind::SigningAuthority);
    }
}
