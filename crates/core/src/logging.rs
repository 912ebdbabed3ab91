//! Logging with `tracing`: a filter in the usual `RUST_LOG` form (`BSI_LOG` wins when set);
//! the CLI logs to stderr, the app to a size-bounded file. Connection attempts, pool events
//! and query timings are at debug level. No secret is ever a field of a log event: secrets
//! travel as [`crate::secrets::Secret`], whose formatting is `<redacted>`, and connection
//! options (which hold the password) are never logged.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

fn filter(default: &str) -> EnvFilter {
    let spec = std::env::var("BSI_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| default.to_string());
    EnvFilter::try_new(&spec).unwrap_or_else(|e| {
        eprintln!("warning: ignoring the log filter `{spec}`: {e}");
        EnvFilter::new(default)
    })
}

/// Logs to stderr (the CLI). Default level: warnings.
pub fn init_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("warn"))
        .with_writer(io::stderr)
        .with_target(false)
        .try_init();
}

/// Logs to `dir/backstage-inspector.log`, rotated to `.1` past `max_bytes` (the app).
/// Default level: info.
pub fn init_file(dir: &Path, max_bytes: u64) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("backstage-inspector.log");
    let writer = RotatingFile::open(path.clone(), max_bytes)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("info"))
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok(path)
}

/// A log file that keeps at most `max_bytes` in the current file and one older file.
#[derive(Clone)]
pub struct RotatingFile {
    inner: Arc<Mutex<RotatingInner>>,
}

struct RotatingInner {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
}

impl RotatingFile {
    pub fn open(path: PathBuf, max_bytes: u64) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            inner: Arc::new(Mutex::new(RotatingInner {
                path,
                file,
                written,
                max_bytes,
            })),
        })
    }
}

impl RotatingInner {
    fn rotate(&mut self) -> io::Result<()> {
        let old = self.path.with_extension("log.1");
        let _ = std::fs::remove_file(&old);
        std::fs::rename(&self.path, &old)?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.written + buf.len() as u64 > inner.max_bytes && inner.written > 0 {
            inner.rotate()?;
        }
        let n = inner.file.write(buf)?;
        inner.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .file
            .flush()
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = RotatingFile;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_bounds_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let mut w = RotatingFile::open(path.clone(), 100).unwrap();
        for _ in 0..50 {
            w.write_all(b"0123456789\n").unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
        assert!(
            std::fs::metadata(path.with_extension("log.1"))
                .unwrap()
                .len()
                <= 100
        );
    }
}
