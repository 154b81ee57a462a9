//! Embeds the bundled jobs, their SQL and data files (`jobs/*.toml`,
//! `sql/**/*.sql`, `rules/`, `templates/`) in
//! the binary, so that an installed `halo run` works in any directory.

use std::path::{Path, PathBuf};

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    walk(&root.join("jobs"), "toml", &mut files);
    walk(&root.join("sql"), "sql", &mut files);
    walk(&root.join("rules"), "toml", &mut files);
    walk(&root.join("templates"), "toml", &mut files);
    files.sort();
    let mut code = String::from(
        "/// Every bundled file: (path relative to the repository root, contents).\n\
         pub static FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        code.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("bundled.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=jobs");
    println!("cargo:rerun-if-changed=sql");
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=build.rs");
}
