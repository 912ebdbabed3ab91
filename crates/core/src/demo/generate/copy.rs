//! The COPY writer: rows of one table in PostgreSQL's text format, sent in chunks of about
//! 1 MB, each chunk its own `COPY ... FROM STDIN` statement and transaction.

use sqlx::postgres::{PgPool, PgPoolCopyExt};

use crate::error::{CoreError, Result};

fn db_err(table: &str, e: sqlx::Error) -> CoreError {
    let (code, message) = match e {
        sqlx::Error::Database(d) => (d.code().map(|c| c.to_string()), d.message().to_string()),
        other => (None, other.to_string()),
    };
    let message = format!("cannot fill {table}: {message}");
    CoreError::Database { code, message }
}

/// A value of a COPY row (text format): escaped text, or `\N` for NULL.
pub(super) trait Field {
    fn put(&self, buf: &mut Vec<u8>);
}

impl Field for str {
    fn put(&self, buf: &mut Vec<u8>) {
        for &c in self.as_bytes() {
            match c {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                _ => buf.push(c),
            }
        }
    }
}

impl Field for String {
    fn put(&self, buf: &mut Vec<u8>) {
        self.as_str().put(buf)
    }
}

impl<T: Field + ?Sized> Field for &T {
    fn put(&self, buf: &mut Vec<u8>) {
        (**self).put(buf)
    }
}

impl<T: Field> Field for Option<T> {
    fn put(&self, buf: &mut Vec<u8>) {
        match self {
            Some(v) => v.put(buf),
            None => buf.extend_from_slice(b"\\N"),
        }
    }
}

pub(super) const NULL: Option<&str> = None;
const CHUNK: usize = 1 << 20;

/// Rows of one table, sent in chunks of about 1 MB: one COPY statement (and transaction) each.
pub(super) struct Writer {
    pool: PgPool,
    table: &'static str,
    stmt: String,
    buf: Vec<u8>,
    pub(super) rows: usize,
}

impl Writer {
    pub(super) fn new(pool: &PgPool, table: &'static str, columns: &str) -> Self {
        let stmt = format!("COPY {table} ({columns}) FROM STDIN");
        let buf = Vec::with_capacity(CHUNK + CHUNK / 4);
        Writer {
            pool: pool.clone(),
            table,
            stmt,
            buf,
            rows: 0,
        }
    }
    pub(super) fn row(&mut self, fields: &[&dyn Field]) {
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                self.buf.push(b'\t');
            }
            f.put(&mut self.buf);
        }
        self.buf.push(b'\n');
        self.rows += 1;
    }
    pub(super) fn full(&self) -> bool {
        self.buf.len() >= CHUNK
    }
    pub(super) async fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let (t, data) = (self.table, self.buf.as_slice());
        let err = move |e| db_err(t, e);
        let mut copy = self.pool.copy_in_raw(&self.stmt).await.map_err(err)?;
        copy.send(data).await.map_err(err)?;
        copy.finish().await.map_err(err)?;
        self.buf.clear();
        Ok(())
    }
}
