//! All-or-nothing file output: write to a temp file beside the target, then rename. A failed
//! run leaves no new file and never touches an existing one.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::CliError;

/// A set of files to write together: each is staged to a temp file first; only when every
/// one is staged are they renamed into place.
#[derive(Default)]
pub struct OutputSet {
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl OutputSet {
    pub fn add(&mut self, path: &Path, contents: impl Into<Vec<u8>>) {
        self.files.push((path.to_path_buf(), contents.into()));
    }

    /// Stages every file, then renames them all. On a staging failure nothing is renamed and
    /// the staged temp files are removed.
    pub fn commit(self) -> Result<(), CliError> {
        let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
        for (path, contents) in &self.files {
            match stage(path, contents) {
                Ok(tmp) => staged.push((tmp, path.clone())),
                Err(e) => {
                    for (tmp, _) in &staged {
                        let _ = std::fs::remove_file(tmp);
                    }
                    return Err(e);
                }
            }
        }
        for (i, (tmp, path)) in staged.iter().enumerate() {
            if let Err(e) = std::fs::rename(tmp, path) {
                for (t, _) in &staged[i..] {
                    let _ = std::fs::remove_file(t);
                }
                return Err(CliError::failed(format!(
                    "{}: cannot write: {e}",
                    path.display()
                )));
            }
        }
        Ok(())
    }
}

fn stage(path: &Path, contents: &[u8]) -> Result<PathBuf, CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::failed(format!("{}: cannot write: {e}", path.display()))
    })?;
    Ok(tmp)
}
