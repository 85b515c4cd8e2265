//! Scalar resolution exactly as go-yaml v2 (`resolve.go`) does it, which is what
//! kubectl and the API machinery use: YAML 1.1 booleans, Go `strconv` integer and
//! float syntax, no base-60 numbers, and the rules for explicit tags.

/// `!!str`, in the long form libyaml reports.
pub const STR: &str = "tag:yaml.org,2002:str";
/// `!!bool`.
pub const BOOL: &str = "tag:yaml.org,2002:bool";
/// `!!int`.
pub const INT: &str = "tag:yaml.org,2002:int";
/// `!!float`.
pub const FLOAT: &str = "tag:yaml.org,2002:float";
/// `!!null`.
pub const NULL: &str = "tag:yaml.org,2002:null";
/// `!!timestamp`.
pub const TIMESTAMP: &str = "tag:yaml.org,2002:timestamp";
/// `!!binary`: base64, decoded to a string.
pub const BINARY: &str = "tag:yaml.org,2002:binary";
/// `!!merge`: marks a `<<` key.
pub const MERGE: &str = "tag:yaml.org,2002:merge";

/// A resolved scalar, typed as go-yaml hands it to sigs.k8s.io/yaml.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `~`, `null`, empty.
    Null,
    /// YAML 1.1 booleans.
    Bool(bool),
    /// An integer that fits Go's `int`.
    Int(i64),
    /// An integer above `i64::MAX` that fits `uint64`.
    Uint(u64),
    /// A float (possibly infinite or NaN: JSON cannot carry those).
    Float(f64),
    /// Anything else, and every quoted or `!!str` scalar.
    Str(String),
}

/// Why a scalar cannot be resolved. Never carries the scalar's text: it could be a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveError {
    /// An explicit standard tag that does not match the value (`!!int abc`).
    TagMismatch {
        /// The tag written.
        tag: &'static str,
        /// What the value resolves to.
        resolved: &'static str,
    },
    /// `!!timestamp`: go-yaml parses it with Go's `time.Parse`, which gate does not
    /// imitate; refused rather than guessed.
    Timestamp,
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::TagMismatch { tag, resolved } => write!(
                f,
                "a value tagged {tag} resolves to {resolved}: Kubernetes refuses it"
            ),
            ResolveError::Timestamp => f.write_str(
                "explicit !!timestamp tags are not supported: remove the tag or quote the value",
            ),
        }
    }
}

/// The short name of a tag, for messages (`!!int`); only standard tags are named.
fn short(tag: &str) -> &'static str {
    match tag {
        STR => "!!str",
        BOOL => "!!bool",
        INT => "!!int",
        FLOAT => "!!float",
        NULL => "!!null",
        TIMESTAMP => "!!timestamp",
        _ => "a custom tag",
    }
}

/// Tags go-yaml resolves; any other tag leaves the scalar a string.
fn resolvable(tag: &str) -> bool {
    matches!(tag, "" | STR | BOOL | INT | FLOAT | NULL | TIMESTAMP)
}

/// Resolves a plain or tagged scalar (`tag` is `""` for a plain untagged one).
/// Quoted untagged scalars never reach this: they are strings.
pub fn resolve(tag: &str, value: &str) -> Result<Scalar, ResolveError> {
    if !resolvable(tag) {
        return Ok(Scalar::Str(value.to_owned()));
    }
    if tag == TIMESTAMP {
        return Err(ResolveError::Timestamp);
    }
    let (rtag, out) = implicit(tag, value);
    if tag.is_empty() || tag == rtag || tag == STR {
        return Ok(out);
    }
    // `!!float` accepts what resolves to an integer, as a float.
    if tag == FLOAT
        && let Scalar::Int(i) = out
    {
        return Ok(Scalar::Float(i as f64));
    }
    Err(ResolveError::TagMismatch {
        tag: short(tag),
        resolved: short(rtag),
    })
}

/// go-yaml's table lookups and numeric parsing, returning the tag the value
/// resolves to. `tag` only matters for `!!str`, which skips all of it.
fn implicit(tag: &str, value: &str) -> (&'static str, Scalar) {
    let hint = match value.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint == 0 || tag == STR {
        return (STR, Scalar::Str(value.to_owned()));
    }
    if let Some(known) = table(value) {
        return known;
    }
    match hint {
        b'.' => {
            if let Some(f) = go_parse_float(value) {
                return (FLOAT, Scalar::Float(f));
            }
        }
        b'D' | b'S' => {
            if let Some(number) = number(value) {
                return number;
            }
        }
        _ => {}
    }
    (STR, Scalar::Str(value.to_owned()))
}

/// The resolve table: exact spellings of booleans, nulls, infinities and NaN.
fn table(value: &str) -> Option<(&'static str, Scalar)> {
    let found = match value {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            (BOOL, Scalar::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            (BOOL, Scalar::Bool(false))
        }
        "" | "~" | "null" | "Null" | "NULL" => (NULL, Scalar::Null),
        ".nan" | ".NaN" | ".NAN" => (FLOAT, Scalar::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (FLOAT, Scalar::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => (FLOAT, Scalar::Float(f64::NEG_INFINITY)),
        "<<" => (MERGE, Scalar::Str("<<".to_owned())),
        _ => return None,
    };
    Some(found)
}

/// Integers and floats starting with a digit or a sign. Timestamps are tried
/// first by go-yaml but resolve to the same string, so they need no case here.
fn number(value: &str) -> Option<(&'static str, Scalar)> {
    let plain: std::borrow::Cow<'_, str> = if value.contains('_') {
        value.replace('_', "").into()
    } else {
        value.into()
    };
    let plain = plain.as_ref();
    if let Some(i) = go_parse_int(plain, 0) {
        return Some((INT, Scalar::Int(i)));
    }
    if let Some(u) = go_parse_uint(plain, 0) {
        return Some((INT, Scalar::Uint(u)));
    }
    if yaml_style_float(plain)
        && let Some(f) = finite(plain.parse::<f64>().ok())
    {
        return Some((FLOAT, Scalar::Float(f)));
    }
    if let Some(digits) = plain.strip_prefix("0b") {
        if let Some(i) = go_parse_int(digits, 2) {
            return Some((INT, Scalar::Int(i)));
        }
        if let Some(u) = go_parse_uint(digits, 2) {
            return Some((INT, Scalar::Uint(u)));
        }
    } else if let Some(digits) = plain.strip_prefix("-0b")
        && let Some(i) = go_parse_int(&format!("-{digits}"), 2)
    {
        return Some((INT, Scalar::Int(i)));
    }
    None
}

/// Go's `ParseFloat` reports an out-of-range value as an error; go-yaml then
/// keeps the text as a string.
fn finite(f: Option<f64>) -> Option<f64> {
    f.filter(|f| f.is_finite())
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseUint(s, base, 64)` for base 0 (prefixes `0x`, `0o`, `0b`,
/// leading `0` for octal) or an explicit base. No underscores: go-yaml removes them.
pub fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (digits, radix) = if base != 0 {
        (s, base)
    } else if let Some(rest) = s.strip_prefix('0') {
        let lower = rest.as_bytes().first().map(u8::to_ascii_lowercase);
        match lower {
            Some(b'x') if s.len() >= 3 => (&rest[1..], 16),
            Some(b'o') if s.len() >= 3 => (&rest[1..], 8),
            Some(b'b') if s.len() >= 3 => (&rest[1..], 2),
            _ => (rest, 8),
        }
    } else {
        (s, 10)
    };
    let mut n: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(36)?;
        if d >= radix {
            return None;
        }
        n = n.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// Go's `strconv.ParseInt(s, base, 64)`.
pub fn go_parse_int(s: &str, base: u32) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(rest, base)?;
    if negative {
        if magnitude > 1 << 63 {
            None
        } else {
            Some((magnitude as i64).wrapping_neg())
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the text go-yaml hands it when the scalar
/// starts with `.`: decimal digits with Go's underscore rule, an optional exponent.
fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    let mut seen_dot = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => mantissa_digits += 1,
            b'_' => {}
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        i += 1;
    }
    if mantissa_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    if i != b.len() || !underscore_ok(s) {
        return None;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    finite(plain.parse::<f64>().ok())
}

/// Go's `underscoreOK`: an underscore only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if matches!(b.first(), Some(b'+' | b'-')) {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while let Some(&c) = b.get(i) {
        i += 1;
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Scalar {
        resolve("", s).unwrap()
    }

    #[test]
    fn yaml_1_1_booleans_in_every_spelling_go_yaml_knows() {
        for t in [
            "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(plain(t), Scalar::Bool(true), "{t}");
        }
        for f in [
            "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ] {
            assert_eq!(plain(f), Scalar::Bool(false), "{f}");
        }
        for s in ["yEs", "oN", "tRUE", "nO"] {
            assert_eq!(plain(s), Scalar::Str(s.into()), "{s}");
        }
    }

    #[test]
    fn integers_follow_go_strconv_after_removing_underscores() {
        let cases = [
            ("0x1F", 31),
            ("0X1F", 31),
            ("-0x1F", -31),
            ("0o17", 15),
            ("0O17", 15),
            ("017", 15),
            ("-017", -15),
            ("0b11", 3),
            ("+0b11", 3),
            ("-0b11", -3),
            ("0_0", 0),
            ("1__0", 10),
            ("-_1", -1),
            ("+12", 12),
            ("-9223372036854775808", i64::MIN),
        ];
        for (text, want) in cases {
            assert_eq!(plain(text), Scalar::Int(want), "{text}");
        }
        assert_eq!(plain("18446744073709551615"), Scalar::Uint(u64::MAX));
        for text in [
            "0x",
            "0b",
            "0o",
            "0b2",
            "0o9",
            "0x7fffffffffffffffff",
            "12:30",
            "+-1",
        ] {
            assert_eq!(plain(text), Scalar::Str(text.into()), "{text}");
        }
    }

    #[test]
    fn floats_need_go_syntax_and_a_finite_value() {
        assert_eq!(plain("08"), Scalar::Float(8.0));
        assert_eq!(plain("1."), Scalar::Float(1.0));
        assert_eq!(plain(".5_0"), Scalar::Float(0.5));
        assert_eq!(plain("+.5"), Scalar::Float(0.5));
        assert_eq!(plain("1e3_0"), Scalar::Float(1e30));
        assert_eq!(plain("1e-400"), Scalar::Float(0.0));
        for text in [
            "1e309", ".5e400", "._5", ".", ".e3", "1e", "inf", "NaN", "0x1p3",
        ] {
            assert_eq!(plain(text), Scalar::Str(text.into()), "{text}");
        }
        assert!(matches!(plain(".NaN"), Scalar::Float(f) if f.is_nan()));
        assert_eq!(plain("-.INF"), Scalar::Float(f64::NEG_INFINITY));
    }

    #[test]
    fn explicit_tags_resolve_or_are_refused_without_quoting_the_value() {
        assert_eq!(resolve(STR, "yes").unwrap(), Scalar::Str("yes".into()));
        assert_eq!(resolve(INT, "12").unwrap(), Scalar::Int(12));
        assert_eq!(resolve(FLOAT, "1").unwrap(), Scalar::Float(1.0));
        assert_eq!(resolve(BOOL, "on").unwrap(), Scalar::Bool(true));
        assert_eq!(resolve("!custom", "12").unwrap(), Scalar::Str("12".into()));
        assert_eq!(resolve("!", "yes").unwrap(), Scalar::Str("yes".into()));
        let err = resolve(BOOL, "s3cr3t-1").unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(resolve(INT, "1.5").is_err());
        assert!(resolve(NULL, "x").is_err());
        assert!(resolve(FLOAT, "18446744073709551615").is_err());
        assert_eq!(
            resolve(TIMESTAMP, "2001-01-01"),
            Err(ResolveError::Timestamp)
        );
    }
}
