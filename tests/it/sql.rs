//! `halo sql`: result tables by name, raw tables as raw.<table>, read-only.

use std::path::Path;

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
    let rows = crate::common::json_lines(json.as_bytes());
    // The same sums straight from the raw sessions of the New York day
    // (2026-10-25 = [04:00Z, 2026-10-26T04:00Z)), less the planted rejects.
    let raw = halo_ok(&[
        "sql",
        "SELECT channel, count(*) AS n FROM raw.sessions \
         WHERE started_at >= TIMESTAMP '2026-10-25T04:00:00Z' AND started_at < TIMESTAMP '2026-10-26T04:00:00Z' \
           AND NOT EXISTS (SELECT 1 FROM rejects j WHERE j.\"table\" = 'sessions' \
                           AND strpos(j.\"row\", '\"session_id\":\"' || session_id || '\"') > 0) \
         GROUP BY channel ORDER BY channel",
        "--input",
        i,
        "--output",
        o,
        "--format",
        "json",
    ]);
    assert_eq!(rows, crate::common::json_lines(raw.as_bytes()));
    assert_eq!(
        rows.len(),
        9,
        "every channel of the contract has sessions: {json}"
    );

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
    let counted = halo_ok(&[
        "sql",
        "SELECT count(*) AS n FROM daily_orders",
        "--input",
        i,
        "--output",
        o,
        "--format",
        "csv",
    ]);
    assert_eq!(
        reader.metadata().file_metadata().num_rows().to_string(),
        counted.lines().nth(1).unwrap(),
        "the Parquet export holds every row"
    );

    for stmt in [
        "CREATE TABLE x AS SELECT 1",
        "DROP TABLE daily_orders",
        "INSERT INTO daily_orders SELECT * FROM daily_orders",
        "SET datafusion.execution.batch_size = 1",
        "COPY daily_orders TO '/tmp/halo-copy-out.csv'",
        "CREATE EXTERNAL TABLE ext STORED AS PARQUET LOCATION '/tmp'",
        "CREATE VIEW v AS SELECT 1",
    ] {
        let out = halo(&["sql", stmt, "--input", i, "--output", o], &[]);
        assert_eq!(out.status.code(), Some(2), "{stmt}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("read-only"),
            "{stmt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !Path::new("/tmp/halo-copy-out.csv").exists(),
        "COPY wrote nothing"
    );
    // Several statements in one string: refused as a whole, nothing runs.
    let out = halo(
        &[
            "sql",
            "SELECT 1; DROP TABLE daily_orders",
            "--input",
            i,
            "--output",
            o,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("one statement"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The table is untouched by all of the above.
    assert_eq!(
        counted,
        halo_ok(&[
            "sql",
            "SELECT count(*) AS n FROM daily_orders",
            "--input",
            i,
            "--output",
            o,
            "--format",
            "csv"
        ])
    );
}
