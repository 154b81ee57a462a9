//! The command line as the README documents it: a backfill with a failing
//! date, the roots from the environment, logs on stderr in JSON, stdout
//! holding only the result, exit 1 for a bug, and the bundled job from any
//! directory.

use std::process::Command;

use crate::common::{NOW, Small, halo, json_lines, only_json, sql_csv};

#[test]
fn a_backfill_with_a_failing_date_runs_the_others_and_exits_with_its_code() {
    let case = Small::new();
    let (input, output) = (&case.input, &case.output);
    // A EUR order on 2026-10-02 without that day's rate: that date's check fails.
    crate::common::write_parquet(
        &input.join("orders/part-1.parquet"),
        vec![
            ("order_id", crate::contract::s(&[Some("eur1")])),
            (
                "ordered_at",
                crate::contract::ts(&[crate::contract::T0 + 86_400_000_000]),
            ),
            ("revenue", crate::contract::money(&[1000])),
            ("currency", crate::contract::s(&[Some("EUR")])),
        ],
    );
    let out = halo(
        &case.args(output, &["--from", "2026-10-01", "--to", "2026-10-03"]),
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = only_json(&out.stdout);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["exit_code"], 65);
    let dates: Vec<(String, String, i64)> = s["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
                d["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dates,
        [
            ("2026-10-01".into(), "success".into(), 0),
            ("2026-10-02".into(), "failed".into(), 65),
            ("2026-10-03".into(), "success".into(), 0),
        ]
    );
    let err = s["dates"][1]["error"].as_str().unwrap();
    assert!(err.contains("EUR") && err.contains("2026-10-02"), "{err}");
    assert_eq!(
        sql_csv(
            input,
            output,
            "SELECT CAST(dt AS VARCHAR) AS dt FROM daily_sessions ORDER BY dt"
        ),
        "dt\n2026-10-01\n2026-10-03\n"
    );
    assert_eq!(
        sql_csv(
            input,
            output,
            "SELECT CAST(date AS VARCHAR) AS date, status, exit_code FROM runs ORDER BY date"
        ),
        "date,status,exit_code\n2026-10-01,success,0\n2026-10-02,failed,65\n2026-10-03,success,0\n"
    );
}

#[test]
fn roots_come_from_the_environment_and_logs_are_json_lines_on_stderr() {
    let case = Small::new();
    let (input, output, job) = (&case.input, &case.output, &case.job);
    let env = [
        ("HALO_INPUT", input.to_str().unwrap()),
        ("HALO_OUTPUT", output.to_str().unwrap()),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_halo"));
    cmd.args([
        "--log-format",
        "json",
        "run",
        job.to_str().unwrap(),
        "--date",
        "2026-10-01",
    ])
    .env("HALO_NOW", NOW);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = only_json(&out.stdout);
    assert_eq!(s["input"], format!("file://{}/", input.display()));
    assert_eq!(s["output"], format!("file://{}/", output.display()));
    let logs = json_lines(&out.stderr);
    assert!(
        logs.iter()
            .any(|l| l["message"] == "step done" && l["step"] == "daily_orders"),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
    // --log-format text is not JSON.
    let text = halo(
        &[
            "--log-format",
            "text",
            "run",
            job.to_str().unwrap(),
            "--date",
            "2026-10-01",
        ],
        &env,
    );
    assert_eq!(text.status.code(), Some(0));
    let first = String::from_utf8_lossy(&text.stderr)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        serde_json::from_str::<serde_json::Value>(&first).is_err(),
        "{first}"
    );
    only_json(&text.stdout);
    // `halo sql` with the same variables: stdout is the rows only.
    let rows = halo(
        &[
            "sql",
            "SELECT count(*) AS n FROM daily_sessions",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(json_lines(&rows.stdout), [serde_json::json!({"n": 1})]);
}

#[test]
fn a_bug_exits_1_through_the_binary() {
    let case = Small::new();
    let args = case.args(&case.output, &["--date", "2026-10-01"]);
    // An internal error on the date: the date and the process exit 1.
    let out = halo(&args, &[("HALO_FAIL_AT", "error:before_commit")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = only_json(&out.stdout);
    assert_eq!(s["dates"][0]["exit_code"], 1);
    assert!(
        s["dates"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("internal error")
    );
    // A panic: exit 1 and a message that asks for a report.
    let out = halo(&args, &[("HALO_FAIL_AT", "panic:before_commit")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("internal error (a bug; please report it)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_nightly_job_runs_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    crate::common::tiny(&input, 43).await;
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_halo"))
        .current_dir(&elsewhere)
        .env("HALO_NOW", NOW)
        .env_remove("HALO_INPUT")
        .env_remove("HALO_OUTPUT")
        .args([
            "run",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--date",
            "2026-10-25",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = only_json(&out.stdout);
    assert_eq!(s["job"], "nightly");
    assert_eq!(s["dates"][0]["steps"].as_array().unwrap().len(), 19, "{s}");
    // The bundled job and the repository's give the same tables.
    let repo_out = dir.path().join("repo-out");
    crate::common::run_nightly(&input, &repo_out, &["--date", "2026-10-25"]);
    assert_eq!(
        crate::run::dump(&input, &output),
        crate::run::dump(&input, &repo_out)
    );
    // A job file given on the command line keeps its own path rule.
    let rel = halo(&["run", "jobs/missing.toml", "--date", "2026-10-01"], &[]);
    assert_eq!(rel.status.code(), Some(78));
}
