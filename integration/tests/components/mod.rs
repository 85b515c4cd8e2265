//! The test components of `integration/wasm` (hostile policies, a 0.1.0 policy,
//! a context probe), built once per test binary.

use super::support;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Builds the components of `integration/wasm` once per test binary and returns
/// their directory.
pub fn components() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target dir")
            .join("wasm");
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let status = std::process::Command::new(cargo)
            .current_dir(support::root().join("integration/wasm"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the hostile components failed");
        target.join("wasm32-wasip2/release")
    })
}
