//! One series, all posts: the baseline, each post's response amplitude, its
//! lift over the immediate and extended windows with uncertainty, and the
//! probability that a visit in some minute came from a post.
//!
//! The model is `y_t ~ quasi-Poisson(b_t + Σ_k A_k g_k(t − t_k))`:
//! - `A_k` (a post's total response) is the Poisson maximum-likelihood fit
//!   for fixed `b` and `g`, by the Richardson–Lucy / EM iteration
//!   `A_k ← A_k · Σ_t g_k(t − t_k) y_t / λ_t / Σ_t g_k(t − t_k)`;
//! - a minute's excess `e_t = y_t − b_t` is split between overlapping posts
//!   in proportion to their expected response: `w_{k,t} = A_k g_k / R_t`,
//!   `R_t = Σ_j A_j g_j(t − t_j)` (one post: w = 1; flat kernels and equal
//!   amplitudes: the equal split);
//! - lift `L_k = Σ_{t ∈ window} w_{k,t} e_t`, signed, so noise averages out
//!   instead of piling up as it would with the positive part;
//! - kernels start from the parametric prior and are re-learned per class
//!   from the excess the split gives each class, for `refine` rounds; each
//!   round also re-estimates the baseline with the modelled response taken
//!   out, so long tails are not mistaken for a higher level.
//!
//! - uncertainty: the larger of a quasi-Poisson spread and the robust spread
//!   of the same weights laid over the excess at placebo times (same time of
//!   day on other days); p-values, intervals and the minimum detectable lift
//!   follow from it.
//!
//! Every per-post sum in the EM runs over the post's lag bins with prefix
//! sums, so one EM step costs O(minutes + posts × bins).

use super::baseline::{self, Baseline};
use super::calendar::Grid;
use super::kernel::{Bins, Kernel};
use super::settings::Settings;
use super::stats;

/// A post on the grid.
#[derive(Debug, Clone, Copy)]
pub struct PostAt {
    /// Grid minute of publication (response starts in this minute).
    pub minute: usize,
    /// Kernel class (format).
    pub class: usize,
    /// The group whose posts share a prior on their amplitude (creator and
    /// format); None: no prior (known events, or fits without shrinkage).
    pub group: Option<usize>,
}

/// The two windows every post is measured over.
pub const WINDOWS: [&str; 2] = ["immediate", "extended"];

/// A post's numbers over one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowFit {
    /// Σ y over the window's observed minutes.
    pub observed: f64,
    /// Σ b over them.
    pub baseline: f64,
    /// The post's share of the excess.
    pub lift: f64,
    /// Interval of `lift`.
    pub lift_low: f64,
    /// See `lift_low`.
    pub lift_high: f64,
    /// One-sided p-value of `lift > 0`.
    pub p_value: f64,
    /// Standard error of the lift: the larger of the placebo spread and the
    /// quasi-Poisson one. Both use the post's weights at
    /// `max(A_k, class mean)`, so a post the fit drives to zero still gets
    /// the uncertainty of a typical post in its place, not a zero-width one.
    pub se: f64,
    /// Smallest lift detectable at 5 % (one-sided) with 80 % power.
    pub min_detectable_lift: f64,
    /// Share of the post's expected response that coincides with other
    /// posts' (0 = alone).
    pub overlap_share: f64,
    /// Placebo windows used (0 = quasi-Poisson only).
    pub placebos: usize,
    /// Whether every minute of the window lies in the data.
    pub complete: bool,
    /// `Σ_t y_t A_k g_k / λ_t` over the window: the visits the model gives
    /// the post, which the visit probabilities are scaled against.
    pub responsibility: f64,
}

/// Everything fitted on one series.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The baseline.
    pub baseline: Baseline,
    /// Modelled response of all posts per minute, `R_t`.
    pub response: Vec<f64>,
    /// `A_k`.
    pub amplitude: Vec<f64>,
    /// `A_k` floored for the split ([`SPLIT_FLOOR`]).
    pub split_amplitude: Vec<f64>,
    /// Kernel per class.
    pub kernels: Vec<Kernel>,
    /// Per post: [immediate, extended].
    pub windows: Vec<[WindowFit; 2]>,
    /// Quasi-Poisson dispersion of the residuals.
    pub dispersion: f64,
    /// EM iterations of the last round.
    pub iterations: usize,
    /// How far the baseline follows site-wide surges (0: not at all).
    pub surge_beta: f64,
    /// Per component, the mean of the prior its amplitude was fitted under
    /// (its group's, see `shrinkage`), and the class mean it was pooled
    /// toward; 0 without a prior (one refinement round, or a known event).
    pub prior_mean: Vec<(f64, f64)>,
    y: Vec<f64>,
    bins: Bins,
    posts: Vec<PostAt>,
}

fn prefix(it: impl Iterator<Item = f64>, n: usize) -> Vec<f64> {
    let mut p = Vec::with_capacity(n + 1);
    let mut acc = 0.0;
    p.push(0.0);
    for x in it {
        acc += x;
        p.push(acc);
    }
    p
}

/// Minutes `[lo, hi)` of bin `b` of a post at `t`, clipped to `[0, n)`.
fn span(bins: &Bins, t: usize, b: usize, n: usize) -> (usize, usize) {
    let lo = (t + bins.edges[b]).min(n);
    let hi = (t + bins.edges[b + 1]).min(n);
    (lo, hi)
}

/// The posts and their current kernels on a grid of `n` minutes: what the
/// responses, EM steps and likelihood are computed from.
#[derive(Clone, Copy)]
struct Events<'a> {
    n: usize,
    bins: &'a Bins,
    posts: &'a [PostAt],
    kernels: &'a [Kernel],
    /// Per post, the rate of its exponential prior (0: none): the MAP EM
    /// step adds it to the denominator, the log-likelihood subtracts `rate · A`.
    prior_rate: &'a [f64],
}

impl Events<'_> {
    /// Minutes `[lo, hi)` of bin `b` of post `p`.
    fn span(&self, p: &PostAt, b: usize) -> (usize, usize) {
        span(self.bins, p.minute, b, self.n)
    }

    /// `R_t = Σ_k A_k g_k(t − t_k)` by a difference array. Minutes no post's
    /// window covers (counted exactly, in integers) are set to exactly 0:
    /// the running sum leaves rounding residue there (1e-16), and 1/R of
    /// residue would swamp every prefix sum after it.
    fn response(&self, a: &[f64]) -> Vec<f64> {
        let (n, bins) = (self.n, self.bins);
        let mut d = vec![0.0; n + 1];
        let mut cover = vec![0i64; n + 1];
        for (p, &ak) in self.posts.iter().zip(a) {
            cover[self.span(p, 0).0] += 1;
            cover[self.span(p, bins.len() - 1).1] -= 1;
            let k = &self.kernels[p.class];
            for b in 0..bins.len() {
                let (lo, hi) = self.span(p, b);
                if lo < hi {
                    let v = ak * k.density(bins, b);
                    d[lo] += v;
                    d[hi] -= v;
                }
            }
        }
        let (mut acc, mut active) = (0.0, 0i64);
        d.truncate(n);
        for (x, c) in d.iter_mut().zip(&cover) {
            acc += *x;
            active += c;
            if active == 0 {
                acc = 0.0;
            }
            *x = acc;
        }
        d
    }

    /// One Richardson–Lucy / EM step for the amplitudes.
    fn step(&self, y: &[f64], b: &[f64], a: &[f64]) -> Vec<f64> {
        let n = self.n;
        let r = self.response(a);
        let q = prefix(
            (0..n).map(|i| {
                let lam = b[i] + r[i];
                if lam > 0.0 { y[i] / lam } else { 0.0 }
            }),
            n,
        );
        self.posts
            .iter()
            .zip(a)
            .enumerate()
            .map(|(i, (p, &ak))| {
                let k = &self.kernels[p.class];
                let (mut num, mut den) = (0.0, self.prior_rate.get(i).copied().unwrap_or(0.0));
                for bi in 0..self.bins.len() {
                    let (lo, hi) = self.span(p, bi);
                    if lo < hi {
                        let g = k.density(self.bins, bi);
                        num += g * (q[hi] - q[lo]);
                        den += g * (hi - lo) as f64;
                    }
                }
                if den > 0.0 { ak * num / den } else { 0.0 }
            })
            .collect()
    }

    /// Poisson log-likelihood of the amplitudes (up to the constant Σ log y!).
    fn loglik(&self, y: &[f64], b: &[f64], a: &[f64]) -> f64 {
        let r = self.response(a);
        y.iter()
            .zip(b)
            .zip(&r)
            .map(|((y, b), r)| {
                let lam = b + r;
                if *y > 0.0 { y * lam.ln() - lam } else { -lam }
            })
            .sum::<f64>()
            - self
                .prior_rate
                .iter()
                .zip(a)
                .map(|(r, a)| r * a)
                .sum::<f64>()
    }

    /// The amplitudes' maximum-likelihood fit: EM steps accelerated by
    /// SQUAREM (Varadhan & Roland 2008, scheme S3, projected onto A ≥ 0, with
    /// one stabilising EM step and a fall-back to the plain EM steps whenever
    /// the jump would lower the likelihood). Stops when a cycle raises the
    /// log-likelihood by less than `tolerance · max(1, |ℓ|)`: the amplitudes
    /// of posts published at the same moment lie on a flat ridge of the
    /// likelihood, where they would drift for thousands of steps without
    /// changing the fit. Returns the amplitudes and the EM steps run.
    fn em(&self, y: &[f64], b: &[f64], start: &[f64], s: &Settings) -> (Vec<f64>, usize) {
        let step = |a: &[f64]| self.step(y, b, a);
        let ll = |a: &[f64]| self.loglik(y, b, a);
        let mut a = start.to_vec();
        let mut current = ll(&a);
        let mut steps = 0;
        while steps < s.max_iterations {
            let a1 = step(&a);
            let a2 = step(&a1);
            steps += 2;
            let r: Vec<f64> = a1.iter().zip(&a).map(|(x, y)| x - y).collect();
            let v: Vec<f64> = a2
                .iter()
                .zip(&a1)
                .zip(&r)
                .map(|((x, y), r)| x - y - r)
                .collect();
            let rn = r.iter().map(|x| x * x).sum::<f64>().sqrt();
            let vn = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let ll2 = ll(&a2);
            let (mut next, mut next_ll) = (a2, ll2);
            if vn > 0.0 {
                let alpha = (-rn / vn).min(-1.0);
                let jump: Vec<f64> = a
                    .iter()
                    .zip(&r)
                    .zip(&v)
                    .map(|((x, r), v)| (x - 2.0 * alpha * r + alpha * alpha * v).max(0.0))
                    .collect();
                let stabilised = step(&jump);
                steps += 1;
                let l = ll(&stabilised);
                if l >= next_ll {
                    (next, next_ll) = (stabilised, l);
                }
            }
            let gain = next_ll - current;
            a = next;
            current = next_ll;
            if gain < s.tolerance * current.abs().max(1.0) {
                break;
            }
        }
        (a, steps)
    }

    /// Excess allocated to each class per bin, over the `used` posts:
    /// `Σ_k A_k g_kb Σ_{t∈bin} e_t / R_t`.
    fn allocated(&self, a: &[f64], e_over_r: &[f64], used: &[bool]) -> Vec<Vec<f64>> {
        let mut out = vec![vec![0.0; self.bins.len()]; self.kernels.len()];
        for ((p, &ak), _) in self.posts.iter().zip(a).zip(used).filter(|(_, u)| **u) {
            let k = &self.kernels[p.class];
            for (b, slot) in out[p.class].iter_mut().enumerate() {
                let (lo, hi) = self.span(p, b);
                *slot += ak * k.density(self.bins, b) * local_sum(e_over_r, lo, hi);
            }
        }
        out
    }
}

/// Pseudo-posts of its kernel class a group's prior mean is pooled with.
pub const GROUP_PRIOR_POSTS: f64 = 2.0;

/// Empirical-Bayes shrinkage of amplitudes: each post's amplitude gets an
/// exponential prior whose mean is what its group (creator and format)
/// usually does, pooled toward its kernel class with
/// [`GROUP_PRIOR_POSTS`] pseudo-posts: `μ_g = (Σ_g A + m μ_class) / (n_g + m)`.
/// Alone, a post's lift does not depend on its amplitude (its share of the
/// excess is 1); where posts overlap, the prior decides how the excess is
/// split, so a story that usually does little does not take a video's
/// visits because its kernel happens to peak in the busy minutes. Returns
/// the rate `1 / μ_g` per post (0 for components without a group), and its
/// class's mean amplitude.
fn shrinkage(posts: &[PostAt], a: &[f64]) -> (Vec<f64>, Vec<f64>) {
    use std::collections::HashMap;
    let mut class: HashMap<usize, (f64, f64)> = HashMap::new();
    let mut group: HashMap<usize, (f64, f64)> = HashMap::new();
    for (p, &ak) in posts.iter().zip(a) {
        if let Some(g) = p.group {
            let c = class.entry(p.class).or_default();
            c.0 += ak;
            c.1 += 1.0;
            let e = group.entry(g).or_default();
            e.0 += ak;
            e.1 += 1.0;
        }
    }
    posts
        .iter()
        .map(|p| {
            let Some(g) = p.group else {
                return (0.0, 0.0);
            };
            let (cs, cn) = class[&p.class];
            let (gs, gn) = group[&g];
            let mu = (gs + GROUP_PRIOR_POSTS * cs / cn) / (gn + GROUP_PRIOR_POSTS);
            (if mu > 1e-9 { 1.0 / mu } else { 1e9 }, cs / cn)
        })
        .unzip()
}

/// `Σ_{t∈[lo,hi)} v_t`, summed directly: sums over 1/R must not use prefix
/// sums, because R is tiny where only a post fitted to ~0 responds, and a
/// prefix sum through such minutes loses all precision after them.
fn local_sum(v: &[f64], lo: usize, hi: usize) -> f64 {
    v[lo..hi].iter().sum()
}

/// Minutes kept out of the baseline: from 2 minutes before each post (clock
/// skew) to the end of its immediate window plus the guard.
pub fn event_mask(posts: &[PostAt], n: usize, s: &Settings) -> Vec<bool> {
    let mut mask = vec![false; n];
    for p in posts {
        let lo = p.minute.saturating_sub(2).min(n);
        let hi = (p.minute + s.immediate_minutes + s.guard_minutes).min(n);
        mask[lo..hi].iter_mut().for_each(|m| *m = true);
    }
    mask
}

/// How a kernel class's response is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Learned from the data, starting from the parametric prior (posts of
    /// a format, instant marketing events of a kind).
    Learned,
    /// Fixed flat steps over the immediate window ([`Kernel::step`]): the
    /// pieces a lasting event (a sale) is cut into.
    Step,
}

/// Fits one series with `classes` learned kernel classes; posts must be
/// sorted by minute (ties in any fixed order).
pub fn fit(grid: &Grid, y: &[f64], posts: &[PostAt], classes: usize, s: &Settings) -> Fit {
    fit_classes(grid, y, posts, &vec![Class::Learned; classes], None, s)
}

/// A control series and its own baseline (see [`baseline::follow_control`]).
pub type Control<'a> = (&'a [f64], &'a [f64]);

/// Fits one series whose components (posts and known events, sorted by
/// minute) fall in the kernel classes `classes`.
pub fn fit_classes(
    grid: &Grid,
    y: &[f64],
    posts: &[PostAt],
    classes: &[Class],
    control: Option<Control>,
    s: &Settings,
) -> Fit {
    let n = y.len();
    let bins = Bins::new(s.immediate_minutes, s.extended_minutes());
    let mask = event_mask(posts, n, s);
    let prior = Kernel::prior(&bins, s);
    let mut kernels: Vec<Kernel> = classes
        .iter()
        .map(|c| match c {
            Class::Learned => prior.clone(),
            Class::Step => Kernel::step(&bins),
        })
        .collect();
    let mut a = vec![1.0; posts.len()];
    // Clean posts: no other post's immediate window overlaps theirs. The
    // first learned kernels come from them alone; later rounds refine with
    // every post, split by the current kernels.
    let clean: Vec<bool> = (0..posts.len())
        .map(|k| {
            let t = posts[k].minute;
            let before = k == 0 || posts[k - 1].minute + s.immediate_minutes <= t;
            let after = k + 1 == posts.len() || t + s.immediate_minutes <= posts[k + 1].minute;
            before && after
        })
        .collect();
    let all = vec![true; posts.len()];
    let mut previous: Option<Vec<f64>> = None;
    let mut base;
    let mut iterations;
    let mut surge_beta = 0.0;
    // No prior in the first round: it is estimated from that round's fit.
    let mut prior_rate = vec![0.0; posts.len()];
    let mut prior_class = vec![0.0; posts.len()];
    let mut round = 0;
    loop {
        base = baseline::estimate(grid, y, &mask, previous.as_deref(), s);
        if let Some((c, cb)) = control {
            surge_beta = baseline::follow_control(&mut base, y, previous.as_deref(), c, cb);
        }
        let events = Events {
            n,
            bins: &bins,
            posts,
            kernels: &kernels,
            prior_rate: &prior_rate,
        };
        (a, iterations) = events.em(y, &base.b, &a, s);
        round += 1;
        if round >= s.refine {
            break;
        }
        let r = events.response(&a);
        let e_over_r: Vec<f64> = (0..n)
            .map(|i| {
                if r[i] > 0.0 {
                    (y[i] - base.b[i]) / r[i]
                } else {
                    0.0
                }
            })
            .collect();
        let learn_from = if round == 1 { &clean } else { &all };
        let alloc = events.allocated(&a, &e_over_r, learn_from);
        for (c, kernel) in kernels.iter_mut().enumerate() {
            if classes[c] == Class::Step {
                continue;
            }
            let members: Vec<f64> = posts
                .iter()
                .zip(&a)
                .zip(learn_from)
                .filter(|((p, _), used)| p.class == c && **used)
                .map(|((_, x), _)| *x)
                .collect();
            if members.is_empty() {
                continue;
            }
            let mean = members.iter().sum::<f64>() / members.len() as f64;
            *kernel = Kernel::learned(
                &bins,
                &alloc[c],
                &prior,
                s.kernel_prior_posts * mean.max(1e-9),
            );
        }
        (prior_rate, prior_class) = shrinkage(posts, &a);
        let events = Events {
            n,
            bins: &bins,
            posts,
            kernels: &kernels,
            prior_rate: &prior_rate,
        };
        (a, _) = events.em(y, &base.b, &a, s);
        previous = Some(events.response(&a));
    }
    let r = Events {
        n,
        bins: &bins,
        posts,
        kernels: &kernels,
        prior_rate: &prior_rate,
    }
    .response(&a);
    let mut fitted = windows_of(y, base, r, a, kernels, bins, posts, iterations, s);
    fitted.surge_beta = surge_beta;
    fitted.prior_mean = prior_rate
        .iter()
        .zip(&prior_class)
        .map(|(&r, &c)| (if r > 0.0 { 1.0 / r } else { 0.0 }, c))
        .collect();
    fitted
}

#[allow(clippy::too_many_arguments)]
fn windows_of(
    y: &[f64],
    base: Baseline,
    r: Vec<f64>,
    a: Vec<f64>,
    kernels: Vec<Kernel>,
    bins: Bins,
    posts: &[PostAt],
    iterations: usize,
    s: &Settings,
) -> Fit {
    let n = y.len();
    let b = &base.b;
    let inv_r = |i: usize| if r[i] > 0.0 { 1.0 / r[i] } else { 0.0 };
    let py = prefix(y.iter().copied(), n);
    let pb = prefix(b.iter().copied(), n);
    // The split runs at amplitudes floored at a small share of the class
    // mean: a post the fit drives to exactly zero still gets the signed
    // excess of the minutes only it covers (else its lift would be cut at
    // zero, a bias upward over many posts), and a negligible share where
    // others respond.
    let mut mean_of = vec![(0.0, 0usize); kernels.len()];
    for (p, &ak) in posts.iter().zip(&a) {
        mean_of[p.class].0 += ak;
        mean_of[p.class].1 += 1;
    }
    let a_split: Vec<f64> = posts
        .iter()
        .zip(&a)
        .map(|(p, &ak)| {
            let (t, c) = mean_of[p.class];
            ak.max(SPLIT_FLOOR * if c > 0 { t / c as f64 } else { 0.0 })
        })
        .collect();
    let r_split = Events {
        n,
        bins: &bins,
        posts,
        kernels: &kernels,
        prior_rate: &[],
    }
    .response(&a_split);
    let e_r: Vec<f64> = (0..n)
        .map(|i| {
            if r_split[i] > 0.0 {
                (y[i] - b[i]) / r_split[i]
            } else {
                0.0
            }
        })
        .collect();
    let y_lam: Vec<f64> = (0..n)
        .map(|i| {
            let lam = b[i] + r[i];
            if lam > 0.0 { y[i] / lam } else { 0.0 }
        })
        .collect();
    let inv: Vec<f64> = (0..n).map(inv_r).collect();
    let res: Vec<f64> = (0..n).map(|i| y[i] - b[i] - r[i]).collect();
    // Placebo sums run over the excess (not the residual after the fitted
    // responses, which the fit has bent toward the noise and would make
    // intervals too narrow); other posts' responses in placebo windows are
    // outliers that the robust spread below ignores.
    let pex = prefix((0..n).map(|i| y[i] - b[i]), n);
    // Pearson dispersion over the minutes the baseline was fitted on.
    let (mut chi, mut cnt) = (0.0, 0.0);
    for i in 0..n {
        let lam = b[i] + r[i];
        if !base.masked[i] && lam > 0.0 {
            chi += res[i] * res[i] / lam;
            cnt += 1.0;
        }
    }
    let dispersion = if cnt > 0.0 { (chi / cnt).max(1.0) } else { 1.0 };
    let z = stats::normal_quantile(0.5 + s.confidence / 2.0);
    let z_mdl = stats::normal_quantile(0.95) + stats::normal_quantile(0.80);
    let ib = bins.immediate_bins();
    let shifts = placebo_shifts(n);
    // Mean amplitude per class: the weights a post's uncertainty is computed
    // with never use less (see `WindowFit::se`).
    let mut class_mean = vec![(0.0, 0usize); kernels.len()];
    for (p, &ak) in posts.iter().zip(&a) {
        class_mean[p.class].0 += ak;
        class_mean[p.class].1 += 1;
    }
    let class_mean: Vec<f64> = class_mean
        .iter()
        .map(|(t, c)| if *c > 0 { t / *c as f64 } else { 0.0 })
        .collect();
    let windows = posts
        .iter()
        .zip(&a)
        .enumerate()
        .map(|(k_index, (p, &ak))| {
            let k = &kernels[p.class];
            let a_eff = ak.max(class_mean[p.class]);
            let one = |nb: usize| -> WindowFit {
                let mut f = WindowFit::default();
                let (w_lo, _) = span(&bins, p.minute, 0, n);
                let (_, w_hi) = span(&bins, p.minute, nb - 1, n);
                f.complete = p.minute + bins.edges[nb] <= n;
                f.observed = py[w_hi] - py[w_lo];
                f.baseline = pb[w_hi] - pb[w_lo];
                // mean weight per bin, for the null and the variance
                let mut wbar = Vec::with_capacity(nb);
                let (mut own, mut mass, mut var_qp) = (0.0, 0.0, 0.0);
                for bi in 0..nb {
                    let (lo, hi) = span(&bins, p.minute, bi, n);
                    if lo >= hi {
                        wbar.push((bi, 0.0));
                        continue;
                    }
                    let g = k.density(&bins, bi);
                    f.lift += a_split[k_index] * g * local_sum(&e_r, lo, hi);
                    f.responsibility += a_split[k_index] * g * local_sum(&y_lam, lo, hi);
                    // Σ 1/R over the bin, with the post at a_eff
                    let inv_sum = if a_eff > ak {
                        let extra = (a_eff - ak) * g;
                        (lo..hi).map(|i| 1.0 / (r[i] + extra)).sum::<f64>()
                    } else {
                        local_sum(&inv, lo, hi)
                    };
                    own += a_eff * g * g * inv_sum;
                    mass += g * (hi - lo) as f64;
                    let w = a_eff * g * inv_sum / (hi - lo) as f64;
                    var_qp += w * w * (pb[hi] - pb[lo]);
                    wbar.push((bi, w));
                }
                f.overlap_share = if mass > 0.0 {
                    (1.0 - own / mass).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let se_qp = (dispersion * var_qp).sqrt();
                // placebo windows: the same weights over residuals elsewhere
                let len = w_hi - w_lo;
                let mut null = Vec::with_capacity(s.placebos);
                if len > 0 {
                    for &sh in &shifts {
                        if null.len() >= s.placebos {
                            break;
                        }
                        let start = w_lo as i64 + sh;
                        if start < 0 || start as usize + len > n {
                            continue;
                        }
                        let mut v = 0.0;
                        for &(bi, w) in &wbar {
                            if w == 0.0 {
                                continue;
                            }
                            let (lo, hi) = span(&bins, p.minute, bi, n);
                            let (lo, hi) = ((lo as i64 + sh) as usize, (hi as i64 + sh) as usize);
                            v += w * (pex[hi] - pex[lo]);
                        }
                        null.push(v);
                    }
                }
                f.placebos = null.len();
                // Robust spread of the placebo sums (MAD): other posts'
                // responses inside placebo windows are outliers, not noise.
                let sd_null = if null.len() >= MIN_PLACEBOS {
                    let med = stats::quantile(&null, 0.5);
                    let mut dev: Vec<f64> = null.iter().map(|v| (v - med).abs()).collect();
                    1.4826 * baseline::median_in_place(&mut dev).unwrap_or(0.0)
                } else {
                    0.0
                };
                f.se = se_qp.max(sd_null);
                f.min_detectable_lift = z_mdl * f.se;
                f.p_value = if f.se > 0.0 {
                    stats::normal_sf(f.lift / f.se)
                } else {
                    0.5
                };
                f.lift_low = f.lift - z * f.se;
                f.lift_high = f.lift + z * f.se;
                f
            };
            [one(ib.max(1)), one(bins.len())]
        })
        .collect();
    Fit {
        baseline: base,
        response: r,
        amplitude: a,
        split_amplitude: a_split,
        kernels,
        windows,
        dispersion,
        iterations,
        surge_beta: 0.0,
        prior_mean: Vec::new(),
        y: y.to_vec(),
        bins,
        posts: posts.to_vec(),
    }
}

/// Share of its class's mean amplitude a post's amplitude is floored at in
/// the split (see `windows_of`).
pub const SPLIT_FLOOR: f64 = 0.01;

/// Below this many placebo windows the p-value and interval are normal ones.
pub const MIN_PLACEBOS: usize = 20;

/// Placebo offsets in minutes, in the order they are tried: the same time of
/// day 1, 2, 3 … days before and after, each at 0, −15, +15, −30, +30
/// minutes (matched time of day, ±30 minutes).
pub fn placebo_shifts(n: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let days = n / 1440 + 1;
    for d in 1..=days as i64 {
        for sign in [-1i64, 1] {
            for j in [0i64, -15, 15, -30, 30] {
                out.push(sign * d * 1440 + j);
            }
        }
    }
    out
}

impl Fit {
    /// The model's responsibility of post `k` for a visit in minute `i`,
    /// `A_k g_k(i − t_k) / λ_i` (λ = baseline + all responses), within window
    /// `w` (0 immediate, 1 extended). It does not look at the minute's own
    /// count: the observed share `e_t / y_t` would be biased upward for the
    /// visits one picks by their outcome (a minute that holds a converting
    /// visit has y ≥ 1, so its excess is positive on average even under no
    /// effect), which more than tripled incremental orders on the sample.
    fn responsibility(&self, k: usize, i: usize, w: usize) -> f64 {
        let p = self.posts[k];
        let nb = self.window_bins(w);
        if i < p.minute || i >= p.minute + self.bins.edges[nb] || i >= self.y.len() {
            return 0.0;
        }
        let lam = self.baseline.b[i] + self.response[i];
        if lam <= 0.0 {
            return 0.0;
        }
        let bin = self.bins.edges.partition_point(|&e| e <= i - p.minute) - 1;
        self.split_amplitude[k] * self.kernels[p.class].density(&self.bins, bin) / lam
    }

    fn window_bins(&self, w: usize) -> usize {
        if w == 0 {
            self.bins.immediate_bins().max(1)
        } else {
            self.bins.len()
        }
    }

    /// Probability that one visit in minute `i` came from post `k`, within
    /// window `w`: the responsibility scaled so that over the window's visits
    /// the probabilities sum to `max(L_k, 0)` (a negative lift gives no visit
    /// away). For labelling visits.
    pub fn visit_probability(&self, k: usize, i: usize, w: usize) -> f64 {
        if self.windows[k][w].lift <= 0.0 {
            return 0.0;
        }
        self.visit_share(k, i, w)
    }

    /// The signed share of one visit in minute `i` that post `k` explains:
    /// the responsibility scaled so that over the window's visits the shares
    /// sum to `L_k` itself, negative included. Incremental orders are summed
    /// with these, so noise cancels across posts instead of piling up as
    /// positive parts would.
    pub fn visit_share(&self, k: usize, i: usize, w: usize) -> f64 {
        let x = &self.windows[k][w];
        if x.responsibility <= 0.0 {
            return 0.0;
        }
        x.lift / x.responsibility * self.responsibility(k, i, w)
    }

    /// The series the fit was made on.
    pub fn observed(&self) -> &[f64] {
        &self.y
    }

    /// Posts whose extended window covers minute `i` (posts sorted by minute).
    pub fn posts_covering(&self, i: usize) -> std::ops::Range<usize> {
        let ext = self.bins.edges[self.bins.len()];
        let lo = self.posts.partition_point(|p| p.minute + ext <= i);
        let hi = self.posts.partition_point(|p| p.minute <= i);
        lo..hi.max(lo)
    }
}
