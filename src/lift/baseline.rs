//! The counterfactual baseline `b_t = r(t) · S(t)`: a seasonal shape from the
//! same local minute of earlier weeks, scaled by the local level.
//!
//! - Minutes inside posts' immediate windows (plus guards) and gross spikes
//!   are masked, so responses do not leak into their own baseline.
//! - `S(t)` is the median, over the previous `weeks` weeks, of each week's
//!   mean at the same local minute ± `smooth_minutes` (unmasked minutes
//!   only). A median over weeks resists a week with a promotion; the mean
//!   within a week makes it usable at one visit per minute. With fewer than
//!   `min_weeks` earlier weeks (the start of the data) later weeks fill in.
//! - `r(t)` is the ratio `(Σ c + κρ) / (Σ S + κ)` over the unmasked minutes
//!   of `[t − L, t + L]`: the day's level against the profile, shrunk at low
//!   counts toward `ρ = Σ c / Σ S` over the whole series. A centred window
//!   bridges masked windows from both sides.
//! - `c = y − R̂` where `R̂` is the modelled response of all posts from the
//!   previous refinement round, so long response tails (hours) are not
//!   taken for a higher level.

use super::calendar::Grid;
use super::settings::Settings;

/// A baseline and the masks behind it.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// `b_t`.
    pub b: Vec<f64>,
    /// Minutes kept out of the estimation.
    pub masked: Vec<bool>,
}

/// The smallest baseline, as a share of the mean shape, so that every minute
/// has a positive expected count.
pub const FLOOR_SHARE: f64 = 1e-3;

/// Marks gross positive spikes: `y − m > k · max(1.4826 · MAD, √(m + 1))`,
/// `m` the running median over ±30 minutes, MAD over the whole series.
pub fn spikes(y: &[f64], k: f64) -> Vec<bool> {
    let med = running_median(y, 30);
    let mut dev: Vec<f64> = y.iter().zip(&med).map(|(a, m)| (a - m).abs()).collect();
    let mad = median_in_place(&mut dev).unwrap_or(0.0);
    y.iter()
        .zip(&med)
        .map(|(a, m)| a - m > k * (1.4826 * mad).max((m + 1.0).sqrt()))
        .collect()
}

/// Median of `y[i − h ..= i + h]` (clipped to the series) for every `i`.
pub fn running_median(y: &[f64], h: usize) -> Vec<f64> {
    let n = y.len();
    let mut win: Vec<f64> = Vec::with_capacity(2 * h + 1);
    let mut out = Vec::with_capacity(n);
    let (mut lo, mut hi) = (0usize, 0usize); // window is y[lo..hi]
    for i in 0..n {
        let want_hi = (i + h + 1).min(n);
        let want_lo = i.saturating_sub(h);
        while hi < want_hi {
            let v = y[hi];
            let p = win.partition_point(|x| x.total_cmp(&v).is_lt());
            win.insert(p, v);
            hi += 1;
        }
        while lo < want_lo {
            let v = y[lo];
            let p = win.partition_point(|x| x.total_cmp(&v).is_lt());
            win.remove(p);
            lo += 1;
        }
        let m = win.len();
        out.push(if m % 2 == 1 {
            win[m / 2]
        } else {
            (win[m / 2 - 1] + win[m / 2]) / 2.0
        });
    }
    out
}

/// Median (mean of the middle two for an even count); None when empty.
pub fn median_in_place(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len();
    Some(if m % 2 == 1 {
        v[m / 2]
    } else {
        (v[m / 2 - 1] + v[m / 2]) / 2.0
    })
}

/// Prefix sums of `v` where `keep`, and of the kept count.
fn prefix(v: &[f64], keep: &[bool]) -> (Vec<f64>, Vec<f64>) {
    let mut s = Vec::with_capacity(v.len() + 1);
    let mut c = Vec::with_capacity(v.len() + 1);
    s.push(0.0);
    c.push(0.0);
    for (x, k) in v.iter().zip(keep) {
        let (ls, lc) = (*s.last().expect("seeded"), *c.last().expect("seeded"));
        if *k {
            s.push(ls + x);
            c.push(lc + 1.0);
        } else {
            s.push(ls);
            c.push(lc);
        }
    }
    (s, c)
}

/// Estimates the baseline of `y` on `grid`. `mask` marks minutes to keep
/// out (event windows); spikes are added to it here. `response` is the
/// modelled post response to take out first, if any.
pub fn estimate(
    grid: &Grid,
    y: &[f64],
    mask: &[bool],
    response: Option<&[f64]>,
    s: &Settings,
) -> Baseline {
    let n = y.len();
    let spike = spikes(y, s.outlier_mads);
    let masked: Vec<bool> = mask.iter().zip(&spike).map(|(a, b)| *a || *b).collect();
    let keep: Vec<bool> = masked.iter().map(|m| !m).collect();
    let c: Vec<f64> = match response {
        Some(r) => y.iter().zip(r).map(|(a, b)| a - b).collect(),
        None => y.to_vec(),
    };
    let (pc, pn) = prefix(&c, &keep);
    let h = s.smooth_minutes;
    let need = ((2 * h + 1) as f64 / 3.0).ceil().max(1.0);
    let week_rate = |idx: usize| -> Option<f64> {
        let lo = idx.saturating_sub(h);
        let hi = (idx + h + 1).min(n);
        let cnt = pn[hi] - pn[lo];
        (cnt >= need).then(|| (pc[hi] - pc[lo]) / cnt)
    };
    let mut shape = vec![f64::NAN; n];
    let mut rates: Vec<f64> = Vec::with_capacity(s.weeks);
    for (i, out) in shape.iter_mut().enumerate() {
        rates.clear();
        for j in 1..=s.weeks as i64 {
            if let Some(r) = grid.seasonal_shift(i, -j).and_then(week_rate) {
                rates.push(r);
            }
        }
        let mut j = 1i64;
        while rates.len() < s.min_weeks && j <= s.weeks as i64 {
            if let Some(r) = grid.seasonal_shift(i, j).and_then(week_rate) {
                rates.push(r);
            }
            j += 1;
        }
        if let Some(m) = median_in_place(&mut rates) {
            *out = m.max(0.0);
        }
    }
    // No week at all (under a week of data): a flat profile at the mean.
    let (sum_c, cnt) = (pc[n], pn[n]);
    let flat = if cnt > 0.0 {
        (sum_c / cnt).max(0.0)
    } else {
        0.0
    };
    for v in shape.iter_mut().filter(|v| v.is_nan()) {
        *v = flat;
    }
    let (ps, _) = prefix(&shape, &keep);
    let l = s.level_minutes;
    let kappa = s.level_prior;
    // The pseudo-count pulls the level toward the series' overall ratio, not
    // toward 1: a median over weeks of skewed counts sits below their mean,
    // and shrinking toward 1 would carry that into a baseline biased low.
    let rho = if ps[n] > 0.0 {
        (pc[n] / ps[n]).max(0.0)
    } else {
        1.0
    };
    let mean_shape = shape.iter().sum::<f64>() / n.max(1) as f64;
    let floor = FLOOR_SHARE * mean_shape.max(1e-6);
    let b = (0..n)
        .map(|i| {
            let lo = i.saturating_sub(l);
            let hi = (i + l + 1).min(n);
            let num = pc[hi] - pc[lo] + kappa * rho;
            let den = ps[hi] - ps[lo] + kappa;
            let r = if den > 0.0 { (num / den).max(0.0) } else { 1.0 };
            (r * shape[i]).max(floor)
        })
        .collect();
    Baseline { b, masked }
}

/// Half-width, in minutes, of the windows site-wide surges are measured in.
pub const SURGE_HALF_MINUTES: usize = 7;

/// Follows site-wide surges: traffic everywhere rises and falls together
/// for minutes at a time (a news cycle, an outage, a crawler), and a post
/// published in a surge would be credited with it. The `control` series
/// (traffic no post drives, with its own baseline `control_b`) shows those
/// surges. Each minute's baseline is scaled by `1 + β (m_t − 1)`, where `m_t`
/// is the control's observed-to-baseline ratio over `t ± 7` minutes and `β`
/// the weighted least-squares slope of the signal's own ratio on it over
/// 15-minute blocks free of masked minutes (with `response`, the modelled
/// post response, taken out). So a signal that does not move with the
/// control gets `β ≈ 0` and keeps its baseline, and the control's own
/// counting noise shrinks `β` instead of adding to the baseline. Returns β.
pub fn follow_control(
    base: &mut Baseline,
    y: &[f64],
    response: Option<&[f64]>,
    control: &[f64],
    control_b: &[f64],
) -> f64 {
    let n = y.len().min(control.len()).min(control_b.len());
    let h = SURGE_HALF_MINUTES;
    let pc = prefix(control, &vec![true; control.len()]).0;
    let pcb = prefix(control_b, &vec![true; control_b.len()]).0;
    let ratio = |lo: usize, hi: usize| -> Option<f64> {
        let den = pcb[hi] - pcb[lo];
        (den > 0.0).then(|| ((pc[hi] - pc[lo]) / den).clamp(0.2, 5.0))
    };
    let (mut sxz, mut sxx) = (0.0, 0.0);
    let width = 2 * h + 1;
    let mut lo = 0;
    while lo + width <= n {
        let hi = lo + width;
        if !base.masked[lo..hi].iter().any(|m| *m) {
            let b: f64 = base.b[lo..hi].iter().sum();
            let own: f64 = (lo..hi)
                .map(|i| y[i] - response.map_or(0.0, |r| r[i]))
                .sum();
            if let (Some(m), true) = (ratio(lo, hi), b > 0.0) {
                let (x, z) = (m - 1.0, own / b - 1.0);
                sxz += b * x * z;
                sxx += b * x * x;
            }
        }
        lo = hi;
    }
    let beta = if sxx > 0.0 {
        (sxz / sxx).clamp(0.0, 1.5)
    } else {
        0.0
    };
    if beta > 0.0 {
        for i in 0..n {
            let (lo, hi) = (i.saturating_sub(h), (i + h + 1).min(n));
            if let Some(m) = ratio(lo, hi) {
                base.b[i] *= (1.0 + beta * (m - 1.0)).max(0.1);
            }
        }
    }
    beta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_median_matches_a_naive_one() {
        let y: Vec<f64> = (0..50).map(|i| ((i * 37) % 11) as f64).collect();
        let fast = running_median(&y, 3);
        for i in 0..y.len() {
            let mut w: Vec<f64> = y[i.saturating_sub(3)..(i + 4).min(y.len())].to_vec();
            assert_eq!(fast[i], median_in_place(&mut w).unwrap(), "at {i}");
        }
    }

    /// A signal that surges with the control (a quarter-hour at twice the
    /// rate on both) gets a baseline that follows the surge (β = 1); one
    /// that does not move with it keeps a flat baseline (β = 0). Counts are
    /// exact expectations, so the slopes are exact.
    #[test]
    fn the_baseline_follows_site_wide_surges_only_where_the_signal_does() {
        let n = 600;
        let surge = |i: usize| if (300..315).contains(&i) { 2.0 } else { 1.0 };
        let control: Vec<f64> = (0..n).map(|i| 10.0 * surge(i)).collect();
        let control_b = vec![10.0; n];
        let with: Vec<f64> = (0..n).map(|i| 4.0 * surge(i)).collect();
        let mut base = Baseline {
            b: vec![4.0; n],
            masked: vec![false; n],
        };
        let beta = follow_control(&mut base, &with, None, &control, &control_b);
        assert!((beta - 1.0).abs() < 1e-12, "{beta}");
        // the block that holds the surge is followed fully
        assert!((base.b[307] - 8.0).abs() < 1e-12, "{}", base.b[307]);
        assert!((base.b[100] - 4.0).abs() < 1e-12);
        let mut flat = Baseline {
            b: vec![4.0; n],
            masked: vec![false; n],
        };
        let beta = follow_control(&mut flat, &vec![4.0; n], None, &control, &control_b);
        assert_eq!(beta, 0.0);
        assert!(flat.b.iter().all(|b| *b == 4.0));
    }

    #[test]
    fn a_flat_series_has_a_flat_baseline_and_a_spike_is_masked() {
        let n = 3 * 240;
        let mut y = vec![4.0; n];
        y[500] = 60.0;
        let g = Grid::utc(0, n, 240);
        let s = Settings {
            weeks: 2,
            min_weeks: 1,
            smooth_minutes: 5,
            level_minutes: 20,
            ..Settings::default()
        };
        let base = estimate(&g, &y, &vec![false; n], None, &s);
        assert!(base.masked[500] && !base.masked[499]);
        for i in 0..n {
            assert!((base.b[i] - 4.0).abs() < 1e-12, "minute {i}: {}", base.b[i]);
        }
    }
}
