//! Reading the app-config files: each file's `backend.database` is parsed and transformed on
//! its own, relative to its own folder, the way `@backstage/config-loader` does it
//! (`transform/substitution.ts`, `transform/include.ts`, `transform/apply.ts`): `${VAR}`
//! substitution with `$${` as the escape, `{ $env: VAR }` and `{ $file: path }`, `$include`
//! rejected; then the files' sections are merged in the order given. YAML syntax errors and
//! misplaced includes are reported here with the file (and line) they are in. Limits keep a
//! hostile or mistaken file from hanging an import: `$file` reads regular files of at most
//! 1 MiB, and a file nested too deep or with too much alias expansion is refused before parsing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::tree::{Leaf, Node, Origin, Scalar, Via, merge};
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

/// Reads `files` in order and merges their `backend.database` sections (later files win);
/// `None` when no file has one. Unset variables are noted in `warnings`.
pub(super) fn load_database(
    files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let mut merged: Option<Node> = None;
    for file in files {
        if let Some(db) = load_file(file, env, warnings)? {
            merged = Some(merge(merged, db));
        }
    }
    Ok(merged)
}

/// Reads one app-config file and returns its `backend.database`, transformed.
fn load_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        CoreError::config(format!(
            "cannot read app-config file {shown}: {e}; check the path (give the files Backstage \
             is started with, in the same order)"
        ))
    })?;
    check_shape(&text, path)?;
    let root: Value = serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &e))?;
    let root = match untag(&root) {
        Value::Null => return Ok(None),
        Value::Mapping(m) => m,
        other => {
            return Err(CoreError::config(format!(
                "{shown}: the top level is {}, not a mapping of keys; an app-config file starts \
                 with keys such as `app:` and `backend:`",
                yaml_kind(other)
            )));
        }
    };
    reject_root_include(root, "the top level", path)?;
    let Some(backend) = root.get("backend") else {
        return Ok(None);
    };
    let backend = match untag(backend) {
        Value::Mapping(m) => m,
        Value::Null => {
            return Err(CoreError::config(format!(
                "`backend` in {shown} is empty, so Backstage cannot read backend.database from \
                 it; remove the empty `backend:` line or fill it in"
            )));
        }
        other => {
            return Err(CoreError::config(format!(
                "`backend` in {shown} is {}, not a mapping; it should hold keys such as \
                 `baseUrl:` and `database:`",
                yaml_kind(other)
            )));
        }
    };
    reject_root_include(backend, "backend", path)?;
    let Some(database) = backend.get("database") else {
        return Ok(None);
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let cx = FileCx { path, dir, env };
    transform(database, "backend.database", &cx, warnings)
}

/// `$include` and friends above `backend.database` would change what it is; they are not read.
fn reject_root_include(map: &serde_yaml::Mapping, what: &str, path: &Path) -> Result<()> {
    if let Some(k) = include_key(map) {
        return Err(CoreError::config(format!(
            "{what} of {} uses `{k}`, which Backstage Inspector does not read; write the \
             backend.database settings into the file itself",
            path.display()
        )));
    }
    Ok(())
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn yaml_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// How deep mappings and lists may nest in an app-config file (the YAML parser's own limit).
pub(super) const MAX_DEPTH: usize = 128;

/// How much alias expansion a file may ask for: the number of aliases (`*name`) times the
/// length of the file, the most they can expand to before nested aliases.
const MAX_ALIAS_EXPANSION: u64 = 64 * 1024 * 1024;

/// Refuses, before parsing, a file nested deeper than [`MAX_DEPTH`] or whose aliases could
/// expand past [`MAX_ALIAS_EXPANSION`]: the parser would take minutes (or all memory) on
/// either before giving up. The scan is conservative: block nesting is counted by indentation
/// and `- `/`? ` entries, flow nesting by `[`/`{` outside quotes, comments and block scalars.
fn check_shape(text: &str, path: &Path) -> Result<()> {
    let shown = path.display();
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote: Option<u8> = None;
    let mut block_scalar: Option<usize> = None;
    let mut aliases = 0u64;
    for (n, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = bytes[indent..].iter().all(|b| b.is_ascii_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut depth = 0;
        let mut i = indent;
        if flow == 0 && quote.is_none() {
            if blank || bytes[indent] == b'#' {
                continue;
            }
            while indents.last().is_some_and(|&l| l >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - - x` and `? ` nest on one line.
            while i + 1 < bytes.len() && matches!(bytes[i], b'-' | b'?') && bytes[i + 1] == b' ' {
                depth += 1;
                i += 2;
                while i < bytes.len() && bytes[i] == b' ' {
                    i += 1;
                }
            }
        }
        let mut last_token = None;
        let mut prev = b' ';
        let mut deepest = flow;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(b'\'') => {
                    if b == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            quote = None;
                        }
                    }
                }
                Some(_) => {
                    if b == b'\\' {
                        i += 1;
                    } else if b == b'"' {
                        quote = None;
                    }
                }
                None => {
                    let at_token = prev == b' '
                        || prev == b'\t'
                        || matches!(prev, b'[' | b'{' | b',')
                        || i == 0;
                    match b {
                        b'#' if prev == b' ' || prev == b'\t' || i == 0 => break,
                        b'\'' | b'"' if at_token => quote = Some(b),
                        b'[' | b'{' if at_token || flow > 0 => {
                            flow += 1;
                            deepest = deepest.max(flow);
                        }
                        b']' | b'}' if flow > 0 => flow -= 1,
                        b'*' if at_token => aliases += 1,
                        _ => {}
                    }
                    if !b.is_ascii_whitespace() {
                        last_token = Some(i);
                    }
                }
            }
            prev = b;
            i += 1;
        }
        if flow == 0
            && quote.is_none()
            && let Some(t) = last_token
        {
            // `key: |`, `key: >-`, `- |2`: the lines after are text, not structure.
            let tail = line[..=t].trim_end();
            let head = tail.trim_end_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-');
            if (head.ends_with('|') || head.ends_with('>'))
                && head[..head.len() - 1]
                    .chars()
                    .last()
                    .is_none_or(|c| c == ' ' || c == '\t')
            {
                block_scalar = Some(indent);
            }
        }
        if indents.len() + depth + deepest.max(flow) > MAX_DEPTH {
            return Err(CoreError::config(format!(
                "{shown} line {}: values are nested more than {MAX_DEPTH} levels deep; an \
                 app-config file is never this deep, so check that this is the right file",
                n + 1
            )));
        }
    }
    if aliases.saturating_mul(text.len() as u64) > MAX_ALIAS_EXPANSION {
        return Err(CoreError::config(format!(
            "{shown}: its {aliases} aliases (`*name`) could expand to more than {} MiB; write \
             the repeated values out, or use fewer aliases",
            MAX_ALIAS_EXPANSION / (1024 * 1024)
        )));
    }
    Ok(())
}

/// `FILE line L column C: problem (while ...)`, from a YAML syntax error.
fn yaml_error(path: &Path, e: &serde_yaml::Error) -> CoreError {
    let full = e.to_string();
    let cut = full
        .find(" at line ")
        .or_else(|| full.find(" at position "));
    let mut message = cut.map_or(full.as_str(), |i| &full[..i]).to_string();
    if let Some(i) = cut
        && let Some(context) = full[i..].split_once(", ").map(|(_, c)| c)
    {
        let context = context.split(" at line ").next().unwrap_or(context).trim();
        if !context.is_empty() {
            message = format!("{message} ({context})");
        }
    }
    let place = match e.location() {
        Some(loc) => format!(
            "{} line {} column {}",
            path.display(),
            loc.line(),
            loc.column()
        ),
        None => path.display().to_string(),
    };
    if message.starts_with("repetition limit exceeded") {
        return CoreError::config(format!(
            "{place}: its aliases (`*name`) expand to too much (repetition limit exceeded); \
             write the repeated values out, or use fewer aliases"
        ));
    }
    if message.starts_with("recursion limit exceeded") {
        return CoreError::config(format!(
            "{place}: values are nested more than {MAX_DEPTH} levels deep (recursion limit \
             exceeded); an app-config file is never this deep, so check that this is the right \
             file"
        ));
    }
    CoreError::config(format!(
        "{place}: {message}; fix the YAML there (Backstage cannot read this file either)"
    ))
}

fn include_key(map: &serde_yaml::Mapping) -> Option<&'static str> {
    INCLUDE_KEYS
        .into_iter()
        .find(|k| map.contains_key(Value::String((*k).to_string())))
}

/// Backstage's `applyConfigTransforms` with the substitution and include transforms, for one
/// value at `key`. `None` means undefined: the key is dropped.
fn transform(
    value: &Value,
    key: &str,
    cx: &FileCx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    Ok(Some(match value {
        Value::Null => cx.leaf(Scalar::Null, Via::Literal),
        Value::Bool(b) => cx.leaf(Scalar::Bool(*b), Via::Literal),
        Value::Number(n) => cx.leaf(Scalar::Number(n.to_string()), Via::Literal),
        Value::String(s) => match substitute(s, cx.env) {
            Subst::Literal(s) => cx.leaf(Scalar::Str(s), Via::Literal),
            Subst::Value(s, vars) => cx.leaf(Scalar::Str(s), Via::Env(vars)),
            Subst::Missing(vars) => {
                for var in vars {
                    warnings.push(missing_variable(&format!("${{{var}}}"), key, cx.path));
                }
                return Ok(None);
            }
        },
        Value::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(node) = transform(item, &format!("{key}[{i}]"), cx, warnings)? {
                    out.push(node);
                }
            }
            Node::Seq(out)
        }
        Value::Mapping(map) => {
            if let Some(kind) = include_key(map) {
                if map.len() != 1 {
                    return Err(CoreError::config(format!(
                        "{key} in {}: `{kind}` cannot have other keys next to it; move the \
                         other keys out of this mapping",
                        cx.path.display()
                    )));
                }
                let raw = map.get(kind).unwrap_or(&Value::Null);
                return include(kind, raw, key, cx, warnings);
            }
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
                if let Some(node) = transform(v, &format!("{key}.{k}"), cx, warnings)? {
                    out.insert(k, node);
                }
            }
            Node::Map(out)
        }
        Value::Tagged(t) => return transform(&t.value, key, cx, warnings),
    }))
}

fn missing_variable(what: &str, key: &str, file: &Path) -> String {
    format!(
        "{what} is not set in the environment ({key} in {}): Backstage treats that value as \
         unset; set the variable, or give the value when connecting",
        file.display()
    )
}

/// `$env`, `$file` and `$include` (`transform/include.ts`).
fn include(
    kind: &str,
    raw: &Value,
    key: &str,
    cx: &FileCx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let file = cx.path.display();
    if kind == "$include" {
        return Err(CoreError::config(format!(
            "{key} in {file} uses `$include`, which Backstage Inspector does not read; copy the \
             included values into {file}, or use `$file`/`$env` for single values"
        )));
    }
    let Value::String(raw) = untag(raw) else {
        return Err(CoreError::config(format!(
            "`{kind}` at {key} in {file} must be a string ({})",
            if kind == "$env" {
                "a variable name"
            } else {
                "a file path"
            }
        )));
    };
    let target = match substitute(raw, cx.env) {
        Subst::Literal(s) | Subst::Value(s, _) => s,
        Subst::Missing(vars) => {
            return Err(CoreError::config(format!(
                "`{kind}` at {key} in {file} uses ${{{}}}, which is not set; set it or write the \
                 value out",
                vars.join("}, ${")
            )));
        }
    };
    if kind == "$env" {
        return Ok(match (cx.env)(&target) {
            Some(v) => Some(cx.leaf(Scalar::Str(v.trim().to_string()), Via::Env(vec![target]))),
            None => {
                warnings.push(missing_variable(&format!("`$env: {target}`"), key, cx.path));
                None
            }
        });
    }
    let joined = cx.dir.join(&target);
    let path = std::path::absolute(&joined).unwrap_or(joined);
    let content = read_included(&path, key, cx.path)?;
    Ok(Some(cx.leaf(
        Scalar::Str(content.trim_end().to_string()),
        Via::File(path),
    )))
}

/// The most a `$file` may hold: it is one value (a password, a certificate), not a document.
pub(super) const FILE_LIMIT: u64 = 1024 * 1024;

/// Reads a `$file` target: a regular file (symlinks followed) of at most [`FILE_LIMIT`] bytes.
/// The type and size are checked before opening, so a FIFO or a device such as `/dev/zero` is
/// never opened; the read itself stops past the limit in case the file grows meanwhile.
fn read_included(path: &Path, key: &str, config: &Path) -> Result<String> {
    use std::io::Read;
    let file = config.display();
    let shown = path.display();
    let cannot = |e: std::io::Error| {
        CoreError::config(format!(
            "cannot read {shown} (`$file` at {key} in {file}): {e}; the path is relative to the \
             folder of {file}"
        ))
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(CoreError::config(format!(
            "{shown} (`$file` at {key} in {file}) is not a regular file; `$file` reads the value \
             from a regular file, so point it at one (or use `$env`)"
        )));
    }
    let too_big = || {
        CoreError::config(format!(
            "{shown} (`$file` at {key} in {file}) is larger than the limit of {} MiB for a \
             `$file` value; point it at the file holding just the value",
            FILE_LIMIT / (1024 * 1024)
        ))
    };
    if meta.len() > FILE_LIMIT {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(FILE_LIMIT + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(too_big());
    }
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

/// `transform/substitution.ts`: splits on `\$?\$\{[^{}]*\}`; `$${...}` loses one `$`, `${NAME}`
/// becomes the trimmed variable (name trimmed too).
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
            let name = input[open..close].trim();
            match Some(name).filter(|n| !n.is_empty()).and_then(env) {
                Some(v) => {
                    out.push_str(v.trim());
                    used.push(name.to_string());
                }
                None => missing.push(name.to_string()),
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
        let Some(Node::Map(m)) = transform(&yaml, "k", &cx, &mut warnings).unwrap() else {
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
        let e = transform(&adjacent, "k", &cx, &mut warnings)
            .unwrap_err()
            .to_string();
        assert!(e.contains("k.x") && e.contains("$env"), "{e}");
        let inc: Value = serde_yaml::from_str("x: { $include: other.yaml }").unwrap();
        let e = transform(&inc, "k", &cx, &mut warnings)
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
