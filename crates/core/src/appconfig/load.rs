//! Reading the app-config files: each file's `backend.database` is parsed and transformed on
//! its own, relative to its own folder, the way `@backstage/config-loader` does it
//! (`transform/substitution.ts`, `transform/include.ts`, `transform/apply.ts`): `${VAR}` and
//! `${VAR:-default}` substitution with `$${` as the escape, `{ $env: VAR }`, `{ $file: path }`
//! and `{ $include: file.yaml#a.b }`; then the files' sections are merged in the order given,
//! the `APP_CONFIG_*` variables over them, and `null` removes what it stands on. YAML syntax
//! errors and misplaced includes are reported here with the file (and line) they are in.
//! Limits keep a hostile or mistaken file from hanging an import: `$file` and `$include` read
//! regular files of at most 1 MiB, an app-config file itself holds at most 16 MiB (pipes are
//! read, directories refused), and a file nested too deep or with too much alias expansion is
//! refused before parsing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::tree::{Leaf, Node, Origin, Scalar, Via, merge, strip_nulls};
use super::yaml::{MAX_DEPTH, untag, yaml_kind};
use crate::error::{CoreError, Result};

/// The keys that turn a mapping into an include (`transform/include.ts`).
const INCLUDE_KEYS: [&str; 3] = ["$file", "$env", "$include"];

struct FileCx<'a> {
    path: &'a Path,
    dir: PathBuf,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl FileCx<'_> {
    fn leaf(&self, value: Scalar, via: Via) -> Node {
        Node::Leaf(Leaf {
            value,
            origin: Origin {
                file: self.path.to_path_buf(),
                via,
            },
        })
    }
}

/// Reads `files` in order and merges their `backend.database` sections (later files win), then
/// the `APP_CONFIG_*` variables `app_config` over them, and drops what `null` removed; `None`
/// when nothing sets it. Unset variables are noted in `warnings`.
pub(super) fn load_database(
    files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
    app_config: &[(String, String)],
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let mut merged: Option<Node> = None;
    for file in files {
        if let Some(db) = load_file(file, env, warnings)? {
            merged = Some(merge(merged, db));
        }
    }
    if let Some(db) = super::vars::database_layer(app_config)? {
        merged = Some(merge(merged, db));
    }
    Ok(merged.and_then(strip_nulls))
}

/// Reads one app-config file and returns its `backend.database`, transformed.
fn load_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let text = read_config_file(path)?;
    let root = super::yaml::parse(&text, path)?;
    // An `$include` on the way to backend.database brings in another file, whose own folder
    // then anchors what it holds.
    let mut file = path.to_path_buf();
    let (root, at) = follow_include(untag(&root).clone(), "", &mut file, env)?;
    let root = match root {
        Value::Null => return Ok(None),
        Value::Mapping(m) => m,
        other => {
            return Err(CoreError::config(format!(
                "{}: the top level is {}, not a mapping of keys; an app-config file starts \
                 with keys such as `app:` and `backend:`",
                at.display(),
                yaml_kind(&other)
            )));
        }
    };
    let Some(backend) = root.get("backend") else {
        return Ok(None);
    };
    let (backend, at) = follow_include(untag(backend).clone(), "backend", &mut file, env)?;
    let backend = match backend {
        Value::Mapping(m) => m,
        Value::Null => return Ok(None),
        other => {
            return Err(CoreError::config(format!(
                "`backend` in {} is {}, not a mapping; it should hold keys such as \
                 `baseUrl:` and `database:`",
                at.display(),
                yaml_kind(&other)
            )));
        }
    };
    let Some(database) = backend.get("database") else {
        return Ok(None);
    };
    let dir = parent_dir(&file);
    let cx = FileCx {
        path: &file,
        dir,
        env,
    };
    transform(database, "backend.database", &cx, 0, warnings)
}

fn parent_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Follows `$include`s that stand for the whole value at `key` (the top level or `backend`),
/// moving `file` to the included file; other include keys there make the value a string, which
/// Backstage cannot read as a mapping.
fn follow_include(
    mut value: Value,
    key: &str,
    file: &mut PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Value, PathBuf)> {
    for _ in 0..16 {
        let Value::Mapping(map) = &value else { break };
        let Some(kind) = include_key(map) else { break };
        let what = if key.is_empty() { "the top level" } else { key };
        if kind != "$include" || map.len() != 1 {
            return Err(CoreError::config(format!(
                "{what} of {} uses `{kind}`{}, so it is not a mapping Backstage can read \
                 backend.database from; write the settings into the file, or use `$include`",
                file.display(),
                if map.len() != 1 {
                    " next to other keys"
                } else {
                    ""
                }
            )));
        }
        let raw = map.get(kind).cloned().unwrap_or(Value::Null);
        let cx = FileCx {
            path: file,
            dir: parent_dir(file),
            env,
        };
        let (included, at) = read_include(&raw, what, &cx)?;
        value = included.unwrap_or(Value::Null);
        *file = at;
    }
    Ok((value, file.clone()))
}

fn include_key(map: &serde_yaml::Mapping) -> Option<&'static str> {
    INCLUDE_KEYS
        .into_iter()
        .find(|k| map.contains_key(Value::String((*k).to_string())))
}

/// Backstage's `applyConfigTransforms` with the substitution and include transforms, for one
/// value at `key`, `depth` levels under `backend.database` (counting what `$include` brings in,
/// so that a file including itself ends in an error). `None` means undefined: the key is dropped.
fn transform(
    value: &Value,
    key: &str,
    cx: &FileCx<'_>,
    depth: usize,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    if depth > MAX_DEPTH {
        return Err(CoreError::config(format!(
            "{}: the values under backend.database are nested more than {MAX_DEPTH} levels deep, \
             counting what `$include` brings in; a file that includes itself (directly or \
             through another file) never ends, so check the `$include`s",
            cx.path.display()
        )));
    }
    match value {
        Value::String(s) => Ok(match substitute(s, cx.env) {
            Subst::Literal(s) => Some(cx.leaf(Scalar::Str(s), Via::Literal)),
            Subst::Value(s, vars) => Some(cx.leaf(Scalar::Str(s), Via::Env(vars))),
            Subst::Missing(vars) => {
                for var in vars {
                    warnings.push(missing_variable(&format!("${{{var}}}"), key, cx.path));
                }
                None
            }
        }),
        Value::Mapping(map) => match include_key(map) {
            Some(kind) => {
                if map.len() != 1 {
                    return Err(CoreError::config(format!(
                        "{key} in {}: `{kind}` cannot have other keys next to it; move the \
                         other keys out of this mapping",
                        cx.path.display()
                    )));
                }
                let raw = map.get(kind).unwrap_or(&Value::Null);
                if kind != "$include" {
                    return include(kind, raw, key, cx, warnings);
                }
                let (included, at) = read_include(raw, key, cx)?;
                let inner = FileCx {
                    path: &at,
                    dir: parent_dir(&at),
                    env: cx.env,
                };
                match included {
                    None => Ok(None),
                    // A string is substituted; what an included mapping or list holds is
                    // transformed relative to the included file's folder.
                    Some(v @ Value::String(_)) => transform(&v, key, &inner, depth, warnings),
                    Some(v) => descend(&v, key, &inner, depth, warnings),
                }
            }
            None => descend(value, key, cx, depth, warnings),
        },
        Value::Tagged(t) => transform(&t.value, key, cx, depth, warnings),
        other => descend(other, key, cx, depth, warnings),
    }
}

/// The value itself, its items and entries transformed.
fn descend(
    value: &Value,
    key: &str,
    cx: &FileCx<'_>,
    depth: usize,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    Ok(Some(match value {
        Value::Null => cx.leaf(Scalar::Null, Via::Literal),
        Value::Bool(b) => cx.leaf(Scalar::Bool(*b), Via::Literal),
        Value::Number(n) => cx.leaf(Scalar::Number(n.to_string()), Via::Literal),
        Value::String(s) => cx.leaf(Scalar::Str(s.clone()), Via::Literal),
        Value::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(node) =
                    transform(item, &format!("{key}[{i}]"), cx, depth + 1, warnings)?
                {
                    out.push(node);
                }
            }
            Node::Seq(out)
        }
        Value::Mapping(map) => {
            let mut out = BTreeMap::new();
            for (k, v) in map {
                let k = match untag(k) {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(CoreError::config(format!(
                            "{key} in {} has a key that is {}; keys must be names",
                            cx.path.display(),
                            yaml_kind(other)
                        )));
                    }
                };
                if let Some(node) = transform(v, &format!("{key}.{k}"), cx, depth + 1, warnings)? {
                    out.insert(k, node);
                }
            }
            Node::Map(out)
        }
        Value::Tagged(t) => return descend(&t.value, key, cx, depth, warnings),
    }))
}

fn missing_variable(what: &str, key: &str, file: &Path) -> String {
    format!(
        "{what} is not set in the environment ({key} in {}): Backstage treats that value as \
         unset; set the variable, or give the value when connecting",
        file.display()
    )
}

/// The target of `$env`, `$file` or `$include`: a string, `${VAR}`s substituted.
fn include_target(kind: &str, raw: &Value, key: &str, cx: &FileCx<'_>) -> Result<String> {
    let file = cx.path.display();
    let Value::String(raw) = untag(raw) else {
        return Err(CoreError::config(format!(
            "`{kind}` at {key} in {file} must be a string ({})",
            match kind {
                "$env" => "a variable name",
                "$file" => "a file path",
                _ => "a file path, optionally with #a.b to pick a value",
            }
        )));
    };
    match substitute(raw.as_str(), cx.env) {
        Subst::Literal(s) | Subst::Value(s, _) => Ok(s),
        Subst::Missing(vars) => Err(CoreError::config(format!(
            "`{kind}` at {key} in {file} uses ${{{}}}, which is not set; set it or write the \
             value out",
            vars.join("}, ${")
        ))),
    }
}

/// `$env` and `$file` (`transform/include.ts`).
fn include(
    kind: &str,
    raw: &Value,
    key: &str,
    cx: &FileCx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let target = include_target(kind, raw, key, cx)?;
    if kind == "$env" {
        return Ok(match (cx.env)(&target) {
            Some(v) => Some(cx.leaf(Scalar::Str(v.trim().to_string()), Via::Env(vec![target]))),
            None => {
                warnings.push(missing_variable(&format!("`$env: {target}`"), key, cx.path));
                None
            }
        });
    }
    let path = absolute(&cx.dir.join(&target));
    let content = read_included(&path, "$file", key, cx.path)?;
    Ok(Some(cx.leaf(
        Scalar::Str(content.trim_end().to_string()),
        Via::File(path),
    )))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `$include`: a YAML (`.yaml`, `.yml`) or JSON (`.json`) file relative to the including
/// file's folder, and in it the value at `#a.b` (the whole document without a fragment).
/// Returns the value (`None`: the fragment names nothing, so the key is dropped) and the
/// included file.
fn read_include(raw: &Value, key: &str, cx: &FileCx<'_>) -> Result<(Option<Value>, PathBuf)> {
    let target = include_target("$include", raw, key, cx)?;
    let file = cx.path.display();
    let (name, fragment) = match target.split_once('#') {
        Some((n, f)) => (n, f),
        None => (target.as_str(), ""),
    };
    let base = Path::new(name)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = match base.rfind('.') {
        Some(i) if i > 0 => &base[i..],
        _ => "",
    };
    if !matches!(ext, ".yaml" | ".yml" | ".json") {
        return Err(CoreError::config(format!(
            "`$include: {target}` at {key} in {file}: Backstage includes only .yaml, .yml and \
             .json files (no configuration parser for {name}); include such a file"
        )));
    }
    let path = absolute(&cx.dir.join(name));
    let content = read_included(&path, "$include", key, cx.path)?;
    let mut value: Value = if ext == ".json" {
        serde_json::from_str(&content).map_err(|e| {
            CoreError::config(format!(
                "{} (`$include` at {key} in {file}) is not valid JSON: {e}; fix it",
                path.display()
            ))
        })?
    } else {
        super::yaml::parse(&content, &path)?
    };
    if !fragment.is_empty() {
        let parts: Vec<&str> = fragment.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let Value::Mapping(map) = untag(&value) else {
                return Err(CoreError::config(format!(
                    "`$include: {target}` at {key} in {file}: the value at `{}` in {} is not \
                     a mapping, so `{part}` cannot be picked from it; fix the #path",
                    parts[..i].join("."),
                    path.display()
                )));
            };
            match map.get(*part) {
                Some(v) => value = v.clone(),
                None if i + 1 == parts.len() => return Ok((None, path)),
                None => {
                    return Err(CoreError::config(format!(
                        "`$include: {target}` at {key} in {file}: {} has nothing at `{}`; fix \
                         the #path",
                        path.display(),
                        parts[..=i].join(".")
                    )));
                }
            }
        }
    }
    Ok((Some(untag(&value).clone()), path))
}

/// The most a `$file` may hold: it is one value (a password, a certificate), not a document.
pub(super) const FILE_LIMIT: u64 = 1024 * 1024;

/// The most an app-config file given on the command line may hold: far above any real one,
/// low enough that `/dev/zero` or a runaway stream is refused at once.
pub(super) const CONFIG_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// Reads an app-config file given by the user: a regular file, or a pipe or device such as
/// `<(kubectl get configmap ...)` or `/dev/stdin`, of at most [`CONFIG_FILE_LIMIT`] bytes.
/// A directory is refused, and a stream is read no further than the limit.
fn read_config_file(path: &Path) -> Result<String> {
    let shown = path.display();
    let cannot = |e: std::io::Error| {
        CoreError::config(format!(
            "cannot read app-config file {shown}: {e}; check the path (give the files Backstage \
             is started with, in the same order)"
        ))
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if meta.is_dir() {
        return Err(CoreError::config(format!(
            "app-config file {shown} is a directory; give the YAML files in it, e.g. \
             {}/app-config.yaml",
            shown
        )));
    }
    let too_big = || {
        CoreError::config(format!(
            "app-config file {shown} holds more than {} MiB, which no app-config does; check that \
             the path is the YAML file Backstage is started with",
            CONFIG_FILE_LIMIT / (1024 * 1024)
        ))
    };
    if meta.is_file() && meta.len() > CONFIG_FILE_LIMIT {
        return Err(too_big());
    }
    let bytes = read_at_most(path, CONFIG_FILE_LIMIT)
        .map_err(cannot)?
        .ok_or_else(too_big)?;
    String::from_utf8(bytes).map_err(|_| {
        CoreError::config(format!(
            "app-config file {shown} is not UTF-8 text; give the YAML file Backstage is started \
             with"
        ))
    })
}

/// The bytes of `path`, read no further than `limit`: `None` when it holds more (a stream
/// such as `/dev/zero` is never read to its end).
fn read_at_most(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Reads a `$file` target: a regular file (symlinks followed) of at most [`FILE_LIMIT`] bytes.
/// The type and size are checked before opening, so a FIFO or a device such as `/dev/zero` is
/// never opened; the read itself stops past the limit in case the file grows meanwhile.
fn read_included(path: &Path, kind: &str, key: &str, config: &Path) -> Result<String> {
    let file = config.display();
    let shown = path.display();
    let cannot = |e: std::io::Error| {
        CoreError::config(format!(
            "cannot read {shown} (`{kind}` at {key} in {file}): {e}; the path is relative to the \
             folder of {file}"
        ))
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(CoreError::config(format!(
            "{shown} (`{kind}` at {key} in {file}) is not a regular file; `{kind}` reads a regular \
             file, so point it at one (or use `$env`)"
        )));
    }
    let too_big = || {
        CoreError::config(format!(
            "{shown} (`{kind}` at {key} in {file}) is larger than the limit of {} MiB for \
             `{kind}`; point it at the file holding just the value",
            FILE_LIMIT / (1024 * 1024)
        ))
    };
    if meta.len() > FILE_LIMIT {
        return Err(too_big());
    }
    let bytes = read_at_most(path, FILE_LIMIT)
        .map_err(cannot)?
        .ok_or_else(too_big)?;
    String::from_utf8(bytes).map_err(|_| {
        cannot(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

#[derive(Debug, PartialEq)]
enum Subst {
    /// No variable used (escapes may have been resolved).
    Literal(String),
    /// Variables used, all set.
    Value(String, Vec<String>),
    /// These variables are not set: the whole value is undefined.
    Missing(Vec<String>),
}

/// `transform/substitution.ts`: splits on `\$?\$\{[^{}]*\}`; `$${...}` loses one `$`;
/// `${NAME}` becomes the trimmed variable (name trimmed too), undefined when unset;
/// `${NAME:-default}` the variable unless it is unset or empty, else the trimmed default,
/// undefined when that is empty too.
fn substitute(input: &str, env: &dyn Fn(&str) -> Option<String>) -> Subst {
    let mut out = String::with_capacity(input.len());
    let mut used = Vec::new();
    let mut missing = Vec::new();
    let mut last = 0;
    let mut i = 0;
    while let Some(offset) = input[i..].find('$') {
        let start = i + offset;
        let rest = &input[start..];
        let (escaped, open) = if rest.starts_with("$${") {
            (true, start + 3)
        } else if rest.starts_with("${") {
            (false, start + 2)
        } else {
            i = start + 1;
            continue;
        };
        let close = input[open..]
            .find(['{', '}'])
            .map(|o| open + o)
            .filter(|&c| input.as_bytes()[c] == b'}');
        let Some(close) = close else {
            i = start + 1;
            continue;
        };
        out.push_str(&input[last..start]);
        if escaped {
            out.push_str(&input[start + 1..=close]);
        } else {
            let inner = &input[open..close];
            let (name, fallback) = match inner.find(":-") {
                Some(at) => (inner[..at].trim(), Some(inner[at + 2..].trim())),
                None => (inner.trim(), None),
            };
            let value = Some(name)
                .filter(|n| !n.is_empty())
                .and_then(env)
                .map(|v| v.trim().to_string());
            match (value, fallback) {
                (Some(v), None) => {
                    out.push_str(&v);
                    used.push(name.to_string());
                }
                (Some(v), Some(_)) if !v.is_empty() => {
                    out.push_str(&v);
                    used.push(name.to_string());
                }
                (_, Some(d)) if !d.is_empty() => out.push_str(d),
                _ => missing.push(name.to_string()),
            }
        }
        last = close + 1;
        i = close + 1;
    }
    out.push_str(&input[last..]);
    if !missing.is_empty() {
        Subst::Missing(missing)
    } else if used.is_empty() {
        Subst::Literal(out)
    } else {
        Subst::Value(out, used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn substitution_follows_backstage() {
        let env = env_of(&[
            ("SECRET", "my-secret"),
            ("TOKEN", " my-token \n"),
            ("EMPTY", ""),
        ]);
        assert_eq!(
            substitute("hello ${SECRET}", &env),
            Subst::Value("hello my-secret".into(), vec!["SECRET".into()])
        );
        // Names and values are trimmed; `$${` escapes.
        assert_eq!(
            substitute("${SECRET      } $${} ${TOKEN }", &env),
            Subst::Value(
                "my-secret ${} my-token".into(),
                vec!["SECRET".into(), "TOKEN".into()]
            )
        );
        assert_eq!(
            substitute("foo $${ESCAPE_ME} $$${ESCAPE_ME_TOO} $${}", &env),
            Subst::Literal("foo ${ESCAPE_ME} $${ESCAPE_ME_TOO} ${}".into())
        );
        assert_eq!(
            substitute("foo ${SECRET} $$${ESCAPE_ME}", &env),
            Subst::Value("foo my-secret $${ESCAPE_ME}".into(), vec!["SECRET".into()])
        );
        // Any missing variable makes the whole value undefined.
        assert_eq!(
            substitute("foo ${MISSING} ${SECRET}", &env),
            Subst::Missing(vec!["MISSING".into()])
        );
        assert_eq!(
            substitute("empty ${}", &env),
            Subst::Missing(vec![String::new()])
        );
        // An empty variable is set.
        assert_eq!(
            substitute("[${EMPTY}]", &env),
            Subst::Value("[]".into(), vec!["EMPTY".into()])
        );
        // Not a token: braces inside, unterminated, lone dollars.
        assert_eq!(
            substitute("a${b{c}d $ x ${open", &env),
            Subst::Literal("a${b{c}d $ x ${open".into())
        );
        assert_eq!(substitute("plain", &env), Subst::Literal("plain".into()));
        // Defaults: used when the variable is unset or empty, trimmed; an empty default is
        // no value.
        assert_eq!(
            substitute("${NOPE:- d1 }|${EMPTY:-d2}|${SECRET:-d3}", &env),
            Subst::Value("d1|d2|my-secret".into(), vec!["SECRET".into()])
        );
        assert_eq!(
            substitute("${NOPE:-}", &env),
            Subst::Missing(vec!["NOPE".into()])
        );
        assert_eq!(
            substitute("$${NOPE:-x}", &env),
            Subst::Literal("${NOPE:-x}".into())
        );
    }

    fn leaf(s: &str, file: &str) -> Node {
        Node::Leaf(Leaf {
            value: Scalar::Str(s.into()),
            origin: Origin {
                file: file.into(),
                via: Via::Literal,
            },
        })
    }

    #[test]
    fn transform_drops_undefined_values_and_checks_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "from-file  \n\n").unwrap();
        let path = dir.path().join("app-config.yaml");
        let env = env_of(&[("HOST", "db")]);
        let cx = FileCx {
            path: &path,
            dir: dir.path().to_path_buf(),
            env: &env,
        };
        let yaml: Value = serde_yaml::from_str(
            "host: ${HOST}\nuser: ${NOPE}\npassword: { $file: pw.txt }\nlist: [a, '${NOPE}', b]\n",
        )
        .unwrap();
        let mut warnings = Vec::new();
        let Some(Node::Map(m)) = transform(&yaml, "k", &cx, 0, &mut warnings).unwrap() else {
            panic!("not a map");
        };
        assert!(!m.contains_key("user"));
        assert_eq!(m["host"].display(), "db");
        assert_eq!(m["host"].source(), "env HOST");
        // Backstage trims the end of `$file` contents.
        assert_eq!(m["password"].display(), "from-file");
        assert!(m["password"].source().starts_with("file "));
        assert_eq!(
            m["list"],
            Node::Seq(vec![leaf("a", ""), leaf("b", "")]).with_file(&path)
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("${NOPE}") && warnings[0].contains("k.user"));

        let adjacent: Value = serde_yaml::from_str("x: { $env: HOST, other: 1 }").unwrap();
        let e = transform(&adjacent, "k", &cx, 0, &mut warnings)
            .unwrap_err()
            .to_string();
        assert!(e.contains("k.x") && e.contains("$env"), "{e}");
        let inc: Value = serde_yaml::from_str("x: { $include: other.yaml }").unwrap();
        let e = transform(&inc, "k", &cx, 0, &mut warnings)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k.x") && e.contains("$include") && e.contains("app-config.yaml"),
            "{e}"
        );
    }

    impl Node {
        fn with_file(self, file: &Path) -> Node {
            match self {
                Node::Leaf(mut l) => {
                    l.origin.file = file.to_path_buf();
                    Node::Leaf(l)
                }
                Node::Seq(items) => {
                    Node::Seq(items.into_iter().map(|n| n.with_file(file)).collect())
                }
                Node::Map(m) => {
                    Node::Map(m.into_iter().map(|(k, n)| (k, n.with_file(file))).collect())
                }
            }
        }
    }
}
