//! The module layers of `docs/ARCHITECTURE.md` hold in the code: every
//! top-level module has a layer, imports only run downward (or sideways
//! inside the engine), no domain imports another, and the modules form no
//! import circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Layer of each top-level module, from the table in ARCHITECTURE.md
/// (`| \`module\` | layer |` rows between the layer markers).
fn documented_layers() -> BTreeMap<String, (u8, String)> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/ARCHITECTURE.md")).unwrap();
    let (begin, end) = ("<!-- layers:begin -->", "<!-- layers:end -->");
    let a = doc.find(begin).expect("layers table begin marker") + begin.len();
    let b = doc.find(end).expect("layers table end marker");
    let mut out = BTreeMap::new();
    for line in doc[a..b].lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let layer = match cells[2] {
            "engine" => 0,
            "domain" => 1,
            "runner" => 2,
            "binary" => 3,
            other => panic!("unknown layer {other} in ARCHITECTURE.md"),
        };
        for m in cells[1].split(',') {
            let m = m.trim().trim_matches('`').to_string();
            assert!(
                out.insert(m.clone(), (layer, cells[2].to_string()))
                    .is_none(),
                "{m} is listed twice"
            );
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to.
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(Path::new(ROOT).join("src")).unwrap();
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    match first.as_str() {
        "lib.rs" => None,
        "main.rs" => Some("main".into()),
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// The top-level modules a file imports (from `crate::x`, `halo::x`, and a
/// top-level file's `super::x`), without comments.
fn imports(file: &Path, own: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let top_level_file = file.parent() == Some(Path::new(ROOT).join("src").as_path());
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut prefixes = vec!["crate::", "halo::"];
        if top_level_file {
            prefixes.push("super::");
        }
        for p in prefixes {
            for (i, _) in code.match_indices(p) {
                let before = code[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let name: String = code[i + p.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty()
                    && name != own
                    && name.chars().next().is_some_and(|c| c.is_lowercase())
                {
                    out.insert(name);
                }
            }
        }
    }
    out
}

fn lib_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(Path::new(ROOT).join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .chain(["main".to_string()])
        .collect()
}

#[test]
fn every_module_has_a_layer_and_imports_run_downward_without_circles() {
    let layers = documented_layers();
    let modules = lib_modules();
    for m in &modules {
        assert!(
            layers.contains_key(m),
            "top-level module {m} has no row in the layers table of docs/ARCHITECTURE.md"
        );
    }
    for m in layers.keys() {
        assert!(
            modules.contains(m),
            "ARCHITECTURE.md lists {m}, which is not a module"
        );
    }
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    files.sort();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut violations = Vec::new();
    for f in &files {
        let Some(from) = module_of(f) else { continue };
        let (from_layer, from_name) = &layers[&from];
        for to in imports(f, &from) {
            let Some((to_layer, to_name)) = layers.get(&to) else {
                // `crate::Result` and other re-exports are not modules.
                continue;
            };
            let rel = f.strip_prefix(ROOT).unwrap().display();
            if to_layer > from_layer {
                violations.push(format!(
                    "{rel}: {from} ({from_name}) imports {to} ({to_name}), a higher layer"
                ));
            }
            if *to_layer == 1 && *from_layer == 1 {
                violations.push(format!("{rel}: domain {from} imports domain {to}"));
            }
            graph.entry(from.clone()).or_default().insert(to);
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // No circle: a depth-first search finds no back edge.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) {
        match state.get(m) {
            Some(2) => return,
            Some(1) => {
                let start = path.iter().position(|p| p == m).unwrap();
                panic!("import circle: {} -> {m}", path[start..].join(" -> "));
            }
            _ => {}
        }
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            visit(next, graph, state, path);
        }
        path.pop();
        state.insert(m.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        visit(m, &graph, &mut state, &mut Vec::new());
    }
}

#[test]
fn the_layer_scan_sees_an_upward_import() {
    // The scan itself: a domain file naming the runner is caught.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.rs");
    std::fs::write(
        &f,
        "use crate::runner::job::Job; // crate::tables is only a comment\n",
    )
    .unwrap();
    let found = imports(&f, "lift");
    assert_eq!(found, BTreeSet::from(["runner".to_string()]));
}
