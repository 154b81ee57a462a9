//! Dark-social lift: traffic spikes with no tracked click, tied to the posts
//! that caused them and turned into incremental visits, orders and revenue
//! (`docs/lift.md`).
//!
//! DataFusion extracts the per-minute series, the posts and each order's
//! last eligible visit (`sql/lift/`); this module does the per-series
//! numerics in plain Rust, one series per rayon task:
//! [`baseline`] (robust seasonal baseline), [`kernel`] (response kernels),
//! [`fit`] (amplitudes, overlap split, lift, placebo uncertainty, per-visit
//! probabilities), [`stats`], and [`output`] (the result tables).

pub mod baseline;
pub mod calendar;
pub mod fit;
pub mod input;
pub mod kernel;
pub mod output;
pub mod settings;
pub mod stats;

use std::collections::BTreeMap;

use chrono::Duration;
use chrono_tz::Tz;
use rayon::prelude::*;

use datafusion::prelude::DataFrame;

use crate::builtin::{self, Context, Table};
use crate::error::{Error, Result};
use crate::time::{day_start_micros, days_since_epoch};

pub use calendar::Grid;
pub use fit::{Fit, PostAt, WindowFit};
pub use settings::{PARAMS, Settings};

/// The output table whose partitions are publication dates.
pub const POST_LIFT: &str = "post_lift";

/// What the run estimated for one post and signal.
#[derive(Debug, Clone)]
pub struct PostSignal {
    /// Index into the posts.
    pub post: usize,
    /// Signal.
    pub signal: String,
    /// [immediate, extended].
    pub windows: [WindowFit; 2],
    /// q-values, [immediate, extended].
    pub q: [f64; 2],
    /// Incremental orders, [immediate, extended] (None: not an order signal).
    pub orders: Option<[f64; 2]>,
    /// Incremental revenue, cents, rounded half-even, [immediate, extended].
    pub revenue_cents: Option<[i128; 2]>,
}

/// Everything the run produced, before it becomes tables.
#[derive(Debug)]
pub struct Estimates {
    /// Posts on the grid, by time.
    pub posts: Vec<input::Post>,
    /// Whether each post is final.
    pub final_: Vec<bool>,
    /// Local publication date of each post (days since the epoch).
    pub local_date: Vec<i32>,
    /// Per (post, signal) for the posts of the rolling range and the
    /// summary window.
    pub rows: Vec<PostSignal>,
    /// Baseline rows of the run date: (minute, signal, country, y, b).
    pub traffic: Vec<(i64, String, String, f64, f64)>,
    /// Per signal: EM steps of the last round and the dispersion.
    pub diagnostics: Vec<(String, usize, f64)>,
    /// The amplitude priors the fits used (`lift_priors`).
    pub priors: Vec<Prior>,
}

/// The prior one creator's posts in one format were fitted under, on one
/// signal (empirical Bayes, see `fit::shrinkage`).
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    /// Signal.
    pub signal: String,
    /// creator_id.
    pub creator_id: String,
    /// format.
    pub format: String,
    /// The group's posts in the fit.
    pub posts: usize,
    /// The prior's mean: a post's expected total response, visits.
    pub mean: f64,
    /// The format's mean response it was pooled toward.
    pub format_mean: f64,
}

/// The built-in: inputs [series, posts, visit orders, known events], outputs
/// [post_lift, traffic_baseline, lift_summary, lift_priors].
pub async fn run(inputs: Vec<DataFrame>, ctx: Context) -> Result<Vec<Table>> {
    let s = Settings::from_params(&ctx.params)?;
    let rolling = ctx.rolling_days(POST_LIFT).ok_or_else(|| {
        Error::Config(format!(
            "the lift step must declare rolling_days = {{ {POST_LIFT} = N }}: {POST_LIFT} is partitioned by publication date"
        ))
    })? as usize;
    if rolling < s.settle_days() {
        return Err(Error::Config(format!(
            "rolling_days for {POST_LIFT} is {rolling}, but a post settles only {} days after publication \
             (lift_extended_hours {} + lift_order_lookback_days {}): its rows would stay provisional",
            s.settle_days(),
            s.extended_hours,
            s.order_lookback_days
        )));
    }
    if rolling > ctx.params.lookback_days as usize {
        return Err(Error::Config(format!(
            "rolling_days for {POST_LIFT} ({rolling}) must not exceed lookback_days ({}): orders are valued from the attribution window",
            ctx.params.lookback_days
        )));
    }
    let tz: Tz = ctx
        .params
        .timezone
        .parse()
        .map_err(|e| Error::Config(format!("params.timezone: {e}")))?;
    let [series, posts, visit_orders, events]: [Table; 4] = builtin::collect_all(inputs)
        .await?
        .try_into()
        .map_err(|_| Error::Internal("the lift built-in takes four inputs".into()))?;
    let est = estimate(
        &input::series(&series)?,
        input::posts(&posts)?,
        &input::visit_orders(&visit_orders)?,
        &input::events(&events)?,
        ctx.date,
        rolling,
        tz,
        &s,
    )?;
    Ok(vec![
        output::post_lift(&est, ctx.date, rolling)?,
        output::traffic_baseline(&est)?,
        output::lift_summary(&est, ctx.date, &s)?,
        output::lift_priors(&est)?,
    ])
}

/// Whose response a fitted component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Post `k`.
    Post(usize),
    /// Known event `e` (one of the steps of a lasting one).
    Event(usize),
}

/// Everything fitted on a series, posts and known events together, sorted
/// by minute, with their kernel classes.
#[derive(Debug, Clone)]
pub struct Components {
    /// On the grid.
    pub at: Vec<PostAt>,
    /// Whose each one is.
    pub owner: Vec<Owner>,
    /// The component of each post.
    pub of_post: Vec<usize>,
    /// Kernel classes: post formats, then instant events' kinds, then one
    /// step class when an event lasts.
    pub classes: Vec<fit::Class>,
}

/// Posts (on the grid `[start, end)`, sorted) and known events as fitted
/// components. An instant event is one component of its kind's class; a
/// lasting one is cut into steps of the immediate window from its start to
/// its end, each free, so its shape comes from the data. Events outside the
/// grid are dropped; a lasting one is clipped to it.
pub fn components(
    posts: &[input::Post],
    events: &[input::KnownEvent],
    start: i64,
    end: i64,
    s: &Settings,
) -> Components {
    let mut formats: Vec<&str> = posts.iter().map(|p| p.format.as_str()).collect();
    formats.sort_unstable();
    formats.dedup();
    let mut kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.ends_minute.is_none())
        .map(|e| e.kind.as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let step_class = formats.len() + kinds.len();
    let mut groups: Vec<(&str, &str)> = posts
        .iter()
        .map(|p| (p.creator_id.as_str(), p.format.as_str()))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let mut all: Vec<(usize, usize, Owner, Option<usize>)> = posts
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let m = (p.published_at.div_euclid(60_000_000) - start) as usize;
            let class = formats
                .binary_search(&p.format.as_str())
                .expect("collected");
            let group = groups
                .binary_search(&(p.creator_id.as_str(), p.format.as_str()))
                .expect("collected");
            (m, class, Owner::Post(k), Some(group))
        })
        .collect();
    let mut lasting = false;
    for (e, ev) in events.iter().enumerate() {
        match ev.ends_minute {
            None => {
                if ev.starts_minute >= start && ev.starts_minute < end {
                    let class =
                        formats.len() + kinds.binary_search(&ev.kind.as_str()).expect("collected");
                    all.push((
                        (ev.starts_minute - start) as usize,
                        class,
                        Owner::Event(e),
                        None,
                    ));
                }
            }
            Some(stop) => {
                let step = s.immediate_minutes.max(1) as i64;
                let mut m = ev.starts_minute.max(start);
                while m < stop.min(end) {
                    all.push(((m - start) as usize, step_class, Owner::Event(e), None));
                    lasting = true;
                    m += step;
                }
            }
        }
    }
    // Stable: posts keep their order, and come before events at a minute.
    all.sort_by_key(|c| c.0);
    let mut classes = vec![fit::Class::Learned; formats.len() + kinds.len()];
    if lasting {
        classes.push(fit::Class::Step);
    }
    let mut of_post = vec![0; posts.len()];
    for (c, (_, _, o, _)) in all.iter().enumerate() {
        if let Owner::Post(k) = o {
            of_post[*k] = c;
        }
    }
    Components {
        at: all
            .iter()
            .map(|&(minute, class, _, group)| PostAt {
                minute,
                class,
                group,
            })
            .collect(),
        owner: all.iter().map(|c| c.2).collect(),
        of_post,
        classes,
    }
}

/// Dense minute vector of rows on the grid.
pub fn dense(rows: &[(i64, f64)], start: i64, n: usize) -> Vec<f64> {
    let mut y = vec![0.0; n];
    for &(m, v) in rows {
        let i = m - start;
        if i >= 0 && (i as usize) < n {
            y[i as usize] += v;
        }
    }
    y
}

/// Runs the estimation for the run date `date`.
#[allow(clippy::too_many_arguments)]
pub fn estimate(
    series: &input::SeriesRows,
    posts: Vec<input::Post>,
    visit_orders: &[input::VisitOrder],
    events: &[input::KnownEvent],
    date: chrono::NaiveDate,
    rolling: usize,
    tz: Tz,
    s: &Settings,
) -> Result<Estimates> {
    let day_start = day_start_micros(date, tz) / 60_000_000;
    let next = date + Duration::days(1);
    let end = day_start_micros(next, tz) / 60_000_000;
    let earliest =
        day_start_micros(date - Duration::days(s.history_days as i64 - 1), tz) / 60_000_000;
    let first_seen = series.values().flat_map(|v| v.iter().map(|r| r.0)).min();
    let start = first_seen.map_or(end, |f| f.max(earliest));
    let n = (end - start).max(0) as usize;
    let grid = Grid::new(start, n, tz);
    let posts: Vec<input::Post> = posts
        .into_iter()
        .filter(|p| {
            let m = p.published_at.div_euclid(60_000_000);
            m >= start && m < end
        })
        .collect();
    let comps = components(&posts, events, start, end, s);
    let local_date: Vec<i32> = posts
        .iter()
        .map(|p| {
            let utc = chrono::DateTime::from_timestamp_micros(p.published_at).expect("valid time");
            days_since_epoch(utc.with_timezone(&tz).date_naive())
        })
        .collect();
    let settle = (s.extended_minutes() + s.order_lookback_days * 1440) as i64;
    let final_: Vec<bool> = posts
        .iter()
        .map(|p| p.published_at.div_euclid(60_000_000) + settle <= end)
        .collect();
    let run_day = days_since_epoch(date);
    let window_first = run_day - (rolling.max(s.summary_days) as i32);
    let chosen: Vec<usize> = (0..posts.len())
        .filter(|&k| local_date[k] >= window_first && local_date[k] <= run_day)
        .collect();
    // One fit per signal on the total series; country series get baselines.
    let empty = Vec::new();
    // Site-wide surges, from traffic no post drives (`control`).
    let control = series
        .get(&("control".to_string(), "ALL".to_string()))
        .map(|rows| {
            let c = dense(rows, start, n);
            let cb = baseline::estimate(&grid, &c, &fit::event_mask(&comps.at, n, s), None, s).b;
            (c, cb)
        });
    let fits: Vec<(String, Fit)> = s
        .signals
        .par_iter()
        .map(|sig| {
            let rows = series
                .get(&(sig.clone(), "ALL".to_string()))
                .unwrap_or(&empty);
            let y = dense(rows, start, n);
            let control = control
                .as_ref()
                .map(|(c, cb)| (c.as_slice(), cb.as_slice()));
            (
                sig.clone(),
                fit::fit_classes(&grid, &y, &comps.at, &comps.classes, control, s),
            )
        })
        .collect();
    let at = &comps.at;
    let mask = fit::event_mask(at, n, s);
    let day_lo = (day_start - start).clamp(0, n as i64) as usize;
    let mut traffic: Vec<(i64, String, String, f64, f64)> = series
        .par_iter()
        .filter(|((sig, c), _)| c != "ALL" && s.signals.contains(sig))
        .map(|((sig, c), rows)| {
            let y = dense(rows, start, n);
            let b = baseline::estimate(&grid, &y, &mask, None, s);
            (day_lo..n)
                .map(|i| (start + i as i64, sig.clone(), c.clone(), y[i], b.b[i]))
                .collect::<Vec<_>>()
        })
        .flatten()
        .collect();
    for (sig, f) in &fits {
        let y = f.observed();
        traffic.extend((day_lo..n).map(|i| {
            (
                start + i as i64,
                sig.clone(),
                "ALL".to_string(),
                y[i],
                f.baseline.b[i],
            )
        }));
    }
    traffic.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    // Orders: each order's last eligible visit gives each post its share.
    let mut credit: BTreeMap<(usize, &str), [(f64, f64); 2]> = BTreeMap::new();
    for vo in visit_orders {
        if !s.order_signals.contains(&vo.signal) {
            continue;
        }
        let Some((_, f)) = fits.iter().find(|(sig, _)| *sig == vo.signal) else {
            continue;
        };
        let i = vo.visit_minute - start;
        if i < 0 || i as usize >= n {
            continue;
        }
        let i = i as usize;
        for c in f.posts_covering(i) {
            // Known events' shares are theirs: no post is credited with them.
            let Owner::Post(k) = comps.owner[c] else {
                continue;
            };
            for w in 0..2 {
                // signed shares: they sum to the lift, so noise cancels
                let p = f.visit_share(c, i, w);
                if p != 0.0 {
                    let e = credit
                        .entry((k, vo.signal.as_str()))
                        .or_insert([(0.0, 0.0); 2]);
                    e[w].0 += p;
                    e[w].1 += p * vo.value_cents as f64;
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (sig, f) in &fits {
        let is_order_signal = s.order_signals.contains(sig);
        let mut sig_rows: Vec<PostSignal> = chosen
            .iter()
            .map(|&k| {
                let c = credit
                    .get(&(k, sig.as_str()))
                    .copied()
                    .unwrap_or([(0.0, 0.0); 2]);
                PostSignal {
                    post: k,
                    signal: sig.clone(),
                    windows: f.windows[comps.of_post[k]].clone(),
                    q: [1.0, 1.0],
                    orders: is_order_signal.then_some([c[0].0, c[1].0]),
                    revenue_cents: is_order_signal.then(|| {
                        [
                            c[0].1.round_ties_even() as i128,
                            c[1].1.round_ties_even() as i128,
                        ]
                    }),
                }
            })
            .collect();
        for w in 0..2 {
            let q = stats::bh(
                &sig_rows
                    .iter()
                    .map(|r| r.windows[w].p_value)
                    .collect::<Vec<_>>(),
            );
            for (r, qv) in sig_rows.iter_mut().zip(q) {
                r.q[w] = qv;
            }
        }
        tracing::info!(signal = %sig, posts = posts.len(), events = at.len() - posts.len(), minutes = n, em_steps = f.iterations, dispersion = f.dispersion, surge_beta = f.surge_beta, "lift fitted");
        rows.extend(sig_rows);
    }
    let diagnostics = fits
        .iter()
        .map(|(sig, f)| (sig.clone(), f.iterations, f.dispersion))
        .collect();
    let mut priors: BTreeMap<(&str, &str, &str), Prior> = BTreeMap::new();
    for (sig, f) in &fits {
        for (k, p) in posts.iter().enumerate() {
            let Some(&(mean, format_mean)) = f.prior_mean.get(comps.of_post[k]) else {
                continue;
            };
            if mean <= 0.0 {
                continue;
            }
            let e = priors
                .entry((sig.as_str(), p.creator_id.as_str(), p.format.as_str()))
                .or_insert_with(|| Prior {
                    signal: sig.clone(),
                    creator_id: p.creator_id.clone(),
                    format: p.format.clone(),
                    posts: 0,
                    mean,
                    format_mean,
                });
            e.posts += 1;
        }
    }
    let priors = priors.into_values().collect();
    Ok(Estimates {
        posts,
        final_,
        local_date,
        rows,
        traffic,
        diagnostics,
        priors,
    })
}
