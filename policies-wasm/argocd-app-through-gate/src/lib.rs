//! argocd-app-through-gate: Argo CD renders every Application through gate's plugin.
//!
//! gate judges what Argo CD applies by running as its config management plugin, so an
//! app team that drops the plugin from its Application would sync unjudged manifests.
//! This policy denies an `Application` (argoproj.io) or an `ApplicationSet` template in
//! the listed AppProjects when a source does not name the gate plugin:
//! - `spec.sources[]` when it is not empty (Argo CD then ignores `spec.source`), else
//!   `spec.source`; a source with `ref` and no `path` only lends values files to the
//!   others and renders nothing, so it is not judged;
//! - `spec.sourceHydrator.drySource`: the hydrator renders the dry source;
//! - an `ApplicationSet`'s `spec.template.spec` and every generator's own `template`
//!   (which overrides it), through matrix and merge generators; a `templatePatch`, which
//!   can rewrite the sources after this check, is denied.
//!
//! `plugin.name` must be `pluginName` or, when the plugin is versioned (Argo CD then
//! names it `<name>-<version>`), `pluginName` followed by `-` and a version made of
//! digits and dots with an optional leading `v` (`gate-v1.0`, `gate-1.2.3`). An empty or
//! missing name lets Argo CD pick a plugin by discovery, which may not be gate, so it
//! is denied. A project or plugin name written as a template (`{{...}}`) cannot be
//! known here: such a project is judged, such a plugin name is denied.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// AppProjects whose Applications must render through the gate plugin; `*` for
    /// every project. Default: `["*"]`. An Application without `spec.project` is in
    /// `default`, as Argo CD reads it.
    projects: Vec<String>,
    /// The gate plugin's name, `metadata.name` of its `plugin.yaml`. Default: `gate`.
    plugin_name: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            projects: vec!["*".to_owned()],
            plugin_name: "gate".to_owned(),
        }
    }
}

struct ArgoCdAppThroughGate {
    settings: Settings,
}

/// The generators that hold other generators.
const NESTING_GENERATORS: [&str; 2] = ["matrix", "merge"];

/// Is `version` a plugin version gate accepts: `v1`, `1.0`, `v1.2.3`?
fn is_version(version: &str) -> bool {
    let digits = version.strip_prefix('v').unwrap_or(version);
    !digits.is_empty()
        && digits
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Is this text an ApplicationSet template expression, which only the controller can
/// resolve?
fn templated(text: &str) -> bool {
    text.contains("{{")
}

impl ArgoCdAppThroughGate {
    fn accepts_plugin(&self, name: &str) -> bool {
        let wanted = self.settings.plugin_name.as_str();
        name == wanted
            || name
                .strip_prefix(wanted)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(is_version)
    }

    /// Does the rule apply to an Application of this project? An unknown (templated)
    /// project is judged.
    fn in_scope(&self, project: &str) -> bool {
        templated(project)
            || self
                .settings
                .projects
                .iter()
                .any(|p| p == "*" || p == project)
    }

    /// One source: does it render through the gate plugin?
    fn source(&self, source: Node<'_>, path: FieldPath, out: &mut Vec<Violation>) {
        let renders = source.str("path").is_some_and(|p| !p.is_empty())
            || !source.get("chart").is_null()
            || source.get("ref").is_null();
        if !renders {
            return;
        }
        let plugin = source.get("plugin");
        let wanted = &self.settings.plugin_name;
        if plugin.is_null() {
            let tool = if !source.get("chart").is_null() || !source.get("helm").is_null() {
                "Helm"
            } else if !source.get("kustomize").is_null() {
                "Kustomize"
            } else {
                "plain manifests"
            };
            out.push(Violation::new(
                path,
                format!(
                    "source renders {tool} without the gate plugin, so gate never judges it; \
                     set plugin.name: {wanted}"
                ),
            ));
            return;
        }
        let name_path = path.keys(&["plugin", "name"]);
        match plugin.str("name").filter(|n| !n.is_empty()) {
            Some(name) if self.accepts_plugin(name) => {}
            Some(name) => out.push(Violation::new(
                name_path,
                format!("source uses plugin {name:?}, not the gate plugin {wanted:?}"),
            )),
            None => out.push(Violation::new(
                name_path,
                format!(
                    "source names no plugin, so Argo CD picks one by discovery, which may \
                     not be gate; set plugin.name: {wanted}"
                ),
            )),
        }
    }

    /// An Application spec (or a template of one) at `path`. `project` is the project
    /// it inherits when it names none (an override of an ApplicationSet template);
    /// `whole` is false for such an override, which need not name a source.
    fn spec(
        &self,
        spec: Node<'_>,
        path: &FieldPath,
        inherited: &str,
        whole: bool,
    ) -> Vec<Violation> {
        let project = spec
            .str("project")
            .filter(|p| !p.is_empty())
            .unwrap_or(inherited);
        if !self.in_scope(project) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let sources = spec.get("sources");
        let mut judged = false;
        if !sources.is_empty() {
            for (i, source) in sources.items().enumerate() {
                self.source(source, path.key("sources").index(i), &mut out);
            }
            judged = true;
        } else if !spec.get("source").is_null() {
            self.source(spec.get("source"), path.key("source"), &mut out);
            judged = true;
        }
        let dry = spec.path(&["sourceHydrator", "drySource"]);
        if !spec.get("sourceHydrator").is_null() {
            self.source(dry, path.keys(&["sourceHydrator", "drySource"]), &mut out);
            judged = true;
        }
        if whole && !judged {
            out.push(Violation::new(
                path.clone(),
                "spec has no source, so nothing shows that it renders through the gate plugin",
            ));
        }
        out
    }

    /// Every generator-level template override, through nested generators.
    fn generators(
        &self,
        generators: Node<'_>,
        path: &FieldPath,
        project: &str,
        out: &mut Vec<Violation>,
    ) {
        for (i, generator) in generators.items().enumerate() {
            for (kind, body) in generator.entries() {
                let at = path.index(i).key(kind);
                let template = body.path(&["template", "spec"]);
                if !template.is_null() {
                    out.extend(self.spec(
                        template,
                        &at.keys(&["template", "spec"]),
                        project,
                        false,
                    ));
                }
                if NESTING_GENERATORS.contains(&kind) {
                    self.generators(body.get("generators"), &at.key("generators"), project, out);
                }
            }
        }
    }

    fn application_set(&self, object: &Object<'_>) -> Vec<Violation> {
        let spec = object.root.get("spec");
        let template_path = FieldPath::root().keys(&["spec", "template", "spec"]);
        let template = spec.path(&["template", "spec"]);
        let project = template
            .str("project")
            .filter(|p| !p.is_empty())
            .unwrap_or("default");
        let mut out = self.spec(template, &template_path, "default", true);
        self.generators(
            spec.get("generators"),
            &FieldPath::root().keys(&["spec", "generators"]),
            project,
            &mut out,
        );
        let patch = spec.str("templatePatch").unwrap_or_default();
        if !patch.trim().is_empty() && self.in_scope(project) {
            out.push(Violation::new(
                FieldPath::root().keys(&["spec", "templatePatch"]),
                "templatePatch can rewrite the sources of each Application after this check; \
                 gate cannot judge a template patch, so put the sources in spec.template",
            ));
        }
        out
    }
}

impl Policy for ArgoCdAppThroughGate {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "argocd-app-through-gate",
            "Argo CD Applications must render through the gate plugin",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies an Argo CD Application, or an ApplicationSet template, in the listed \
             AppProjects (all by default) whose sources (spec.source, spec.sources[], the \
             source hydrator's dry source, generator template overrides) do not name the gate \
             config management plugin, so that no app can sync manifests gate has not judged. \
             Values-only sources (ref without path) are not judged; a templatePatch is denied. \
             A versioned plugin name (gate-v1.0) counts.",
        )
        .severity(Severity::High)
        .category("governance")
        .targets([
            KindSelector::new("argoproj.io", "Application"),
            KindSelector::new("argoproj.io", "ApplicationSet"),
        ])
        .controls([Control::iso27001("A.8.32", "Change management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut errors = SettingsError::blank_entries("projects", &settings.projects);
        if settings.projects.is_empty() {
            errors.push(SettingsError::new(
                "projects",
                "lists no project, so nothing would be judged; use [\"*\"] for every project",
            ));
        }
        if settings.plugin_name.trim().is_empty() {
            errors.push(SettingsError::new("pluginName", "must not be empty"));
        }
        if errors.is_empty() {
            Ok(ArgoCdAppThroughGate { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if object.kind() == "ApplicationSet" {
            return self.application_set(object);
        }
        let spec = object.root.get("spec");
        self.spec(spec, &FieldPath::root().key("spec"), "default", true)
    }
}

export_policy!(ArgoCdAppThroughGate);
