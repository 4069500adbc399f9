//! armature-core in layers: every file imports only from its own layer or a lower
//! one, and no two files import each other, directly or around a cycle. The layers
//! are the table in `src/lib.rs`'s module docs (the one place they are written
//! down); this test reads that table and the sources (`imports.rs`: `use` trees and
//! inline `crate::`/`super::` paths, comments and `#[cfg(test)]` items skipped,
//! re-exports followed to the file that defines the item).
//!
//! The import cycles, when there are any, are listed by
//! `cargo test -p armature-core --test layering -- --nocapture`.

mod imports;

use std::collections::BTreeMap;
use std::path::Path;

use imports::Graph;

/// Top-level module name -> (layer number, layer name), from lib.rs's table rows
/// `| N name | `a`, `b` | … |`.
fn layers(lib_rs: &str) -> BTreeMap<String, (u32, String)> {
    let mut out = BTreeMap::new();
    for line in lib_rs.lines() {
        let Some(row) = line.strip_prefix("//! |") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Some((num, name)) = cells.first().and_then(|c| c.split_once(' ')) else {
            continue;
        };
        let Ok(num) = num.parse::<u32>() else {
            continue;
        };
        for module in cells.get(1).unwrap_or(&"").split(',') {
            let module = module.trim().trim_matches('`');
            if !module.is_empty() {
                out.insert(module.to_string(), (num, name.trim().to_string()));
            }
        }
    }
    out
}

/// The top-level module of a file (`server/conn.rs` -> `server`, `lib.rs` -> `lib`).
fn top(file: &str) -> &str {
    file.split('/').next().unwrap().trim_end_matches(".rs")
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_import_points_to_the_same_layer_or_below() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let layers = layers(&lib);
    assert!(
        layers.len() > 5,
        "no layer table found in src/lib.rs's module docs"
    );
    let graph = Graph::read(&src());
    let mut faults = Vec::new();
    for (file, imports) in &graph.files {
        let Some(from) = layers.get(top(file)) else {
            faults.push(format!(
                "{file}: module `{}` is in no layer of lib.rs's table",
                top(file)
            ));
            continue;
        };
        for import in imports {
            let to = &layers[top(&import.target)];
            if to.0 > from.0 {
                faults.push(format!(
                    "src/{file}:{}: `{}` ({}) imports `{}` from {} ({}): layer {} may import only layers 0..={}",
                    import.line, top(file), from.1, import.path, import.target, to.1, from.0, from.0
                ));
            }
        }
    }
    assert!(
        faults.is_empty(),
        "imports pointing up a layer:\n{}",
        faults.join("\n")
    );
}

#[test]
fn no_file_imports_around_a_cycle() {
    let cycles = Graph::read(&src()).cycles();
    for c in &cycles {
        println!("cycle of {} files: {}", c.len(), c.join(" "));
    }
    assert!(
        cycles.is_empty(),
        "import cycles between files (above; run with --nocapture to list them): {cycles:?}"
    );
}

#[test]
fn the_reader_sees_use_trees_inline_paths_and_re_exports() {
    // The test's own reader, on a crate of three files: it must find each kind of
    // import, skip comments, literals and test modules, and follow a re-export.
    let dir = std::env::temp_dir().join(format!("armature-layering-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(
        dir.join("lib.rs"),
        "mod a;\nmod b;\npub use a::Thing;\n// use crate::b::Nope;\n",
    )
    .unwrap();
    std::fs::write(dir.join("a/mod.rs"), "mod inner;\npub use inner::Thing;\n").unwrap();
    std::fs::write(dir.join("a/inner.rs"), "pub struct Thing;\n").unwrap();
    std::fs::write(
        dir.join("b.rs"),
        "use crate::{Thing as T, a::{self}};\nfn f() { let _ = crate::a::Thing; let _s = \"crate::b::x\"; }\n#[cfg(test)]\nmod tests { use super::super::a::Thing; }\n",
    )
    .unwrap();
    let graph = Graph::read(&dir);
    let b: Vec<(usize, &str)> = graph.files["b.rs"]
        .iter()
        .map(|i| (i.line, i.target.as_str()))
        .collect();
    assert_eq!(b, [(1, "a/inner.rs"), (1, "a/mod.rs"), (2, "a/inner.rs")]);
    assert!(
        graph.files["lib.rs"].iter().all(|i| i.target != "b.rs"),
        "a comment was read"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
