//! Shared helpers: temporary roots, Parquet writers, the CLI.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema};
use halo::generate::{GenerateOptions, default_end, generate, scale};
use halo::storage::{Storage, parse_root};
use parquet::arrow::ArrowWriter;

/// A fixture CSV (plain: no quoting) as one map per row, by header name.
pub fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The nightly job file.
pub fn nightly() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/nightly.toml")
}

/// A fixed wall-clock time after all generated data.
pub const NOW: &str = "2026-11-20T00:00:00Z";

/// Generates the tiny data set for `seed` into `dir`.
pub async fn tiny(dir: &Path, seed: u64) {
    let opts = GenerateOptions {
        out: parse_root(dir.to_str().unwrap()).unwrap(),
        scale: scale("tiny").unwrap(),
        seed,
        end: default_end(),
    };
    generate(&Storage::new(), &opts).await.unwrap();
}

/// Runs the halo binary.
pub fn halo(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_halo"));
    cmd.args(args)
        .env("HALO_NOW", NOW)
        .env_remove("HALO_INPUT")
        .env_remove("HALO_OUTPUT");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("halo runs")
}

/// Runs halo and asserts the exit code; returns stdout.
pub fn halo_ok(args: &[&str]) -> String {
    let out = halo(args, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "halo {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes one batch as a Parquet file, creating folders.
pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Runs a query through `halo sql` and returns its CSV output.
pub fn sql_csv(input: &Path, output: &Path, q: &str) -> String {
    halo_ok_on(input, output, &["sql", q, "--format", "csv"])
}

/// Runs halo on the `input` and `output` roots and asserts success; returns stdout.
pub fn halo_ok_on(input: &Path, output: &Path, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend_from_slice(&[
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    halo_ok(&a)
}

/// The first data row of a CSV of numbers.
pub fn first_row_f64(csv: &str) -> Vec<f64> {
    csv.lines()
        .nth(1)
        .expect("a data row")
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect()
}

/// The arguments of `halo run` for the nightly job from `input` to `output`.
pub fn nightly_args<'a>(input: &'a Path, output: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        nightly(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs the nightly job and returns its JSON summary; the run must succeed.
pub fn run_nightly(input: &Path, output: &Path, extra: &[&str]) -> serde_json::Value {
    summary(&halo_ok(&nightly_args(input, output, extra)))
}

/// The JSON summary a `halo run` printed: all of stdout, one JSON line.
pub fn summary(stdout: &str) -> serde_json::Value {
    only_json(stdout.as_bytes())
}

/// A small job in `dir/jobs/small.toml` over halo's own SQL files: the
/// nightly job's parameters and two steps (daily_sessions, daily_orders with
/// its rates check), so recovery and lease tests run in seconds.
pub fn small_job(dir: &Path) -> std::path::PathBuf {
    let sql = |f: &str| format!("{}/sql/{f}", env!("CARGO_MANIFEST_DIR"));
    let job = dir.join("jobs/small.toml");
    std::fs::create_dir_all(job.parent().unwrap()).unwrap();
    std::fs::write(
        &job,
        format!(
            "name = \"small\"\n[params]\nbase_currency = \"USD\"\ntimezone = \"America/New_York\"\n\
             [[views]]\nname = \"day_rates\"\nsql = \"{}\"\n\
             [[steps]]\nname = \"daily_sessions\"\nsql = \"{}\"\noutput = \"daily_sessions\"\n\
             [[steps]]\nname = \"daily_orders\"\nsql = \"{}\"\nchecks = [\"{}\"]\noutput = \"daily_orders\"\n",
            sql("views/day_rates.sql"),
            sql("nightly/010_daily_sessions.sql"),
            sql("nightly/020_daily_orders.sql"),
            sql("nightly/checks/fx_rates_present.sql"),
        ),
    )
    .unwrap();
    job
}

/// Every line of stdout as JSON: a command's stdout holds its result and
/// nothing else.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The only JSON document on stdout (`halo run`'s summary).
pub fn only_json(stdout: &[u8]) -> serde_json::Value {
    let mut all = json_lines(stdout);
    assert_eq!(all.len(), 1, "stdout holds one JSON line: {all:?}");
    all.remove(0)
}

/// A small valid input with a session and an order on every day from
/// 2026-09-28 to 2026-10-03 (at noon UTC, so on the same New York day).
pub fn minimal_input(root: &Path) {
    use crate::contract::{money, s, ts};
    crate::contract::minimal(root);
    let day = 86_400_000_000i64;
    let noon = crate::contract::T0 - 3 * day;
    let days: Vec<i64> = (0..6).map(|d| noon + d * day).collect();
    let ids = |p: &str| -> Vec<String> { (0..6).map(|d| format!("{p}{d}")).collect() };
    let (sids, aids, oids) = (ids("s"), ids("a"), ids("o"));
    let strs = |v: &Vec<String>| s(&v.iter().map(|x| Some(x.as_str())).collect::<Vec<_>>());
    write_parquet(
        &root.join("sessions/part-0.parquet"),
        vec![
            ("session_id", strs(&sids)),
            ("anonymous_id", strs(&aids)),
            ("started_at", ts(&days)),
            ("channel", s(&[Some("direct"); 6])),
        ],
    );
    write_parquet(
        &root.join("orders/part-0.parquet"),
        vec![
            ("order_id", strs(&oids)),
            ("ordered_at", ts(&days)),
            ("revenue", money(&[1000, 2000, 3000, 4000, 5000, 6000])),
            ("currency", s(&[Some("USD"); 6])),
        ],
    );
}

/// A temp folder with the small input (`minimal_input`), the small job and an
/// output root: the setup of the lease, recovery and CLI tests.
pub struct Small {
    /// The folder (removed when dropped).
    pub dir: tempfile::TempDir,
    /// The input root.
    pub input: std::path::PathBuf,
    /// The output root.
    pub output: std::path::PathBuf,
    /// The small job's file.
    pub job: std::path::PathBuf,
}

impl Small {
    /// A fresh one.
    pub fn new() -> Small {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        minimal_input(&input);
        let job = small_job(dir.path());
        Small {
            output: dir.path().join("out"),
            input,
            job,
            dir,
        }
    }

    /// `halo run JOB --input IN --output <output>` and `extra`.
    pub fn args<'a>(&'a self, output: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "run",
            self.job.to_str().unwrap(),
            "--input",
            self.input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args
    }
}
