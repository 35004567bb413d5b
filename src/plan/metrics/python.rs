//! Python semantics the scorer's figures and messages depend on: which JSON values are
//! `int`s, `round`, `int / int`, and `repr`/`str` of floats, strings and `json.load` values.

use serde_json::Value;

/// A JSON value Python treats as an `int` (`isinstance(v, int)`): integers and booleans
/// (`bool` is an `int` subclass: `True == 1`).
pub(super) fn py_int(v: &Value) -> Option<i128> {
    match v {
        Value::Bool(b) => Some(i128::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

/// A JSON value equal to an integer under Python's `==` (ints, bools, integral floats), as
/// used when the scorer looks a `(topic, partition)` key up.
pub(super) fn py_integral(v: &Value) -> Option<i128> {
    if let Some(i) = py_int(v) {
        return Some(i);
    }
    let f = v.as_f64()?;
    // Floats this large are never partition numbers; stay clear of the cast's saturation.
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

/// True when the value equals Python's `1` (so `"version": 1.0` or `true` are accepted, as
/// the scorer accepts them).
pub(super) fn py_equals_one(v: &Value) -> bool {
    py_integral(v) == Some(1)
}

// ---------------------------------------------------------------------------------------------
// Python number semantics, so figures and messages match the scorer's byte for byte

/// `a / b` correctly rounded, as Python's `int / int` (which is exact, then rounded once).
/// Converting both to f64 first would round up to three times on values above 2^53.
pub(super) fn int_div_f64(a: u128, b: u64) -> f64 {
    if b == 0 {
        return f64::NAN;
    }
    const EXACT: u128 = 1 << 53;
    if a < EXACT && u128::from(b) < EXACT {
        // Both exact as f64; IEEE division rounds once.
        return a as f64 / b as f64;
    }
    if a == 0 {
        return 0.0;
    }
    // Scale so the integer quotient has 64-65 bits, fold the remainder into a sticky bit
    // below them, and let the one u128 -> f64 conversion (round half to even) do the
    // rounding; the power-of-two rescale is exact. With `b` below 2^64 neither shift can
    // overflow: `a << s` has `b_bits + 64` bits, `b << -s` has `a_bits - 64`.
    let b = u128::from(b);
    let a_bits = 128 - a.leading_zeros() as i32;
    let b_bits = 128 - b.leading_zeros() as i32;
    let s = b_bits - a_bits + 64;
    let (num, den) = if s >= 0 { (a << s, b) } else { (a, b << (-s)) };
    let q = num / den;
    let sticky = u128::from(num % den != 0);
    let scaled = ((q << 1) | sticky) as f64;
    scaled * pow2(-s - 1)
}

/// 2^e for the small exponents `int_div_f64` needs (normal range only).
pub(super) fn pow2(e: i32) -> f64 {
    let e = e.clamp(-1022, 1023);
    f64::from_bits(((1023 + e) as u64) << 52)
}

/// Python's `round(x, nd)`: the decimal rounding of the exact binary value (ties to even),
/// read back as the nearest double. Rust's fixed-precision formatting is exact with the same
/// tie rule, so formatting and parsing gives the same double.
pub fn py_round(x: f64, nd: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.nd$}").parse().unwrap_or(x)
}

/// Python's `repr(float)`: shortest round-trip digits, positional for exponents -4..16,
/// otherwise `d.ddde+XX`.
pub(super) fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{x:e}");
    let (sign, rest) = match sci.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", sci.as_str()),
    };
    let (mant, exp) = rest.split_once('e').unwrap_or((rest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let nd = digits.len() as i32;
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = (exp + 1) as usize;
            if digits.len() <= int_len {
                format!("{sign}{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let m = if nd > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let es = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// Python's `repr(str)`, close enough for messages: single quotes unless the text holds a
/// single quote and no double quote; backslash escapes for the quote, backslash, tab,
/// newline, return and other control characters.
pub(super) fn py_str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `repr` of a value `json.load` returned.
pub(super) fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => py_str_repr(s),
        other => py_str(other),
    }
}

pub(super) fn py_list_repr(items: &[&Value]) -> String {
    let parts: Vec<String> = items.iter().map(|v| py_repr(v)).collect();
    format!("[{}]", parts.join(", "))
}

/// Python's `str` of a value `json.load` returned (as an f-string formats it).
pub(super) fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                py_float_repr(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let items: Vec<&Value> = a.iter().collect();
            py_list_repr(&items)
        }
        Value::Object(o) => {
            let parts: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}
