//! The documents say what the code does.

/// `docs/data-contract.md` embeds the contract's tables verbatim. Run with
/// `HALO_BLESS=1` to rewrite the section after changing the contract.
#[test]
fn the_data_contract_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/data-contract.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (begin, end) = ("<!-- contract:begin -->\n", "<!-- contract:end -->");
    let a = doc.find(begin).expect("begin marker") + begin.len();
    let b = doc.find(end).expect("end marker");
    let generated = halo::catalog::contract::markdown();
    if std::env::var_os("HALO_BLESS").is_some() {
        std::fs::write(path, format!("{}{}{}", &doc[..a], generated, &doc[b..])).unwrap();
        return;
    }
    assert_eq!(
        &doc[a..b],
        generated,
        "run the test with HALO_BLESS=1 to update docs/data-contract.md"
    );
}

/// Every result table the nightly job writes is described in docs/results.md.
#[test]
fn every_result_table_is_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/results.md")).unwrap();
    let job = halo::runner::job::Job::load(std::path::Path::new(crate::common::nightly())).unwrap();
    for t in job
        .steps
        .iter()
        .filter(|s| !s.scratch)
        .flat_map(|s| s.outputs.iter().map(String::as_str))
        .chain(["rejects", "runs"])
    {
        assert!(
            doc.contains(&format!("## `{t}`")),
            "docs/results.md lacks a section for {t}"
        );
    }
}
