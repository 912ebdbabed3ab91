//! The module layers of the core and the CLI: no import circle (a module that imports one that
//! imports it back, directly or through others), and no file of the core over 600 lines
//! before its `#[cfg(test)]` module.
//!
//! Modules are files. An edge goes from a file to the file that defines the module a
//! `use crate::...`, `use super::...` or an inline `crate::`/`super::` path names (the longest
//! module prefix of the path). A parent's `pub use` of its own children's items is a
//! re-export, not an import, and is not an edge; comments and test modules are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn files(root: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(root).expect("under the root");
            let mut module: Module = rel
                .with_extension("")
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            out.insert(module, path);
        }
    }
    out
}

/// The source without line comments and without the trailing test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read a source file");
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    body.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines before the file's `#[cfg(test)]` module.
fn lines_before_tests(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("read a source file");
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end].lines().count()
}

/// Every path a `use` item or an inline path names, with whether it is a `pub use`.
fn paths(src: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = src.lines().collect();
    let mut k = 0;
    while k < lines.len() {
        let line = lines[k].trim_start();
        k += 1;
        let (is_pub, rest) = if let Some(r) = line.strip_prefix("use ") {
            (false, r)
        } else if line.starts_with("pub") && line.contains(" use ") && !line.starts_with("pub fn") {
            let at = line.find(" use ").unwrap_or(0);
            (true, &line[at + 5..])
        } else {
            continue;
        };
        let mut item = rest.to_string();
        while !item.contains(';') && k < lines.len() {
            item.push(' ');
            item.push_str(lines[k].trim());
            k += 1;
        }
        let item = item.split(';').next().unwrap_or("");
        let body = item.split_whitespace().collect::<Vec<_>>().join(" ");
        let body = body
            .replace(" as ", "\u{1}")
            .replace(' ', "")
            .replace('\u{1}', " as ");
        expand(&body, "", &mut |p| out.push((p, is_pub)));
    }
    let bytes = src.as_bytes();
    for prefix in ["crate::", "super::"] {
        let mut j = 0;
        while let Some(off) = src[j..].find(prefix) {
            let at = j + off;
            j = at + prefix.len();
            let prev = if at == 0 { b' ' } else { bytes[at - 1] };
            if prev.is_ascii_alphanumeric() || prev == b'_' || prev == b':' {
                continue;
            }
            let rest: String = src[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push((rest, false));
        }
    }
    out
}

/// Expands one level of `a::{b, c::d}` groups (nested groups keep their prefix).
fn expand(body: &str, prefix: &str, emit: &mut dyn FnMut(String)) {
    match body.find('{') {
        None => emit(format!(
            "{prefix}{}",
            body.split(" as ").next().unwrap_or(body)
        )),
        Some(open) => {
            let head = &body[..open];
            let close = body.rfind('}').filter(|c| *c > open).unwrap_or(body.len());
            let inner = &body[open + 1..close];
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&inner[start..k], &format!("{prefix}{head}"), emit);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                expand(&inner[start..], &format!("{prefix}{head}"), emit);
            }
        }
    }
}

fn edges(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mods = files(root);
    let mut graph = BTreeMap::new();
    for (module, path) in &mods {
        let mut to = BTreeSet::new();
        for (p, is_pub) in paths(&code(path)) {
            let mut segs: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
            let mut target: Module = match segs.first() {
                Some(&"crate") => {
                    segs.remove(0);
                    Vec::new()
                }
                Some(&"super") => {
                    let mut base = module.clone();
                    while segs.first() == Some(&"super") {
                        segs.remove(0);
                        base.pop();
                    }
                    base
                }
                Some(&"self") => {
                    segs.remove(0);
                    module.clone()
                }
                _ => continue,
            };
            target.extend(segs.iter().map(|s| s.to_string()));
            let found = (1..=target.len())
                .rev()
                .map(|k| target[..k].to_vec())
                .find(|m| mods.contains_key(m));
            let Some(found) = found else { continue };
            let child_reexport = is_pub && found.len() > module.len() && found.starts_with(module);
            if found != *module && !child_reexport {
                to.insert(found);
            }
        }
        graph.insert(module.clone(), to);
    }
    graph
}

/// Strongly connected components of more than one module (Tarjan).
fn circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        out: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let Some((w, _)) = s.graph.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn describe(circles: &[Vec<Module>]) -> String {
    circles
        .iter()
        .map(|c| {
            c.iter()
                .map(|m| {
                    if m.is_empty() {
                        "crate".to_string()
                    } else {
                        m.join("::")
                    }
                })
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn src(crate_dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("src")
}

#[test]
fn the_core_has_no_import_circle() {
    let found = circles(&edges(&src("core")));
    assert!(
        found.is_empty(),
        "import circles in the core:\n{}",
        describe(&found)
    );
}

#[test]
fn the_cli_has_no_import_circle() {
    let found = circles(&edges(&src("cli")));
    assert!(
        found.is_empty(),
        "import circles in the CLI:\n{}",
        describe(&found)
    );
}

#[test]
fn the_checker_sees_a_circle() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("lib.rs"), "mod a;\nmod b;\n").expect("write");
    std::fs::write(dir.path().join("a.rs"), "use crate::b::B;\npub struct A;\n").expect("write");
    std::fs::write(dir.path().join("b.rs"), "pub struct B(crate::a::A);\n").expect("write");
    let found = circles(&edges(dir.path()));
    assert_eq!(describe(&found).matches("<->").count(), 1, "{found:?}");
}

#[test]
fn no_core_file_is_over_600_lines_before_its_tests() {
    let over: Vec<String> = files(&src("core"))
        .values()
        .map(|p| (lines_before_tests(p), p))
        .filter(|(n, _)| *n > 600)
        .map(|(n, p)| format!("{} ({n} lines)", p.display()))
        .collect();
    assert!(
        over.is_empty(),
        "split these by the questions they answer:\n{}",
        over.join("\n")
    );
}

/// The README's table of the core's modules, in its order: the backticked names of each row's
/// first cell (`profile/` is `profile`).
fn readme_layers() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("read README.md");
    let start = readme
        .find("The core's modules, from the bottom up")
        .expect("the README's module table");
    readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| module |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cell = row.split('|').nth(1).unwrap_or("");
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(|m| m.trim_end_matches('/').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_readme_lists_every_core_module_below_what_uses_it() {
    let layers = readme_layers();
    let rank: BTreeMap<String, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, row)| row.iter().map(move |m| (m.clone(), i)))
        .collect();
    let graph = edges(&src("core"));
    let top: BTreeSet<String> = graph.keys().filter_map(|m| m.first().cloned()).collect();
    let missing: Vec<&String> = top.iter().filter(|m| !rank.contains_key(*m)).collect();
    assert!(
        missing.is_empty(),
        "modules missing from the README's table: {missing:?}"
    );
    let stale: Vec<&String> = rank.keys().filter(|m| !top.contains(*m)).collect();
    assert!(
        stale.is_empty(),
        "the README's table names modules that do not exist: {stale:?}"
    );
    let mut upward = Vec::new();
    for (from, tos) in &graph {
        let Some(a) = from.first() else { continue };
        for to in tos {
            let Some(b) = to.first() else { continue };
            if a != b && rank[b] > rank[a] {
                upward.push(format!("{a} uses {b}"));
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "the README's module table must list a module below what it uses:\n{}",
        upward.join("\n")
    );
}
