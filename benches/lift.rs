//! Dark-social lift benchmark: one year of minute data, four signals and
//! 10,000 posts (synthetic, with planted responses), through
//! `lift::estimate` (all signals in parallel, as the nightly step runs it).
//!
//! Prints seconds, minute points per second, post-signal fits per second,
//! the EM steps of each signal, and the correlation of the estimated with
//! the planted extended-window response (a sanity check, not a test).
//!
//! `cargo bench --bench lift` (set `HALO_LIFT_POSTS` / `HALO_LIFT_DAYS` to
//! change the size).

use std::time::Instant;

use chrono::{NaiveDate, TimeZone};
use halo::lift::{self, Settings, input};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};

const SIGNALS: [(&str, f64, f64); 4] = [
    // name, baseline per minute at the daily mean, share of a post's response
    ("direct", 2.0, 0.45),
    ("branded_search", 1.2, 0.35),
    ("product_page", 3.0, 0.4),
    ("orders", 0.15, 0.03),
];
const FORMATS: [(&str, f64, f64); 4] = [
    // name, fast half-life (min), slow share (half-life 12 h)
    ("story", 30.0, 0.05),
    ("reel", 60.0, 0.2),
    ("video", 180.0, 0.5),
    ("article", 240.0, 0.6),
];

fn main() {
    let posts_n: usize = std::env::var("HALO_LIFT_POSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let days: usize = std::env::var("HALO_LIFT_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(365);
    let n = days * 1440;
    let end = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let start_minute = chrono::Utc
        .from_utc_datetime(
            &(end - chrono::Duration::days(days as i64))
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        )
        .timestamp()
        / 60;
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    // posts: uniform times after the first 28 days, log-normal sizes
    let size = LogNormal::new(3.0, 1.0).unwrap();
    let mut posts: Vec<(usize, usize, f64)> = (0..posts_n)
        .map(|_| {
            (
                rng.random_range(28 * 1440..n - 60),
                rng.random_range(0..FORMATS.len()),
                size.sample(&mut rng),
            )
        })
        .collect();
    posts.sort_by_key(|p| p.0);
    // per-format response kernels over 72 h (minute resolution)
    let kernels: Vec<Vec<f64>> = FORMATS
        .iter()
        .map(|&(_, h, slow)| {
            let mut k: Vec<f64> = (0..4320)
                .map(|t| {
                    let t = t as f64;
                    (1.0 - slow) * (0.5f64.powf(t / h) - 0.5f64.powf((t + 1.0) / h))
                        + slow * (0.5f64.powf(t / 720.0) - 0.5f64.powf((t + 1.0) / 720.0))
                })
                .collect();
            let s: f64 = k.iter().sum();
            k.iter_mut().for_each(|x| *x /= s);
            k
        })
        .collect();
    let t0 = Instant::now();
    let mut series = input::SeriesRows::new();
    let mut planted: Vec<Vec<f64>> = Vec::new();
    for &(name, level, share) in &SIGNALS {
        let mut lam: Vec<f64> = (0..n)
            .map(|i| {
                let hour = ((i / 60) + 24 - 5) % 24;
                let day = 0.6 + 0.8 * (std::f64::consts::PI * hour as f64 / 24.0).sin().powi(2);
                let week = [1.0, 1.02, 1.0, 0.97, 0.93, 0.86, 0.95][(i / 1440) % 7];
                level * day * week
            })
            .collect();
        let mut truth = Vec::with_capacity(posts.len());
        for &(m, f, a) in &posts {
            truth.push(a * share);
            for (t, g) in kernels[f].iter().enumerate() {
                if m + t < n {
                    lam[m + t] += a * share * g;
                }
            }
        }
        let rows: Vec<(i64, f64)> = lam
            .iter()
            .enumerate()
            .filter_map(|(i, &l)| {
                let y = Poisson::new(l).unwrap().sample(&mut rng);
                (y > 0.0).then_some((start_minute + i as i64, y))
            })
            .collect();
        series.insert((name.to_string(), "ALL".to_string()), rows);
        planted.push(truth);
    }
    let posts_in: Vec<input::Post> = posts
        .iter()
        .enumerate()
        .map(|(k, &(m, f, _))| input::Post {
            content_id: format!("p{k:06}"),
            creator_id: format!("c{:04}", k % 500),
            platform: "instagram".into(),
            format: FORMATS[f].0.into(),
            published_at: (start_minute + m as i64) * 60_000_000 + 1,
        })
        .collect();
    eprintln!(
        "synthesised {} points in {:.1} s",
        4 * n,
        t0.elapsed().as_secs_f64()
    );
    let mut s = Settings {
        history_days: days,
        summary_days: days,
        ..Settings::default()
    };
    if let Some(t) = std::env::var("HALO_LIFT_TOL")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        s.tolerance = t;
    }
    let tz: chrono_tz::Tz = "UTC".parse().unwrap();
    let date = end - chrono::Duration::days(1);
    let t = Instant::now();
    let est = lift::estimate(&series, posts_in, &[], &[], date, 10, tz, &s).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let points = 4 * n;
    println!(
        "lift: {days} days x 4 signals = {points} minute points, {posts_n} posts: {secs:.2} s, {:.2} M points/s, {:.0} post-signal fits/s ({} threads)",
        points as f64 / secs / 1e6,
        (posts_n * 4) as f64 / secs,
        rayon::current_num_threads()
    );
    for (sig, steps, disp) in &est.diagnostics {
        println!("  {sig}: {steps} EM steps in the last round, dispersion {disp:.3}");
    }
    for (si, &(name, _, _)) in SIGNALS.iter().enumerate() {
        let rows: Vec<_> = est
            .rows
            .iter()
            .filter(|r| r.signal == name && r.windows[1].complete)
            .collect();
        let est_v: Vec<f64> = rows.iter().map(|r| r.windows[1].lift).collect();
        let tru: Vec<f64> = rows.iter().map(|r| planted[si][r.post] * 0.99).collect();
        let m = est_v.len() as f64;
        let (ma, mb) = (est_v.iter().sum::<f64>() / m, tru.iter().sum::<f64>() / m);
        let cov: f64 = est_v
            .iter()
            .zip(&tru)
            .map(|(a, b)| (a - ma) * (b - mb))
            .sum();
        let va: f64 = est_v.iter().map(|a| (a - ma).powi(2)).sum();
        let vb: f64 = tru.iter().map(|b| (b - mb).powi(2)).sum();
        let covered = rows
            .iter()
            .zip(&tru)
            .filter(|(r, t)| r.windows[1].lift_low <= **t && **t <= r.windows[1].lift_high)
            .count();
        println!(
            "  {name}: {} posts, corr(estimate, planted) {:.3}, interval coverage {:.3}",
            rows.len(),
            cov / (va * vb).sqrt(),
            covered as f64 / m
        );
    }
}
