//! Required keys of a string map (labels or annotations), each with an optional regular
//! expression for its value. Shared with the `required-annotations` policy, which
//! includes this file. Messages name keys, never values.

use gate_policy_sdk::prelude::*;
use regex_lite::Regex;

/// One required key, as Gatekeeper writes it: `{key, allowedRegex}`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Requirement {
    /// The key that must be present.
    pub key: String,
    /// A regular expression the value must match (unanchored, as in Gatekeeper: use
    /// `^...$` to match the whole value). Absent or empty: any value.
    #[serde(default)]
    pub allowed_regex: Option<String>,
}

/// The requirements, compiled.
pub struct Required {
    /// `label` or `annotation`, for messages.
    noun: &'static str,
    rules: Vec<(String, Option<Regex>)>,
    message: Option<String>,
}

impl Required {
    /// Compiles `requirements` (settings field `field`) plus `keys` that only need to be
    /// present. `message` replaces the start of every violation message.
    pub fn new(
        noun: &'static str,
        field: &str,
        requirements: &[Requirement],
        keys: &[String],
        message: Option<String>,
    ) -> Result<Required, Vec<SettingsError>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (i, requirement) in requirements.iter().enumerate() {
            if requirement.key.is_empty() {
                errors.push(SettingsError::new(
                    format!("{field}[{i}].key"),
                    "must not be empty",
                ));
            }
            let regex = match requirement
                .allowed_regex
                .as_deref()
                .filter(|r| !r.is_empty())
            {
                None => None,
                Some(pattern) => match Regex::new(pattern) {
                    Ok(regex) => Some(regex),
                    Err(e) => {
                        errors.push(SettingsError::new(
                            format!("{field}[{i}].allowedRegex"),
                            e.to_string(),
                        ));
                        None
                    }
                },
            };
            rules.push((requirement.key.clone(), regex));
        }
        rules.extend(keys.iter().map(|key| (key.clone(), None)));
        if errors.is_empty() {
            Ok(Required {
                noun,
                rules,
                message,
            })
        } else {
            Err(errors)
        }
    }

    /// Checks `map` (at `path` in `object`) against every requirement.
    pub fn check(&self, object: &Object<'_>, map: Node<'_>, path: &FieldPath) -> Vec<Violation> {
        let noun = self.noun;
        self.rules
            .iter()
            .filter_map(|(key, regex)| {
                let detail = match (map.get(key).as_str(), regex) {
                    (None, _) => format!(
                        "{} {:?} has no {noun} {key:?}",
                        object.kind(),
                        object.name()
                    ),
                    // The value is never quoted: an annotation can hold anything, the
                    // last-applied configuration of a Secret (its data) included.
                    (Some(value), Some(regex)) if !regex.is_match(value) => format!(
                        "{} {:?}: the value of {noun} {key:?} does not match {:?}",
                        object.kind(),
                        object.name(),
                        regex.as_str()
                    ),
                    (Some(_), _) => return None,
                };
                let message = match &self.message {
                    Some(message) => format!("{message} ({detail})"),
                    None => detail,
                };
                Some(Violation::new(path.key(key), message))
            })
            .collect()
    }
}
