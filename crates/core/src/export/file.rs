//! [`AtomicFile`]: an export file that appears complete or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

/// A file written through a temporary file in the same folder and renamed into place on
/// [`AtomicFile::commit`]: readers see the old file or the complete new one, never half of
/// one; dropped without commit, the temporary file is removed.
pub struct AtomicFile {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl AtomicFile {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        if path.is_dir() {
            return Err(CoreError::config(format!(
                "{} is a folder: give a file name for the export",
                path.display()
            )));
        }
        let tmp = tempfile::Builder::new()
            .prefix(".bsi-export-")
            .tempfile_in(&dir)
            .map_err(|e| CoreError::io("cannot create a file in", dir, e))?;
        Ok(Self { path, tmp })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> Result<()> {
        self.tmp
            .flush()
            .and_then(|_| self.tmp.as_file().sync_all())
            .map_err(|e| CoreError::io("cannot write", self.path.clone(), e))?;
        let path = self.path.clone();
        self.tmp
            .persist(&path)
            .map_err(|e| CoreError::io("cannot replace", path, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_appears_on_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"a\r\n").unwrap();
        assert!(!path.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a\r\n");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"b").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), b"a\r\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
