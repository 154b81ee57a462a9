//! Shapley-style models that need non-converting journeys.
//!
//! - Counterfactual leave-one-out (Google fractribution): a position's
//!   marginal contribution is π(p) - π(p without it), floored at 0, where π is
//!   the observed conversion rate of exactly that path (0 when unobserved);
//!   a one-position path gets everything; all-zero falls back to last touch.
//! - Coalition Shapley (rate-based, DP6-style): the players are the
//!   journey's distinct channels, v(T) is the conversion rate of journeys
//!   whose distinct channel set is exactly T (0 when unobserved). Exact over
//!   all subsets up to a size cap; beyond it, the mean marginal over a fixed
//!   number of permutations drawn from a seed derived from the channel names,
//!   so the result never depends on thread count or input order. Negative
//!   values are floored at 0 and the rest normalised (equal split when
//!   nothing is positive).

use std::collections::HashMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Conversion rate by path key.
#[derive(Debug, Default, Clone)]
pub struct Rates {
    rates: HashMap<Vec<u64>, f64>,
}

impl Rates {
    /// Rates from (key, conversions, non-conversions).
    pub fn new<'a>(rows: impl Iterator<Item = (&'a [u64], f64, f64)>) -> Self {
        let mut acc: HashMap<Vec<u64>, (f64, f64)> = HashMap::new();
        for (k, c, n) in rows {
            let e = acc.entry(k.to_vec()).or_insert((0.0, 0.0));
            e.0 += c;
            e.1 += n;
        }
        let rates = acc
            .into_iter()
            .filter(|(_, (c, n))| c + n > 0.0)
            .map(|(k, (c, n))| (k, c / (c + n)))
            .collect();
        Rates { rates }
    }

    /// The rate of `key` (0 when never observed).
    pub fn get(&self, key: &[u64]) -> f64 {
        self.rates.get(key).copied().unwrap_or(0.0)
    }
}

/// Counterfactual leave-one-out weights for the positions of `key`.
pub fn counterfactual(key: &[u64], rates: &Rates) -> Vec<f64> {
    let n = key.len();
    if n == 1 {
        return vec![1.0];
    }
    let full = rates.get(key);
    let mut w: Vec<f64> = (0..n)
        .map(|i| {
            let without: Vec<u64> = key
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &k)| k)
                .collect();
            (full - rates.get(&without)).max(0.0)
        })
        .collect();
    let s: f64 = w.iter().sum();
    if s <= 0.0 {
        w.iter_mut().for_each(|x| *x = 0.0);
        w[n - 1] = 1.0;
    } else {
        w.iter_mut().for_each(|x| *x /= s);
    }
    w
}

/// Shapley values of the players `set` (sorted channel ids) under the
/// characteristic function `v` (called with sorted subsets).
pub fn coalition(
    set: &[u32],
    v: &dyn Fn(&[u32]) -> f64,
    exact_cap: usize,
    samples: usize,
    seed: u64,
) -> Vec<f64> {
    let n = set.len();
    let mut phi = vec![0.0; n];
    if n == 1 {
        return vec![1.0];
    }
    if n <= exact_cap {
        // v of every subset, by bitmask.
        let mut values = vec![0.0; 1usize << n];
        let mut members: Vec<u32> = Vec::with_capacity(n);
        for (mask, slot) in values.iter_mut().enumerate().skip(1) {
            members.clear();
            members.extend((0..n).filter(|i| mask & (1 << i) != 0).map(|i| set[i]));
            *slot = v(&members);
        }
        // weights |T|!(n-|T|-1)!/n!
        let mut fact = vec![1.0f64; n + 1];
        for i in 1..=n {
            fact[i] = fact[i - 1] * i as f64;
        }
        for (i, p) in phi.iter_mut().enumerate() {
            let bit = 1usize << i;
            for mask in 0..(1usize << n) {
                if mask & bit != 0 {
                    continue;
                }
                let t = mask.count_ones() as usize;
                let w = fact[t] * fact[n - t - 1] / fact[n];
                *p += w * (values[mask | bit] - values[mask]);
            }
        }
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..n).collect();
        let mut members: Vec<u32> = Vec::with_capacity(n);
        for _ in 0..samples {
            order.shuffle(&mut rng);
            members.clear();
            let mut prev = 0.0;
            for &i in &order {
                let pos = members.partition_point(|&x| x < set[i]);
                members.insert(pos, set[i]);
                let cur = v(&members);
                phi[i] += cur - prev;
                prev = cur;
            }
        }
        phi.iter_mut().for_each(|x| *x /= samples as f64);
    }
    phi
}

/// Floors negatives at 0 and normalises to 1 (equal split when nothing is
/// positive).
pub fn normalise(mut w: Vec<f64>) -> Vec<f64> {
    w.iter_mut().for_each(|x| *x = x.max(0.0));
    let s: f64 = w.iter().sum();
    let n = w.len() as f64;
    if s <= 0.0 {
        w.iter_mut().for_each(|x| *x = 1.0 / n);
    } else {
        w.iter_mut().for_each(|x| *x /= s);
    }
    w
}

/// FNV-1a over the channel names: a seed that depends only on the coalition.
pub fn seed_of<'a>(names: impl Iterator<Item = &'a str>, base: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ base;
    for name in names {
        for b in name.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dp6_readme_game() {
        // O=0, F=1, D=2: v(O)=7, v(F)=6, v(D)=4, v(OF)=15, v(OD)=7, v(FD)=9,
        // v(OFD)=19 -> 7.6667, 8.1667, 3.1667 (attribution.md §5.2).
        let v = |s: &[u32]| match s {
            [0] => 7.0,
            [1] => 6.0,
            [2] => 4.0,
            [0, 1] => 15.0,
            [0, 2] => 7.0,
            [1, 2] => 9.0,
            [0, 1, 2] => 19.0,
            _ => 0.0,
        };
        let phi = coalition(&[0, 1, 2], &v, 10, 0, 0);
        for (got, want) in phi.iter().zip([23.0 / 3.0, 49.0 / 6.0, 19.0 / 6.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        // Sampled permutations converge on the same values.
        let phi = coalition(&[0, 1, 2], &v, 0, 20_000, 42);
        for (got, want) in phi.iter().zip([23.0 / 3.0, 49.0 / 6.0, 19.0 / 6.0]) {
            assert!((got - want).abs() < 0.1, "{got} vs {want}");
        }
    }

    #[test]
    fn snowplow_fractribution_path() {
        // Organic_Search > Direct with π = 1/2, π(Direct) = 3/28,
        // π(Organic_Search) = 1/27 -> 0.459 / 0.541 (attribution.md §5.4).
        let (o, d) = (1u64 << 32, 2u64 << 32);
        let rates = Rates::new(
            [
                (&[o, d][..], 1.0, 1.0),
                (&[d][..], 3.0, 25.0),
                (&[o][..], 1.0, 26.0),
            ]
            .into_iter(),
        );
        let w = counterfactual(&[o, d], &rates);
        let a = 0.5 - 3.0 / 28.0;
        let b = 0.5 - 1.0 / 27.0;
        assert!((w[0] - a / (a + b)).abs() < 1e-12);
        assert!((w[1] - b / (a + b)).abs() < 1e-12);
    }
}
