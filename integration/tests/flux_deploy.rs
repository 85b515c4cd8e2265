//! The deployable files in integration/flux: they pass gate's own
//! `builtin:aks-restricted`, the checked-in Gate CRD is the one the Rust type
//! generates, and the shipped platform configuration is valid.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

#[test]
fn the_deployable_files_pass_aks_restricted() {
    let output = support::run(&[
        "check",
        "--bundle",
        "builtin:aks-restricted",
        "--format",
        "json",
        "integration/flux",
    ]);
    let (code, out, err) = support::parts(&output);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["denied"], 0);
    assert_eq!(report["summary"]["warnings"], 0, "{out}");
    // The workload itself was judged, not skipped.
    let objects = report["summary"]["objects"].as_u64().unwrap();
    assert!(objects >= 12, "only {objects} objects judged");
}

#[test]
fn the_checked_in_crd_is_the_generated_one() {
    let path = support::root().join("integration/flux/deploy/crd-gate.yaml");
    let generated = gate_flux::crd::crd_yaml();
    if std::env::var_os("GATE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "integration/flux/deploy/crd-gate.yaml is out of date; regenerate it with\n  \
         GATE_UPDATE_DOCS=1 cargo test -p gate --test flux_deploy\n(or `gate flux crd > integration/flux/deploy/crd-gate.yaml`)"
    );
    // And the binary prints the same.
    let (code, out, err) = support::parts(&support::run(&["flux", "crd"]));
    assert_eq!((code, out.as_str()), (0, generated.as_str()), "{err}");
}

#[test]
fn the_shipped_configuration_is_valid() {
    let text = std::fs::read_to_string(support::root().join("integration/flux/deploy/config.yaml"))
        .unwrap();
    let configmap: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let config = configmap["data"]["config.yaml"].as_str().unwrap();
    let config =
        gate_flux::config::PlatformConfig::parse(Path::new("/etc/gate/config.yaml"), config)
            .unwrap();
    assert_eq!(config.choose("shop", None).unwrap().name, "restricted");
    assert_eq!(config.choose("flux-system", None).unwrap().name, "baseline");
    assert!(config.choose("shop", Some("baseline")).is_err());
    // Every bundle it names is one the binary has.
    for (name, reference) in config.bundles() {
        reference
            .read()
            .unwrap_or_else(|e| panic!("bundle {name}: {e:#}"));
    }
}
