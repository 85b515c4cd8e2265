//! Exceptions and their expiry: which are live, which expire soon, which have
//! expired (and so no longer cover anything).

use chrono::{DateTime, Utc};
use gate_core::bundle::{Bundle, Exception};
use serde::Serialize;

/// Where an exception stands at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Expiry {
    /// It holds, and will for longer than the warning window.
    Live {
        /// Whole days left.
        days: i64,
    },
    /// It holds, but expires within the warning window.
    ExpiresSoon {
        /// Whole days left (0: expires within the day).
        days: i64,
    },
    /// It no longer holds.
    Expired {
        /// Whole days since it expired.
        days: i64,
    },
    /// Its expiry cannot be read (the bundle would not load).
    Invalid,
}

impl Expiry {
    /// The status of `exception` at `now`, warning `within_days` ahead.
    pub fn of(exception: &Exception, now: DateTime<Utc>, within_days: i64) -> Expiry {
        let Ok(at) = exception.expiry() else {
            return Expiry::Invalid;
        };
        if at <= now {
            return Expiry::Expired {
                days: (now - at).num_days(),
            };
        }
        let days = (at - now).num_days();
        if days < within_days {
            Expiry::ExpiresSoon { days }
        } else {
            Expiry::Live { days }
        }
    }

    /// A short label: `live`, `expires-soon`, `expired`, `invalid`.
    pub fn label(&self) -> &'static str {
        match self {
            Expiry::Live { .. } => "live",
            Expiry::ExpiresSoon { .. } => "expires-soon",
            Expiry::Expired { .. } => "expired",
            Expiry::Invalid => "invalid",
        }
    }
}

/// One exception of a bundle, for a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionRow {
    /// The policy: the entry's `name`, else its module.
    pub policy: String,
    /// The exception's name.
    pub name: String,
    /// What it covers: kinds, namespaces, names.
    pub scope: String,
    /// Why it was granted.
    pub reason: String,
    /// When it expires, as written.
    pub expires: String,
    /// Where it stands.
    pub expiry: Expiry,
}

/// Every exception of a bundle, in bundle order.
pub fn list(bundle: &Bundle, now: DateTime<Utc>, within_days: i64) -> Vec<ExceptionRow> {
    bundle
        .spec
        .policies
        .iter()
        .flat_map(|entry| {
            let policy = entry.name.clone().unwrap_or_else(|| entry.module.clone());
            entry.exceptions.iter().map(move |e| ExceptionRow {
                policy: policy.clone(),
                name: e.name.clone(),
                scope: scope(e),
                reason: e.reason.clone(),
                expires: e.expires.clone(),
                expiry: Expiry::of(e, now, within_days),
            })
        })
        .collect()
}

/// `kinds=[..] namespaces=[..] names=[..]`, leaving out what is unrestricted;
/// `everything` when nothing is restricted.
pub fn scope(exception: &Exception) -> String {
    let parts: Vec<String> = [
        ("kinds", &exception.kinds),
        ("namespaces", &exception.namespaces),
        ("names", &exception.names),
    ]
    .into_iter()
    .filter(|(_, values)| !values.is_empty())
    .map(|(field, values)| format!("{field}={}", values.join(",")))
    .collect();
    if parts.is_empty() {
        "everything the policy judges".to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exception(expires: &str) -> Exception {
        Exception {
            name: "e".into(),
            reason: "r".into(),
            expires: expires.into(),
            kinds: vec![],
            namespaces: vec!["prod".into()],
            names: vec!["api-*".into()],
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn a_date_holds_through_its_last_day() {
        let e = exception("2026-12-31");
        assert_eq!(
            Expiry::of(&e, at("2026-12-31T23:59:59Z"), 30),
            Expiry::ExpiresSoon { days: 0 }
        );
        assert_eq!(
            Expiry::of(&e, at("2027-01-01T00:00:00Z"), 30),
            Expiry::Expired { days: 0 }
        );
    }

    #[test]
    fn warns_within_the_window_only() {
        let e = exception("2026-12-31");
        assert_eq!(
            Expiry::of(&e, at("2026-12-01T00:00:00Z"), 30),
            Expiry::Live { days: 31 }
        );
        assert_eq!(
            Expiry::of(&e, at("2026-12-03T00:00:00Z"), 30),
            Expiry::ExpiresSoon { days: 29 }
        );
        assert_eq!(
            Expiry::of(&exception("soon"), at("2026-12-03T00:00:00Z"), 30),
            Expiry::Invalid
        );
    }

    #[test]
    fn scope_names_only_what_is_restricted() {
        assert_eq!(
            scope(&exception("2026-01-01")),
            "namespaces=prod names=api-*"
        );
    }
}
