//! The small vocabulary the auth lists share: user filters on an indexed ref column, `WHERE`
//! assembly, keyset page cursors (built from `md5` of session ids, never the ids), and reading
//! a column of a row.

use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::error::{CoreError, Result};
use crate::page::{decode_cursor, encode_cursor, limit};
use crate::sql::{Param, Sql};

/// The refs as given and lower-cased (so that an equality on an indexed column matches both
/// the stored spelling and Backstage's lower-cased one).
pub(super) fn with_lower(refs: &[String]) -> Vec<String> {
    let mut v: Vec<String> = refs
        .iter()
        .flat_map(|r| [r.clone(), r.to_lowercase()])
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The condition of a user filter on `column` (an entity-ref column), its refs (see
/// [`with_lower`]) bound to `s`; `None` without a filter.
pub(super) fn users_condition(
    s: &mut Sql,
    users: Option<&[String]>,
    column: &str,
) -> Option<String> {
    let u = users?;
    let p = s.bind(Param::TextArray(with_lower(u)));
    Some(format!("{column} = ANY({p}::text[])"))
}

pub(super) fn where_(wh: &[String]) -> String {
    if wh.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wh.join(" AND "))
    }
}

pub(super) fn bad_cursor(c: &str) -> CoreError {
    CoreError::config(format!(
        "invalid page cursor `{c}`: use the next_cursor value of the previous page unchanged"
    ))
}

/// The two text keys of a page cursor.
pub(super) fn cursor2(c: &str) -> Result<(String, String)> {
    let key = decode_cursor(c, 2)?;
    match (key[0].as_str(), key[1].as_str()) {
        (Some(a), Some(b)) => Ok((a.to_string(), b.to_string())),
        _ => Err(bad_cursor(c)),
    }
}

pub(super) fn col<T>(r: &PgRow, name: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    r.try_get(name).map_err(|e| CoreError::Database {
        code: None,
        message: format!("reading column {name}: {e}"),
    })
}

/// Cuts the extra row fetched to know whether there is a next page, and makes the cursor from
/// the last row kept.
pub(super) fn page_rows(
    mut rows: Vec<PgRow>,
    requested: Option<usize>,
    key: impl Fn(&PgRow) -> Result<Vec<String>>,
) -> Result<(Vec<PgRow>, Option<String>)> {
    let n = limit(requested);
    if rows.len() <= n {
        return Ok((rows, None));
    }
    rows.truncate(n);
    let next = match rows.last() {
        Some(r) => Some(encode_cursor(
            &key(r)?.into_iter().map(Value::String).collect::<Vec<_>>(),
        )),
        None => None,
    };
    Ok((rows, next))
}
