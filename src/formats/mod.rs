//! Parsers and emitters for the files operators already have. Everything parses from bytes or
//! `&str` and names its source in errors; opening paths is the CLI's job.

pub mod election;
pub mod execute_output;
pub mod generate;
pub mod html_report;
pub mod kafka_files;
mod kafka_json;
pub mod log_dir_report;
pub mod log_dirs;
pub mod racks;
pub mod rates;
pub mod reassignment;
pub mod report;
pub mod report_network;
pub mod snapshot;
pub mod topics_describe;

use std::fmt;

/// Largest input we read (after decompression). Anything larger is refused rather than
/// risking memory exhaustion on a hostile or mistaken file.
pub const MAX_INPUT_BYTES: u64 = 2 << 30;

/// Most validation messages listed for one file; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 20;

/// A file that could not be read as what it should be. Carries every problem found (capped),
/// each with its line where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// The file name (or `-` / a label) the input came from.
    pub source_name: String,
    pub problems: Vec<Problem>,
    /// Problems found beyond those listed.
    pub more: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

impl FormatError {
    pub fn one(source_name: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        FormatError {
            source_name: source_name.to_string(),
            problems: vec![Problem {
                line,
                message: message.into(),
            }],
            more: 0,
        }
    }

    /// Builds an error from many messages, keeping the first [`MAX_LISTED_ERRORS`].
    pub fn many(source_name: &str, problems: Vec<Problem>) -> Self {
        let more = problems.len().saturating_sub(MAX_LISTED_ERRORS);
        let mut problems = problems;
        problems.truncate(MAX_LISTED_ERRORS);
        FormatError {
            source_name: source_name.to_string(),
            problems,
            more,
        }
    }

    /// A serde_json error, with its line.
    pub fn json(source_name: &str, e: &serde_json::Error) -> Self {
        let line = if e.line() > 0 { Some(e.line()) } else { None };
        // serde_json appends " at line L column C"; the line is reported separately.
        let msg = e.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => format!("{} (column {})", &msg[..i], e.column()),
            None => msg,
        };
        FormatError::one(source_name, line, format!("invalid JSON: {msg}"))
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match p.line {
                Some(l) => write!(f, "{}:{}: {}", self.source_name, l, p.message)?,
                None => write!(f, "{}: {}", self.source_name, p.message)?,
            }
        }
        if self.more > 0 {
            write!(
                f,
                "\n{}: ... and {} more problems",
                self.source_name, self.more
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for FormatError {}

/// Decompresses gzip input (detected by its magic bytes, whatever the file name) and checks
/// the size limit.
pub fn maybe_gunzip(source_name: &str, bytes: Vec<u8>) -> Result<Vec<u8>, FormatError> {
    use std::io::Read;
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::new();
        let mut dec = flate2::read::GzDecoder::new(&bytes[..]).take(MAX_INPUT_BYTES + 1);
        dec.read_to_end(&mut out)
            .map_err(|e| FormatError::one(source_name, None, format!("invalid gzip data: {e}")))?;
        if out.len() as u64 > MAX_INPUT_BYTES {
            return Err(FormatError::one(
                source_name,
                None,
                format!("decompressed input exceeds {MAX_INPUT_BYTES} bytes"),
            ));
        }
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Decodes input bytes as UTF-8 text, dropping a leading byte-order mark (editors on some
/// systems add one; Jackson, behind Kafka's tools, skips it too).
pub fn decode_text<'a>(source_name: &str, bytes: &'a [u8]) -> Result<&'a str, FormatError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        // Count the line of the first bad byte so the user can find it.
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        FormatError::one(
            source_name,
            Some(line),
            format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Renders broker ids as `1,2,3` (the form Kafka's text tools print).
pub fn join_ids(ids: &[crate::model::BrokerId]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_text_drops_bom_and_locates_bad_bytes() {
        assert_eq!(decode_text("f", b"\xef\xbb\xbf{}").unwrap(), "{}");
        let e = decode_text("f", b"ok\nok\n\xff").unwrap_err();
        assert_eq!(e.problems[0].line, Some(3));
        assert!(
            e.to_string().starts_with("f:3: the file is not UTF-8"),
            "{e}"
        );
    }
}
