//! Comparing a record's subjects with the manifests as they are now.

use crate::statement::Subject;
use std::collections::BTreeMap;

/// How the manifests differ from those a record names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectDiff {
    /// Subjects whose digest is unchanged.
    pub unchanged: usize,
    /// Files present in both, with different content.
    pub changed: Vec<String>,
    /// Files the record names that are not there now.
    pub missing: Vec<String>,
    /// Files there now that the record does not name: never judged.
    pub added: Vec<String>,
}

impl SubjectDiff {
    /// Nothing changed.
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.added.is_empty()
    }
}

/// Compares by name and sha256. Names may repeat (two roots with the same
/// relative path): then the multiset of digests under that name is compared.
pub fn compare(recorded: &[Subject], current: &[Subject]) -> SubjectDiff {
    let group = |subjects: &[Subject]| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in subjects {
            let digest = s.digest.get("sha256").cloned().unwrap_or_default();
            map.entry(s.name.clone()).or_default().push(digest);
        }
        for digests in map.values_mut() {
            digests.sort();
        }
        map
    };
    let (before, after) = (group(recorded), group(current));
    let mut diff = SubjectDiff::default();
    for (name, digests) in &before {
        match after.get(name) {
            None => diff.missing.push(name.clone()),
            Some(now) if now == digests => diff.unchanged += digests.len(),
            Some(_) => diff.changed.push(name.clone()),
        }
    }
    diff.added = after
        .keys()
        .filter(|name| !before.contains_key(*name))
        .cloned()
        .collect();
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, digest: &str) -> Subject {
        Subject::sha256(name, digest)
    }

    #[test]
    fn names_changed_missing_and_added_files() {
        let recorded = [s("a.yaml", "01"), s("b.yaml", "02"), s("c.yaml", "03")];
        let current = [s("a.yaml", "01"), s("b.yaml", "ff"), s("d.yaml", "04")];
        let diff = compare(&recorded, &current);
        assert_eq!(diff.unchanged, 1);
        assert_eq!(diff.changed, ["b.yaml"]);
        assert_eq!(diff.missing, ["c.yaml"]);
        assert_eq!(diff.added, ["d.yaml"]);
        assert!(!diff.is_clean());
    }

    #[test]
    fn identical_sets_are_clean_whatever_the_order() {
        let recorded = [s("a.yaml", "01"), s("a.yaml", "02")];
        let current = [s("a.yaml", "02"), s("a.yaml", "01")];
        let diff = compare(&recorded, &current);
        assert!(diff.is_clean());
        assert_eq!(diff.unchanged, 2);
    }
}
