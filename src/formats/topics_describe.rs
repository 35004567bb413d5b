//! The text printed by `kafka-topics --describe` (spec §A10), in the 3.8+/4.x form (with
//! `Elr:`), the 2.x–3.7 form and the old `Topic:foo<TAB>PartitionCount:1` header style:
//!
//! ```text
//! Topic: orders<TAB>TopicId: 4B3c...<TAB>PartitionCount: 3<TAB>ReplicationFactor: 3<TAB>Configs: k=v,k=v
//! <TAB>Topic: orders<TAB>Partition: 1<TAB>Leader: 2<TAB>Replicas: 4,2,3,1<TAB>Isr: 2,3,1<TAB>Adding Replicas: 4<TAB>Removing Replicas: 1<TAB>Elr: <TAB>LastKnownElr:
//! ```
//!
//! Rules: fields are TAB-separated `Name: value` pairs (zero or one space after `:`); header
//! lines start with `Topic:`, partition lines with a TAB and `Topic:`; broker lists are
//! `,`-joined and empty means empty; `Leader: none` (or the older `-1`) means no leader;
//! `Elr: N/A` means "not reported"; unknown fields are ignored. `Configs` joins `k=v` with
//! `,` although list values contain commas, so a fragment without `=` belongs to the
//! previous value. Partition lines without a header (as printed by
//! `--under-replicated-partitions` and similar filters) are accepted.

use std::collections::BTreeMap;

use super::{FormatError, Problem};
use crate::model::{BrokerId, InFlight, TopicPartition};

/// One partition line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedPartition {
    /// `None` for `Leader: none`.
    pub leader: Option<BrokerId>,
    /// As printed; during a KRaft reassignment this is target ++ removing.
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    /// `None` when not printed (before 3.8) or printed as `N/A`.
    pub elr: Option<Vec<BrokerId>>,
    pub last_known_elr: Option<Vec<BrokerId>>,
    /// Present only while a reassignment is in progress.
    pub adding: Option<Vec<BrokerId>>,
    pub removing: Option<Vec<BrokerId>>,
    /// 1-based line in the source.
    pub line: usize,
}

impl DescribedPartition {
    /// The in-flight reassignment, when the line shows one.
    pub fn in_flight(&self) -> Option<InFlight> {
        if self.adding.is_none() && self.removing.is_none() {
            return None;
        }
        Some(InFlight {
            adding: self.adding.clone().unwrap_or_default(),
            removing: self.removing.clone().unwrap_or_default(),
        })
    }

    /// The reassignment's target: replicas minus removing, order kept.
    pub fn target(&self) -> Vec<BrokerId> {
        let removing = self.removing.as_deref().unwrap_or(&[]);
        self.replicas
            .iter()
            .copied()
            .filter(|b| !removing.contains(b))
            .collect()
    }

    /// The replicas before the reassignment, as a set (replicas minus adding; the original
    /// order cannot be recovered from this output).
    pub fn original_set(&self) -> Vec<BrokerId> {
        let adding = self.adding.as_deref().unwrap_or(&[]);
        let mut v: Vec<BrokerId> = self
            .replicas
            .iter()
            .copied()
            .filter(|b| !adding.contains(b))
            .collect();
        v.sort_unstable();
        v
    }
}

/// One topic with its header facts (absent when the output had no header for it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribedTopic {
    pub topic_id: Option<String>,
    pub partition_count: Option<u32>,
    pub replication_factor: Option<u32>,
    /// Non-default configs from the header.
    pub configs: BTreeMap<String, String>,
    pub partitions: BTreeMap<i32, DescribedPartition>,
}

/// The parsed output: topics by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicsDescribe {
    pub topics: BTreeMap<String, DescribedTopic>,
}

impl TopicsDescribe {
    /// Every partition, sorted by topic-partition.
    pub fn partitions(&self) -> impl Iterator<Item = (TopicPartition, &DescribedPartition)> {
        self.topics.iter().flat_map(|(name, t)| {
            t.partitions
                .iter()
                .map(move |(p, d)| (TopicPartition::new(name.clone(), *p), d))
        })
    }
}

/// Parses `kafka-topics --describe` output. Every problem is reported with its line.
pub fn parse_topics_describe(source_name: &str, text: &str) -> Result<TopicsDescribe, FormatError> {
    let mut out = TopicsDescribe::default();
    let mut problems = Vec::new();
    let mut header_lines: BTreeMap<String, usize> = BTreeMap::new();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let result = if line.starts_with('\t') && line.trim_start().starts_with("Topic:") {
            parse_partition_line(line, line_no, &mut out)
        } else if line.starts_with("Topic:") {
            parse_header_line(line, line_no, &mut out, &mut header_lines)
        } else {
            Err("not a line of `kafka-topics --describe` output (expected `Topic:` or a TAB and `Topic:`)".to_string())
        };
        if let Err(message) = result {
            problems.push(Problem {
                line: Some(line_no),
                message,
            });
        }
    }
    if problems.is_empty() && out.topics.is_empty() {
        problems.push(Problem {
            line: None,
            message: "no topics found (expected the output of `kafka-topics --describe`)"
                .to_string(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(FormatError::many(source_name, problems))
    }
}

/// Splits a line into (name, value) fields, keeping their order.
fn fields(line: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut out = Vec::new();
    for piece in line.split('\t') {
        if piece.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = piece.split_once(':') else {
            return Err(format!("field `{piece}` has no `:`"));
        };
        // Exactly zero or one space after the colon; the rest belongs to the value.
        let value = value.strip_prefix(' ').unwrap_or(value);
        out.push((name.trim(), value));
    }
    Ok(out)
}

fn get<'a>(fields: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn require<'a>(fields: &[(&str, &'a str)], name: &str) -> Result<&'a str, String> {
    get(fields, name).ok_or_else(|| format!("missing field `{name}:`"))
}

fn parse_header_line(
    line: &str,
    line_no: usize,
    out: &mut TopicsDescribe,
    header_lines: &mut BTreeMap<String, usize>,
) -> Result<(), String> {
    let f = fields(line)?;
    let name = require(&f, "Topic")?.trim().to_string();
    if name.is_empty() {
        return Err("empty topic name".to_string());
    }
    if let Some(prev) = header_lines.insert(name.clone(), line_no) {
        return Err(format!(
            "topic {name} is described twice (first at line {prev})"
        ));
    }
    let count = |field: &str| -> Result<Option<u32>, String> {
        match get(&f, field) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{field} `{v}` is not a number")),
        }
    };
    let topic = out.topics.entry(name).or_default();
    topic.topic_id = get(&f, "TopicId")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    topic.partition_count = count("PartitionCount")?;
    topic.replication_factor = count("ReplicationFactor")?;
    topic.configs = parse_configs(get(&f, "Configs").unwrap_or(""))?;
    Ok(())
}

/// `k=v,k=v` where values may themselves contain commas (LIST configs).
fn parse_configs(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for frag in s.split(',') {
        if frag.is_empty() && out.is_empty() {
            continue;
        }
        match frag.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => match out.last_mut() {
                Some((_, v)) => {
                    v.push(',');
                    v.push_str(frag);
                }
                None => return Err(format!("Configs entry `{frag}` has no `=`")),
            },
        }
    }
    Ok(out.into_iter().collect())
}

fn parse_partition_line(
    line: &str,
    line_no: usize,
    out: &mut TopicsDescribe,
) -> Result<(), String> {
    let f = fields(line)?;
    let name = require(&f, "Topic")?.trim().to_string();
    let p_text = require(&f, "Partition")?.trim();
    let partition: i32 = p_text
        .parse()
        .map_err(|_| format!("Partition `{p_text}` is not an int32"))?;
    let leader_text = require(&f, "Leader")?.trim();
    let leader = match leader_text {
        "none" | "-1" => None,
        t => Some(
            t.parse::<BrokerId>()
                .map_err(|_| format!("Leader `{t}` is not a broker id"))?,
        ),
    };
    let replicas = broker_list("Replicas", require(&f, "Replicas")?)?;
    let isr = broker_list("Isr", require(&f, "Isr")?)?;
    let optional = |field: &str| -> Result<Option<Vec<BrokerId>>, String> {
        match get(&f, field) {
            None => Ok(None),
            Some(v) if v.trim() == "N/A" => Ok(None),
            Some(v) => broker_list(field, v).map(Some),
        }
    };
    let described = DescribedPartition {
        leader,
        replicas,
        isr,
        elr: optional("Elr")?,
        last_known_elr: optional("LastKnownElr")?,
        adding: optional("Adding Replicas")?,
        removing: optional("Removing Replicas")?,
        line: line_no,
    };
    let topic = out.topics.entry(name.clone()).or_default();
    if let Some(prev) = topic.partitions.get(&partition) {
        return Err(format!(
            "partition {name}-{partition} is described twice (first at line {})",
            prev.line
        ));
    }
    topic.partitions.insert(partition, described);
    Ok(())
}

fn broker_list(field: &str, s: &str) -> Result<Vec<BrokerId>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<BrokerId>()
                .map_err(|_| format!("{field}: `{t}` is not a broker id"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headerless_partition_lines_are_accepted() {
        let d = parse_topics_describe(
            "d.txt",
            "\tTopic: t\tPartition: 3\tLeader: -1\tReplicas: 1,2\tIsr: \n",
        )
        .unwrap();
        let t = &d.topics["t"];
        assert_eq!(t.partition_count, None);
        assert_eq!(t.partitions[&3].leader, None);
        assert!(t.partitions[&3].isr.is_empty());
    }

    #[test]
    fn problems_name_their_line() {
        let text = "Topic: t\tPartitionCount: x\n\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,a\tIsr: 1\n\tTopic: t\tPartition: 1\tLeader: 1\tIsr: 1\ngarbage\n";
        let e = parse_topics_describe("d.txt", text).unwrap_err();
        let lines: Vec<Option<usize>> = e.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![Some(1), Some(2), Some(3), Some(4)]);
        let all = e.to_string();
        assert!(
            all.contains("d.txt:2: Replicas: `a` is not a broker id"),
            "{all}"
        );
        assert!(all.contains("d.txt:3: missing field `Replicas:`"), "{all}");
    }

    #[test]
    fn duplicate_partition_is_an_error() {
        let text = "\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n";
        let e = parse_topics_describe("d.txt", text).unwrap_err();
        assert!(e
            .to_string()
            .contains("t-0 is described twice (first at line 1)"));
    }

    #[test]
    fn configs_keep_commas_and_reject_orphans() {
        let c = parse_configs("a=1,2,b=x=y").unwrap();
        assert_eq!(c["a"], "1,2");
        assert_eq!(c["b"], "x=y");
        assert!(parse_configs("").unwrap().is_empty());
        assert!(parse_configs("oops").is_err());
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(parse_topics_describe("d.txt", "\n").is_err());
    }
}
