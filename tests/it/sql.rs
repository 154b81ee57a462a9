//! `halo sql`: result tables by name, raw tables as raw.<table>, read-only.

use crate::common::{halo, halo_ok, run_nightly, tiny};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_read_results_and_raw_tables_and_refuse_writes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    tiny(&input, 21).await;
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    run_nightly(&input, &output, &["--date", "2026-10-25"]);

    let json = halo_ok(&[
        "sql",
        "SELECT channel, sum(sessions) AS n FROM daily_sessions GROUP BY channel ORDER BY channel",
        "--input",
        i,
        "--output",
        o,
        "--format",
        "json",
    ]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() >= 8, "{json}");
    assert!(rows.iter().any(|r| r["channel"] == "affiliate"));

    // raw.<table> has every row, including the rejected ones.
    let raw = halo_ok(&[
        "sql",
        "SELECT count(*) AS n FROM raw.sessions WHERE session_id = 's000-0000001'",
        "--input",
        i,
        "--output",
        o,
        "--format",
        "csv",
    ]);
    assert_eq!(
        raw.lines().nth(1).unwrap(),
        "2",
        "the planted duplicate is in raw"
    );

    let table = halo_ok(&["sql", "SELECT 1 + 1 AS two", "--input", i, "--output", o]);
    assert!(
        table.contains("| two |") && table.contains("| 2   |"),
        "{table}"
    );

    let file = dir.path().join("export/x.parquet");
    halo_ok(&[
        "sql",
        "SELECT * FROM daily_orders",
        "--input",
        i,
        "--output",
        o,
        "--format",
        "parquet",
        "--to",
        file.to_str().unwrap(),
    ]);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&file).unwrap(),
    )
    .unwrap();
    assert!(reader.metadata().file_metadata().num_rows() >= 2);

    for stmt in [
        "CREATE TABLE x AS SELECT 1",
        "DROP TABLE daily_orders",
        "INSERT INTO daily_orders SELECT * FROM daily_orders",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = halo(&["sql", stmt, "--input", i, "--output", o], &[]);
        assert_eq!(out.status.code(), Some(2), "{stmt}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("read-only"),
            "{stmt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rows = halo_ok(&[
        "sql",
        "SELECT count(*) FROM daily_orders",
        "--input",
        i,
        "--output",
        o,
        "--format",
        "csv",
    ]);
    assert_ne!(rows.lines().nth(1).unwrap(), "0");
}
