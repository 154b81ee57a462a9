//! Runs killed at every point of their commit, mid-backfill and during a
//! recovery leave no partial result visible, and the next run rolls them back,
//! records them once in `runs`, and ends where a clean run ends. `runs`
//! records each attempt's real start.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::common::{Small, halo, only_json, sql_csv};
use crate::lease::{finish, run_args, spawn, wait_for};

fn dump(input: &Path, output: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (t, cols) in [
        ("daily_sessions", "*"),
        ("daily_orders", "*"),
        (
            "rejects",
            "\"table\", reason, file, row_number, \"row\", dt",
        ),
    ] {
        if !output.join(t).exists() {
            out.insert(t.to_string(), String::new());
            continue;
        }
        let csv = sql_csv(input, output, &format!("SELECT {cols} FROM {t}"));
        let mut lines: Vec<&str> = csv.lines().collect();
        if lines.len() > 1 {
            lines[1..].sort_unstable();
        }
        out.insert(t.to_string(), lines.join("\n"));
    }
    out
}

/// The small job's roots, and a second output root for the clean run.
struct Case {
    small: Small,
    input: std::path::PathBuf,
    output: std::path::PathBuf,
    clean: std::path::PathBuf,
    job: String,
}

fn case() -> Case {
    let small = Small::new();
    Case {
        input: small.input.clone(),
        output: small.output.clone(),
        clean: small.dir.path().join("clean"),
        job: small.job.to_str().unwrap().to_string(),
        small,
    }
}

impl Case {
    fn run(&self, output: &Path, dates: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        halo(&self.small.args(output, dates), env)
    }

    fn ok(&self, output: &Path, dates: &[&str]) -> serde_json::Value {
        let out = self.run(output, dates, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        only_json(&out.stdout)
    }

    fn killed(&self, dates: &[&str], point: &str) {
        let out = self.run(&self.output, dates, &[("HALO_FAIL_AT", point)]);
        assert_eq!(out.status.code(), None, "{point}: killed by a signal");
    }

    fn statuses(&self) -> String {
        sql_csv(
            &self.input,
            &self.output,
            "SELECT status, CAST(date AS VARCHAR) AS date FROM runs ORDER BY started_at, status",
        )
    }
}

const D1: [&str; 2] = ["--date", "2026-10-01"];
const D2: [&str; 2] = ["--date", "2026-10-02"];

#[test]
fn killed_after_its_last_commit_but_before_its_runs_row_the_run_is_rolled_back() {
    let c = case();
    c.ok(&c.output, &D1);
    let before = dump(&c.input, &c.output);
    c.killed(&D2, "before_runs_row");
    // Both tables and rejects were committed by the killed run ...
    let log = std::fs::read_dir(c.output.join("daily_orders/_delta_log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(log, 2, "daily_orders holds the killed run's commit");
    // ... but readers still see the state before it.
    assert_eq!(dump(&c.input, &c.output), before);
    let s = c.ok(&c.output, &D2);
    assert_eq!(s["recovered_runs"].as_array().unwrap().len(), 1, "{s}");
    c.ok(&c.clean, &D1);
    c.ok(&c.clean, &D2);
    assert_eq!(dump(&c.input, &c.output), dump(&c.input, &c.clean));
    assert_eq!(
        c.statuses(),
        "status,date\nsuccess,2026-10-01\nrolled_back,2026-10-02\nsuccess,2026-10-02\n"
    );
}

#[test]
fn killed_in_the_middle_of_a_backfill_only_the_unfinished_date_is_rolled_back() {
    let c = case();
    // Two step tables per date: the third commit is the second date's first.
    c.killed(
        &["--from", "2026-10-01", "--to", "2026-10-03"],
        "after_commit:3",
    );
    let visible = sql_csv(
        &c.input,
        &c.output,
        "SELECT CAST(dt AS VARCHAR) AS dt, count(*) AS n FROM daily_sessions GROUP BY dt ORDER BY dt",
    );
    assert_eq!(
        visible, "dt,n\n2026-10-01,1\n",
        "the first date stays, the second is not visible"
    );
    c.ok(&c.output, &["--from", "2026-10-01", "--to", "2026-10-03"]);
    c.ok(&c.clean, &["--from", "2026-10-01", "--to", "2026-10-03"]);
    assert_eq!(dump(&c.input, &c.output), dump(&c.input, &c.clean));
    assert_eq!(
        c.statuses(),
        "status,date\nsuccess,2026-10-01\nrolled_back,2026-10-02\nsuccess,2026-10-01\nsuccess,2026-10-02\nsuccess,2026-10-03\n"
    );
}

#[test]
fn a_recovery_that_is_itself_killed_is_finished_by_the_next_run_and_recorded_once() {
    for point in ["recovery_table", "recovery_recorded"] {
        let c = case();
        c.ok(&c.output, &D1);
        let before = dump(&c.input, &c.output);
        c.killed(&D2, "after_commit:2");
        // The recovering run dies too, part way through.
        c.killed(&D2, point);
        assert_eq!(dump(&c.input, &c.output), before, "{point}");
        let s = c.ok(&c.output, &D2);
        assert_eq!(
            s["recovered_runs"].as_array().unwrap().len(),
            1,
            "{point}: {s}"
        );
        c.ok(&c.clean, &D1);
        c.ok(&c.clean, &D2);
        assert_eq!(
            dump(&c.input, &c.output),
            dump(&c.input, &c.clean),
            "{point}"
        );
        // The killed run once; the recovery run that died never started a date.
        assert_eq!(
            c.statuses(),
            "status,date\nsuccess,2026-10-01\nrolled_back,2026-10-02\nsuccess,2026-10-02\n",
            "{point}"
        );
    }
}

#[test]
fn killed_before_its_first_commit_the_date_is_recorded_as_abandoned_and_runs_again() {
    let c = case();
    c.ok(&c.output, &D1);
    let before = dump(&c.input, &c.output);
    c.killed(&D2, "before_commit");
    assert_eq!(dump(&c.input, &c.output), before);
    let s = c.ok(&c.output, &D2);
    assert_eq!(s["abandoned_runs"].as_array().unwrap().len(), 1, "{s}");
    assert!(
        s["recovered_runs"].as_array().unwrap().is_empty(),
        "nothing to roll back: {s}"
    );
    c.ok(&c.clean, &D1);
    c.ok(&c.clean, &D2);
    assert_eq!(dump(&c.input, &c.output), dump(&c.input, &c.clean));
    assert_eq!(
        c.statuses(),
        "status,date\nsuccess,2026-10-01\nabandoned,2026-10-02\nsuccess,2026-10-02\n"
    );
}

#[test]
fn runs_records_when_an_attempt_really_started() {
    let c = case();
    let flag = c.output.parent().unwrap().join("go");
    let pause = format!("before_commit:{}", flag.display());
    let (j, i, o) = (
        c.job.as_str(),
        c.input.to_str().unwrap(),
        c.output.to_str().unwrap(),
    );
    let mut run = spawn(
        &run_args(j, i, o, "2026-10-01"),
        &[("HALO_PAUSE_AT", &pause)],
    );
    // The heartbeat names the date once its attempt has started.
    let lease = c.output.join("_halo/lease/0000000001.heartbeat.json");
    wait_for(&mut run, "the date's attempt", || {
        std::fs::read_to_string(&lease).is_ok_and(|t| t.contains("\"date_run_id\":\""))
    });
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(&flag, "").unwrap();
    let out = finish(run);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = sql_csv(
        &c.input,
        &c.output,
        "SELECT CAST(finished_at AS BIGINT) - CAST(started_at AS BIGINT) AS micros FROM runs",
    );
    let micros: i64 = csv.lines().nth(1).unwrap().parse().unwrap();
    assert!(
        micros >= 1_500_000,
        "the attempt started before its 1.5 s pause, not at commit time: {micros} µs"
    );
}
