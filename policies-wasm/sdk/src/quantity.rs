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

#[cfg(test)]
mod tests {
    use super::parse;

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
    fn rejects_malformed_quantities() {
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("1Xi"), None);
        assert_eq!(parse(""), None);
    }
}
