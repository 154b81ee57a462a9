//! Dark-social lift against the generator's planted truth, per signal and
//! window, with the checks of issue 12: the estimated total within ±15 % of
//! the planted total, per-post correlation, interval coverage, and
//! detection (few posts with no effect detected, most strong ones found,
//! few detections of posts that did little).
//! Every check must be failed by an estimator that says zero for every post
//! and by the naive method (same minute last week, equal split), so none of
//! them can pass by saying little.
//!
//! The thresholds come from the issue; the data sets are generated here
//! with seeds that were never used while developing the method (the
//! development seeds are named in `docs/lift.md`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use halo::builtin::Table;
use halo::generate::{GenerateOptions, generate, scale};
use halo::lift::{self, Settings, input};
use halo::storage::{Storage, parse_root};

/// Series, posts, known events and truth of a generated data set, read
/// with DataFusion the way `sql/lift/` reads them (the default
/// `lift_signal_channels`, no traffic_minutely).
pub struct Data {
    pub series: input::SeriesRows,
    pub posts: Vec<input::Post>,
    pub events: Vec<input::KnownEvent>,
    /// (content_id, signal) -> planted visits [within 60 min, within 72 h].
    pub truth: HashMap<(String, String), [f64; 2]>,
    /// Posts planted with no effect at all.
    pub null: HashSet<String>,
    /// The last complete day (the run date).
    pub last: NaiveDate,
    /// The first minute of the data.
    pub first_minute: i64,
}

async fn table(ctx: &SessionContext, sql: &str) -> Table {
    let df = ctx.sql(sql).await.unwrap();
    let schema = df.schema().inner().clone();
    Table::new(schema, df.collect().await.unwrap())
}

pub fn utf8(b: &arrow::array::RecordBatch, i: usize) -> arrow::array::StringArray {
    let c = arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Utf8).unwrap();
    c.as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap()
        .clone()
}

pub fn f64s(b: &arrow::array::RecordBatch, i: usize) -> arrow::array::Float64Array {
    let c = arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Float64).unwrap();
    c.as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .unwrap()
        .clone()
}

pub async fn load(dir: &Path) -> Data {
    let ctx = SessionContext::new();
    for t in [
        "sessions",
        "content",
        "_truth/post_visits",
        "marketing_events",
    ] {
        let path = dir.join(t);
        if !path.exists() {
            continue;
        }
        let name = t.rsplit('/').next().unwrap();
        ctx.register_parquet(name, path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
    }
    let series = table(
        &ctx,
        "WITH a AS (SELECT date_trunc('minute', started_at) AS minute, channel, landing_page_type,
                           coalesce(regexp_like(lower(search_query), 'lumora'), false) AS branded,
                           utm_source IS NULL AND utm_medium IS NULL AND utm_campaign IS NULL AS untagged
                    FROM sessions WHERE click_id IS NULL),
              s AS (SELECT *, untagged AND (channel = 'direct' OR (channel = 'organic_search' AND branded)) AS dark
                    FROM a),
              e AS (SELECT minute, 'direct' AS signal FROM s WHERE dark AND channel = 'direct'
                    UNION ALL SELECT minute, 'branded_search' FROM s WHERE dark AND channel = 'organic_search'
                    UNION ALL SELECT minute, 'product_page' FROM s WHERE dark AND landing_page_type = 'product'
                    UNION ALL SELECT minute, 'control' FROM s
                      WHERE NOT dark AND NOT branded AND channel NOT IN ('affiliate', 'organic_social'))
         SELECT minute, signal, 'ALL' AS country, count(*) AS visits FROM e GROUP BY minute, signal",
    )
    .await;
    let posts = table(
        &ctx,
        "SELECT content_id, creator_id, platform, format, published_at FROM content",
    )
    .await;
    let events = if dir.join("marketing_events").exists() {
        input::events(
            &table(
                &ctx,
                "SELECT event_id, kind, starts_at, ends_at FROM marketing_events",
            )
            .await,
        )
        .unwrap()
    } else {
        Vec::new()
    };
    let truth_t = table(
        &ctx,
        "SELECT content_id, signal, true_visits_60m, true_visits_72h, expected_visits FROM post_visits",
    )
    .await;
    let (mut truth, mut null) = (HashMap::new(), HashSet::new());
    for b in &truth_t.batches {
        let (id, sig) = (utf8(b, 0), utf8(b, 1));
        let (w0, w1, ex) = (f64s(b, 2), f64s(b, 3), f64s(b, 4));
        for i in 0..b.num_rows() {
            truth.insert(
                (id.value(i).to_string(), sig.value(i).to_string()),
                [w0.value(i), w1.value(i)],
            );
            if ex.value(i) == 0.0 {
                null.insert(id.value(i).to_string());
            }
        }
    }
    let series = input::series(&series).unwrap();
    let minutes = || series.values().flat_map(|v| v.iter().map(|r| r.0));
    let (first_minute, last_minute) = (minutes().min().unwrap(), minutes().max().unwrap());
    let last = chrono::DateTime::from_timestamp(last_minute * 60, 0)
        .unwrap()
        .date_naive();
    Data {
        series,
        posts: input::posts(&posts).unwrap(),
        events,
        truth,
        null,
        last: last.pred_opt().unwrap(),
        first_minute,
    }
}

/// One post's estimate over one window, with its truth.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub est: f64,
    pub low: f64,
    pub high: f64,
    pub detected: bool,
    pub truth: f64,
    pub null: bool,
}

/// The checks of one (method, signal, window), each with the value it
/// checked.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    pub posts: usize,
    /// Σ estimate / Σ truth.
    pub total_ratio: f64,
    pub corr: f64,
    pub coverage: f64,
    /// Detected among posts planted with no effect.
    pub false_detected: f64,
    /// Detected among posts with at least `STRONG` planted visits.
    pub recall: f64,
    /// Detected posts with at least `REAL` planted visits, among the detected.
    pub precision: f64,
}

/// A detected post with fewer planted visits than this is a false alarm for
/// precision.
pub const REAL: f64 = 10.0;

/// A post with at least this many planted visits in the window counts as
/// strong for recall.
pub const STRONG: f64 = 60.0;

/// Minimum per-post correlation: the targets.
pub fn min_corr(signal: &str, window: usize) -> f64 {
    if window == 0 && signal != "product_page" {
        0.9
    } else {
        0.8
    }
}

impl Checks {
    pub fn of(rows: &[Row]) -> Checks {
        let n = rows.len();
        let est: Vec<f64> = rows.iter().map(|r| r.est).collect();
        let tru: Vec<f64> = rows.iter().map(|r| r.truth).collect();
        let null: Vec<&Row> = rows.iter().filter(|r| r.null).collect();
        let strong: Vec<&Row> = rows.iter().filter(|r| r.truth >= STRONG).collect();
        Checks {
            posts: n,
            total_ratio: est.iter().sum::<f64>() / tru.iter().sum::<f64>(),
            corr: pearson(&est, &tru),
            coverage: rows
                .iter()
                .filter(|r| r.low <= r.truth && r.truth <= r.high)
                .count() as f64
                / n as f64,
            false_detected: null.iter().filter(|r| r.detected).count() as f64
                / null.len().max(1) as f64,
            recall: strong.iter().filter(|r| r.detected).count() as f64
                / strong.len().max(1) as f64,
            precision: rows
                .iter()
                .filter(|r| r.detected && r.truth >= REAL)
                .count() as f64
                / rows.iter().filter(|r| r.detected).count().max(1) as f64,
        }
    }

    /// Which checks fail, by name (empty: all pass).
    pub fn failures(&self, signal: &str, window: usize) -> Vec<&'static str> {
        let mut f = Vec::new();
        if !((0.85..=1.15).contains(&self.total_ratio)) {
            f.push("total");
        }
        if !(self.corr >= min_corr(signal, window)) {
            f.push("correlation");
        }
        if !((0.90..=0.97).contains(&self.coverage)) {
            f.push("coverage");
        }
        if !(self.false_detected < 0.05 && self.recall >= 0.5 && self.precision >= 0.8) {
            f.push("detection");
        }
        f
    }
}

pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    cov / (va * vb).sqrt()
}

/// The settings the accuracy tests use: the defaults, with the history and
/// the summary over the whole data set so every post is estimated.
pub fn settings() -> Settings {
    Settings {
        history_days: 60,
        summary_days: 60,
        ..Settings::default()
    }
}

/// `settings()` with the development report's overrides:
/// `HALO_LIFT_SET="level_minutes=360,refine=3"` (never read by the tests
/// that assert).
fn development_settings() -> Settings {
    let mut s = settings();
    if let Ok(set) = std::env::var("HALO_LIFT_SET") {
        for kv in set.split(',').filter(|x| !x.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap();
            let f: f64 = v.parse().unwrap();
            match k {
                "level_minutes" => s.level_minutes = f as usize,
                "refine" => s.refine = f as usize,
                "level_prior" => s.level_prior = f,
                "kernel_prior_posts" => s.kernel_prior_posts = f,
                "guard_minutes" => s.guard_minutes = f as usize,
                "smooth_minutes" => s.smooth_minutes = f as usize,
                other => panic!("unknown setting {other}"),
            }
        }
    }
    s
}

pub fn estimate_all(d: &Data) -> lift::Estimates {
    estimate_with(d, &settings())
}

fn estimate_with(d: &Data, s: &Settings) -> lift::Estimates {
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
    lift::estimate(
        &d.series,
        d.posts.clone(),
        &[],
        &d.events,
        d.last,
        30,
        tz,
        s,
    )
    .unwrap()
}

/// Posts with three weeks of history before them.
fn judged(d: &Data, published_at: i64) -> bool {
    published_at / 60_000_000 >= d.first_minute + 21 * 1440
}

/// halo's rows for a signal and window: judged posts whose window closed.
pub fn halo_rows(d: &Data, est: &lift::Estimates, signal: &str, w: usize) -> Vec<Row> {
    let fdr = settings().fdr;
    est.rows
        .iter()
        .filter(|r| r.signal == signal && r.windows[w].complete)
        .filter(|r| judged(d, est.posts[r.post].published_at))
        .map(|r| {
            let id = &est.posts[r.post].content_id;
            let x = &r.windows[w];
            Row {
                est: x.lift,
                low: x.lift_low,
                high: x.lift_high,
                detected: r.q[w] < fdr,
                truth: d.truth[&(id.clone(), signal.to_string())][w],
                null: d.null.contains(id),
            }
        })
        .collect()
}

/// The zero estimator on the same posts: nothing, with no width.
pub fn zero_rows(rows: &[Row]) -> Vec<Row> {
    rows.iter()
        .map(|r| Row {
            est: 0.0,
            low: 0.0,
            high: 0.0,
            detected: false,
            ..*r
        })
        .collect()
}

/// The naive method: the same minute a week earlier as the baseline, each
/// minute's excess split equally over the posts whose window covers it,
/// Poisson intervals, detected at z > 1.96.
pub fn naive_rows(d: &Data, signal: &str, w: usize) -> Vec<Row> {
    let rows = &d.series[&(signal.to_string(), "ALL".to_string())];
    let start = rows.iter().map(|r| r.0).min().unwrap();
    let end = rows.iter().map(|r| r.0).max().unwrap() + 1;
    let n = (end - start) as usize;
    let y = lift::dense(rows, start, n);
    let len = if w == 0 { 60 } else { 72 * 60 };
    let minutes: Vec<i64> = d
        .posts
        .iter()
        .map(|p| p.published_at / 60_000_000 - start)
        .collect();
    let mut cover = vec![0u32; n];
    for &m in &minutes {
        for c in cover.iter_mut().skip(m.max(0) as usize).take(len) {
            *c += 1;
        }
    }
    let mut out = Vec::new();
    for (k, &m) in minutes.iter().enumerate() {
        let p = &d.posts[k];
        if m < 10_080 || m as usize + len > n || !judged(d, p.published_at) {
            continue;
        }
        let m = m as usize;
        let (mut lift, mut var) = (0.0, 0.0);
        for t in m..m + len {
            lift += (y[t] - y[t - 10_080]) / cover[t] as f64;
            var += (y[t] + y[t - 10_080]) / (cover[t] as f64).powi(2);
        }
        let se = var.sqrt();
        out.push(Row {
            est: lift,
            low: lift - 1.96 * se,
            high: lift + 1.96 * se,
            detected: lift / se > 1.96,
            truth: d.truth[&(p.content_id.clone(), signal.to_string())][w],
            null: d.null.contains(&p.content_id),
        });
    }
    out
}

pub fn report(name: &str, c: &Checks) {
    eprintln!(
        "{name}: posts {} total {:.3} corr {:.3} coverage {:.3} false-detected {:.3} recall {:.2} precision {:.2}",
        c.posts, c.total_ratio, c.corr, c.coverage, c.false_detected, c.recall, c.precision
    );
}

pub const SIGNALS: [&str; 3] = ["direct", "branded_search", "product_page"];
pub const WINDOWS: [&str; 2] = ["immediate", "extended"];

/// Generates `scale` with `seed` into a temp folder.
pub async fn generated(scale_name: &str, seed: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        out: parse_root(dir.path().to_str().unwrap()).unwrap(),
        scale: scale(scale_name).unwrap(),
        seed,
        end: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    };
    generate(&Storage::new(), &opts).await.unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// Every (signal, window) of a data set: halo's failing checks, and the
/// checks the zero estimator or the naive method pass (both must be empty).
pub fn judge(name: &str, d: &Data, est: &lift::Estimates) -> (Vec<String>, Vec<String>) {
    let (mut failed, mut trivial) = (Vec::new(), Vec::new());
    for signal in SIGNALS {
        for (w, window) in WINDOWS.iter().enumerate() {
            let ours = halo_rows(d, est, signal, w);
            let c = Checks::of(&ours);
            report(&format!("{name} halo  {signal} {window}"), &c);
            for f in c.failures(signal, w) {
                failed.push(format!("{signal} {window}: {f} ({c:?})"));
            }
            let zero = Checks::of(&zero_rows(&ours));
            let naive = Checks::of(&naive_rows(d, signal, w));
            report(&format!("{name} naive {signal} {window}"), &naive);
            for (method, checks) in [("zero", zero), ("naive", naive)] {
                let fails = checks.failures(signal, w);
                for check in ["total", "correlation", "coverage", "detection"] {
                    if !fails.contains(&check) {
                        trivial.push(format!(
                            "{method} passes {check} on {signal} {window}: {checks:?}"
                        ));
                    }
                }
            }
        }
    }
    (failed, trivial)
}

/// Development report (not run by default): `HALO_LIFT_DEV=events:101,overlap:201
/// cargo test --test it lift_accuracy::development -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn development() {
    let list = std::env::var("HALO_LIFT_DEV").unwrap_or_else(|_| "events:101".into());
    for item in list.split(',') {
        let (scale_name, seed) = item.split_once(':').unwrap();
        let (_dir, path) = generated(scale_name, seed.parse().unwrap()).await;
        let mut d = load(&path).await;
        if std::env::var("HALO_LIFT_NO_EVENTS").is_ok() {
            d.events.clear();
        }
        let est = estimate_with(&d, &development_settings());
        let (failed, trivial) = judge(item, &d, &est);
        if std::env::var("HALO_LIFT_TOP").is_ok() {
            let fdr = settings().fdr;
            let mut rows: Vec<_> = est
                .rows
                .iter()
                .filter(|r| r.signal == "direct" && r.windows[0].complete)
                .map(|r| {
                    let p = &est.posts[r.post];
                    let t = d.truth[&(p.content_id.clone(), "direct".to_string())];
                    (
                        r.windows[0].lift - t[0],
                        r.windows[0].lift,
                        t[0],
                        r.windows[1].lift,
                        t[1],
                        r.q[0] < fdr,
                        p.content_id.clone(),
                        chrono::DateTime::from_timestamp_micros(p.published_at).unwrap(),
                        r.windows[0].overlap_share,
                    )
                })
                .collect();
            rows.sort_by(|a, b| b.0.total_cmp(&a.0));
            for r in rows.iter().take(15) {
                eprintln!("{r:?}");
            }
            for sig in SIGNALS {
                for w in 0..2 {
                    let rs = halo_rows(&d, &est, sig, w);
                    let null: Vec<f64> = rs.iter().filter(|r| r.null).map(|r| r.est).collect();
                    let all: Vec<f64> = rs.iter().map(|r| r.est - r.truth).collect();
                    let strong: Vec<f64> = rs
                        .iter()
                        .filter(|r| r.truth >= 20.0)
                        .map(|r| r.est - r.truth)
                        .collect();
                    let m = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
                    eprintln!(
                        "{sig} w{w}: mean err all {:.2} (n {}), null mean est {:.2} (n {}), strong mean err {:.2} (n {})",
                        m(&all),
                        all.len(),
                        m(&null),
                        null.len(),
                        m(&strong),
                        strong.len()
                    );
                }
            }
            let pos: f64 = rows.iter().map(|r| r.0.max(0.0)).sum();
            let top: f64 = rows.iter().take(10).map(|r| r.0.max(0.0)).sum();
            eprintln!("excess over truth {pos:.0}, top 10 {top:.0}");
        }
        eprintln!("{item}: {} failing checks: {failed:#?}", failed.len());
        eprintln!("{item}: trivial methods passing: {trivial:#?}");
    }
}

/// A newsletter send ten minutes before a post: fitted as its own response,
/// the send's traffic stays with it and the post is not over-credited; read
/// without `marketing_events`, the post takes most of the send's. On
/// expected counts (no noise): 4 visits a minute for five weeks, a send of
/// 400 visits and a post of 60, both decaying with a 30-minute half-life.
/// (Ten minutes apart with the same shape, the two are barely separable: the
/// send, fitted first in time, keeps nearly all of it; the post's own 45
/// visits are under-credited. Shrinkage toward the creator's usual posts is
/// what separates them on real data.)
#[test]
fn a_known_send_keeps_its_traffic_from_a_post_beside_it() {
    let day0 = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let start = day0.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() / 60;
    let days = 35;
    let n = days * 1440;
    let send = (n - 3 * 1440 + 15 * 60) as i64; // three days before the end, 15:00 UTC
    let post = send + 10;
    let decay = |t0: i64, total: f64, m: i64| -> f64 {
        if m < t0 {
            return 0.0;
        }
        let r = std::f64::consts::LN_2 / 30.0;
        let x = (m - t0) as f64;
        total * ((-r * x).exp() - (-r * (x + 1.0)).exp())
    };
    let rows: Vec<(i64, f64)> = (0..n as i64)
        .map(|m| {
            (
                start + m,
                4.0 + decay(send, 400.0, m) + decay(post, 60.0, m),
            )
        })
        .collect();
    let mut series = input::SeriesRows::new();
    series.insert(("direct".into(), "ALL".into()), rows);
    let posts = vec![input::Post {
        content_id: "p1".into(),
        creator_id: "c1".into(),
        platform: "instagram".into(),
        format: "reel".into(),
        published_at: (start + post) * 60_000_000,
    }];
    let events = vec![input::KnownEvent {
        event_id: "e1".into(),
        kind: "email_send".into(),
        starts_minute: start + send,
        ends_minute: None,
    }];
    let s = Settings {
        signals: vec!["direct".into()],
        order_signals: vec!["direct".into()],
        history_days: 60,
        summary_days: 60,
        placebos: 0,
        ..Settings::default()
    };
    let tz: chrono_tz::Tz = "UTC".parse().unwrap();
    let last = day0 + chrono::Duration::days(days as i64 - 1);
    let lift_of = |events: &[input::KnownEvent]| {
        let est = lift::estimate(&series, posts.clone(), &[], events, last, 30, tz, &s).unwrap();
        est.rows[0].windows[0].lift
    };
    let planted: f64 = (post..post + 60).map(|m| decay(post, 60.0, m)).sum();
    let (with, without) = (lift_of(&events), lift_of(&[]));
    eprintln!("planted {planted:.1}, with the send known {with:.1}, without {without:.1}");
    assert!(with <= planted + 5.0, "with {with}, planted {planted}");
    assert!(
        (with - planted).abs() * 3.0 < (without - planted).abs(),
        "with {with}, without {without}, planted {planted}"
    );
    assert!(
        without > planted + 150.0,
        "without {without}, planted {planted}"
    );
}

/// The checks are ones a method must earn: on a seed never used while
/// developing, the zero estimator and the naive method fail every one of
/// them, on every signal and window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trivial_estimators_fail_every_check() {
    for (scale_name, seed) in [("events", 9002), ("overlap", 9102)] {
        let (_dir, path) = generated(scale_name, seed).await;
        let d = load(&path).await;
        let est = estimate_all(&d);
        let (failed, trivial) = judge(&format!("{scale_name}:{seed}"), &d, &est);
        eprintln!(
            "{scale_name}:{seed}: halo fails {} of 24 checks: {failed:#?}",
            failed.len()
        );
        assert!(trivial.is_empty(), "{trivial:#?}");
    }
}
