//! Fractional multi-touch attribution.
//!
//! The journeys are built in SQL (`sql/views/attr_*.sql`: identity
//! stitching, lookback, reset after each order, step cap, tie-breaks). This
//! module receives the touches of the window's converting journeys and the
//! aggregated non-converting paths, and:
//!
//! 1. transforms every path (`path`), fits the global models on all of them
//!    (`markov`, `shapley`), and weighs every journey's positions with every
//!    model (`models`, `rules`);
//! 2. splits each position's weight equally over its raw touches and each
//!    order's revenue over its touches by largest remainder, so credits sum
//!    to 1 and revenue credits to the order's revenue to the cent (`credit`);
//! 3. bootstraps journeys for intervals (`bootstrap`).
//!
//! Results: `touch_credit` (the run date's orders), `attribution_summary`
//! (every order of the window), `markov_transitions` and
//! `attribution_paths` (what the global models were fitted on).

mod bootstrap;
mod credit;
mod input;
pub mod markov;
pub mod models;
pub mod path;
pub mod rules;
mod settings;
pub mod shapley;

use std::collections::HashMap;

use rayon::prelude::*;

use datafusion::prelude::DataFrame;

use crate::builtin::{self, Context, Table};
use crate::error::Result;
use crate::time::days_since_epoch;

pub use input::{Conversion, Journeys, Touch};
pub use models::{Fitted, Model, PathRow, View};
pub use settings::{PARAMS, Settings};

/// A converting journey after the path transform.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Channel of each position.
    pub channels: Vec<u32>,
    /// Path key.
    pub key: Vec<u64>,
    /// Hours from each position's latest touch to the order.
    pub ages_hours: Vec<f64>,
    /// Position of each touch.
    pub position_of: Vec<usize>,
    /// Touches per position.
    pub sizes: Vec<u32>,
}

impl Prepared {
    fn view(&self) -> View<'_> {
        View {
            channels: &self.channels,
            key: &self.key,
            ages_hours: &self.ages_hours,
        }
    }
}

/// Transforms every converting journey's path.
pub fn prepare(j: &Journeys, s: &Settings) -> Vec<Prepared> {
    j.conversions
        .par_iter()
        .map(|c| {
            let raw: Vec<u32> = c.touches.iter().map(|t| t.channel).collect();
            let t = path::transform(&raw, s.transform);
            let mut latest = vec![i64::MIN; t.channels.len()];
            for (touch, &p) in c.touches.iter().zip(&t.position_of) {
                latest[p] = latest[p].max(touch.at);
            }
            let ages_hours = latest
                .iter()
                .map(|&at| (c.at - at).max(0) as f64 / 3_600_000_000.0)
                .collect();
            Prepared {
                channels: t.channels,
                key: t.key,
                ages_hours,
                position_of: t.position_of,
                sizes: t.sizes,
            }
        })
        .collect()
}

/// The transformed path key of every open (non-converting) path.
pub fn open_keys(j: &Journeys, s: &Settings) -> Vec<Vec<u64>> {
    j.nulls
        .iter()
        .map(|(raw, _)| path::transform(raw, s.transform).key)
        .collect()
}

/// The aggregated transformed paths of the window, with each converting
/// journey weighted by `conv_w[i]` and each non-converting path by
/// `null_w[i]` (1 and its count for the point estimate). Sorted by key.
pub fn path_rows(
    j: &Journeys,
    prepared: &[Prepared],
    open_keys: &[Vec<u64>],
    conv_w: &[f64],
    null_w: &[f64],
) -> Vec<PathRow> {
    let mut acc: HashMap<Vec<u64>, (f64, f64, f64)> = HashMap::new();
    for ((c, p), &w) in j.conversions.iter().zip(prepared).zip(conv_w) {
        if p.key.is_empty() || w == 0.0 {
            continue;
        }
        let e = acc.entry(p.key.clone()).or_insert((0.0, 0.0, 0.0));
        e.0 += w;
        e.1 += w * c.value_minor as f64 / 100.0;
    }
    for (key, &w) in open_keys.iter().zip(null_w) {
        if key.is_empty() || w == 0.0 {
            continue;
        }
        acc.entry(key.clone()).or_insert((0.0, 0.0, 0.0)).2 += w;
    }
    let mut rows: Vec<PathRow> = acc
        .into_iter()
        .map(|(key, (conversions, value, nulls))| PathRow {
            key,
            conversions,
            value,
            nulls,
        })
        .collect();
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows
}

/// Fits every model of `s` on `rows` (in parallel; each fit is sequential).
pub fn fit_all(s: &Settings, rows: &[PathRow], n_channels: usize) -> Result<Vec<Fitted>> {
    s.models
        .par_iter()
        .map(|&m| {
            let started = std::time::Instant::now();
            let f = models::fit(m, rows, n_channels);
            tracing::debug!(model = %m.name(), ms = started.elapsed().as_millis() as u64, "fitted");
            f
        })
        .collect()
}

/// Per-touch credit fractions of one journey under one fitted model.
pub fn touch_fractions(
    fitted: &Fitted,
    p: &Prepared,
    s: &Settings,
    non_direct: &dyn Fn(u32) -> bool,
    channels: &path::Interner,
) -> Vec<f64> {
    if p.channels.is_empty() {
        return Vec::new();
    }
    let w = fitted.weights(p.view(), s, non_direct, channels);
    p.position_of
        .iter()
        .map(|&pos| w[pos] / f64::from(p.sizes[pos]))
        .collect()
}

/// The built-in: inputs [converting touches, open paths], outputs
/// [touch_credit, attribution_summary, markov_transitions, attribution_paths].
pub async fn run(inputs: Vec<DataFrame>, ctx: Context) -> Result<Vec<Table>> {
    let s = Settings::from_params(&ctx.params)?;
    let inputs = builtin::collect_all(inputs).await?;
    let journeys = input::read(&inputs)?;
    let out = compute(&journeys, &s, days_since_epoch(ctx.date))?;
    Ok(vec![
        out.touch_credit,
        out.summary,
        out.transitions,
        out.paths,
    ])
}

/// The three result tables.
pub struct Outputs {
    /// `touch_credit` rows of the orders dated `date`.
    pub touch_credit: Table,
    /// `attribution_summary`.
    pub summary: Table,
    /// `markov_transitions`.
    pub transitions: Table,
    /// `attribution_paths`.
    pub paths: Table,
}

/// Runs every model on `journeys`; `date` (days since the epoch) selects the
/// orders written to `touch_credit`.
pub fn compute(journeys: &Journeys, s: &Settings, date: i32) -> Result<Outputs> {
    let prepared = prepare(journeys, s);
    let ones = vec![1.0; journeys.conversions.len()];
    let counts: Vec<f64> = journeys.nulls.iter().map(|(_, n)| *n).collect();
    let open = open_keys(journeys, s);
    let rows = path_rows(journeys, &prepared, &open, &ones, &counts);
    let n_channels = journeys.channels.len();
    let fitted = fit_all(s, &rows, n_channels)?;
    let excluded: Vec<bool> = (0..n_channels as u32)
        .map(|c| s.non_direct.iter().any(|x| x == journeys.channels.name(c)))
        .collect();
    let started = std::time::Instant::now();
    let point = credit::credits(journeys, &prepared, s, &fitted, &excluded);
    tracing::info!(
        conversions = journeys.conversions.len(),
        open_paths = journeys.nulls.len(),
        paths = rows.len(),
        channels = n_channels,
        ms = started.elapsed().as_millis() as u64,
        "attribution: credited"
    );
    let started = std::time::Instant::now();
    let intervals = bootstrap::intervals(journeys, &prepared, &open, s, &excluded, &point)?;
    tracing::info!(
        replicates = s.bootstrap,
        ms = started.elapsed().as_millis() as u64,
        "attribution: bootstrapped"
    );
    Ok(Outputs {
        touch_credit: credit::touch_credit_table(journeys, s, &point, date)?,
        summary: credit::summary_table(journeys, s, &point, &fitted, &intervals)?,
        transitions: credit::transitions_table(journeys, s, &fitted)?,
        paths: credit::paths_table(journeys, &prepared, s, &rows)?,
    })
}
