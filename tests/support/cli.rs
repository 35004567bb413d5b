//! The one runner for the built `kafka-replan` binary, and the paths of the bundled fixtures
//! the tests feed it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_kafka-replan");

/// A path inside the repository (`fixtures/...`, `tests/vectors/...`).
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `fixtures/<case>/snapshot.json`, as the string a command line takes.
pub fn fixture_snapshot(case: &str) -> String {
    format!(
        "{}/fixtures/{case}/snapshot.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The binary as a `Command`, for tests that set more than arguments (stdin, environment).
pub fn command() -> Command {
    Command::new(BIN)
}

/// Runs `kafka-replan ARGS` to completion. Stdin is closed: a test never types.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run kafka-replan")
}

/// Runs `kafka-replan ARGS` in `dir` (relative paths in the arguments resolve there).
pub fn run_in<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run kafka-replan")
}

/// `kafka-replan ARGS` that must exit 0; returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "kafka-replan {args:?} failed:\n{}",
        describe(&out)
    );
    stdout(&out)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code, stdout and stderr of a run, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
