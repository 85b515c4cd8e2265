//! Numbers as Kubernetes hands them on: kubectl decodes every manifest into
//! `int64` and `float64` values and sends them as Go's `encoding/json` writes
//! them. A float with an integral value below 1e21 is written without a fraction
//! (`1.0` becomes `1`), so it reaches the API server as an integer.

use serde_json::{Number, Value};

/// The JSON number the API server receives for a float64 that kubectl holds.
/// `None` for NaN and infinities, which Go's JSON encoder refuses.
pub fn from_f64(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    if f.trunc() == f
        && f.abs() < 1e21
        && let Some(integer) = go_integral_text(f)
    {
        return Some(integer);
    }
    Number::from_f64(f).map(Value::Number)
}

/// Go writes an integral float below 1e21 as its shortest round-trip digits
/// padded with zeros (2^63 is written `9223372036854776000`); that text reads back
/// as an integer when it fits one.
fn go_integral_text(f: f64) -> Option<Value> {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let zeros = exponent + 1 - i32::try_from(digits.len()).ok()?;
    let mut n: u128 = digits.parse().ok()?;
    for _ in 0..zeros {
        n = n.checked_mul(10)?;
    }
    if f.is_sign_negative() {
        let negative = i128::try_from(n).ok()?.checked_neg()?;
        i64::try_from(negative).ok().map(Value::from)
    } else {
        u64::try_from(n).ok().map(Value::from)
    }
}

/// An integer as kubectl holds it: `int64` when it fits, `float64` above.
pub fn from_u64(u: u64) -> Value {
    match i64::try_from(u) {
        Ok(i) => Value::from(i),
        Err(_) => from_f64(u as f64).unwrap_or(Value::Null),
    }
}

/// A JSON number as read from a JSON manifest, normalised the same way.
pub fn normalize(n: &Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(from_u64(u));
    }
    n.as_f64().and_then(from_f64)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: how sigs.k8s.io/yaml turns a
/// float map key into a string (through float32, so `3.14159265358979` becomes
/// `3.1415927`), with go-yaml's spellings of the infinities and NaN.
pub fn float_key(f: f64) -> String {
    let single = f as f32;
    if single.is_nan() {
        return ".nan".to_owned();
    }
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    // `{:e}` gives the shortest digits that round-trip through f32, as Go's -1
    // precision does: "d.ddde±x".
    let sci = format!("{:e}", single.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if single.is_sign_negative() { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_as_kubectl_sends_them() {
        assert_eq!(from_f64(1.0), Some(Value::from(1u64)));
        assert_eq!(from_f64(-0.0), Some(Value::from(0u64)));
        assert_eq!(from_f64(-3.0), Some(Value::from(-3i64)));
        assert_eq!(from_f64(1.5), Some(Value::from(1.5)));
        assert_eq!(from_f64(1e21), Some(Value::from(1e21)));
        assert_eq!(from_f64(1e20), Some(Value::from(1e20)));
        assert_eq!(from_f64(f64::NAN), None);
        assert_eq!(from_f64(f64::INFINITY), None);
        assert_eq!(from_u64(u64::MAX), Value::from(18446744073709551615.0));
        // Go prints float64(2^63) as its shortest digits padded with zeros.
        assert_eq!(from_u64(1 << 63), Value::from(9_223_372_036_854_776_000u64));
        assert_eq!(
            from_f64(-(2f64.powi(63))),
            Some(Value::from(-(2f64.powi(63))))
        );
    }

    #[test]
    fn float_keys_are_written_like_go_formats_a_float32() {
        let cases = [
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (100000.0, "100000"),
            (std::f64::consts::E.sqrt(), "1.6487212"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.0, "1"),
            (-0.0, "-0"),
            (1e39, ".inf"),
            (-2.5e-7, "-2.5e-07"),
            (123456.7, "123456.7"),
            (1234567.0, "1.234567e+06"),
            (f64::NAN, ".nan"),
        ];
        for (f, want) in cases {
            assert_eq!(float_key(f), want, "{f}");
        }
    }
}
