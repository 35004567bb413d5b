//! Partition rates files (`plan --rates FILE`): what an operator exports from Prometheus or
//! JMX, in bytes per second per partition, as CSV or JSON:
//!
//! ```text
//! topic,partition,bytes_in,bytes_out
//! orders,0,1250000,3750000
//! ```
//! ```json
//! [{"topic": "orders", "partition": 0, "bytes_in": 1250000, "bytes_out": 3750000}]
//! ```
//! The CSV header names the four columns (in any order); blank lines and lines starting with
//! `#` are skipped. A file starting with `[` is JSON. Rates are non-negative numbers (rounded
//! to whole bytes, at most 10^15 B/s). Every partition must exist in the cluster and appear
//! once; each problem is reported with its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{decode_text, FormatError, Problem};
use crate::model::{Cluster, PartitionRates, TopicPartition};

/// Largest accepted rate: 1 PB/s per partition is far beyond any network, so anything larger
/// is a unit mistake (and sums of accepted rates cannot overflow).
pub const MAX_RATE: f64 = 1e15;

/// One row of a rates file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRow {
    pub line: usize,
    pub tp: TopicPartition,
    pub rates: PartitionRates,
}

/// Parses a rates file (CSV or JSON); every problem found is reported.
pub fn parse_rates(source_name: &str, bytes: &[u8]) -> Result<Vec<RateRow>, FormatError> {
    let text = decode_text(source_name, bytes)?;
    if text.trim_start().starts_with('[') {
        parse_json(source_name, text)
    } else {
        parse_csv(source_name, text)
    }
}

/// A rate value: a non-negative finite number of bytes per second.
fn rate_value(tp: &TopicPartition, key: &str, v: &Value) -> Result<u64, String> {
    let number = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(x) if x.is_finite() && (0.0..=MAX_RATE).contains(&x) => Ok(x.round() as u64),
        Some(x) if x.is_finite() && x < 0.0 => Err(format!(
            "partition {tp}: {key} is {x}; a rate must be a non-negative number of bytes per second"
        )),
        Some(x) if x.is_finite() => Err(format!(
            "partition {tp}: {key} is {x} bytes per second, more than {MAX_RATE:e} (bytes per second expected, not bits or another unit?)"
        )),
        _ => Err(format!(
            "partition {tp}: {key} `{}` is not a number of bytes per second",
            match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        )),
    }
}

fn parse_csv(source_name: &str, text: &str) -> Result<Vec<RateRow>, FormatError> {
    const COLUMNS: [&str; 4] = ["topic", "partition", "bytes_in", "bytes_out"];
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((header_line, header)) = lines.next() else {
        return Err(FormatError::one(
            source_name,
            None,
            "empty rates file (expected the header `topic,partition,bytes_in,bytes_out`)",
        ));
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let mut index = [0usize; 4];
    for (k, col) in COLUMNS.iter().enumerate() {
        match names.iter().position(|n| n == col) {
            Some(i) => index[k] = i,
            None => {
                return Err(FormatError::one(
                    source_name,
                    Some(header_line),
                    format!(
                        "the header `{header}` has no `{col}` column (expected `topic,partition,bytes_in,bytes_out`; a file of JSON starts with `[`)"
                    ),
                ))
            }
        }
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (line, l) in lines {
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            problems.push(Problem {
                line: Some(line),
                message: format!(
                    "{} fields where the header has {} (topic names have no commas)",
                    fields.len(),
                    names.len()
                ),
            });
            continue;
        }
        let topic = fields[index[0]];
        let partition = match fields[index[1]].parse::<i32>() {
            Ok(p) if p >= 0 && !topic.is_empty() => p,
            _ => {
                problems.push(Problem {
                    line: Some(line),
                    message: format!(
                        "`{topic}`, `{}` is not a topic and a partition number",
                        fields[index[1]]
                    ),
                });
                continue;
            }
        };
        let tp = TopicPartition::new(topic, partition);
        let field = |k: usize| Value::String(fields[index[k]].to_string());
        push_row(&mut rows, &mut problems, line, tp, &field(2), &field(3));
    }
    finish(source_name, rows, problems)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    topic: String,
    partition: i32,
    bytes_in: Value,
    bytes_out: Value,
}

fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// JSON: an array of objects, each read on its own so that a problem names its line.
fn parse_json(source_name: &str, text: &str) -> Result<Vec<RateRow>, FormatError> {
    let bad = |offset: usize, msg: String| {
        FormatError::one(source_name, Some(line_at(text, offset)), msg)
    };
    let skip_ws = |mut i: usize| {
        while i < text.len() && text.as_bytes()[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut pos = skip_ws(0) + 1; // past `[`
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    pos = skip_ws(pos);
    if text.as_bytes().get(pos) == Some(&b']') {
        return finish(source_name, rows, problems);
    }
    loop {
        let start = skip_ws(pos);
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<RawRate>();
        let item = stream.next();
        let consumed = stream.byte_offset();
        let line = line_at(text, start);
        match item {
            Some(Ok(raw)) => {
                if raw.partition < 0 {
                    problems.push(Problem {
                        line: Some(line),
                        message: format!(
                            "partition {}-{}: negative partition number",
                            raw.topic, raw.partition
                        ),
                    });
                } else {
                    let tp = TopicPartition::new(raw.topic, raw.partition);
                    push_row(
                        &mut rows,
                        &mut problems,
                        line,
                        tp,
                        &raw.bytes_in,
                        &raw.bytes_out,
                    );
                }
            }
            Some(Err(e)) => {
                let msg = e.to_string();
                let msg = match msg.rfind(" at line ") {
                    Some(i) => msg[..i].to_string(),
                    None => msg,
                };
                return Err(FormatError::one(
                    source_name,
                    Some(line + e.line().saturating_sub(1)),
                    format!(
                        "invalid rate entry: {msg} (expected {{\"topic\": .., \"partition\": .., \"bytes_in\": .., \"bytes_out\": ..}})"
                    ),
                ));
            }
            None => return Err(bad(start, "unexpected end of file inside the array".into())),
        }
        pos = skip_ws(start + consumed);
        match text.as_bytes().get(pos) {
            Some(b',') => pos += 1,
            Some(b']') => {
                if skip_ws(pos + 1) != text.len() {
                    return Err(bad(pos + 1, "unexpected text after the array".into()));
                }
                break;
            }
            _ => return Err(bad(pos, "expected `,` or `]` after a rate entry".into())),
        }
    }
    finish(source_name, rows, problems)
}

fn push_row(
    rows: &mut Vec<RateRow>,
    problems: &mut Vec<Problem>,
    line: usize,
    tp: TopicPartition,
    bytes_in: &Value,
    bytes_out: &Value,
) {
    let i = rate_value(&tp, "bytes_in", bytes_in);
    let o = rate_value(&tp, "bytes_out", bytes_out);
    match (i, o) {
        (Ok(bytes_in_per_sec), Ok(bytes_out_per_sec)) => rows.push(RateRow {
            line,
            tp,
            rates: PartitionRates {
                bytes_in_per_sec,
                bytes_out_per_sec,
            },
        }),
        (a, b) => {
            for message in [a.err(), b.err()].into_iter().flatten() {
                problems.push(Problem {
                    line: Some(line),
                    message,
                });
            }
        }
    }
}

fn finish(
    source_name: &str,
    rows: Vec<RateRow>,
    mut problems: Vec<Problem>,
) -> Result<Vec<RateRow>, FormatError> {
    let mut first: BTreeMap<&TopicPartition, usize> = BTreeMap::new();
    for r in &rows {
        if let Some(l) = first.get(&r.tp) {
            problems.push(Problem {
                line: Some(r.line),
                message: format!("partition {} is listed twice (first on line {l})", r.tp),
            });
        } else {
            first.insert(&r.tp, r.line);
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(FormatError::many(source_name, problems))
    }
}

/// Sets the rates of the listed partitions (replacing any the snapshot had); a partition not
/// in the cluster is an error. The snapshot's measurement window no longer describes the
/// rates, so it is dropped.
pub fn apply_rates(
    source_name: &str,
    cluster: &mut Cluster,
    rows: &[RateRow],
) -> Result<(), FormatError> {
    let index: BTreeMap<TopicPartition, usize> = cluster
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| (p.tp.clone(), i))
        .collect();
    let mut problems = Vec::new();
    for r in rows {
        match index.get(&r.tp) {
            Some(&i) => cluster.partitions[i].rates = Some(r.rates),
            None => problems.push(Problem {
                line: Some(r.line),
                message: format!("partition {} is not in the cluster", r.tp),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(FormatError::many(source_name, problems));
    }
    cluster.rates_window_ms = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_read_the_same_rows() {
        let csv = "# exported\ntopic,partition,bytes_in,bytes_out\nt,0,10,30\n\nt,1,2.6,0\n";
        let json = "[\n {\"topic\":\"t\",\"partition\":0,\"bytes_in\":10,\"bytes_out\":30},\n {\"topic\":\"t\",\"partition\":1,\"bytes_in\":2.6,\"bytes_out\":0}\n]\n";
        let a = parse_rates("r.csv", csv.as_bytes()).unwrap();
        let b = parse_rates("r.json", json.as_bytes()).unwrap();
        let strip = |v: Vec<RateRow>| v.into_iter().map(|r| (r.tp, r.rates)).collect::<Vec<_>>();
        assert_eq!(a[1].line, 5);
        assert_eq!(b[1].line, 3);
        assert_eq!(strip(a), strip(b.clone()));
        assert_eq!(b[1].rates.bytes_in_per_sec, 3);
    }

    #[test]
    fn bad_rows_name_line_and_partition() {
        let cases: &[(&str, &str)] = &[
            ("topic,partition,bytes_in,bytes_out\nt,0,-5,1\n", "r:2: partition t-0: bytes_in is -5"),
            ("topic,partition,bytes_in,bytes_out\nt,0,1,fast\n", "r:2: partition t-0: bytes_out `fast` is not a number"),
            ("topic,partition,bytes_in,bytes_out\nt,0,1,1\nt,0,2,2\n", "r:3: partition t-0 is listed twice (first on line 2)"),
            ("topic,partition,bytes_in\nt,0,1\n", "r:1: the header `topic,partition,bytes_in` has no `bytes_out` column"),
            ("topic,partition,bytes_in,bytes_out\nt,x,1,1\n", "r:2: `t`, `x` is not a topic and a partition number"),
            ("[{\"topic\":\"t\",\"partition\":0,\"bytes_in\":1,\"bytes_out\":1},\n{\"topic\":\"t\",\"partition\":1,\"bytes_in\":\"NaN\",\"bytes_out\":1}]", "r:2: partition t-1: bytes_in `NaN` is not a number"),
            ("[{\"topic\":\"t\",\"partition\":0,\"bytes_in\":1}]", "r:1: invalid rate entry: missing field `bytes_out`"),
            ("[{\"topic\":\"t\",\"partition\":0,\"bytes_in\":1,\"bytes_out\":1} x", "r:1: expected `,` or `]`"),
            ("topic,partition,bytes_in,bytes_out\nt,0,1e16,1\n", "r:2: partition t-0: bytes_in is 10000000000000000 bytes per second"),
        ];
        for (input, want) in cases {
            let err = parse_rates("r", input.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }
}
