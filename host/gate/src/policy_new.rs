//! `gate policy new` and `gate policy build`: scaffold and build a policy crate.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Scaffold a policy crate with cases and a README.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The policy's name (lowercase, digits and `-`), e.g. `no-latest-tag`.
    pub name: String,

    /// The policies workspace to create it in.
    #[arg(long, default_value = "policies-wasm")]
    pub dir: PathBuf,
}

/// Build a policy crate for wasm32-wasip2.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The policy crate directory (e.g. `policies-wasm/no-latest-tag`).
    pub dir: PathBuf,

    /// Cargo's target directory [default: $CARGO_TARGET_DIR, else the workspace's `target/`].
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
}

impl NewArgs {
    /// Writes the crate; refuses to overwrite anything.
    pub fn run(self) -> Result<ExitCode> {
        let name = &self.name;
        let valid = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.ends_with('-');
        if !valid {
            bail!(
                "policy name {name:?}: use lowercase letters, digits and '-', starting with a letter"
            );
        }
        if !self.dir.join("Cargo.toml").is_file() || !self.dir.join("sdk").is_dir() {
            bail!(
                "{} is not a policies workspace (no Cargo.toml and sdk/): pass --dir",
                self.dir.display()
            );
        }
        let crate_dir = self.dir.join(name);
        if crate_dir.exists() {
            bail!("{} already exists", crate_dir.display());
        }
        let type_name: String = name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        let files = [
            ("Cargo.toml", CARGO_TOML),
            ("src/lib.rs", LIB_RS),
            ("cases/basic.yaml", CASES_YAML),
            ("README.md", README_MD),
        ];
        for (file, template) in files {
            let path = crate_dir.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let text = template
                .replace("{{name}}", name)
                .replace("{{Type}}", &type_name);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        println!("created {}", crate_dir.display());
        println!(
            "next: gate policy build {0} && gate policy test {0}",
            crate_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

impl BuildArgs {
    /// Runs cargo; prints the component's path.
    pub fn run(self) -> Result<ExitCode> {
        let dir = self
            .dir
            .canonicalize()
            .with_context(|| format!("no policy directory {}", self.dir.display()))?;
        let name = package_name(&dir)?;
        let workspace = dir
            .parent()
            .context("a policy crate lives in a policies workspace")?;
        let target_dir = self
            .target_dir
            .clone()
            .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
            .unwrap_or_else(|| workspace.join("target"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(workspace)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                &name,
                "--target-dir",
            ])
            .arg(&target_dir);
        // Flags meant for a host build must not leak into the wasm32 build.
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_TARGET",
            "RUSTC_WORKSPACE_WRAPPER",
        ] {
            command.env_remove(var);
        }
        let status = command.status().context("cannot run cargo")?;
        if !status.success() {
            bail!(
                "building {name} failed ({status}); is the wasm32-wasip2 target installed? (`rustup target add wasm32-wasip2`)"
            );
        }
        let wasm = target_dir
            .join("wasm32-wasip2")
            .join("release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        if !wasm.is_file() {
            bail!("cargo succeeded but {} is missing", wasm.display());
        }
        println!("{}", wasm.display());
        Ok(ExitCode::SUCCESS)
    }
}

/// The `name = "..."` of a crate's `[package]`.
fn package_name(dir: &Path) -> Result<String> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    text.lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
        })
        .with_context(|| format!("{}: no [package] name", manifest.display()))
}

/// The `license = "..."` of a policy crate or its workspace, if written out.
pub fn license_of(dir: &Path) -> Option<String> {
    [dir.join("Cargo.toml"), dir.join("../Cargo.toml")]
        .iter()
        .find_map(|manifest| {
            std::fs::read_to_string(manifest)
                .ok()?
                .lines()
                .find_map(|l| {
                    let (key, value) = l.split_once('=')?;
                    let value = value.trim();
                    (key.trim() == "license" && value.starts_with('"'))
                        .then(|| value.trim_matches('"').to_owned())
                })
        })
}

const CARGO_TOML: &str = r#"[package]
name = "{{name}}"
version.workspace = true
edition.workspace = true
license.workspace = true
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
gate-policy-sdk.workspace = true
serde.workspace = true
schemars.workspace = true
"#;

const LIB_RS: &str = r#"//! {{name}}: containers must not use the `:latest` tag (or no tag).
//!
//! Replace this rule with yours; keep `cases/` in step with it.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Images exempt from the check (exact names).
    exempt_images: Vec<String>,
}

struct {{Type}} {
    settings: Settings,
}

fn uses_latest(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or(image);
    if image.contains('@') {
        return false;
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

impl Policy for {{Type}} {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("{{name}}", "Images must not use :latest")
            .version(env!("CARGO_PKG_VERSION"))
            .description("Denies containers whose image has no tag or the :latest tag.")
            .severity(Severity::Medium)
            .category("supply-chain")
            .targets(workload_kinds())
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok({{Type}} { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        containers(object)
            .filter(|c| uses_latest(c.image()))
            .filter(|c| !self.settings.exempt_images.iter().any(|i| i == c.image()))
            .map(|c| Violation::new(c.path.key("image"), format!("container {:?} uses :latest", c.name())))
            .collect()
    }
}

export_policy!({{Type}});
"#;

const CASES_YAML: &str = r#"cases:
  - name: allows a pinned tag
    object:
      apiVersion: v1
      kind: Pod
      metadata: {name: ok}
      spec:
        containers: [{name: app, image: myacr.azurecr.io/app:1.2.3}]
    allowed: true

  - name: denies the latest tag
    object:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        template:
          spec:
            containers: [{name: web, image: nginx:latest}]
    allowed: false
    violations:
      - path: spec.template.spec.containers[0].image
        message: latest

  - name: exempt images pass
    settings: {exemptImages: ["nginx"]}
    object:
      apiVersion: v1
      kind: Pod
      metadata: {name: p}
      spec:
        containers: [{name: app, image: nginx}]
    allowed: true
"#;

const README_MD: &str = r#"# {{name}}

Containers must not use the `:latest` tag (or no tag at all).

| setting | type | meaning |
|---|---|---|
| `exemptImages` | list of strings | images exempt from the check |

## Develop

```sh
gate policy build policies-wasm/{{name}}      # cargo build --release --target wasm32-wasip2
gate policy test policies-wasm/{{name}}       # runs cases/*.yaml against the component
```

## Publish (signed)

```sh
gate policy push policies-wasm/{{name}} myacr.azurecr.io/policies/{{name}}:0.1.0 --sign --key cosign.key
```
"#;
