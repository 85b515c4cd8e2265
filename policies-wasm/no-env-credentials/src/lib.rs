//! no-env-credentials: credentials must not be written into, or fed from plain text
//! to, environment variables.
//!
//! An env var whose name looks like a credential (`DB_PASSWORD`, `API_KEY`, ...) must
//! not carry a literal `value`, nor read it from a ConfigMap; and no env var may read a
//! Secret that the same render defines in plain text. Values are never quoted.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Words that mark an env var name as a credential. A name matches when it contains
    /// the word, ignoring case and the separators `_`, `-` and `.` (so `API_KEY` matches
    /// `apiKey` and `STRIPE_API_KEY`).
    secret_names: Vec<String>,
    /// Name endings that mark a reference to a credential rather than the credential
    /// itself (`DB_PASSWORD_FILE=/mnt/secrets/db`), ignoring case; `-` and `.` count as `_`.
    exempt_name_suffixes: Vec<String>,
    /// Env var names never judged as credentials (exact match).
    exempt_names: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        let owned = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect();
        Settings {
            secret_names: owned(&[
                "PASSWORD",
                "PASSWD",
                "TOKEN",
                "SECRET",
                "API_KEY",
                "CONNECTION_STRING",
                "PRIVATE_KEY",
                "ACCESS_KEY",
                "CREDENTIAL",
            ]),
            exempt_name_suffixes: owned(&[
                "_FILE",
                "_PATH",
                "_DIR",
                "_NAME",
                "_ID",
                "_VERSION",
                "_URL",
                "_URI",
                "_ENDPOINT",
                "_TTL",
                "_TIMEOUT",
                "_LENGTH",
                "_TOKENS",
            ]),
            exempt_names: Vec::new(),
        }
    }
}

struct NoEnvCredentials {
    /// `secret_names`, upper-case, separators removed.
    words: Vec<String>,
    /// `exempt_name_suffixes`, upper-case, separators as `_`.
    suffixes: Vec<String>,
    exempt_names: Vec<String>,
}

/// Upper-case and without separators: `db-Password` → `DBPASSWORD`.
fn squeeze(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Upper-case with `-` and `.` as `_`: `db-password.file` → `DB_PASSWORD_FILE`.
fn underscored(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Could this literal be a credential? Flags (`true`, `yes`, ...) and absolute file
/// paths (where a mounted credential lives, the CIS 5.4.1 way) are not.
fn could_be_credential(value: &str) -> bool {
    const FLAGS: [&str; 6] = ["true", "false", "yes", "no", "on", "off"];
    !value.is_empty()
        && !value.starts_with('/')
        && !FLAGS.iter().any(|f| value.eq_ignore_ascii_case(f))
}

/// A Secret that carries values in the render: a non-empty `data` or `stringData`
/// (or one that is not even a mapping), as no-plaintext-secrets judges it.
fn is_plaintext_secret(secret: &Object<'_>) -> bool {
    ["data", "stringData"]
        .iter()
        .any(|field| match secret.root.get(field) {
            node if node.is_object() => !node.is_empty(),
            node => !node.is_null(),
        })
}

impl NoEnvCredentials {
    fn looks_secret(&self, name: &str) -> bool {
        if self.exempt_names.iter().any(|n| n == name) {
            return false;
        }
        let long = underscored(name);
        if self.suffixes.iter().any(|s| long.ends_with(s.as_str())) {
            return false;
        }
        let short = squeeze(name);
        self.words.iter().any(|w| short.contains(w.as_str()))
    }

    /// Violations of one `env` entry.
    fn env_violations(
        &self,
        object: &Object<'_>,
        render: &Render<'_>,
        container: &Container<'_>,
        env: Node<'_>,
        path: &FieldPath,
    ) -> Vec<Violation> {
        let name = env.str("name").unwrap_or_default();
        let who = format!("container {:?}: env var {name:?}", container.name());
        let mut violations = Vec::new();
        let literal = env.str("value").is_some_and(could_be_credential);
        if literal && self.looks_secret(name) {
            violations.push(Violation::new(
                path.key("value"),
                format!(
                    "{who} looks like a credential and sets a literal value; keep it in Azure \
                     Key Vault and mount it as a file with the Secrets Store CSI driver"
                ),
            ));
        }
        let value_from = env.get("valueFrom");
        let config_map = value_from.get("configMapKeyRef");
        if !config_map.is_null() && self.looks_secret(name) {
            violations.push(Violation::new(
                path.keys(&["valueFrom", "configMapKeyRef"]),
                format!(
                    "{who} looks like a credential and reads ConfigMap {:?}, which stores values \
                     in plain text; use Azure Key Vault through the Secrets Store CSI driver",
                    config_map.str("name").unwrap_or_default()
                ),
            ));
        }
        let secret = value_from.path(&["secretKeyRef", "name"]);
        if let Some(v) = plaintext_ref(
            object,
            render,
            secret,
            &path.keys(&["valueFrom", "secretKeyRef", "name"]),
            &who,
        ) {
            violations.push(v);
        }
        violations
    }
}

/// A violation if `reference` names a Secret that the render defines in plain text.
fn plaintext_ref(
    object: &Object<'_>,
    render: &Render<'_>,
    reference: Node<'_>,
    path: &FieldPath,
    who: &str,
) -> Option<Violation> {
    let name = reference.as_str()?;
    let secret = render.find("Secret", object.namespace(), name)?;
    is_plaintext_secret(secret).then(|| {
        Violation::new(
            path,
            format!(
                "{who} reads Secret {name:?}, whose values the render defines in plain text; \
                 keep them in Azure Key Vault and mount them with the Secrets Store CSI driver"
            ),
        )
    })
}

/// Settings errors for entries of a list that would match every name.
fn empty_entries(field: &str, entries: &[String]) -> Vec<SettingsError> {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| squeeze(e).is_empty())
        .map(|(i, _)| {
            SettingsError::new(
                format!("{field}[{i}]"),
                "needs at least one letter or digit",
            )
        })
        .collect()
}

impl Policy for NoEnvCredentials {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "no-env-credentials",
            "Credentials must not be set in environment variables",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies an env var whose name looks like a credential (PASSWORD, TOKEN, SECRET, \
                 API_KEY, CONNECTION_STRING, ...; configurable) when it sets a literal value or \
                 reads a ConfigMap, and any env or envFrom reference to a Secret that the render \
                 defines in plain text. Environment variables leak through process listings, \
                 crash dumps and `kubectl describe`; credentials belong in Azure Key Vault, \
                 mounted as files by the Secrets Store CSI driver. Values are never quoted.",
        )
        .severity(Severity::High)
        .category("secrets")
        .targets(workload_kinds())
        .inventory([KindSelector::new("", "Secret")])
        .controls([
            Control::cis(
                "5.4.1",
                "Prefer using Secrets as files over Secrets as environment variables",
            ),
            Control::cis("5.4.2", "Consider external secret storage"),
            Control::iso27001("A.5.17", "Authentication information"),
        Control::gdpr("Art. 32(1)(b)", "The ability to ensure the ongoing confidentiality, integrity, availability and resilience of processing systems and services"), ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut errors = empty_entries("secretNames", &settings.secret_names);
        errors.extend(empty_entries(
            "exemptNameSuffixes",
            &settings.exempt_name_suffixes,
        ));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NoEnvCredentials {
            words: settings.secret_names.iter().map(|w| squeeze(w)).collect(),
            suffixes: settings
                .exempt_name_suffixes
                .iter()
                .map(|s| underscored(s))
                .collect(),
            exempt_names: settings.exempt_names,
        })
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let mut violations = Vec::new();
        for container in containers(object) {
            let env_path = container.path.key("env");
            for (i, env) in container.get("env").items().enumerate() {
                violations.extend(self.env_violations(
                    object,
                    render,
                    &container,
                    env,
                    &env_path.index(i),
                ));
            }
            let from_path = container.path.key("envFrom");
            for (i, from) in container.get("envFrom").items().enumerate() {
                let who = format!("container {:?}: envFrom[{i}]", container.name());
                let path = from_path.index(i).keys(&["secretRef", "name"]);
                violations.extend(plaintext_ref(
                    object,
                    render,
                    from.path(&["secretRef", "name"]),
                    &path,
                    &who,
                ));
            }
        }
        violations
    }
}

export_policy!(NoEnvCredentials);
