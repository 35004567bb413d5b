//! Each subcommand's page in docs/ embeds the command's `--help` (from its `Usage:` line):
//! this keeps those copies true when a flag is added, renamed or re-described.

use std::process::Command;

const PAGES: &[&str] = &[
    "apply", "cancel", "elect", "generate", "plan", "score", "simulate", "snapshot", "status",
    "verify",
];

/// The `Usage: kafka-replan CMD` block of docs/CMD.md, up to its closing fence.
fn documented(cmd: &str) -> String {
    let path = format!("{}/docs/{cmd}.md", env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = page
        .find(&format!("Usage: kafka-replan {cmd}"))
        .unwrap_or_else(|| panic!("{path} has no `Usage: kafka-replan {cmd}` block"));
    let end = page[start..]
        .find("```")
        .unwrap_or_else(|| panic!("{path}: the usage block has no closing fence"));
    page[start..start + end].to_string()
}

fn help(cmd: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kafka-replan"))
        .args([cmd, "--help"])
        .output()
        .expect("run kafka-replan");
    assert!(out.status.success(), "{cmd} --help failed");
    let text = String::from_utf8(out.stdout).expect("utf-8 help");
    let usage = text.find("Usage:").expect("help has a Usage: line");
    text[usage..].to_string()
}

#[test]
fn every_subcommand_page_embeds_its_current_help() {
    let stale: Vec<String> = PAGES
        .iter()
        .filter(|cmd| documented(cmd) != help(cmd))
        .map(|cmd| {
            format!("docs/{cmd}.md: replace the block from `Usage:` with `kafka-replan {cmd} --help` from that line on")
        })
        .collect();
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}
