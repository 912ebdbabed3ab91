//! YAML as an app-config file holds it: parsed with limits that keep a hostile or mistaken
//! file from hanging an import (nesting depth, alias expansion), syntax errors told with the
//! file, line and column, and the helpers that look through tags.

use std::path::Path;

use serde_yaml::Value;

use crate::error::{CoreError, Result};

/// Parses `text` (the contents of `path`) after checking its shape.
pub(super) fn parse(text: &str, path: &Path) -> Result<Value> {
    check_shape(text, path)?;
    serde_yaml::from_str(text).map_err(|e| yaml_error(path, &e))
}

pub(super) fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

pub(super) fn yaml_kind(v: &Value) -> &'static str {
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
