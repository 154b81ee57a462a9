//! The jobs and SQL files that ship inside the binary (`jobs/`, `sql/`), so
//! that `halo run` needs no repository checkout: without a JOB argument it
//! runs the bundled nightly job and reads its SQL from here.
//!
//! `build.rs` embeds every `jobs/*.toml` and `sql/**/*.sql` at build time.

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bundled job `halo run` uses when given none.
pub const NIGHTLY: &str = "jobs/nightly.toml";

/// The contents of bundled file `path` (relative to the repository root).
pub fn file(path: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// Paths of the bundled files, sorted.
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}
