//! JSON: one array written element by element as rows come ([`JsonWriter`]), and the JSON of
//! any serialisable rows, redacted ([`write_json`]).

use std::io::Write;

use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::redact::redact_json;

use super::format::io_err;

/// Writes a JSON array, one element per line, as elements come.
pub struct JsonWriter<W: Write> {
    w: W,
    rows: u64,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(mut w: W) -> Result<Self> {
        w.write_all(b"[").map_err(io_err)?;
        Ok(Self { w, rows: 0 })
    }

    pub fn write<T: Serialize + ?Sized>(&mut self, row: &T) -> Result<()> {
        self.w
            .write_all(if self.rows == 0 { b"\n" } else { b",\n" })
            .map_err(io_err)?;
        serde_json::to_writer(&mut self.w, row).map_err(|e| match e.io_error_kind() {
            // The output failed (a closed pipe, a full disk): an I/O error, not a bad row.
            Some(_) => io_err(std::io::Error::from(e)),
            None => CoreError::Internal(format!("cannot serialise a row: {e}")),
        })?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<u64> {
        self.w.write_all(b"\n]\n").map_err(io_err)?;
        self.w.flush().map_err(io_err)?;
        Ok(self.rows)
    }
}

/// Writes serialisable rows as one JSON array, each row as it comes (redacted).
pub fn write_json<T: Serialize>(rows: impl IntoIterator<Item = T>, w: impl Write) -> Result<u64> {
    let mut jw = JsonWriter::new(w)?;
    for row in rows {
        let mut v = serde_json::to_value(&row)
            .map_err(|e| CoreError::Internal(format!("cannot serialise a row: {e}")))?;
        redact_json(&mut v);
        jw.write(&v)?;
    }
    jw.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::format::ExportFormat;
    use serde_json::Value;

    #[test]
    fn json_streams_an_array() {
        let mut out = Vec::new();
        assert_eq!(
            write_json(
                vec![
                    serde_json::json!({"a": 1}),
                    serde_json::json!({"token": "t"})
                ],
                &mut out
            )
            .unwrap(),
            2
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, serde_json::json!([{"a": 1}, {"token": "<redacted>"}]));
        let mut out = Vec::new();
        write_json(Vec::<Value>::new(), &mut out).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap(),
            serde_json::json!([])
        );
        assert_eq!("CSV".parse::<ExportFormat>().unwrap(), ExportFormat::Csv);
        assert!("xml".parse::<ExportFormat>().is_err());
    }

    /// Accepts `room` bytes, then fails as a pipe whose reader went away.
    struct ClosingPipe {
        room: usize,
    }

    impl Write for ClosingPipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_in_the_middle_of_a_row_is_an_io_error_not_a_bad_row() {
        let row = serde_json::json!({"name": "x".repeat(64), "nested": {"a": [1, 2, 3]}});
        let err = write_json(vec![row.clone(), row], ClosingPipe { room: 20 }).unwrap_err();
        match err {
            CoreError::Io { source, .. } => {
                assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe)
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }
}
