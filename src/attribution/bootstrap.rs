//! Bootstrap intervals over journeys.
//!
//! Each replicate draws a Poisson(1) weight for every converting journey and
//! a Poisson(count) weight for every non-converting path (the Poisson
//! bootstrap: the large-sample equivalent of resampling journeys with
//! replacement, and cheap on aggregated paths), refits the global models on
//! the reweighted paths and re-credits. Replicate r draws from its own
//! ChaCha stream seeded by (seed, r), in the fixed journey order, so the
//! intervals are the same for every thread count. Intervals are percentile
//! intervals (linear interpolation between order statistics).

use std::collections::HashMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};
use rayon::prelude::*;

use crate::error::Result;

use super::credit::{LEVELS, ModelCredit, NO_TOUCH, level_key};
use super::models::{Fitted, fit};
use super::path::Interner;
use super::{Journeys, Prepared, Settings, path_rows, touch_fractions};

/// One key's interval.
#[derive(Debug, Clone, Copy)]
pub struct Interval {
    /// Lower bound of conversions.
    pub low: f64,
    /// Upper bound of conversions.
    pub high: f64,
    /// Lower bound of revenue, minor units.
    pub revenue_low_minor: i128,
    /// Upper bound of revenue, minor units.
    pub revenue_high_minor: i128,
}

/// Intervals by (model index, level index, key).
pub type Intervals = HashMap<(usize, usize, String), Interval>;

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    Poisson::new(mean).map(|d| d.sample(rng)).unwrap_or(mean)
}

/// Dense ids of every (level, key) a touch can credit, so replicates add
/// into flat vectors instead of hashing strings.
pub struct KeyIndex {
    keys: Interner,
    /// Per conversion, per touch: the key id at each level.
    touch_keys: Vec<Vec<[u32; 4]>>,
    no_touch: u32,
}

impl KeyIndex {
    /// Indexes every touch of `j`.
    pub fn new(j: &Journeys) -> Self {
        let mut keys = Interner::default();
        let no_touch = keys.id(NO_TOUCH);
        let touch_keys = j
            .conversions
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                (0..c.touches.len())
                    .map(|ti| {
                        let mut k = [0u32; 4];
                        for (li, slot) in k.iter_mut().enumerate() {
                            *slot = keys.id(level_key(j, ci, ti, li));
                        }
                        k
                    })
                    .collect()
            })
            .collect();
        KeyIndex {
            keys,
            touch_keys,
            no_touch,
        }
    }
}

/// Credit totals of one replicate, flat: [model][level][key] -> (conversions, revenue).
struct Totals {
    conv: Vec<f64>,
    rev: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
fn replicate(
    j: &Journeys,
    prepared: &[Prepared],
    open: &[Vec<u64>],
    s: &Settings,
    excluded: &[bool],
    point: &[ModelCredit],
    idx: &KeyIndex,
    r: usize,
) -> Result<Totals> {
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    rng.set_stream(r as u64 + 1);
    let conv_w: Vec<f64> = j
        .conversions
        .iter()
        .map(|_| poisson(&mut rng, 1.0))
        .collect();
    let null_w: Vec<f64> = j.nulls.iter().map(|(_, n)| poisson(&mut rng, *n)).collect();
    let rows = path_rows(j, prepared, open, &conv_w, &null_w);
    let k = idx.keys.len();
    let size = s.models.len() * LEVELS.len() * k;
    let mut out = Totals {
        conv: vec![0.0; size],
        rev: vec![0.0; size],
    };
    let non_direct = |c: u32| excluded[c as usize];
    for (mi, &m) in s.models.iter().enumerate() {
        // Rule models do not depend on the sample: reuse their fractions.
        let refit: Option<Fitted> = if m.is_global() {
            Some(fit(m, &rows, j.channels.len())?)
        } else {
            None
        };
        for (ci, (c, p)) in j.conversions.iter().zip(prepared).enumerate() {
            let w = conv_w[ci];
            if w == 0.0 {
                continue;
            }
            let value = c.value_minor as f64 / 100.0;
            if c.touches.is_empty() {
                for li in 0..LEVELS.len() {
                    let at = (mi * LEVELS.len() + li) * k + idx.no_touch as usize;
                    out.conv[at] += w;
                    out.rev[at] += w * value;
                }
                continue;
            }
            let fresh;
            let fr: &[f64] = match &refit {
                Some(f) => {
                    fresh = touch_fractions(f, p, s, &non_direct, &j.channels);
                    &fresh
                }
                None => &point[mi].fractions[ci],
            };
            for (f, keys) in fr.iter().zip(&idx.touch_keys[ci]) {
                for (li, &key) in keys.iter().enumerate() {
                    let at = (mi * LEVELS.len() + li) * k + key as usize;
                    out.conv[at] += w * f;
                    out.rev[at] += w * f * value;
                }
            }
        }
    }
    Ok(out)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Percentile intervals of every key's conversions and revenue.
pub fn intervals(
    j: &Journeys,
    prepared: &[Prepared],
    open: &[Vec<u64>],
    s: &Settings,
    excluded: &[bool],
    point: &[ModelCredit],
) -> Result<Intervals> {
    if s.bootstrap == 0 || j.conversions.is_empty() {
        return Ok(HashMap::new());
    }
    let idx = KeyIndex::new(j);
    let reps: Vec<Totals> = (0..s.bootstrap)
        .into_par_iter()
        .map(|r| replicate(j, prepared, open, s, excluded, point, &idx, r))
        .collect::<Result<_>>()?;
    let k = idx.keys.len();
    let alpha = (1.0 - s.confidence) / 2.0;
    let mut out = HashMap::new();
    for mi in 0..s.models.len() {
        for li in 0..LEVELS.len() {
            for key in 0..k {
                let at = (mi * LEVELS.len() + li) * k + key;
                let mut conv: Vec<f64> = reps.iter().map(|t| t.conv[at]).collect();
                if conv.iter().all(|&x| x == 0.0) {
                    continue;
                }
                let mut rev: Vec<f64> = reps.iter().map(|t| t.rev[at]).collect();
                conv.sort_by(f64::total_cmp);
                rev.sort_by(f64::total_cmp);
                out.insert(
                    (mi, li, idx.keys.name(key as u32).to_string()),
                    Interval {
                        low: quantile(&conv, alpha),
                        high: quantile(&conv, 1.0 - alpha),
                        revenue_low_minor: (quantile(&rev, alpha) * 100.0).round() as i128,
                        revenue_high_minor: (quantile(&rev, 1.0 - alpha) * 100.0).round() as i128,
                    },
                );
            }
        }
    }
    Ok(out)
}
