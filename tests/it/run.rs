//! `halo run`: real tables from the tiny data set, checked against an
//! independent computation; idempotent re-runs, backfills, thread counts and a
//! run killed mid-commit.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::{Decimal128Type, TimestampMicrosecondType};
use chrono::{NaiveDate, TimeZone};
use chrono_tz::America::New_York;

use crate::common::{halo, nightly, nightly_args, run_nightly, sql_csv, summary, tiny};

const DATE: &str = "2026-10-25";

/// Every result table as sorted CSV, without the columns that differ by run.
/// The columns of `journeys` as CSV can hold them (lists joined).
pub const JOURNEY_COLUMNS: &str = "journey_id, person_id, converted, order_id, ordered_at, value, ended_at, \
     n_touches, path, array_to_string(touch_kinds, '|') AS kinds, array_to_string(touch_ids, '|') AS ids, \
     array_to_string(touch_times, '|') AS times, array_to_string(creator_ids, '|') AS creators, \
     array_to_string(content_ids, '|') AS contents, array_to_string(platforms, '|') AS platforms, \
     array_to_string(formats, '|') AS formats, dt";

pub fn dump(input: &Path, output: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (t, cols) in [
        ("daily_sessions", "*"),
        ("daily_orders", "*"),
        ("creator_daily", "*"),
        ("creator_momentum", "*"),
        ("journeys", JOURNEY_COLUMNS),
        ("touch_credit", "*"),
        ("attribution_summary", "*"),
        ("markov_transitions", "*"),
        ("attribution_paths", "*"),
        ("post_lift", "*"),
        ("traffic_baseline", "*"),
        ("lift_summary", "*"),
        ("lift_priors", "*"),
        (
            "rejects",
            "\"table\", reason, file, row_number, \"row\", dt",
        ),
    ] {
        // Sort the CSV rows here: SQL ordering on a few columns would leave ties.
        let csv = sql_csv(input, output, &format!("SELECT {cols} FROM {t}"));
        let mut lines: Vec<&str> = csv.lines().collect();
        lines[1..].sort_unstable();
        out.insert(t.to_string(), lines.join("\n"));
    }
    out
}

/// Tables built from earlier dates' results (payouts over months of orders,
/// ROI to date): equal whenever each date ran after the dates before it.
fn history_dump(input: &Path, output: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (t, cols) in [
        ("payout_lines", "*"),
        ("payouts", "*"),
        // CSV holds no lists (roi.rs checks the per-model credit).
        (
            "creator_roi",
            "* EXCLUDE (attributed_revenue_by_model, attributed_orders_by_model), \
             array_to_string(map_values(attributed_revenue_by_model), '|') AS by_model",
        ),
        ("performance_by", "*"),
        ("creator_platform", "*"),
        ("recommendations", "*"),
        // Commission on the redemptions, and the codes' history.
        ("code_usage", "*"),
        ("code_leaks", "*"),
        // Every message built up to the date: the same ids and texts.
        (
            "outbox",
            "message_id, kind, subject_key, built_for, status, locale, content_sha256, facts",
        ),
    ] {
        let csv = sql_csv(input, output, &format!("SELECT {cols} FROM {t}"));
        let mut lines: Vec<&str> = csv.lines().collect();
        // No month has ended in these dates, so there is no payout yet.
        if t != "payouts" {
            assert!(lines.len() > 1, "{t} has rows");
            lines[1..].sort_unstable();
        }
        out.insert(t.to_string(), lines.join("\n"));
    }
    out
}

fn read_all(dir: &Path) -> Vec<arrow::array::RecordBatch> {
    let mut batches = Vec::new();
    let mut files: Vec<_> = walk(dir);
    files.sort();
    for f in files {
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&f).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        batches.extend(r.map(|b| b.unwrap()));
    }
    batches
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Revenue per currency on DATE (New York day) in the base currency, computed
/// straight from the Parquet files with integer arithmetic.
fn expected_daily_revenue(input: &Path) -> BTreeMap<String, (u64, i128)> {
    let d = NaiveDate::parse_from_str(DATE, "%Y-%m-%d").unwrap();
    let start = New_York
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .timestamp_micros();
    let end = New_York
        .from_local_datetime(&d.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .timestamp_micros();
    let mut rates: BTreeMap<String, i128> = BTreeMap::new();
    for b in read_all(&input.join("fx_rates")) {
        let dates = b
            .column_by_name("date")
            .unwrap()
            .as_primitive::<arrow::datatypes::Date32Type>();
        let cur = b.column_by_name("currency").unwrap().as_string::<i32>();
        let rate = b
            .column_by_name("rate_to_base")
            .unwrap()
            .as_primitive::<Decimal128Type>();
        for i in 0..b.num_rows() {
            if dates.value(i)
                == (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
            {
                rates.insert(cur.value(i).to_string(), rate.value(i));
            }
        }
    }
    let mut sums: BTreeMap<String, (u64, i128)> = BTreeMap::new();
    for b in read_all(&input.join("orders")) {
        let at = b
            .column_by_name("ordered_at")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let cur = b.column_by_name("currency").unwrap().as_string::<i32>();
        let rev = b
            .column_by_name("revenue")
            .unwrap()
            .as_primitive::<Decimal128Type>();
        for i in 0..b.num_rows() {
            if at.value(i) >= start && at.value(i) < end {
                let e = sums.entry(cur.value(i).to_string()).or_default();
                e.0 += 1;
                e.1 += rev.value(i);
            }
        }
    }
    sums.into_iter()
        .map(|(c, (n, cents))| {
            // cents * rate(1e8) rounded half-even back to cents.
            let rate = if c == "USD" { 100_000_000 } else { rates[&c] };
            (c, (n, halo::money::div_pow10_half_even(cents * rate, 8)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nightly_run_matches_an_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    tiny(&input, 11).await;
    let s = run_nightly(&input, &output, &["--date", DATE]);
    assert_eq!(s["status"], "success", "{s}");
    assert_eq!(s["dates"][0]["date"], DATE);
    assert_eq!(
        s["rejected_rows"], 7,
        "the generator plants 7 bad rows: {s}"
    );
    // Every view and step ran, and each wrote the rows its committed tables
    // hold for the date (rolling post_lift: the rows this date computed).
    let steps = s["dates"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 19, "18 steps and the materialized view: {s}");
    for step in steps {
        assert_eq!(step["status"], "ok", "{step}");
        let outputs = step["output"].as_str().unwrap();
        if outputs.is_empty() || step["step"] == "roi_facts" {
            continue;
        }
        let counts: Vec<String> = outputs
            .split(',')
            .map(|t| {
                let filter = if t == "post_lift" { "as_of" } else { "dt" };
                format!("(SELECT count(*) FROM {t} WHERE {filter} = DATE '{DATE}')")
            })
            .collect();
        let total = sql_csv(
            &input,
            &output,
            &format!("SELECT {} AS n", counts.join(" + ")),
        );
        assert_eq!(
            total.lines().nth(1).unwrap(),
            step["rows_out"].to_string(),
            "{step}"
        );
    }

    let csv = sql_csv(
        &input,
        &output,
        &format!(
            "SELECT currency, orders, revenue_base FROM daily_orders WHERE dt = DATE '{DATE}' ORDER BY currency"
        ),
    );
    let expected = expected_daily_revenue(&input);
    let mut lines = csv.lines().skip(1);
    for (cur, (n, base_cents)) in &expected {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("no row for {cur} in {csv}"));
        let value = format!("{}.{:02}", base_cents / 100, base_cents % 100);
        assert_eq!(line, format!("{cur},{n},{value}"), "{csv}");
    }
    assert!(lines.next().is_none(), "{csv}");
    assert!(
        expected.len() >= 2,
        "the tiny data has orders in several currencies: {expected:?}"
    );

    // The runs table has one success row naming every step.
    let runs = sql_csv(
        &input,
        &output,
        "SELECT status, exit_code, cardinality(steps) AS steps, date FROM runs",
    );
    assert_eq!(
        runs.lines().nth(1).unwrap(),
        format!("success,0,19,{DATE}"),
        "{runs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reruns_backfills_and_thread_counts_give_identical_tables() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    tiny(&input, 12).await;
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    // a: a backfill over three days, twice (the second run replaces, never appends).
    run_nightly(&input, &a, &["--from", "2026-10-24", "--to", "2026-10-26"]);
    let first = dump(&input, &a);
    let first_history = history_dump(&input, &a);
    run_nightly(&input, &a, &["--from", "2026-10-24", "--to", "2026-10-26"]);
    assert_eq!(dump(&input, &a), first);
    assert_eq!(history_dump(&input, &a), first_history);
    // b: each day alone, out of order.
    for d in ["2026-10-26", "2026-10-24", "2026-10-25"] {
        run_nightly(&input, &b, &["--date", d]);
    }
    assert_eq!(dump(&input, &b), first);
    // 10-26 ran before the dates it builds on; run again after them, it
    // equals the backfill.
    run_nightly(&input, &b, &["--date", "2026-10-26"]);
    assert_eq!(history_dump(&input, &b), first_history);
    // c: one thread.
    run_nightly(
        &input,
        &c,
        &[
            "--from",
            "2026-10-24",
            "--to",
            "2026-10-26",
            "--threads",
            "1",
        ],
    );
    assert_eq!(dump(&input, &c), first);
    assert_eq!(history_dump(&input, &c), first_history);
    let n = sql_csv(&input, &a, "SELECT count(DISTINCT dt) FROM daily_sessions");
    assert_eq!(n.lines().nth(1).unwrap(), "3");
    let runs = sql_csv(
        &input,
        &a,
        "SELECT count(*) FROM runs WHERE status = 'success'",
    );
    assert_eq!(runs.lines().nth(1).unwrap(), "6");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_commit_leaves_no_partial_result_visible() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let clean = dir.path().join("clean");
    tiny(&input, 13).await;
    run_nightly(&input, &output, &["--date", "2026-10-24"]);
    let before = dump(&input, &output);

    let args = nightly_args(&input, &output, &["--date", "2026-10-25"]);
    let killed = halo(&args, &[("HALO_FAIL_AFTER_COMMITS", "1")]);
    assert_ne!(
        killed.status.code(),
        Some(0),
        "the test hook aborts the process"
    );
    // The first table really was committed by the killed run ...
    let log = std::fs::read_dir(output.join("daily_sessions/_delta_log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(
        log, 2,
        "daily_sessions has the first run's commit and the killed run's"
    );
    // ... but readers see the state before it.
    assert_eq!(dump(&input, &output), before);

    // The next run rolls the killed run back and records it.
    let s = run_nightly(&input, &output, &["--date", "2026-10-25"]);
    assert_eq!(s["recovered_runs"].as_array().unwrap().len(), 1, "{s}");
    let rolled = sql_csv(
        &input,
        &output,
        "SELECT count(*) FROM runs WHERE status = 'rolled_back'",
    );
    assert_eq!(rolled.lines().nth(1).unwrap(), "1");
    run_nightly(&input, &clean, &["--date", "2026-10-24"]);
    run_nightly(&input, &clean, &["--date", "2026-10-25"]);
    assert_eq!(dump(&input, &output), dump(&input, &clean));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plans_every_step_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    tiny(&input, 14).await;
    let s = run_nightly(&input, &output, &["--dry-run"]);
    assert_eq!(s["status"], "dry_run");
    // The default date is the last complete New York day of the data (which ends 2026-11-01 00:00 UTC).
    assert_eq!(s["dates"][0]["date"], "2026-10-30", "{s}");
    assert_eq!(
        s["dates"][0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["status"] == "planned")
            .count(),
        18
    );
    // Every Parquet file the generator wrote, and nothing else.
    let generated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(input.join("_generator.json")).unwrap())
            .unwrap();
    let truth_files = walk(&input.join("_truth")).len();
    assert_eq!(
        s["input_files"].as_array().unwrap().len() as u64,
        generated["files"].as_u64().unwrap() - truth_files as u64,
        "{s}"
    );
    assert!(!output.exists(), "a dry run writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_tables_missing_skip_the_steps_that_need_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    tiny(&input, 15).await;
    std::fs::remove_dir_all(input.join("clicks")).unwrap();
    std::fs::remove_dir_all(input.join("commission_plans")).unwrap();
    std::fs::remove_dir_all(input.join("costs")).unwrap();
    let out = dir.path().join("out");
    let s = run_nightly(&input, &out, &["--date", DATE]);
    assert_eq!(s["status"], "success");
    let steps = s["dates"][0]["steps"].as_array().unwrap();
    let skipped: Vec<_> = steps
        .iter()
        .filter(|x| x["status"] == "skipped")
        .map(|x| x["step"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["creator_daily", "creator_momentum"]);
    let creator_daily = steps.iter().find(|x| x["step"] == "creator_daily").unwrap();
    assert_eq!(creator_daily["reason"], "input table clicks is absent");
    // Attribution needs no optional table: without clicks it still runs.
    let attribution = steps.iter().find(|x| x["step"] == "attribution").unwrap();
    assert_eq!(attribution["status"], "ok");
    // Without plans or costs, payouts say why nothing is paid and ROI still runs.
    for step in ["payouts", "creator_roi", "performance_by"] {
        let st = steps.iter().find(|x| x["step"] == step).unwrap();
        assert_eq!(st["status"], "ok", "{step}");
    }
    let lines = sql_csv(
        &input,
        &out,
        "SELECT DISTINCT status, reason LIKE 'no commission plan%' FROM payout_lines",
    );
    assert_eq!(
        lines.lines().skip(1).collect::<Vec<_>>(),
        ["not_commissionable,true"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_exchange_rate_stops_the_date_with_65_naming_currency_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    tiny(&input, 16).await;
    // Keep only USD rates.
    let path = input.join("fx_rates/part-0.parquet");
    let batches = read_all(&input.join("fx_rates"));
    let b = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let keep = arrow::compute::kernels::cmp::eq(
        b.column_by_name("currency").unwrap(),
        &arrow::array::StringArray::new_scalar("USD"),
    )
    .unwrap();
    let b = arrow::compute::filter_record_batch(&b, &keep).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        b.schema(),
        None,
    )
    .unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    let out = halo(
        &[
            "run",
            nightly(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            dir.path().join("out").to_str().unwrap(),
            "--date",
            DATE,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(65));
    let s = summary(&String::from_utf8_lossy(&out.stdout));
    let err = s["dates"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("fx_rates_present.sql") && err.contains("EUR") && err.contains(DATE),
        "{err}"
    );
    assert!(
        !dir.path().join("out/daily_orders").exists(),
        "nothing of the failed date is committed"
    );
    let runs = sql_csv(
        &input,
        &dir.path().join("out"),
        "SELECT status, exit_code FROM runs",
    );
    assert_eq!(runs.lines().nth(1).unwrap(), "failed,65");
}
