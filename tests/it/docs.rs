//! The documents say what the code does.

/// `docs/data-contract.md` embeds the contract's tables verbatim. Run with
/// `HALO_BLESS=1` to rewrite the section after changing the contract.
#[test]
fn the_data_contract_document_matches_the_code() {
    keep_section(
        concat!(env!("CARGO_MANIFEST_DIR"), "/docs/data-contract.md"),
        "<!-- contract:begin -->\n",
        "<!-- contract:end -->",
        &halo::catalog::contract::markdown(),
    );
}

/// Replaces the text between `begin` and `end` in the document at `path`
/// with `generated` under `HALO_BLESS=1`, and otherwise asserts they are equal.
fn keep_section(path: &str, begin: &str, end: &str, generated: &str) {
    let doc = std::fs::read_to_string(path).unwrap();
    let a = doc
        .find(begin)
        .unwrap_or_else(|| panic!("{path} lacks {begin}"))
        + begin.len();
    let b = a + doc[a..]
        .find(end)
        .unwrap_or_else(|| panic!("{path} lacks {end} after {begin}"));
    if std::env::var_os("HALO_BLESS").is_some() {
        std::fs::write(path, format!("{}{}{}", &doc[..a], generated, &doc[b..])).unwrap();
        return;
    }
    assert_eq!(
        &doc[a..b],
        generated,
        "{path}: the section after {begin} differs from the code; run the test with HALO_BLESS=1"
    );
}

/// `docs/results.md` embeds every declared result table's column table, and
/// describes no table that is not declared.
#[test]
fn the_result_tables_document_matches_their_declarations() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/results.md");
    for t in halo::tables::contract::TABLES.iter() {
        keep_section(
            path,
            &format!("<!-- table:{} -->\n", t.name),
            "<!-- /table -->",
            &t.markdown(),
        );
    }
    let doc = std::fs::read_to_string(path).unwrap();
    for (i, _) in doc.match_indices("<!-- table:") {
        let name: String = doc[i + 11..].chars().take_while(|c| *c != ' ').collect();
        assert!(
            halo::tables::contract::table(&name).is_some(),
            "docs/results.md describes {name}, which no declaration has"
        );
    }
    // Every table the nightly job commits is declared.
    let job = halo::runner::job::Job::load(std::path::Path::new(crate::common::nightly())).unwrap();
    for t in job
        .steps
        .iter()
        .filter(|s| !s.scratch)
        .flat_map(|s| s.outputs.iter().map(String::as_str))
        .chain(["rejects", "runs"])
    {
        assert!(
            halo::tables::contract::table(t).is_some(),
            "{t} has no declaration"
        );
    }
}

/// The parameter reference in `docs/jobs.md` is rendered from the
/// parameters the domains declare.
#[test]
fn the_parameter_reference_matches_the_declarations() {
    keep_section(
        concat!(env!("CARGO_MANIFEST_DIR"), "/docs/jobs.md"),
        "<!-- params:begin -->\n",
        "<!-- params:end -->",
        &halo::params::markdown(&halo::runner::builtins::params()),
    );
}
