//! Broker lists with racks, disk sizes and `--broker-capacity` specs.
//!
//! Broker/rack list: one broker per line as `id rack` (a line with only `id` is a broker
//! without a rack), `#` starts a comment, blank lines are ignored; or `id:rack` pairs
//! separated by `,` (`1:r1,2:r2,3`), on one or more lines.
//!
//! Sizes: a plain number is bytes; decimal units `KB MB GB TB PB EB` are powers of 1000 and
//! binary units `KiB MiB GiB TiB PiB EiB` powers of 1024 (`4TB`, `2TiB`, `1.5 GB`).
//! Single-letter units (`4T`) are refused because tools disagree on what they mean.

use std::collections::BTreeMap;

use super::{FormatError, Problem};
use crate::model::BrokerId;

/// Parses a broker/rack list: broker id → rack (`None` = no rack). Every problem is
/// reported with its line.
pub fn parse_broker_racks(
    source_name: &str,
    text: &str,
) -> Result<BTreeMap<BrokerId, Option<String>>, FormatError> {
    let mut out: BTreeMap<BrokerId, Option<String>> = BTreeMap::new();
    let mut first_line: BTreeMap<BrokerId, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let content = match raw.find('#') {
            Some(i) => &raw[..i],
            None => raw,
        };
        let content = content.trim();
        if content.is_empty() {
            continue;
        }
        let pairs = if content.contains(',') || content.contains(':') {
            pairs_form(content)
        } else {
            line_form(content).map(|p| vec![p])
        };
        let pairs = match pairs {
            Ok(p) => p,
            Err(message) => {
                problems.push(Problem {
                    line: Some(line_no),
                    message,
                });
                continue;
            }
        };
        for (id, rack) in pairs {
            if let Some(first) = first_line.get(&id) {
                problems.push(Problem {
                    line: Some(line_no),
                    message: format!(
                        "broker {id} is listed more than once (first at line {first})"
                    ),
                });
                continue;
            }
            first_line.insert(id, line_no);
            out.insert(id, rack);
        }
    }
    if problems.is_empty() && out.is_empty() {
        problems.push(Problem {
            line: None,
            message: "no brokers listed (expected lines `id rack` or `id:rack,id:rack`)"
                .to_string(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(FormatError::many(source_name, problems))
    }
}

fn parse_id(t: &str) -> Result<BrokerId, String> {
    t.parse::<BrokerId>()
        .map_err(|_| format!("`{t}` is not a broker id (an int32)"))
}

/// `id rack` or `id`.
fn line_form(content: &str) -> Result<(BrokerId, Option<String>), String> {
    let mut tokens = content.split_whitespace();
    let id = parse_id(tokens.next().unwrap_or_default())?;
    let rack = tokens.next().map(str::to_string);
    if let Some(extra) = tokens.next() {
        return Err(format!(
            "unexpected `{extra}` after broker {id}'s rack (expected `id rack`; rack names have no spaces)"
        ));
    }
    Ok((id, rack))
}

/// `id:rack,id:rack,id`.
fn pairs_form(content: &str) -> Result<Vec<(BrokerId, Option<String>)>, String> {
    let mut out = Vec::new();
    for piece in content.split(',') {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        match piece.split_once(':') {
            Some((id, rack)) => {
                let id = parse_id(id.trim())?;
                let rack = rack.trim();
                if rack.is_empty() || rack.contains(char::is_whitespace) {
                    return Err(format!("broker {id}: `{rack}` is not a rack name"));
                }
                out.push((id, Some(rack.to_string())));
            }
            None => out.push((parse_id(piece)?, None)),
        }
    }
    Ok(out)
}

/// Parses a byte size (`123456`, `4TB`, `500GB`, `2TiB`, `1.5 TB`). Fractions are rounded
/// down to whole bytes.
pub fn parse_byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    if t.starts_with('-') {
        return Err(format!(
            "`{s}` is negative; a size must be zero or more bytes"
        ));
    }
    if number.is_empty() {
        return Err(format!(
            "`{s}` is not a size (expected e.g. 123456, 500GB, 4TB or 2TiB)"
        ));
    }
    let multiplier: u128 = match unit {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "MB" => 1000u128.pow(2),
        "GB" => 1000u128.pow(3),
        "TB" => 1000u128.pow(4),
        "PB" => 1000u128.pow(5),
        "EB" => 1000u128.pow(6),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "PiB" => 1 << 50,
        "EiB" => 1 << 60,
        "K" | "M" | "G" | "T" | "P" | "E" | "k" | "m" | "g" | "t" | "p" | "e" => {
            return Err(format!(
                "`{s}`: unit `{unit}` is ambiguous; write {u}B (powers of 1000) or {u}iB (powers of 1024)",
                u = unit.to_ascii_uppercase()
            ))
        }
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}` (use B, KB, MB, GB, TB, PB, EB or KiB, MiB, GiB, TiB, PiB, EiB)"
            ))
        }
    };
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    let bad = || format!("`{s}` is not a size (expected e.g. 123456, 500GB, 4TB or 2TiB)");
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(bad());
    }
    let too_big = || format!("`{s}` is too large (the limit is {} bytes)", u64::MAX);
    // Digits are checked above, so parse errors here only mean "too many digits".
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| too_big())?
    };
    let mut bytes = int.checked_mul(multiplier).ok_or_else(too_big)?;
    if !frac_part.is_empty() {
        // Only digits that can matter: 10^19 > the largest multiplier.
        let digits = &frac_part[..frac_part.len().min(19)];
        let frac: u128 = digits.parse().map_err(|_| bad())?;
        let scale = 10u128.pow(digits.len() as u32);
        bytes = bytes
            .checked_add(frac * multiplier / scale)
            .ok_or_else(too_big)?;
    }
    u64::try_from(bytes).map_err(|_| too_big())
}

/// A `--broker-capacity` value: one size for every broker, or sizes per broker id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapacitySpec {
    Uniform(u64),
    PerBroker(BTreeMap<BrokerId, u64>),
}

/// Parses `4TB` (every broker) or `1=4TB,2=2TB` (per broker).
pub fn parse_capacity_spec(s: &str) -> Result<CapacitySpec, String> {
    if !s.contains('=') {
        return parse_byte_size(s).map(CapacitySpec::Uniform);
    }
    let mut out = BTreeMap::new();
    for piece in s.split(',') {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let Some((id, size)) = piece.split_once('=') else {
            return Err(format!(
                "`{piece}`: expected broker=size (e.g. 1=4TB) in a per-broker list"
            ));
        };
        let id = parse_id(id.trim())?;
        let size = parse_byte_size(size)?;
        if out.insert(id, size).is_some() {
            return Err(format!("broker {id} is given more than once"));
        }
    }
    if out.is_empty() {
        return Err(format!("`{s}` lists no broker"));
    }
    Ok(CapacitySpec::PerBroker(out))
}

impl CapacitySpec {
    /// The capacity of each of `brokers` (brokers a per-broker spec leaves out get none).
    /// Ids in the spec that are not in `brokers` are an error.
    pub fn resolve(&self, brokers: &[BrokerId]) -> Result<BTreeMap<BrokerId, u64>, String> {
        match self {
            CapacitySpec::Uniform(size) => Ok(brokers.iter().map(|b| (*b, *size)).collect()),
            CapacitySpec::PerBroker(m) => {
                let unknown: Vec<BrokerId> =
                    m.keys().copied().filter(|b| !brokers.contains(b)).collect();
                if !unknown.is_empty() {
                    return Err(format!(
                        "broker(s) {} are not in the broker list (known: {})",
                        super::join_ids(&unknown),
                        super::join_ids(brokers)
                    ));
                }
                Ok(m.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_list_forms_and_comments() {
        let text = "# brokers\n1 r1\n2 r2   # second\n\n3\n4:r4,5:r5, 6\n";
        let m = parse_broker_racks("racks", text).unwrap();
        assert_eq!(m.len(), 6);
        assert_eq!(m[&1].as_deref(), Some("r1"));
        assert_eq!(m[&2].as_deref(), Some("r2"));
        assert_eq!(m[&3], None);
        assert_eq!(m[&5].as_deref(), Some("r5"));
        assert_eq!(m[&6], None);
    }

    #[test]
    fn list_errors_have_lines() {
        let e = parse_broker_racks("racks", "1 a\nx b\n1 c\n2 a b\n3:\n").unwrap_err();
        let got: Vec<String> = e.problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(
            e.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![Some(2), Some(3), Some(4), Some(5)]
        );
        assert!(got[0].contains("`x` is not a broker id"), "{got:?}");
        assert!(got[1].contains("broker 1 is listed more than once (first at line 1)"));
        assert!(got[2].contains("unexpected `b`"));
        assert!(got[3].contains("not a rack name"));
        assert!(parse_broker_racks("racks", "# nothing\n").is_err());
        assert!(parse_broker_racks("racks", "99999999999 r\n").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_byte_size("123456"), Ok(123_456));
        assert_eq!(parse_byte_size("4TB"), Ok(4_000_000_000_000));
        assert_eq!(parse_byte_size("500GB"), Ok(500_000_000_000));
        assert_eq!(parse_byte_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_byte_size("1KB"), Ok(1000));
        assert_eq!(parse_byte_size("1KiB"), Ok(1024));
        assert_eq!(parse_byte_size(" 1.5 GB "), Ok(1_500_000_000));
        assert_eq!(parse_byte_size("0.5KiB"), Ok(512));
        assert_eq!(parse_byte_size("18446744073709551615"), Ok(u64::MAX));
        for bad in [
            "",
            "-1",
            "-4TB",
            "TB",
            "4T",
            "4 XB",
            "1.2.3",
            ".",
            "18446744073709551616",
            "20EB",
            "99999999999999999999999999999999999999999TB",
            "4TBx",
            "1e3",
        ] {
            assert!(parse_byte_size(bad).is_err(), "{bad:?} should fail");
        }
        assert!(parse_byte_size("4T").unwrap_err().contains("ambiguous"));
        assert!(parse_byte_size("-1").unwrap_err().contains("negative"));
        assert!(parse_byte_size("20EB").unwrap_err().contains("too large"));
    }

    #[test]
    fn capacity_specs() {
        assert_eq!(
            parse_capacity_spec("4TB"),
            Ok(CapacitySpec::Uniform(4_000_000_000_000))
        );
        let spec = parse_capacity_spec("1=4TB, 2=2TB").unwrap();
        let r = spec.resolve(&[1, 2, 3]).unwrap();
        assert_eq!(r[&1], 4_000_000_000_000);
        assert!(!r.contains_key(&3));
        assert!(spec.resolve(&[1]).unwrap_err().contains("broker(s) 2"));
        assert!(parse_capacity_spec("1=4TB,1=2TB").is_err());
        assert!(parse_capacity_spec("1=4TB,x").is_err());
        assert!(parse_capacity_spec("a=4TB").is_err());
        assert!(parse_capacity_spec("=").is_err());
        assert_eq!(
            CapacitySpec::Uniform(5).resolve(&[1, 2]).unwrap(),
            BTreeMap::from([(1, 5), (2, 5)])
        );
    }
}
