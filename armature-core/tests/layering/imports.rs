//! The import graph of armature-core's sources, as the layering test reads it.
//!
//! Every `.rs` file under `src/` is a node. Its imports are the `crate::…`,
//! `super::…` and `self::…` paths it names outside comments, string literals and
//! `#[cfg(test)]` modules: in `use` trees and written inline. A path resolves to
//! the file that defines what it names: the longest module prefix, then through
//! that module's `use` re-exports (so `crate::Error` is `error.rs`, not `lib.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One import: the line it is on and the file it reaches.
#[derive(Clone, Debug)]
pub struct Import {
    pub line: usize,
    pub path: String,
    pub target: String,
}

/// The crate's files (relative to `src/`, `/`-separated) and their imports.
pub struct Graph {
    pub files: BTreeMap<String, Vec<Import>>,
}

struct Source {
    /// The module path (`["server", "conn"]` for `server/conn.rs`).
    module: Vec<String>,
    /// The code with comments, literals and test modules blanked (same offsets).
    code: String,
}

impl Graph {
    pub fn read(src: &Path) -> Graph {
        let mut sources = BTreeMap::new();
        for file in rust_files(src) {
            let rel = file
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&file).unwrap();
            sources.insert(
                rel.clone(),
                Source {
                    module: module_of(&rel),
                    code: strip_tests(&blank_comments_and_literals(&text)),
                },
            );
        }
        let modules: BTreeMap<Vec<String>, String> = sources
            .iter()
            .map(|(rel, s)| (s.module.clone(), rel.clone()))
            .collect();
        let module_set: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
        // What each module's `use` items bring in under which name (re-exports).
        let mut uses: BTreeMap<String, BTreeMap<String, Option<Vec<String>>>> = BTreeMap::new();
        for (rel, s) in &sources {
            let mut names = BTreeMap::new();
            let inline = inline_modules(&s.code);
            for (offset, path) in use_paths(&s.code) {
                if inline.iter().any(|m| m.1.contains(&offset)) {
                    continue; // an inline module's imports are not this module's names
                }
                let name = path.last().unwrap().clone();
                if name == "self" || name == "*" {
                    continue;
                }
                // `None`: a name from another crate (`pub use bytes::Bytes`).
                names.insert(name, absolute(&module_set, &s.module, &path));
            }
            uses.insert(rel.clone(), names);
        }
        let resolver = Resolver {
            modules: &modules,
            uses: &uses,
        };
        let mut files = BTreeMap::new();
        for (rel, s) in &sources {
            let mut imports = Vec::new();
            let mut seen = BTreeSet::new();
            let mut paths = use_paths(&s.code);
            paths.extend(inline_paths(&s.code));
            let inline = inline_modules(&s.code);
            for (offset, path) in paths {
                let module = module_at(&s.module, &inline, offset);
                let Some(abs) = absolute(&module_set, &module, &path) else {
                    continue;
                };
                let Some(target) = resolver.file_of(&abs, 0) else {
                    continue;
                };
                if &target == rel || !seen.insert((target.clone(), line_of(&s.code, offset))) {
                    continue;
                }
                imports.push(Import {
                    line: line_of(&s.code, offset),
                    path: path.join("::"),
                    target,
                });
            }
            imports.sort_by_key(|i| i.line);
            files.insert(rel.clone(), imports);
        }
        Graph { files }
    }

    /// The strongly connected components of more than one file: the import cycles.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let names: Vec<&String> = self.files.keys().collect();
        let index: BTreeMap<&String, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let edges: Vec<Vec<usize>> = names
            .iter()
            .map(|n| {
                let mut to: Vec<usize> = self.files[*n].iter().map(|i| index[&i.target]).collect();
                to.sort_unstable();
                to.dedup();
                to
            })
            .collect();
        tarjan(&edges)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut files: Vec<String> = c.into_iter().map(|i| names[i].clone()).collect();
                files.sort();
                files
            })
            .collect()
    }
}

struct Resolver<'a> {
    modules: &'a BTreeMap<Vec<String>, String>,
    uses: &'a BTreeMap<String, BTreeMap<String, Option<Vec<String>>>>,
}

impl Resolver<'_> {
    /// The file defining what the absolute path `abs` (from the crate root) names.
    fn file_of(&self, abs: &[String], depth: usize) -> Option<String> {
        let k = (0..=abs.len())
            .rev()
            .find(|&k| self.modules.contains_key(&abs[..k]))?;
        let file = &self.modules[&abs[..k]];
        // `crate::a::Item` where `a` re-exports `Item`: follow the re-export.
        if k < abs.len() && depth < 16 {
            if let Some(target) = self.uses[file].get(&abs[k]) {
                let target = target.as_ref()?;
                let mut next = target.clone();
                next.extend_from_slice(&abs[k + 1..]);
                if next != abs {
                    if let Some(f) = self.file_of(&next, depth + 1) {
                        return Some(f);
                    }
                }
            }
        }
        Some(file.clone())
    }
}

/// Inline `mod name { … }` blocks: name and byte range.
fn inline_modules(code: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = code[from..].find("mod ") {
        let at = from + p;
        from = at + 4;
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let rest = &code[at + 4..];
        let name: String = rest.chars().take_while(|&c| is_ident(c as u8)).collect();
        let after = rest[name.len()..].trim_start();
        if name.is_empty() || !after.starts_with('{') {
            continue;
        }
        let open = at + 4 + name.len() + (rest[name.len()..].len() - after.len());
        let mut depth = 0;
        let mut end = b.len();
        for (j, &c) in b.iter().enumerate().skip(open) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((name, open..end));
    }
    out
}

/// The module path at `offset`: the file's, then the inline modules around it.
fn module_at(
    file: &[String],
    inline: &[(String, std::ops::Range<usize>)],
    offset: usize,
) -> Vec<String> {
    let mut m = file.to_vec();
    m.extend(
        inline
            .iter()
            .filter(|(_, r)| r.contains(&offset))
            .map(|(n, _)| n.clone()),
    );
    m
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// `path` (as written, from `module`) from the crate root; `None` for paths into
/// other crates.
fn absolute(
    modules: &BTreeSet<Vec<String>>,
    module: &[String],
    path: &[String],
) -> Option<Vec<String>> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        // A child module named without `self::` (2018 paths).
        Some(first) if modules.contains(&[module, &[first.to_string()]].concat()) => {}
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super" | "self") => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        base.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn line_of(code: &str, offset: usize) -> usize {
    code[..offset].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Comments, string and char literals replaced by spaces (newlines kept).
fn blank_comments_and_literals(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !is_ident(b[i - 1]))
        {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let start = i + 2 + hashes;
            let end = (start..b.len())
                .find(|&j| b[j..].starts_with(&close))
                .map_or(b.len(), |j| j + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, (j + 1).min(b.len()));
            i = j + 1;
        } else if b[i] == b'\'' {
            // A char literal ('a', '\n', '\u{..}'), not a lifetime ('a).
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|p| i + 2 + p + 1)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 3)
            } else {
                std::str::from_utf8(&b[i + 1..(i + 6).min(b.len())])
                    .ok()
                    .and_then(|s| s.chars().next().map(|c| (c, s)))
                    .filter(|(c, s)| s[c.len_utf8()..].starts_with('\''))
                    .map(|(c, _)| i + 1 + c.len_utf8() + 1)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `#[cfg(test)]` items (a module or a single item) blanked.
fn strip_tests(code: &str) -> String {
    let mut out = code.as_bytes().to_vec();
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(p) = code[from..].find("#[cfg(test)]") {
        let start = from + p;
        // The item ends at its matching `}` or at a `;` before any `{`.
        let mut j = start + "#[cfg(test)]".len();
        let mut depth = 0;
        while j < b.len() {
            match b[j] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    j += 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        for c in &mut out[start..j.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = j.min(b.len());
    }
    String::from_utf8(out).unwrap()
}

/// The paths of every `use` item, expanded (`use a::{b, c::d}` is `a::b`, `a::c::d`),
/// with the offset of the `use`.
fn use_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(p) = code[from..].find("use ") {
        let at = from + p;
        from = at + 4;
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let Some(end) = code[at..].find(';') else {
            break;
        };
        let tree: String = drop_renames(&code[at + 4..at + end])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for path in expand(&tree) {
            out.push((at, path));
        }
        from = at + end;
    }
    out
}

/// The paths a use tree names (`as` renames dropped).
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let prefix: Vec<String> = tree[..open]
            .trim_end_matches("::")
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut out = Vec::new();
        for part in split_top(inner) {
            for sub in expand(part) {
                let mut p = prefix.clone();
                if sub != ["self"] {
                    p.extend(sub);
                }
                out.push(p);
            }
        }
        out
    } else {
        vec![tree
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()]
    }
}

/// A use tree with its `as name` renames removed.
fn drop_renames(tree: &str) -> String {
    let mut out = String::new();
    let mut words = tree
        .split_inclusive(|c: char| !is_ident(c as u8) || !c.is_ascii())
        .peekable();
    let mut skip_next_ident = false;
    for w in words.by_ref() {
        let ident = w.trim_end_matches(|c: char| !is_ident(c as u8) || !c.is_ascii());
        let rest = &w[ident.len()..];
        if skip_next_ident && !ident.is_empty() {
            skip_next_ident = false;
            out.push_str(rest);
            continue;
        }
        if ident == "as" && rest.chars().all(char::is_whitespace) && !rest.is_empty() {
            skip_next_ident = true;
            continue;
        }
        out.push_str(w);
    }
    out
}

/// Splits a use group's items at its top-level commas.
fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Paths written inline (`crate::a::b`, `super::c`), outside `use` items.
fn inline_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    for start_word in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(p) = code[from..].find(start_word) {
            let at = from + p;
            from = at + start_word.len();
            // `$crate::…` is a macro's expansion, the caller's path, not an import
            // of the file that defines the macro.
            if at > 0 && (is_ident(b[at - 1]) || b[at - 1] == b':' || b[at - 1] == b'$') {
                continue;
            }
            if in_use_item(code, at) {
                continue;
            }
            let mut j = at;
            while j < b.len() && (is_ident(b[j]) || b[j] == b':') {
                j += 1;
            }
            let path: Vec<String> = code[at..j]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            out.push((at, path));
        }
    }
    out
}

/// Whether `at` is inside a `use …;` item (those are read by [`use_paths`]).
fn in_use_item(code: &str, at: usize) -> bool {
    let before = &code[..at];
    let stmt_start = before.rfind([';', '{', '}']).map_or(0, |p| p + 1);
    let stmt = before[stmt_start..].trim_start();
    let stmt = stmt
        .strip_prefix("pub(crate)")
        .or_else(|| stmt.strip_prefix("pub(super)"))
        .or_else(|| stmt.strip_prefix("pub"))
        .unwrap_or(stmt)
        .trim_start();
    stmt.starts_with("use ") || {
        // Inside a use group: `use a::{b, crate::c}` — find an unclosed `use … {`.
        let mut depth = 0i32;
        let mut k = before.len();
        let bb = before.as_bytes();
        loop {
            if k == 0 {
                break false;
            }
            k -= 1;
            match bb[k] {
                b'}' => depth += 1,
                b'{' if depth > 0 => depth -= 1,
                b'{' => {
                    let head = &before[..k];
                    let s = head.rfind([';', '}']).map_or(0, |p| p + 1);
                    let h = head[s..].trim_start();
                    break h.starts_with("use ")
                        || h.starts_with("pub use ")
                        || h.starts_with("pub(crate) use ");
                }
                b';' if depth == 0 => break false,
                _ => {}
            }
        }
    }
}

/// Tarjan's strongly connected components.
fn tarjan(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.edges[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(i) if s.on_stack[w] => s.low[v] = s.low[v].min(i),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(comp);
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}
