//! The plugin's invariant, for any render and any bundle: either exit 0 and the
//! whole render on stdout (as Argo CD splits it: every object, nothing else), or
//! a non-zero exit and nothing on stdout. Never a partial or empty output that
//! Argo CD would prune by.
//!
//! Each case runs the full contract (support/cmp.rs): a plain-YAML app of random
//! objects, Lists, non-objects and malformed documents, judged by a random
//! bundle (built-in ones, a bundle naming a module that does not exist, a bundle
//! that does not parse) in enforce or audit mode, with empty apps allowed or not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cmp.rs"]
mod cmp;
mod support;

use cmp::{AppSpec, Repo, Sidecar, argo_split, object_set};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A plain string both YAML 1.1 and 1.2 read as a string.
fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}".prop_map(|s| format!("v-{s}"))
}

fn image() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("contoso.azurecr.io/app:1".to_owned()),
        Just("docker.io/library/nginx:1.27".to_owned()),
    ]
}

/// One Kubernetes object.
fn object() -> impl Strategy<Value = Value> {
    prop_oneof![
        (word(), proptest::collection::btree_map(word(), word(), 0..4)).prop_map(|(name, data)| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
        }),
        (word(), image(), any::<bool>(), proptest::option::of(word())).prop_map(
            |(name, image, privileged, namespace)| {
                let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"containers": [{"name": "app", "image": image,
                        "securityContext": {"privileged": privileged}}]}});
                if let Some(ns) = namespace {
                    pod["metadata"]["namespace"] = json!(ns);
                }
                pod
            }
        ),
        (word(), image(), 1u8..4).prop_map(|(name, image, replicas)| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": image}]}}}})
        }),
        word().prop_map(|name| {
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name}, "rules": []})
        }),
    ]
}

/// A document of the render: its text, the objects Argo CD must receive from
/// it, and whether it is malformed.
#[derive(Debug, Clone)]
struct Doc {
    text: String,
    objects: Vec<Value>,
    malformed: bool,
}

fn doc() -> impl Strategy<Value = Doc> {
    prop_oneof![
        6 => (object(), any::<bool>()).prop_map(|(o, block)| Doc {
            text: if block { serde_yaml_ng::to_string(&o).unwrap() } else { o.to_string() },
            objects: vec![o],
            malformed: false,
        }),
        1 => proptest::collection::vec(object(), 0..3).prop_map(|items| Doc {
            text: json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
            objects: items,
            malformed: false,
        }),
        1 => prop_oneof![Just("# only a comment\n"), Just("{}\n"), Just("")].prop_map(|t| Doc {
            text: t.to_owned(),
            objects: Vec::new(),
            malformed: false,
        }),
        1 => prop_oneof![
            Just("kind: [unclosed\n"),
            Just("metadata:\n  name: x\n bad: indent\n"),
            Just("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"x}\n"),
        ]
        .prop_map(|t| Doc { text: t.to_owned(), objects: Vec::new(), malformed: true }),
    ]
}

/// Bundles by name: built-in ones and two that cannot load.
const BUNDLES: [&str; 4] = ["default", "baseline", "missing-module", "unparsable"];

fn config(bundle: &str, allow_empty: bool, annotate: bool) -> String {
    format!(
        "apiVersion: gate.dev/v1alpha1\nkind: ArgoCDPluginConfig\nspec:\n  bundles:\n    default: builtin:default\n    baseline: builtin:aks-baseline\n    missing-module: missing-module.yaml\n    unparsable: unparsable.yaml\n  default:\n    bundle: {bundle}\n    modes: [enforce, audit]\n    allowEmpty: {allow_empty}\n    annotateApproved: {annotate}\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn all_of_the_render_or_nothing(
        docs in proptest::collection::vec(doc(), 0..6),
        bundle in prop::sample::select(&BUNDLES[..]),
        audit in any::<bool>(),
        allow_empty in any::<bool>(),
        annotate in any::<bool>(),
    ) {
        let sidecar = Sidecar::new(&config(bundle, allow_empty, annotate));
        sidecar.config_file(
            "missing-module.yaml",
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: m}\nspec:\n  policies:\n    - module: builtin:no-such-policy\n",
        );
        sidecar.config_file("unparsable.yaml", "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nspec: [\n");
        let text = docs.iter().map(|d| d.text.as_str()).collect::<Vec<_>>().join("\n---\n");
        let repo = Repo::new(&[("apps/shop/render.yaml", &text)]);
        let mut app = AppSpec::new("any", "shop");
        if audit {
            app.plugin_env = vec![("GATE_MODE".into(), "audit".into())];
        }
        let generated = cmp::generate(&sidecar, &repo, &app);
        prop_assert!(generated.discovered);
        let code = generated.code.expect("finished before the deadline");
        prop_assert!((0..=2).contains(&code), "exit {}", code);
        if code != 0 {
            prop_assert_eq!(&generated.stdout, "", "non-zero exit with output");
            prop_assert!(generated.stderr.starts_with("gate: "), "{}", generated.stderr);
            return Ok(());
        }
        // Allowed: the input was well-formed, the bundle loaded, and stdout is
        // every object of it, as Argo CD splits it.
        let expected: Vec<Value> = docs.iter().flat_map(|d| d.objects.clone()).collect();
        prop_assert!(!docs.iter().any(|d| d.malformed), "allowed a malformed render:\n{}", text);
        prop_assert!(!["missing-module", "unparsable"].contains(&bundle));
        prop_assert!(!expected.is_empty() || allow_empty, "allowed an empty render");
        let mut printed = argo_split(&generated.stdout);
        for object in &mut printed {
            let metadata = object["metadata"].as_object_mut().expect("metadata");
            if annotate {
                let annotations = metadata["annotations"].as_object_mut().expect("annotated");
                prop_assert!(annotations.remove("gate.dev/approved").is_some());
                if annotations.is_empty() {
                    metadata.remove("annotations");
                }
            }
        }
        prop_assert_eq!(object_set(&printed), object_set(&expected));
    }
}
