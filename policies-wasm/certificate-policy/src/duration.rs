//! Go durations (`time.ParseDuration`), as cert-manager reads `duration` and
//! `renewBefore`: `2160h`, `720h0m0s`, `1.5h`, `90m`.

/// Nanoseconds per unit. The longest unit that matches wins, so `ms` is not read as `m`.
const UNITS: [(&str, i128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Digits of a fraction beyond this are ignored, as Go does past its precision.
const MAX_FRACTION_DIGITS: u32 = 18;

/// Parses a Go duration into nanoseconds.
pub fn parse(text: &str) -> Result<i128, String> {
    let invalid = || format!("{text:?} is not a duration such as 2160h or 720h0m0s");
    let (sign, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, after) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return Err(invalid());
        }
        let (unit, scale) = UNITS
            .iter()
            .filter(|(suffix, _)| after.starts_with(suffix))
            .max_by_key(|(suffix, _)| suffix.len())
            .ok_or_else(invalid)?;
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut part = whole.checked_mul(*scale).ok_or_else(invalid)?;
        let digits = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS as usize)];
        if !digits.is_empty() {
            let value: i128 = digits.parse().map_err(|_| invalid())?;
            part += value * scale / 10i128.pow(digits.len() as u32);
        }
        total = total.checked_add(part).ok_or_else(invalid)?;
        rest = &after[unit.len()..];
    }
    Ok(sign * total)
}

/// A duration for people: `2160h`, `1h30m`, `45s`, `0s`.
pub fn format(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let seconds = nanos.abs() / 1_000_000_000;
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut out = String::from(sign);
    for (value, unit) in [(hours, "h"), (minutes, "m"), (seconds, "s")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if out.len() == sign.len() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i128 = 3_600_000_000_000;

    #[test]
    fn parses_what_cert_manager_writes() {
        assert_eq!(parse("2160h"), Ok(2160 * HOUR));
        assert_eq!(parse("720h0m0s"), Ok(720 * HOUR));
        assert_eq!(parse("1h30m"), Ok(HOUR * 3 / 2));
        assert_eq!(parse("1.5h"), Ok(HOUR * 3 / 2));
        assert_eq!(parse(".5h"), Ok(HOUR / 2));
        assert_eq!(parse("300ms"), Ok(300_000_000));
        assert_eq!(parse("2\u{b5}s"), Ok(2_000));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("-1m"), Ok(-60_000_000_000));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "90", "h", "1d", "1.2.3h", ".h", "1h 30m", "--1h", "1H"] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(2160 * HOUR), "2160h");
        assert_eq!(format(HOUR * 3 / 2), "1h30m");
        assert_eq!(format(45_000_000_000), "45s");
        assert_eq!(format(0), "0s");
    }
}
