//! `halo generate`: deterministic, realistic, and honest about what it planted.

use std::collections::BTreeMap;

use crate::common::{halo, sql_csv, tiny};

fn files(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir(dir) {
        out.insert(
            e.strip_prefix(dir).unwrap().display().to_string(),
            std::fs::read(&e).unwrap(),
        );
    }
    out
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walkdir(&p))
        } else {
            v.push(p)
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    tiny(&dir.path().join("a"), 5).await;
    tiny(&dir.path().join("b"), 5).await;
    tiny(&dir.path().join("c"), 6).await;
    let (a, b, c) = (
        files(&dir.path().join("a")),
        files(&dir.path().join("b")),
        files(&dir.path().join("c")),
    );
    // Every file the generator says it wrote (and its own summary).
    let summary: serde_json::Value = serde_json::from_slice(&a["_generator.json"]).unwrap();
    assert_eq!(
        a.len() as u64,
        summary["files"].as_u64().unwrap() + 1,
        "{summary}"
    );
    assert_eq!(a, b);
    assert_ne!(
        a.get("sessions/dt=2026-10-22/part-0.parquet"),
        c.get("sessions/dt=2026-10-22/part-0.parquet")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_data_looks_like_a_real_brand_and_its_planted_rejects_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    tiny(&input, 8).await;
    let (i, o) = (input.to_str().unwrap(), dir.path().join("none"));
    let q = |sql: &str| sql_csv(&input, &o, sql);
    // Every channel, every currency, partial refunds, codes typed in any case.
    let channels = q("SELECT count(DISTINCT channel) FROM raw.sessions WHERE channel <> 'tv'");
    assert_eq!(channels.lines().nth(1).unwrap(), "9");
    let currencies =
        q("SELECT string_agg(DISTINCT currency, '|' ORDER BY currency) FROM raw.orders");
    assert_eq!(currencies.lines().nth(1).unwrap(), "EUR|GBP|USD");
    let partial = q(
        "SELECT count(*) FROM raw.refunds r JOIN raw.orders o USING (order_id) WHERE r.amount < o.revenue",
    );
    assert!(
        partial.lines().nth(1).unwrap().parse::<i64>().unwrap() > 0,
        "{partial}"
    );
    let multi_session = q(
        "SELECT count(*) FROM (SELECT anonymous_id FROM raw.sessions GROUP BY anonymous_id HAVING count(*) > 1)",
    );
    assert!(
        multi_session
            .lines()
            .nth(1)
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 50,
        "{multi_session}"
    );
    let clicks =
        q("SELECT count(*) FROM raw.sessions WHERE click_id IS NOT NULL AND channel = 'affiliate'");
    assert!(
        clicks.lines().nth(1).unwrap().parse::<i64>().unwrap() > 0,
        "{clicks}"
    );

    // The validator finds exactly the rows the generator planted, with the planted reasons.
    let out = halo(
        &["validate", "--input", i, "--json"],
        &[("HALO_NOW", crate::common::NOW)],
    );
    assert_eq!(out.status.code(), Some(65));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: BTreeMap<(String, String), u64> = BTreeMap::new();
    for t in report.as_array().unwrap() {
        for (r, n) in t["counts"]["rejected"].as_object().unwrap() {
            found.insert(
                (t["table"].as_str().unwrap().to_string(), r.clone()),
                n.as_u64().unwrap(),
            );
        }
    }
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    let f = std::fs::File::open(input.join("_truth/planted_rejects/part-0.parquet")).unwrap();
    for b in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        use arrow::array::AsArray;
        let (t, r) = (
            b.column_by_name("table").unwrap().as_string::<i32>(),
            b.column_by_name("reason").unwrap().as_string::<i32>(),
        );
        for k in 0..b.num_rows() {
            *expected
                .entry((t.value(k).to_string(), r.value(k).to_string()))
                .or_default() += 1;
        }
    }
    assert_eq!(expected.values().sum::<u64>(), 7);
    assert_eq!(found, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_sample_data_is_what_its_readme_command_writes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = halo::generate::GenerateOptions {
        out: halo::storage::parse_root(dir.path().to_str().unwrap()).unwrap(),
        scale: halo::generate::scale("small").unwrap(),
        seed: 7,
        end: halo::generate::default_end(),
    };
    halo::generate::generate(&halo::storage::Storage::new(), &opts)
        .await
        .unwrap();
    let mut bundled = files(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sample-data"
    )));
    bundled.remove("README.md");
    let made = files(dir.path());
    assert_eq!(
        bundled.keys().collect::<Vec<_>>(),
        made.keys().collect::<Vec<_>>()
    );
    for (k, v) in &made {
        assert!(
            bundled[k] == *v,
            "sample-data/{k} differs from `halo generate --scale small --seed 7`"
        );
    }
}
