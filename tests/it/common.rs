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

/// The JSON summary a `halo run` printed.
pub fn summary(stdout: &str) -> serde_json::Value {
    let line = stdout.lines().last().expect("a summary line");
    serde_json::from_str(line).expect("summary is JSON")
}
