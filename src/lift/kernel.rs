//! Response kernels: how a post's extra traffic spreads over the minutes
//! after it, as probability mass per lag bin.
//!
//! Bins are one minute wide over the immediate window (the sharp first
//! response is resolved exactly) and one hour wide after it (the tail is
//! smooth, and hourly bins keep every per-post sum O(bins) with prefix sums).
//! Within a bin the mass is spread evenly.

use super::settings::Settings;

/// Lag bins `[start, end)` in minutes after publication.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    /// Bin edges: bin b is `[edges[b], edges[b + 1])`.
    pub edges: Vec<usize>,
    /// Bins with `edges[b] < immediate` form the immediate window.
    pub immediate: usize,
}

impl Bins {
    /// Minute bins over `[0, immediate)`, then hourly bins up to `extended`.
    pub fn new(immediate: usize, extended: usize) -> Self {
        let mut edges: Vec<usize> = (0..=immediate).collect();
        let mut e = immediate;
        while e < extended {
            e = (e + 60).min(extended);
            edges.push(e);
        }
        Bins { edges, immediate }
    }

    /// Number of bins.
    pub fn len(&self) -> usize {
        self.edges.len() - 1
    }

    /// Whether there are no bins.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width of bin `b`, minutes.
    pub fn width(&self, b: usize) -> usize {
        self.edges[b + 1] - self.edges[b]
    }

    /// Bins of the immediate window (a prefix).
    pub fn immediate_bins(&self) -> usize {
        self.edges
            .iter()
            .take_while(|&&e| e < self.immediate)
            .count()
    }
}

/// Probability mass per bin; sums to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Mass of each bin.
    pub mass: Vec<f64>,
}

impl Kernel {
    /// The parametric prior: a fast exponential decay plus a slow one,
    /// truncated to the extended window and normalised.
    pub fn prior(bins: &Bins, s: &Settings) -> Self {
        let ln2 = std::f64::consts::LN_2;
        let fast = s.kernel_half_life_minutes;
        let slow = s.kernel_slow_half_life_hours * 60.0;
        let cdf = |x: f64| {
            (1.0 - s.kernel_slow_share) * (1.0 - (-ln2 * x / fast).exp())
                + s.kernel_slow_share * (1.0 - (-ln2 * x / slow).exp())
        };
        let mut mass: Vec<f64> = (0..bins.len())
            .map(|b| cdf(bins.edges[b + 1] as f64) - cdf(bins.edges[b] as f64))
            .collect();
        normalise(&mut mass);
        Kernel { mass }
    }

    /// A kernel learned from the excess allocated to a class of posts
    /// (`allocated[b]`, signed sums over all its posts), shrunk toward
    /// `prior` with the weight of `prior_mass` visits. The hourly tail is
    /// made non-increasing (responses fade) by pooling adjacent violators.
    pub fn learned(bins: &Bins, allocated: &[f64], prior: &Kernel, prior_mass: f64) -> Self {
        let ib = bins.immediate_bins();
        let mut mass: Vec<f64> = allocated.iter().map(|a| a.max(0.0)).collect();
        // Non-increasing density over the tail bins.
        let tail: Vec<(f64, f64)> = (ib..bins.len())
            .map(|b| (mass[b] / bins.width(b) as f64, bins.width(b) as f64))
            .collect();
        let fitted = antitonic(&tail);
        for (k, b) in (ib..bins.len()).enumerate() {
            mass[b] = fitted[k] * bins.width(b) as f64;
        }
        for (m, p) in mass.iter_mut().zip(&prior.mass) {
            *m += prior_mass * p;
        }
        if mass.iter().sum::<f64>() <= 0.0 {
            return prior.clone();
        }
        normalise(&mut mass);
        Kernel { mass }
    }

    /// Flat over the immediate window, nothing after: one step of a lasting
    /// event (a sale), whose steps together give it a free shape.
    pub fn step(bins: &Bins) -> Self {
        let ib = bins.immediate_bins();
        let mut mass = vec![0.0; bins.len()];
        for (b, m) in mass.iter_mut().enumerate().take(ib) {
            *m = bins.width(b) as f64;
        }
        normalise(&mut mass);
        Kernel { mass }
    }

    /// Density (mass per minute) of bin `b`.
    pub fn density(&self, bins: &Bins, b: usize) -> f64 {
        self.mass[b] / bins.width(b) as f64
    }
}

fn normalise(v: &mut [f64]) {
    let t: f64 = v.iter().sum();
    if t > 0.0 {
        for x in v.iter_mut() {
            *x /= t;
        }
    }
}

/// Weighted least-squares non-increasing fit (pool adjacent violators).
pub fn antitonic(points: &[(f64, f64)]) -> Vec<f64> {
    // blocks of (mean, weight, count)
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(points.len());
    for &(y, w) in points {
        blocks.push((y, w, 1));
        while blocks.len() > 1 {
            let n = blocks.len();
            if blocks[n - 2].0 >= blocks[n - 1].0 {
                break;
            }
            let (m2, w2, c2) = blocks.pop().expect("two blocks");
            let (m1, w1, c1) = blocks.pop().expect("two blocks");
            let w = w1 + w2;
            let m = if w > 0.0 {
                (m1 * w1 + m2 * w2) / w
            } else {
                (m1 + m2) / 2.0
            };
            blocks.push((m, w, c1 + c2));
        }
    }
    blocks
        .into_iter()
        .flat_map(|(m, _, c)| std::iter::repeat_n(m, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_minutes_then_hours() {
        let b = Bins::new(60, 72 * 60);
        assert_eq!(b.len(), 60 + 71);
        assert_eq!(b.immediate_bins(), 60);
        assert_eq!(b.width(59), 1);
        assert_eq!(b.width(60), 60);
        let odd = Bins::new(45, 200);
        assert_eq!(odd.edges[45..], [45, 105, 165, 200]);
    }

    #[test]
    fn prior_sums_to_one_and_decays() {
        let b = Bins::new(60, 4320);
        let k = Kernel::prior(&b, &Settings::default());
        assert!((k.mass.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // half-life 60 min: mass in the first hour, before normalising, is
        // 0.7 * 0.5 + 0.3 * (1 - 2^(-1/24)).
        let raw = 0.7 * 0.5 + 0.3 * (1.0 - 0.5f64.powf(1.0 / 24.0));
        let total = 0.7 * (1.0 - 0.5f64.powi(72)) + 0.3 * (1.0 - 0.5f64.powi(3));
        let first: f64 = k.mass[..60].iter().sum();
        assert!((first - raw / total).abs() < 1e-12);
    }

    #[test]
    fn antitonic_pools_violators() {
        let f = antitonic(&[(3.0, 1.0), (1.0, 1.0), (2.0, 1.0), (0.0, 2.0)]);
        assert_eq!(f, vec![3.0, 1.5, 1.5, 0.0]);
    }
}
