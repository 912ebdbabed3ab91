//! [`AtomicFile`]: an export file that appears complete or not at all.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

/// A file written through a temporary file in the same folder and renamed into place on
/// [`AtomicFile::commit`]: readers see the old file or the complete new one, never half of
/// one; dropped without commit, the temporary file is removed.
///
/// An existing FIFO or character device (`/dev/null`, `/dev/stdout`, a terminal) is written
/// into as it is, never replaced: it has no old content to keep, and a rename would put a
/// regular file in its place. Block devices and sockets are refused.
pub struct AtomicFile {
    path: PathBuf,
    target: Target,
}

enum Target {
    Temp(tempfile::NamedTempFile),
    Special(File),
}

/// What is at an export's path, symlinks followed.
enum Existing {
    /// Nothing, or a regular file: written through a temporary file.
    Regular,
    /// A FIFO or character device: written into directly.
    Special,
}

fn existing(path: &Path) -> Result<Existing> {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Regular),
        Err(e) => return Err(CoreError::io("cannot read", path, e)),
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(CoreError::config(format!(
            "{} is a folder: give a file name for the export",
            path.display()
        )));
    }
    if ft.is_file() {
        return Ok(Existing::Regular);
    }
    #[cfg(unix)]
    {
        if ft.is_fifo() || ft.is_char_device() {
            return Ok(Existing::Special);
        }
        let what = if ft.is_block_device() {
            "a block device"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        Err(CoreError::config(format!(
            "{} is {what}, which an export does not write to; give a file name (or a FIFO, \
             /dev/null or /dev/stdout)",
            path.display()
        )))
    }
    #[cfg(not(unix))]
    Ok(Existing::Special)
}

impl AtomicFile {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let target = match existing(&path)? {
            Existing::Special => Target::Special(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| CoreError::io("cannot open", path.clone(), e))?,
            ),
            Existing::Regular => Target::Temp(
                tempfile::Builder::new()
                    .prefix(".bsi-export-")
                    .tempfile_in(&dir)
                    .map_err(|e| CoreError::io("cannot create a file in", dir, e))?,
            ),
        };
        Ok(Self { path, target })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file being written, `None` when writing into a FIFO or device directly.
    pub fn temp_path(&self) -> Option<&Path> {
        match &self.target {
            Target::Temp(t) => Some(t.path()),
            Target::Special(_) => None,
        }
    }

    /// Flushes, syncs and renames the file into place (a FIFO or device: flushes only).
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        match self.target {
            Target::Special(mut f) => f
                .flush()
                .map_err(|e| CoreError::io("cannot write", path, e)),
            Target::Temp(mut tmp) => {
                tmp.flush()
                    .and_then(|_| tmp.as_file().sync_all())
                    .map_err(|e| CoreError::io("cannot write", path.clone(), e))?;
                tmp.persist(&path)
                    .map_err(|e| CoreError::io("cannot replace", path, e.error))?;
                Ok(())
            }
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.target {
            Target::Temp(t) => t.write(buf),
            Target::Special(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.target {
            Target::Temp(t) => t.flush(),
            Target::Special(f) => f.flush(),
        }
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
    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let mut f = AtomicFile::create(&fifo).unwrap();
        assert!(f.temp_path().is_none());
        f.write_all(b"id\r\n1\r\n").unwrap();
        f.commit().unwrap();
        let meta = std::fs::symlink_metadata(&fifo).unwrap();
        assert!(meta.file_type().is_fifo(), "{meta:?}");
        assert_eq!(reader.join().unwrap(), b"id\r\n1\r\n");
        // Nothing else was left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn dev_null_stays_a_device() {
        use std::os::unix::fs::FileTypeExt;
        let mut f = AtomicFile::create("/dev/null").unwrap();
        f.write_all(b"a\r\n").unwrap();
        f.commit().unwrap();
        let meta = std::fs::symlink_metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device(), "{meta:?}");
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = AtomicFile::create(dir.path()).err().unwrap().to_string();
        assert!(e.contains("is a folder"), "{e}");
    }
}
