//! End-to-end benchmark: generates a data set once (cached outside the repo),
//! runs the nightly job for one date and a 7-day backfill, and prints rows per
//! second per step and the peak resident memory.
//!
//! `cargo bench --bench e2e` (scale `large` by default; `HALO_BENCH_SCALE=small`
//! for a quick look; `HALO_BENCH_DIR` for the cache, default `~/.cache/halo-bench`;
//! `HALO_BENCH_ONE_DATE=1` skips the backfill).

use std::path::PathBuf;
use std::time::Instant;

use halo::runner::{Dates, RunOptions, job::Job};
use halo::session::SessionOptions;
use halo::storage::{Storage, parse_root};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    // `cargo bench` passes --bench; nothing else is expected.
    let scale_name = std::env::var("HALO_BENCH_SCALE").unwrap_or_else(|_| "large".into());
    let cache = std::env::var("HALO_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/halo-bench")
        });
    let data = cache.join(format!("{scale_name}-seed7"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let storage = Storage::new();
    let root = parse_root(data.to_str().expect("utf-8 path")).expect("root");
    if !data.join("_generator.json").exists() {
        let t = Instant::now();
        let opts = halo::generate::GenerateOptions {
            out: root.clone(),
            scale: halo::generate::scale(&scale_name).expect("scale"),
            seed: 7,
            end: halo::generate::default_end(),
        };
        let s = rt
            .block_on(halo::generate::generate(&storage, &opts))
            .expect("generate");
        let secs = t.elapsed().as_secs_f64();
        let rows: u64 = s
            .rows
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(_, v)| v)
            .sum();
        println!(
            "generate {scale_name}: {rows} rows, {:.1} MiB, {secs:.1} s, {:.0} rows/s",
            s.bytes as f64 / 1048576.0,
            rows as f64 / secs
        );
    }
    let job = Job::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("jobs/nightly.toml"))
        .expect("job");
    let end = halo::generate::default_end();
    for (label, dates) in [
        ("one date", Dates::One(end - chrono::Duration::days(3))),
        (
            "7-day backfill",
            Dates::Range(
                end - chrono::Duration::days(9),
                end - chrono::Duration::days(3),
            ),
        ),
    ] {
        if label != "one date" && std::env::var("HALO_BENCH_ONE_DATE").is_ok() {
            continue;
        }
        let out = tempfile::tempdir().expect("tempdir");
        let opts = RunOptions {
            job: job.clone(),
            input: root.clone(),
            output: parse_root(out.path().to_str().expect("utf-8")).expect("out"),
            dates,
            dry_run: false,
            now: chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
                .expect("time")
                .to_utc(),
            storage: storage.clone(),
            session: SessionOptions::default(),
            lease_timeout: halo::lease::DEFAULT_TIMEOUT,
        };
        let t = Instant::now();
        let s = rt.block_on(halo::runner::run(opts)).expect("run");
        let secs = t.elapsed().as_secs_f64();
        let input_rows: u64 = s.inputs.iter().map(|t| t.counts.rows).sum();
        let load_secs = s.load_ms as f64 / 1000.0;
        println!(
            "\n{scale_name}, {label}: {secs:.1} s in all; load and validate {input_rows} input rows: {load_secs:.1} s, {:.0} rows/s",
            input_rows as f64 / load_secs
        );
        for d in &s.dates {
            if let Some(e) = &d.error {
                println!("  {} {:?}: {e}", d.date, d.status);
            }
            for st in &d.steps {
                let rate = if st.duration_ms > 0 {
                    st.rows_in as f64 / (st.duration_ms as f64 / 1000.0)
                } else {
                    0.0
                };
                println!(
                    "  {} {:<18} rows_in {:>10} rows_out {:>8} {:>7} ms {:>12.0} rows/s",
                    d.date, st.step, st.rows_in, st.rows_out, st.duration_ms, rate
                );
            }
        }
    }
    match peak_rss_mib() {
        Some(m) => println!("\npeak resident memory: {m:.0} MiB"),
        None => println!("\npeak resident memory: not available on this platform"),
    }
}
