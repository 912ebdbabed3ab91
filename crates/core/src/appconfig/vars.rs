//! The `APP_CONFIG_*` variables as Backstage's `EnvConfigSource` reads them (`readEnvConfig`):
//! `APP_CONFIG_backend_database_connection_host=db` sets `backend.database.connection.host`;
//! each part between `_` must be a config key part; a value is JSON when it parses as JSON
//! (`6001` a number, `{"host": "db"}` a mapping), else the text itself; empty variables are
//! skipped; a JSON `null`, a key set twice, or a key nested under a value are refused. The
//! variables form one layer over all the files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::tree::{Leaf, Node, Origin, Scalar, Via};
use crate::error::{CoreError, Result};

/// The prefix of the variables read.
pub(super) const PREFIX: &str = "APP_CONFIG_";

/// `CONFIG_KEY_PART_PATTERN`: `^[a-z][a-z0-9]*(?:[-_:][a-z0-9]+)*$`, case-insensitive.
fn is_key_part(part: &str) -> bool {
    let b = part.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_alphabetic()) {
        return false;
    }
    let mut prev_sep = false;
    for &c in &b[1..] {
        if c.is_ascii_alphanumeric() {
            prev_sep = false;
        } else if matches!(c, b'-' | b'_' | b':') && !prev_sep {
            prev_sep = true;
        } else {
            return false;
        }
    }
    !prev_sep
}

fn from_json(value: serde_json::Value, origin: &Origin) -> Node {
    let leaf = |value| {
        Node::Leaf(Leaf {
            value,
            origin: origin.clone(),
        })
    };
    match value {
        serde_json::Value::Null => leaf(Scalar::Null),
        serde_json::Value::Bool(b) => leaf(Scalar::Bool(b)),
        serde_json::Value::Number(n) => leaf(Scalar::Number(n.to_string())),
        serde_json::Value::String(s) => leaf(Scalar::Str(s)),
        serde_json::Value::Array(items) => {
            Node::Seq(items.into_iter().map(|v| from_json(v, origin)).collect())
        }
        serde_json::Value::Object(m) => Node::Map(
            m.into_iter()
                .map(|(k, v)| (k, from_json(v, origin)))
                .collect(),
        ),
    }
}

/// The `backend.database` the variables set (`None` when they set none of it). Every
/// `APP_CONFIG_*` variable is checked, as Backstage refuses to start on any bad one.
pub(super) fn database_layer(vars: &[(String, String)]) -> Result<Option<Node>> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (name, value) in vars {
        let Some(key) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let parts: Vec<&str> = key.split('_').collect();
        if let Some(bad) = parts.iter().find(|p| !is_key_part(p)) {
            return Err(CoreError::config(format!(
                "the environment variable {name} does not name a config key (the part `{bad}` \
                 of `{key}` is not one): Backstage refuses to start with it; each part between \
                 `_` starts with a letter and holds letters, digits, `-` and `:`; rename or \
                 unset the variable"
            )));
        }
        let origin = Origin {
            file: PathBuf::from(format!("the environment variable {name}")),
            via: Via::Env(vec![name.clone()]),
        };
        let mut map = &mut root;
        for (i, part) in parts.iter().enumerate() {
            if i + 1 < parts.len() {
                let entry = map
                    .entry((*part).to_string())
                    .or_insert_with(|| Node::Map(BTreeMap::new()));
                let Node::Map(inner) = entry else {
                    return Err(CoreError::config(format!(
                        "the environment variable {name} nests a key under `{}`, which another \
                         APP_CONFIG_ variable sets to a value; Backstage refuses that: unset one \
                         of them",
                        parts[..=i].join("_")
                    )));
                };
                map = inner;
            } else {
                if map.contains_key(*part) {
                    return Err(CoreError::config(format!(
                        "the environment variable {name} sets `{key}`, which another \
                         APP_CONFIG_ variable already sets; Backstage refuses that: unset one \
                         of them"
                    )));
                }
                let node = match serde_json::from_str::<serde_json::Value>(value) {
                    Ok(serde_json::Value::Null) => {
                        return Err(CoreError::config(format!(
                            "the environment variable {name} is `null`, which Backstage refuses \
                             (a value may not be null); unset the variable instead"
                        )));
                    }
                    Ok(json) => from_json(json, &origin),
                    Err(_) => Node::Leaf(Leaf {
                        value: Scalar::Str(value.clone()),
                        origin: origin.clone(),
                    }),
                };
                map.insert((*part).to_string(), node);
            }
        }
    }
    let Some(backend) = root.remove("backend") else {
        return Ok(None);
    };
    match backend {
        Node::Map(mut m) => Ok(m.remove("database")),
        other => Err(CoreError::config(format!(
            "backend{} is {}, not a mapping; Backstage cannot read backend.database then: \
             unset the variable",
            other.in_file(),
            other.kind()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parts_follow_backstage() {
        for ok in ["backend", "a1", "plugin-x", "a:b", "A"] {
            assert!(is_key_part(ok), "{ok}");
        }
        for bad in ["", "1a", "a--b", "a-", "-a", "a.b", "a b"] {
            assert!(!is_key_part(bad), "{bad}");
        }
    }
}
