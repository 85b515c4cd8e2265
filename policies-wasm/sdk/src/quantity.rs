//! Kubernetes resource quantities (`500m`, `1Gi`, `2.5e3`).

/// The value of a quantity in base units (cores, bytes), or `None` if it is malformed.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * factor)
}

/// The value of a quantity node: a string (`"500m"`) or a plain number.
pub fn of(node: crate::Node<'_>) -> Option<f64> {
    match node.as_str() {
        Some(text) => parse(text),
        None => node.as_f64(),
    }
}

/// A quantity given in settings: `"500m"`, `"1Gi"`, or a plain number.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Quantity {
    /// Written as text, with an optional suffix.
    Text(String),
    /// Written as a plain number (cores or bytes).
    Number(f64),
}

impl Quantity {
    /// The value in base units, or `None` if it is malformed.
    pub fn value(&self) -> Option<f64> {
        match self {
            Quantity::Text(text) => parse(text),
            Quantity::Number(n) => Some(*n),
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Quantity::Text(text) => f.write_str(text),
            Quantity::Number(n) => write!(f, "{n}"),
        }
    }
}

/// The text of a quantity node as written: `"500m"`, or a number printed back.
pub fn text(node: crate::Node<'_>) -> String {
    match (node.as_str(), node.as_f64()) {
        (Some(text), _) => text.to_owned(),
        (None, Some(n)) => n.to_string(),
        (None, None) => String::new(),
    }
}

/// Is `value` above `max`? Quantities go through `f64` (`"100m"` is `100 * 0.001`), so
/// a value equal to the maximum written in other units must not count as above it.
pub fn exceeds(value: f64, max: f64) -> bool {
    value > max + max.abs() * 1e-9
}

/// What a rule requires of one container resource (`limits.cpu`, `requests.memory`, ...),
/// from a maximum given in settings.
#[derive(Clone, Debug, PartialEq)]
pub enum Cap {
    /// Not checked: the setting was `-1` (Gatekeeper's way to turn one resource off).
    Off,
    /// Must be set, and not above the maximum when one is given (as written, value).
    Required(Option<(String, f64)>),
}

impl Cap {
    /// The cap for a setting: unset requires the resource, `-1` turns the check off,
    /// anything else must be a non-negative quantity. `field` names the setting in errors.
    pub fn from_setting(
        field: &str,
        setting: Option<&Quantity>,
    ) -> Result<Cap, crate::SettingsError> {
        let Some(max) = setting else {
            return Ok(Cap::Required(None));
        };
        match max.value() {
            Some(-1.0) => Ok(Cap::Off),
            Some(v) if v >= 0.0 => Ok(Cap::Required(Some((max.to_string(), v)))),
            _ => Err(crate::SettingsError::new(
                field,
                format!("{max} is not a Kubernetes quantity (or -1 to skip the check)"),
            )),
        }
    }

    /// Checks `resources.<list>.<resource>` of a container (`list` is `limits` or
    /// `requests`): missing or empty, unreadable, or above the maximum is a violation.
    pub fn check(
        &self,
        container: &crate::Container<'_>,
        list: &str,
        resource: &str,
    ) -> Option<crate::Violation> {
        let Cap::Required(max) = self else {
            return None;
        };
        let what = match list {
            "limits" => "limit",
            "requests" => "request",
            other => other,
        };
        let path = container.path.keys(&["resources", list, resource]);
        let node = container.node.path(&["resources", list, resource]);
        let who = container.describe();
        if node.is_null() || node.as_str() == Some("") {
            return Some(crate::Violation::new(
                path,
                format!("{who} has no {resource} {what}"),
            ));
        }
        let written = text(node);
        let Some(value) = of(node) else {
            return Some(crate::Violation::new(
                path,
                format!("{who} {resource} {what} {written:?} could not be parsed"),
            ));
        };
        let (max_text, max) = max.as_ref()?;
        exceeds(value, *max).then(|| {
            crate::Violation::new(
                path,
                format!(
                    "{who} {resource} {what} {written} is higher than the maximum allowed of {max_text}"
                ),
            )
        })
    }
}

/// The CPU and memory caps of one resource list, from the `cpu` and `memory` maximums of
/// Gatekeeper's `K8sContainerLimits` and `K8sContainerRequests` (and Azure's aliases).
#[derive(Clone, Debug, PartialEq)]
pub struct CpuMemoryCaps {
    /// `<list>.cpu`.
    pub cpu: Cap,
    /// `<list>.memory`.
    pub memory: Cap,
}

impl CpuMemoryCaps {
    /// Both caps from settings ([`Cap::from_setting`]); errors name `cpu` and `memory`.
    pub fn from_settings(
        cpu: Option<&Quantity>,
        memory: Option<&Quantity>,
    ) -> Result<CpuMemoryCaps, Vec<crate::SettingsError>> {
        match (
            Cap::from_setting("cpu", cpu),
            Cap::from_setting("memory", memory),
        ) {
            (Ok(cpu), Ok(memory)) => Ok(CpuMemoryCaps { cpu, memory }),
            (cpu, memory) => Err([cpu.err(), memory.err()].into_iter().flatten().collect()),
        }
    }

    /// The violations of a container's `resources.<list>.cpu` and `.memory` (`list` is
    /// `limits` or `requests`), CPU first.
    pub fn check(
        &self,
        container: &crate::Container<'_>,
        list: &str,
    ) -> impl Iterator<Item = crate::Violation> + use<> {
        [
            self.cpu.check(container, list, "cpu"),
            self.memory.check(container, list, "memory"),
        ]
        .into_iter()
        .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::{Cap, CpuMemoryCaps, Quantity, parse};

    #[test]
    fn cpu_and_memory_caps_report_both_bad_settings() {
        let bad = Quantity::Text("lots".into());
        let errors = CpuMemoryCaps::from_settings(Some(&bad), Some(&bad)).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["cpu", "memory"]);

        let off = Quantity::Number(-1.0);
        let caps = CpuMemoryCaps::from_settings(None, Some(&off)).unwrap();
        assert_eq!(caps.cpu, Cap::Required(None));
        assert_eq!(caps.memory, Cap::Off);
    }

    #[test]
    fn parses_decimal_and_binary_suffixes() {
        assert_eq!(parse("500m"), Some(0.5));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("1Gi"), Some(1073741824.0));
        assert_eq!(parse("1G"), Some(1e9));
        assert_eq!(parse("1.5Mi"), Some(1.5 * 1048576.0));
        assert_eq!(parse("2e3"), Some(2000.0));
    }

    #[test]
    fn caps_read_minus_one_as_off_and_reject_garbage() {
        use super::{Cap, Quantity};
        let q = |t: &str| Quantity::Text(t.to_owned());
        assert_eq!(Cap::from_setting("cpu", Some(&q("-1"))), Ok(Cap::Off));
        assert_eq!(Cap::from_setting("cpu", None), Ok(Cap::Required(None)));
        assert_eq!(
            Cap::from_setting("cpu", Some(&q("200m"))),
            Ok(Cap::Required(Some(("200m".to_owned(), 0.2))))
        );
        assert!(Cap::from_setting("cpu", Some(&q("lots"))).is_err());
        assert!(Cap::from_setting("cpu", Some(&q("-2"))).is_err());
    }

    #[test]
    fn rejects_malformed_quantities() {
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("1Xi"), None);
        assert_eq!(parse(""), None);
    }
}
