//! The disk cache of precompiled components: a second run loads instead of
//! compiling; an entry that this user's gate did not write for this component
//! (planted, moved, corrupt) is refused and recompiled, never run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A cache directory and, elsewhere, the directory of its key.
struct Cache {
    entries: tempfile::TempDir,
    config: tempfile::TempDir,
}

impl Cache {
    fn new() -> Cache {
        Cache {
            entries: tempfile::tempdir().expect("tempdir"),
            config: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.entries.path()
    }

    fn key(&self) -> PathBuf {
        self.config.path().join("gate/cache.key")
    }

    /// `gate check ARGS` with this cache and debug logs.
    fn gate(&self, args: &[&str]) -> (i32, String, String) {
        let mut command = support::gate();
        command
            .env("GATE_CACHE_DIR", self.path())
            .env("GATE_CACHE_KEY", self.key())
            .env("GATE_LOG", "gate_runtime=debug")
            .args(args);
        let output = support::run_with_timeout(&mut command, None, Duration::from_secs(120));
        support::parts(&output)
    }
}

/// Runs `gate check` on the example repository with a given cache and debug logs.
fn check(cache: &Cache) -> (i32, String, String) {
    cache.gate(&["check", "integration/example-repo"])
}

fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(cache)
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    files.sort();
    files
}

/// The warning for an entry that does not verify.
const REFUSED: &str = "cache entry refused";

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn a_second_run_loads_every_component_from_the_cache() {
    let cache = Cache::new();
    let (code, first_out, first_log) = check(&cache);
    assert_eq!(
        code, 1,
        "the example repository has denials\n{first_out}\n{first_log}"
    );
    assert_eq!(count(&first_log, "component compiled"), 2, "{first_log}");
    assert_eq!(entries(cache.path()).len(), 2);

    let (code, second_out, second_log) = check(&cache);
    assert_eq!(code, 1);
    assert_eq!(
        count(&second_log, "component loaded from cache"),
        2,
        "{second_log}"
    );
    assert_eq!(count(&second_log, "component compiled"), 0, "{second_log}");
    assert_eq!(
        first_out, second_out,
        "a cached component must judge exactly as a fresh one"
    );
}

#[test]
fn corrupt_and_truncated_entries_are_recompiled() {
    let cache = Cache::new();
    let (_, expected, _) = check(&cache);
    let files = entries(cache.path());
    assert_eq!(files.len(), 2);

    // Flip bytes in the middle of one entry, truncate the other.
    let mut bytes = std::fs::read(&files[0]).expect("read");
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&files[0], &bytes).expect("corrupt");
    let truncated = std::fs::read(&files[1]).expect("read");
    std::fs::write(&files[1], &truncated[..truncated.len() / 3]).expect("truncate");

    let (code, out, log) = check(&cache);
    assert_eq!(code, 1, "{out}\n{log}");
    assert_eq!(out, expected, "recompiled components must judge the same");
    assert_eq!(count(&log, REFUSED), 2, "{log}");
    assert_eq!(count(&log, "component compiled"), 2, "{log}");

    // The entries were rewritten whole: the next run trusts them again.
    let (_, _, log) = check(&cache);
    assert_eq!(count(&log, "component loaded from cache"), 2, "{log}");
}

#[test]
fn no_cache_compiles_every_time_and_writes_nothing() {
    let cache = Cache::new();
    let (code, _, log) = cache.gate(&["check", "--no-cache", "integration/example-repo"]);
    assert_eq!(code, 1);
    assert_eq!(count(&log, "component compiled"), 2, "{log}");
    assert!(entries(cache.path()).is_empty());
}

/// The compiled code of another component (the hostile capabilities probe),
/// without the tag that ends the cache entry holding it, and that whole entry.
fn foreign_compiled_code() -> (Vec<u8>, Vec<u8>) {
    let attacker = Cache::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let module = support::hostile_components().join("hostile_capabilities.wasm");
    let bundle = dir.path().join("bundle.yaml");
    std::fs::write(
        &bundle,
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: probe}}\nspec:\n  policies:\n  - module: {}\n",
            module.display()
        ),
    )
    .expect("bundle");
    let bundle = bundle.display().to_string();
    attacker.gate(&["check", "--bundle", &bundle, "integration/example-repo"]);
    let files = entries(attacker.path());
    assert_eq!(files.len(), 1, "the attacker's run caches one component");
    let entry = std::fs::read(&files[0]).expect("read");
    (entry[..entry.len() - 32].to_vec(), entry)
}

#[test]
fn a_planted_entry_is_refused_and_never_run() {
    let cache = Cache::new();
    let (code, expected, _) = check(&cache);
    assert_eq!(code, 1);
    let files = entries(cache.path());
    assert_eq!(files.len(), 2);

    // Under the names of the two legit policies: foreign compiled code with a
    // correct embedded sha256 (what the cache used to check), and an entry that
    // another user's gate authenticated with its own key.
    let (body, authenticated) = foreign_compiled_code();
    // The code first, where wasmtime would map it, and its sha256 where the tag goes.
    let mut with_sha256 = body.clone();
    with_sha256.extend_from_slice(&Sha256::digest(&body));
    std::fs::write(&files[0], &with_sha256).expect("plant");
    std::fs::write(&files[1], &authenticated).expect("plant");

    let (code, out, log) = check(&cache);
    assert_eq!(code, 1, "{out}\n{log}");
    assert_eq!(
        out, expected,
        "the legit policies must judge, not the planted code"
    );
    assert!(
        !out.contains("files="),
        "the probe must not have run:\n{out}"
    );
    assert_eq!(count(&log, REFUSED), 2, "{log}");
    assert_eq!(count(&log, "component compiled"), 2, "{log}");
    assert_eq!(count(&log, "component loaded from cache"), 0, "{log}");
}

#[cfg(unix)]
#[test]
fn a_cache_or_key_other_users_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let writable = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };

    let cache = Cache::new();
    check(&cache);
    writable(cache.path(), 0o777);
    let (code, _, log) = check(&cache);
    assert_eq!(code, 1);
    assert!(log.contains("component cache disabled"), "{log}");
    assert!(log.contains("lets other users write into it"), "{log}");
    assert_eq!(count(&log, "component loaded from cache"), 0, "{log}");
    assert_eq!(count(&log, "component compiled"), 2, "{log}");

    writable(cache.path(), 0o700);
    writable(&cache.key(), 0o644);
    let (_, _, log) = check(&cache);
    assert!(log.contains("it must be 600"), "{log}");
    assert_eq!(count(&log, "component loaded from cache"), 0, "{log}");

    writable(&cache.key(), 0o600);
    let (_, _, log) = check(&cache);
    assert_eq!(count(&log, "component loaded from cache"), 2, "{log}");
}

/// A policy described from the cache has its code loaded only when a render
/// needs it; a long-lived front door loads all of it before serving the bundle
/// (`LoadedBundle::load_code`), so that ready means every policy can run.
#[test]
fn described_from_the_cache_loads_code_on_demand_or_all_at_once() {
    use gate_engine::loader::{BundleRef, LocalResolver, load_bundle};
    use gate_runtime::{Runtime, RuntimeConfig};

    let cache = Cache::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.yaml");
    std::fs::write(
        &path,
        "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: lazy}\nspec:\n  policies:\n    - module: builtin:disallow-privileged\n    - module: builtin:allowed-registries\n",
    )
    .unwrap();
    let load = || {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            cache_key: Some(cache.key()),
            ..RuntimeConfig::default()
        })
        .unwrap();
        let bundle =
            load_bundle(&runtime, &BundleRef::File(path.clone()), &LocalResolver).expect("bundle");
        (runtime, bundle)
    };
    let loaded = |bundle: &gate_engine::LoadedBundle| -> Vec<bool> {
        bundle
            .policies
            .iter()
            .map(|b| b.policy.is_loaded())
            .collect()
    };

    // Cold: every policy is compiled (and so loaded) to be described.
    let (_, cold) = load();
    assert_eq!(loaded(&cold), [true, true]);
    // Warm: described from the cache records, nothing loaded yet.
    let (runtime, warm) = load();
    assert_eq!(loaded(&warm), [false, false]);
    warm.load_code(&runtime).expect("load every policy's code");
    assert_eq!(loaded(&warm), [true, true]);
}
