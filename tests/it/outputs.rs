//! Result tables are what their declarations say: every committed table of a
//! nightly run matches its declaration; a SQL step whose result drifts stops
//! with exit 78 naming the column; steps read earlier outputs only through
//! `requires`; parameters the docs call optional can be left out.

use std::path::Path;

use halo::storage::{Storage, parse_root};
use halo::tables::ResultStore;

use crate::common::{halo, minimal_input, nightly, run_nightly, small_job, tiny};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_table_matches_its_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    tiny(&input, 41).await;
    run_nightly(&input, &output, &["--date", "2026-10-25"]);
    let results = ResultStore::new(
        Storage::new(),
        parse_root(output.to_str().unwrap()).unwrap(),
    )
    .unwrap();
    let ctx = halo::session::session(Default::default()).unwrap();
    let names = results.register_all(&ctx).await.unwrap();
    let declared: Vec<&str> = halo::tables::contract::TABLES
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let mut committed = names.clone();
    committed.sort();
    let mut expected: Vec<&str> = declared.clone();
    expected.sort();
    assert_eq!(committed, expected, "a run commits every declared table");
    for name in &names {
        let df = ctx.table(name.as_str()).await.unwrap();
        halo::tables::contract::table(name)
            .unwrap()
            .check(df.schema().as_arrow())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// A job with one SQL step and its own declaration of the result.
fn drift_job(dir: &Path, sql: &str, columns: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("step.sql"), sql).unwrap();
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "name = \"x\"\n[params]\nbase_currency = \"USD\"\ntimezone = \"UTC\"\n\
             [[steps]]\nname = \"counts\"\nsql = \"step.sql\"\noutput = \"counts\"\n\
             [[tables]]\nname = \"counts\"\npartition = \"run_date\"\ncolumns = [{columns}, \
             {{ name = \"dt\", type = \"date\", nullable = false, doc = \"the run date\" }}]\n"
        ),
    )
    .unwrap();
    job
}

#[test]
fn a_sql_step_whose_result_drifts_from_its_declaration_stops_with_78_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    minimal_input(&input);
    let cols = "{ name = \"channel\", type = \"string\", doc = \"c\" }, { name = \"sessions\", type = \"int64\", doc = \"n\" }";
    let out_dir = dir.path().join("out");
    let run = |job: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            job.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out_dir.to_str().unwrap(),
            "--date",
            "2026-10-01",
        ];
        args.extend_from_slice(extra);
        halo(&args, &[])
    };
    // As declared: it commits.
    let ok = drift_job(
        dir.path(),
        "SELECT channel, count(*) AS sessions FROM sessions GROUP BY channel",
        cols,
    );
    let out = run(&ok, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (sql, want) in [
        (
            "SELECT channel, CAST(count(*) AS DOUBLE) AS sessions FROM sessions GROUP BY channel",
            "result table counts: column sessions should be int64, but the step's output is float64",
        ),
        (
            "SELECT count(*) AS sessions, channel FROM sessions GROUP BY channel",
            "result table counts: column 1 should be channel, but the step's output has sessions there",
        ),
        (
            "SELECT channel, count(*) AS sessions, 1 AS extra FROM sessions GROUP BY channel",
            "result table counts: the step's output has a column extra (int64) that the table does not declare",
        ),
        (
            "SELECT channel FROM sessions",
            "result table counts: column sessions (int64) is missing from the step's output",
        ),
    ] {
        let job = drift_job(dir.path(), sql, cols);
        for extra in [&[][..], &["--dry-run"][..]] {
            let out = run(&job, extra);
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + String::from_utf8_lossy(&out.stderr).as_ref();
            assert_eq!(out.status.code(), Some(78), "{extra:?} {sql}: {text}");
            assert!(text.contains(want), "{extra:?} {sql}: {text}");
            assert!(
                text.contains("step.sql"),
                "the message names the file: {text}"
            );
        }
    }
    // The drifted runs committed nothing over the first one.
    let csv = crate::common::sql_csv(
        &input,
        &dir.path().join("out"),
        "SELECT count(*) AS versions FROM runs WHERE status = 'success'",
    );
    assert_eq!(csv, "versions\n1\n");
}

#[test]
fn a_step_reading_an_earlier_output_must_require_it_and_require_only_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    minimal_input(&input);
    let nightly_text = std::fs::read_to_string(nightly()).unwrap();
    let root = dir.path().join("proj");
    std::fs::create_dir_all(root.join("jobs")).unwrap();
    for d in ["sql", "rules", "templates"] {
        std::os::unix::fs::symlink(Path::new(env!("CARGO_MANIFEST_DIR")).join(d), root.join(d))
            .unwrap();
    }
    let out_dir = dir.path().join("out");
    for (from, to, want) in [
        (
            "requires = [\"roi_facts\"]\noutput = \"creator_roi\"",
            "output = \"creator_roi\"",
            "step creator_roi reads roi_facts, written by step roi_facts, but its `requires` does not list roi_facts",
        ),
        (
            "requires = [\"roi_facts\"]\noutput = \"creator_roi\"",
            "requires = [\"roi_facts\", \"journeys\"]\noutput = \"creator_roi\"",
            "step creator_roi requires journeys, but its SQL never reads journeys",
        ),
        (
            "requires = [\"roi_facts\"]\noutput = \"creator_roi\"",
            "requires = [\"roi_facts\", \"performance_by\"]\noutput = \"creator_roi\"",
            "step creator_roi requires 'performance_by', which is written by a later step",
        ),
    ] {
        assert!(nightly_text.contains(from));
        let job = root.join("jobs/nightly.toml");
        std::fs::write(&job, nightly_text.replace(from, to)).unwrap();
        for extra in [
            &["--date", "2026-10-01"][..],
            &["--date", "2026-10-01", "--dry-run"][..],
        ] {
            let mut args = vec![
                "run",
                job.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--output",
                out_dir.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            let out = halo(&args, &[]);
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + String::from_utf8_lossy(&out.stderr).as_ref();
            assert_eq!(out.status.code(), Some(78), "{to}: {text}");
            assert!(text.contains(want), "{to}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_leaves_out_every_optional_parameter_gives_the_nightly_results() {
    // The nightly job sets its optional parameters to their defaults; a job
    // without any of them must render every SQL file and give equal tables.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    tiny(&input, 42).await;
    let text = std::fs::read_to_string(nightly()).unwrap();
    let start = text.find("[params.extra]").unwrap();
    let end = text.find("# Views are registered").unwrap();
    let bare = format!("{}{}", &text[..start], &text[end..]);
    assert!(!bare.contains("lift_history_days") && !bare.contains("recommend_target_roas"));
    let root = dir.path().join("proj");
    std::fs::create_dir_all(root.join("jobs")).unwrap();
    for d in ["sql", "rules", "templates"] {
        std::os::unix::fs::symlink(Path::new(env!("CARGO_MANIFEST_DIR")).join(d), root.join(d))
            .unwrap();
    }
    let job = root.join("jobs/bare.toml");
    std::fs::write(&job, bare).unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let args = |job: &str, out: &Path| {
        vec![
            "run".to_string(),
            job.to_string(),
            "--input".into(),
            input.to_str().unwrap().into(),
            "--output".into(),
            out.to_str().unwrap().into(),
            "--date".into(),
            "2026-10-25".into(),
        ]
    };
    for (j, out) in [
        (nightly().to_string(), &a),
        (job.to_str().unwrap().to_string(), &b),
    ] {
        let args = args(&j, out);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = halo(&args, &[]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(crate::run::dump(&input, &b), crate::run::dump(&input, &a));
}

#[test]
fn a_misspelt_optional_parameter_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.toml");
    std::fs::write(
        &job,
        "name = \"x\"\n[params]\nbase_currency = \"USD\"\ntimezone = \"UTC\"\n[params.extra]\nlift_histroy_days = 30\n\
         [[steps]]\nname = \"d\"\nsql = \"d.sql\"\noutput = \"daily_sessions\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("d.sql"), "SELECT 1").unwrap();
    let out = halo(&["run", job.to_str().unwrap(), "--date", "2026-10-01"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("params.extra.lift_histroy_days is not a parameter halo knows (did you mean lift_history_days?)"),
        "{err}"
    );
    // A retired parameter says what replaced it instead of doing nothing.
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(
        &job,
        text.replace("lift_histroy_days = 30", "roi_prior_orders = 20"),
    )
    .unwrap();
    let out = halo(&["run", job.to_str().unwrap(), "--date", "2026-10-01"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("params.extra.roi_prior_orders was retired: performance_by now estimates its prior from the data"),
        "{err}"
    );
    let _ = small_job;
}
