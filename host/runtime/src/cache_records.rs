//! Records beside the precompiled components: what a component answered when it
//! was asked, so that later runs need not instantiate it to ask again.
//!
//! - its description (`describe`), so that a run knows what a policy targets
//!   without loading its code, and loads only the policies a render needs;
//! - the settings it accepted (`validate-settings`), so that a bundle whose
//!   settings did not change is not validated again on every run.
//!
//! Reusing an answer is sound because the call is a function of what the record
//! is keyed by: the component digest, the settings, the limits the call ran
//! under, the engine and the host's own build. Policies get no capabilities, a
//! frozen clock and seeded randomness, and every call runs in a fresh instance,
//! so the same call gives the same answer. Only answers that passed the host's
//! checks are recorded; a refusal or failure is asked again every time.
//!
//! A record is authenticated like a compiled component: an HMAC-SHA256 under the
//! user's cache key, over everything it is keyed by and what it holds. A record
//! that does not verify is ignored, and the component is asked.

use crate::cache::ComponentCache;
use crate::limits::Limits;
use gate_core::report::PolicyInfo;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The host's build: records of another build are never read.
const HOST_BUILD: &str = env!("GATE_RUNTIME_BUILD_ID");

/// The body of a description record.
#[derive(serde::Serialize, serde::Deserialize)]
struct Described {
    /// The `gate:policy` version the component implements.
    contract: String,
    /// What it said.
    info: PolicyInfo,
}

/// What a record holds.
#[derive(Clone, Copy)]
enum Record {
    /// The component's description, as JSON.
    Description,
    /// That the component accepted some settings; the body is empty.
    SettingsAccepted,
}

impl Record {
    fn name(self) -> &'static str {
        match self {
            Record::Description => "describe",
            Record::SettingsAccepted => "settings-ok",
        }
    }
}

/// Everything a record is keyed by, as one string.
fn subject(record: Record, digest: &str, limits: &Limits, settings: Option<&str>) -> String {
    let settings = settings.map_or_else(String::new, |s| hex::encode(Sha256::digest(s)));
    format!(
        "{}\0{digest}\0{HOST_BUILD}\0{limits:?}\0{settings}",
        record.name()
    )
}

impl ComponentCache {
    /// The contract version and description recorded for this component under
    /// these limits, if a record verifies.
    pub(crate) fn load_description(
        &self,
        digest: &str,
        limits: &Limits,
    ) -> Option<(&'static str, PolicyInfo)> {
        let subject = subject(Record::Description, digest, limits, None);
        let body = self.read_record(Record::Description, &subject)?;
        let described: Described = serde_json::from_slice(&body).ok()?;
        let contract = crate::contract::known_version(&described.contract)?;
        Some((contract, described.info))
    }

    /// Records a description that passed the host's checks.
    pub(crate) fn store_description(
        &self,
        digest: &str,
        limits: &Limits,
        contract: &str,
        info: &PolicyInfo,
    ) {
        let subject = subject(Record::Description, digest, limits, None);
        let described = Described {
            contract: contract.to_owned(),
            info: info.clone(),
        };
        match serde_json::to_vec(&described) {
            Ok(body) => self.write_record(Record::Description, &subject, &body),
            Err(e) => tracing::warn!(error = %e, "cannot record a description"),
        }
    }

    /// Whether this component is recorded as accepting these settings under
    /// these limits.
    pub(crate) fn settings_accepted(&self, digest: &str, limits: &Limits, settings: &str) -> bool {
        let subject = subject(Record::SettingsAccepted, digest, limits, Some(settings));
        self.read_record(Record::SettingsAccepted, &subject)
            .is_some_and(|body| body.is_empty())
    }

    /// Records that this component accepted these settings.
    pub(crate) fn store_settings_accepted(&self, digest: &str, limits: &Limits, settings: &str) {
        let subject = subject(Record::SettingsAccepted, digest, limits, Some(settings));
        self.write_record(Record::SettingsAccepted, &subject, &[]);
    }

    fn record_path(&self, record: Record, subject: &str) -> PathBuf {
        let name = Sha256::new()
            .chain_update(subject.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.engine_key.as_bytes())
            .chain_update(self.key_id())
            // The MAC's scheme: records of an older gate are never read.
            .chain_update(b"\0blake3-mac-v1")
            .finalize();
        self.dir
            .join(format!("{}.{}", hex::encode(name), record.name()))
    }

    fn record_mac(&self, subject: &str) -> blake3::Hasher {
        self.keyed_mac(b"gate cache record v2\0", subject)
    }

    /// The body of a record, if its file exists and verifies.
    fn read_record(&self, record: Record, subject: &str) -> Option<Vec<u8>> {
        let path = self.record_path(record, subject);
        let bytes = std::fs::read(&path).ok()?;
        let (tag, body) = bytes.split_at_checked(crate::cache::MAC_LEN)?;
        let mut mac = self.record_mac(subject);
        mac.update(body);
        if !crate::cache::verify(&mac, tag) {
            tracing::warn!(path = %path.display(), "cache record refused: not written by this user's gate; asking the component");
            return None;
        }
        Some(body.to_vec())
    }

    fn write_record(&self, record: Record, subject: &str, body: &[u8]) {
        let path = self.record_path(record, subject);
        let mut mac = self.record_mac(subject);
        mac.update(body);
        let tag = mac.finalize();
        if let Err(e) = crate::cache::write_atomically(&path, &[tag.as_bytes(), body]) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write cache record");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use gate_core::report::Severity;
    use wasmtime::Engine;

    struct Fixture {
        cache: ComponentCache,
        _dirs: (tempfile::TempDir, tempfile::TempDir),
    }

    fn cache_with_key(key_dir: &tempfile::TempDir, dir: &tempfile::TempDir) -> ComponentCache {
        ComponentCache::new(
            dir.path().to_owned(),
            &key_dir.path().join("cache.key"),
            &Engine::default(),
        )
        .unwrap()
        .expect("a private cache")
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key = tempfile::tempdir().unwrap();
        Fixture {
            cache: cache_with_key(&key, &dir),
            _dirs: (dir, key),
        }
    }

    fn info(name: &str) -> PolicyInfo {
        PolicyInfo {
            name: name.into(),
            version: "1.0.0".into(),
            title: String::new(),
            description: String::new(),
            severity: Severity::High,
            category: String::new(),
            targets: vec![gate_core::selector::KindSelector {
                group: "apps".into(),
                version: "*".into(),
                kind: "Deployment".into(),
            }],
            inventory: Vec::new(),
            settings_schema: serde_json::json!({}),
            controls: Vec::new(),
            operations: Vec::new(),
        }
    }

    fn record_files(cache: &ComponentCache, extension: &str) -> Vec<PathBuf> {
        std::fs::read_dir(&cache.dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect()
    }

    #[test]
    fn a_description_is_read_back_for_the_same_digest_and_limits_only() {
        let f = fixture();
        let limits = Limits::default();
        f.cache
            .store_description("sha256:a", &limits, "0.2.0", &info("p"));
        let (contract, read) = f.cache.load_description("sha256:a", &limits).unwrap();
        assert_eq!((contract, read), ("0.2.0", info("p")));
        assert!(f.cache.load_description("sha256:b", &limits).is_none());
        let tighter = Limits {
            memory_bytes: 1 << 20,
            ..limits
        };
        assert!(f.cache.load_description("sha256:a", &tighter).is_none());
    }

    #[test]
    fn a_tampered_description_is_refused() {
        let f = fixture();
        let limits = Limits::default();
        f.cache
            .store_description("sha256:a", &limits, "0.2.0", &info("p"));
        let [file] = record_files(&f.cache, "describe").try_into().unwrap();
        // Claim the policy targets nothing in the render: it would never run.
        let text = std::fs::read(&file).unwrap();
        let forged = String::from_utf8_lossy(&text).replace("Deployment", "Nothing");
        std::fs::write(&file, forged.as_bytes()).unwrap();
        assert!(f.cache.load_description("sha256:a", &limits).is_none());
    }

    #[test]
    fn a_record_written_under_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mine, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let limits = Limits::default();
        let their_cache = cache_with_key(&theirs, &dir);
        their_cache.store_description("sha256:a", &limits, "0.2.0", &info("p"));
        their_cache.store_settings_accepted("sha256:a", &limits, "{}");
        let my_cache = cache_with_key(&mine, &dir);
        // Their files, under the names this key gives the same records.
        for extension in ["describe", "settings-ok"] {
            let [file] = record_files(&their_cache, extension).try_into().unwrap();
            let subject = match extension {
                "describe" => subject(Record::Description, "sha256:a", &limits, None),
                _ => subject(Record::SettingsAccepted, "sha256:a", &limits, Some("{}")),
            };
            let record = match extension {
                "describe" => Record::Description,
                _ => Record::SettingsAccepted,
            };
            std::fs::copy(&file, my_cache.record_path(record, &subject)).unwrap();
        }
        assert!(my_cache.load_description("sha256:a", &limits).is_none());
        assert!(!my_cache.settings_accepted("sha256:a", &limits, "{}"));
    }

    #[test]
    fn accepted_settings_do_not_vouch_for_other_settings() {
        let f = fixture();
        let limits = Limits::default();
        f.cache
            .store_settings_accepted("sha256:a", &limits, r#"{"max":3}"#);
        assert!(
            f.cache
                .settings_accepted("sha256:a", &limits, r#"{"max":3}"#)
        );
        // The record copied to the name of other settings does not verify there.
        let [file] = record_files(&f.cache, "settings-ok").try_into().unwrap();
        let other = subject(
            Record::SettingsAccepted,
            "sha256:a",
            &limits,
            Some(r#"{"max":-1}"#),
        );
        std::fs::copy(&file, f.cache.record_path(Record::SettingsAccepted, &other)).unwrap();
        assert!(
            !f.cache
                .settings_accepted("sha256:a", &limits, r#"{"max":-1}"#)
        );
        assert!(
            !f.cache
                .settings_accepted("sha256:b", &limits, r#"{"max":3}"#)
        );
    }
}
