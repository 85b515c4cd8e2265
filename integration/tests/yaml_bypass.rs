//! `gate check` on the parser bypasses of issue 7: manifests that kubectl turns
//! into privileged Pods while a YAML 1.2 reader saw something harmless. Each must
//! now be denied (exit 1); input Kubernetes would read differently from gate must
//! be refused (exit 2) with its file and line; inputs gate must not read (too large,
//! behind a symbolic link) are refused or reported.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

const IMAGE: &str = "registry.azurecr.io/app:1";

/// Runs `gate check` on one manifest written to a temporary file.
fn check(manifest: &str, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("render.yaml");
    std::fs::write(&file, manifest).unwrap();
    check_path(&file, extra)
}

fn check_path(path: &Path, extra: &[&str]) -> (i32, String) {
    let path = path.display().to_string();
    let mut args = vec!["check", path.as_str()];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = support::parts(&support::run(&args));
    (code, format!("{stdout}{stderr}"))
}

fn pod(security: &str, spec: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  {spec}\n  containers:\n  - name: c\n    image: {IMAGE}\n    securityContext: {{{security}}}\n"
    )
}

#[test]
fn privileged_yes_is_privileged() {
    let (code, out) = check(&pod("privileged: yes", "restartPolicy: Always"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("disallow-privileged"), "{out}");
}

#[test]
fn host_pid_on_is_host_pid() {
    let manifest = pod("privileged: false", "hostPID: on");
    let (code, out) = check(&manifest, &["--bundle", "builtin:pss-baseline"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hostPID"), "{out}");
}

#[test]
fn kind_behind_a_merge_key_is_still_judged() {
    let manifest = format!(
        "<<: {{apiVersion: v1, kind: Pod}}\nmetadata: {{name: merged}}\nspec:\n  containers:\n  - name: c\n    image: {IMAGE}\n    securityContext:\n      <<: {{privileged: true}}\n"
    );
    let (code, out) = check(&manifest, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("merged"), "{out}");
}

#[test]
fn a_separator_with_a_comment_does_not_hide_a_pod() {
    // kubectl sees two documents; a reader that does not split on `---#` sees one
    // mapping in which the ConfigMap's keys overwrite the Pod's.
    let manifest = format!(
        "{}---# the next document\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: harmless}}\n",
        pod("privileged: true", "restartPolicy: Always")
    );
    let (code, out) = check(&manifest, &[]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn a_list_shaped_pod_is_judged_by_its_items() {
    // kubectl treats any object with `items` as a list and applies the items.
    let inner = pod("privileged: true", "restartPolicy: Always").replace('\n', "\n  ");
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: outer}}\nitems:\n- {}\n",
        inner.trim_end()
    );
    let (code, out) = check(&manifest, &[]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn duplicate_keys_are_refused_with_file_and_line() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: false\n  hostPID: true\n  containers: []\n";
    let (code, out) = check(manifest, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("render.yaml:6:"), "{out}");
    assert!(out.contains("duplicate key"), "{out}");
}

#[test]
fn what_kubectl_refuses_gate_refuses() {
    for manifest in [
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n--- x\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: .nan}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: !!int abc}\n",
    ] {
        let (code, out) = check(manifest, &[]);
        assert_eq!(code, 2, "{manifest}\n{out}");
        assert!(out.contains("render.yaml:"), "{out}");
    }
}

#[test]
fn a_140_kb_alias_bomb_is_refused_quickly() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n");
    text.push_str("  a0: &a0 [xxxxxxxx, xxxxxxxx, xxxxxxxx, xxxxxxxx, xxxxxxxx]\n");
    let mut level = 1;
    while text.len() < 140_000 {
        let refs = vec![format!("*a{}", level - 1); 40].join(", ");
        text.push_str(&format!("  a{level}: &a{level} [{refs}]\n"));
        level += 1;
    }
    let started = std::time::Instant::now();
    let (code, out) = check(&text, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("aliases expand"), "{out}");
    // Generous: it is the watchdog for an expansion of 5 * 40^N values.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn inputs_over_the_size_limit_are_errors() {
    let manifest = pod("privileged: false", "restartPolicy: Always");
    let (code, out) = check(&manifest, &["--max-input-size", "100"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("input limit of 100 bytes"), "{out}");
    let (code, out) = check(&manifest, &["--max-input-size", "1KiB"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn symbolic_links_in_a_directory_are_not_followed_and_are_reported() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("privileged.yaml");
    std::fs::write(&secret, pod("privileged: true", "restartPolicy: Always")).unwrap();
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(
        tree.path().join("ok.yaml"),
        pod("privileged: false", "restartPolicy: Always"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret, tree.path().join("link.yaml")).unwrap();
    let (code, out) = check_path(tree.path(), &[]);
    assert_eq!(code, 0, "the link's target is not read: {out}");
    assert!(
        out.contains("link.yaml: symbolic link not followed"),
        "{out}"
    );
}
