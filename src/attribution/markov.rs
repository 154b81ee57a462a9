//! Absorbing Markov chain removal effects, solved exactly.
//!
//! States are `(start)`, one state per k-tuple of consecutive channels
//! (order k; a path shorter than k is one state), `(conversion)` and
//! `(null)`. Consecutive identical states collapse, so there are no self
//! loops (ChannelAttribution's `markov_model` does the same). Transition
//! counts are weighted by each path's conversions + non-conversions.
//!
//! Removing channel c redirects every transition into a state containing c
//! to `(null)`. With M = I - Q, N = M^-1, n = row `start` of N, a = N r
//! (absorption into conversion) and S the states containing c, Woodbury's
//! identity gives the conversion probability without c from one
//! factorisation:
//!
//!   P_-c = P - n_S^T (N_SS)^-1 a_S
//!
//! (for order 1, S = {c} and this is P - n_c a_c / N_cc: the "h_k a_k"
//! identity). One sparse LU of M, three solves for n, a and the value vector
//! b, plus one solve per state for the needed columns of N, replace one
//! solve per channel on a modified chain.

use std::collections::HashMap;

use faer::linalg::solvers::Solve;
use faer::sparse::{SparseColMat, Triplet};
use faer::{Mat, MatRef};

use crate::error::{Error, Result};

/// One aggregated path: its channels (already transformed), and weighted
/// conversions, value and non-conversions.
#[derive(Debug, Clone)]
pub struct PathCount {
    /// Channel ids in order.
    pub channels: Vec<u32>,
    /// Conversions (may be fractional: bootstrap weights).
    pub conversions: f64,
    /// Total conversion value.
    pub value: f64,
    /// Non-converting journeys.
    pub nulls: f64,
}

/// A state of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// `(start)`
    Start,
    /// A k-tuple of channels.
    Channels(Vec<u32>),
    /// `(conversion)`
    Conversion,
    /// `(null)`
    Null,
}

/// The fitted chain.
#[derive(Debug, Clone)]
pub struct Fit {
    /// P(conversion) from `(start)`.
    pub p_conversion: f64,
    /// Removal effect of every channel id below `n_channels` (0 when the
    /// channel is not in the chain).
    pub removal: Vec<f64>,
    /// Value removal effect: 1 - E_-c[value] / E[value], with each state's
    /// conversions valued at its mean value per conversion.
    pub value_removal: Vec<f64>,
    /// Transitions: (from, to, weighted count, probability), sorted.
    pub transitions: Vec<(State, State, f64, f64)>,
}

fn states_of(channels: &[u32], order: usize) -> Vec<Vec<u32>> {
    let mut collapsed: Vec<u32> = Vec::with_capacity(channels.len());
    for &c in channels {
        if collapsed.last() != Some(&c) {
            collapsed.push(c);
        }
    }
    let tuples: Vec<Vec<u32>> = if collapsed.len() <= order {
        vec![collapsed]
    } else {
        collapsed.windows(order).map(<[u32]>::to_vec).collect()
    };
    let mut out: Vec<Vec<u32>> = Vec::with_capacity(tuples.len());
    for t in tuples {
        if out.last() != Some(&t) {
            out.push(t);
        }
    }
    out
}

/// Fits the order-`order` chain on `paths` and solves every channel's
/// removal effect exactly.
pub fn fit(paths: &[PathCount], order: usize, n_channels: usize) -> Result<Fit> {
    if !(1..=8).contains(&order) {
        return Err(Error::Config(format!(
            "Markov order must be between 1 and 8, got {order}"
        )));
    }
    // Transient states: 0 = start, then tuples in first-seen order (paths
    // arrive sorted, so the numbering is deterministic).
    let mut ids: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut tuples: Vec<Vec<u32>> = vec![Vec::new()];
    // transitions between transient states, and into the absorbing ones
    let mut trans: HashMap<(usize, usize), f64> = HashMap::new();
    let mut to_conv: Vec<f64> = vec![0.0];
    let mut to_null: Vec<f64> = vec![0.0];
    let mut value_at: Vec<f64> = vec![0.0];
    for p in paths {
        let w = p.conversions + p.nulls;
        if p.channels.is_empty() || w <= 0.0 {
            continue;
        }
        let mut prev = 0usize;
        for t in states_of(&p.channels, order) {
            let id = *ids.entry(t.clone()).or_insert_with(|| {
                tuples.push(t);
                to_conv.push(0.0);
                to_null.push(0.0);
                value_at.push(0.0);
                tuples.len() - 1
            });
            *trans.entry((prev, id)).or_insert(0.0) += w;
            prev = id;
        }
        to_conv[prev] += p.conversions;
        to_null[prev] += p.nulls;
        value_at[prev] += p.value;
    }
    let m = tuples.len();
    let mut out_total = vec![0.0; m];
    for (&(i, _), &w) in &trans {
        out_total[i] += w;
    }
    for i in 0..m {
        out_total[i] += to_conv[i] + to_null[i];
    }
    // Sorted transitions: deterministic triplets and output.
    let mut trans_sorted: Vec<((usize, usize), f64)> = trans.into_iter().collect();
    trans_sorted.sort_by_key(|&((i, j), _)| (i, j));

    let state = |i: usize| {
        if i == 0 {
            State::Start
        } else {
            State::Channels(tuples[i].clone())
        }
    };
    let mut transitions = Vec::with_capacity(trans_sorted.len() + 2 * m);
    for &((i, j), w) in &trans_sorted {
        transitions.push((state(i), state(j), w, w / out_total[i]));
    }
    for i in 0..m {
        if to_conv[i] > 0.0 {
            transitions.push((
                state(i),
                State::Conversion,
                to_conv[i],
                to_conv[i] / out_total[i],
            ));
        }
        if to_null[i] > 0.0 {
            transitions.push((state(i), State::Null, to_null[i], to_null[i] / out_total[i]));
        }
    }
    transitions.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));

    let mut removal = vec![0.0; n_channels];
    let mut value_removal = vec![0.0; n_channels];
    if out_total[0] <= 0.0 || to_conv.iter().all(|&c| c <= 0.0) {
        return Ok(Fit {
            p_conversion: 0.0,
            removal,
            value_removal,
            transitions,
        });
    }

    // M = I - Q (column-compressed).
    let mut triplets: Vec<Triplet<usize, usize, f64>> = Vec::with_capacity(trans_sorted.len() + m);
    for i in 0..m {
        triplets.push(Triplet::new(i, i, 1.0));
    }
    for &((i, j), w) in &trans_sorted {
        triplets.push(Triplet::new(i, j, -w / out_total[i]));
    }
    let mat = SparseColMat::<usize, f64>::try_new_from_triplets(m, m, &triplets)
        .map_err(|e| Error::Internal(format!("Markov matrix: {e:?}")))?;
    let lu = mat
        .sp_lu()
        .map_err(|e| Error::Internal(format!("Markov LU: {e:?}")))?;

    let r_conv: Vec<f64> = (0..m)
        .map(|i| {
            if out_total[i] > 0.0 {
                to_conv[i] / out_total[i]
            } else {
                0.0
            }
        })
        .collect();
    let r_value: Vec<f64> = (0..m)
        .map(|i| {
            if to_conv[i] > 0.0 {
                r_conv[i] * value_at[i] / to_conv[i]
            } else {
                0.0
            }
        })
        .collect();
    let mut rhs = Mat::<f64>::from_fn(m, 2, |i, j| if j == 0 { r_conv[i] } else { r_value[i] });
    lu.solve_in_place(rhs.as_mut());
    let a: Vec<f64> = (0..m).map(|i| rhs[(i, 0)]).collect();
    let b: Vec<f64> = (0..m).map(|i| rhs[(i, 1)]).collect();
    let mut e0 = Mat::<f64>::zeros(m, 1);
    e0[(0, 0)] = 1.0;
    lu.solve_transpose_in_place(e0.as_mut());
    let n: Vec<f64> = (0..m).map(|i| e0[(i, 0)]).collect();
    let p = a[0];
    let v = b[0];

    // States containing each channel.
    let mut containing: Vec<Vec<usize>> = vec![Vec::new(); n_channels];
    for (i, t) in tuples.iter().enumerate().skip(1) {
        let mut cs = t.clone();
        cs.sort_unstable();
        cs.dedup();
        for c in cs {
            containing[c as usize].push(i);
        }
    }
    // Columns of N for every state, in blocks; keep only the entries N[i, j]
    // with i and j sharing a channel.
    let mut needed: HashMap<(usize, usize), f64> = HashMap::new();
    let mut wanted_rows: Vec<Vec<usize>> = vec![Vec::new(); m];
    for set in &containing {
        for &j in set {
            wanted_rows[j].extend(set.iter().copied());
        }
    }
    for rows in &mut wanted_rows {
        rows.sort_unstable();
        rows.dedup();
    }
    const BLOCK: usize = 256;
    let mut start = 1;
    while start < m {
        let end = (start + BLOCK).min(m);
        let mut block = Mat::<f64>::zeros(m, end - start);
        for j in start..end {
            block[(j, j - start)] = 1.0;
        }
        lu.solve_in_place(block.as_mut());
        for j in start..end {
            for &i in &wanted_rows[j] {
                needed.insert((i, j), block[(i, j - start)]);
            }
        }
        start = end;
    }
    for (c, set) in containing.iter().enumerate() {
        if set.is_empty() {
            continue;
        }
        let k = set.len();
        let nss = Mat::<f64>::from_fn(k, k, |x, y| needed[&(set[x], set[y])]);
        let rhs = Mat::<f64>::from_fn(k, 2, |x, y| if y == 0 { a[set[x]] } else { b[set[x]] });
        let sol = solve_dense(nss.as_ref(), rhs)?;
        let mut dp = 0.0;
        let mut dv = 0.0;
        for x in 0..k {
            dp += n[set[x]] * sol[(x, 0)];
            dv += n[set[x]] * sol[(x, 1)];
        }
        removal[c] = (dp / p).clamp(0.0, 1.0);
        value_removal[c] = if v > 0.0 {
            (dv / v).clamp(0.0, 1.0)
        } else {
            0.0
        };
    }
    Ok(Fit {
        p_conversion: p,
        removal,
        value_removal,
        transitions,
    })
}

fn solve_dense(a: MatRef<'_, f64>, mut rhs: Mat<f64>) -> Result<Mat<f64>> {
    if a.nrows() == 1 {
        let d = a[(0, 0)];
        if d == 0.0 {
            return Err(Error::Internal("singular Markov block".into()));
        }
        for j in 0..rhs.ncols() {
            rhs[(0, j)] /= d;
        }
        return Ok(rhs);
    }
    let lu = a.partial_piv_lu();
    lu.solve_in_place(rhs.as_mut());
    Ok(rhs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(ch: &[u32], c: f64, n: f64) -> PathCount {
        PathCount {
            channels: ch.to_vec(),
            conversions: c,
            value: c,
            nulls: n,
        }
    }

    #[test]
    fn pychattr_vector() {
        // A>B>A>B>B>A, A>B>B>A>A, A>A: RE_A = 1, RE_B = 0.5 (attribution.md §5.1)
        let f = fit(
            &[
                pc(&[0, 1, 0, 1, 1, 0], 1.0, 0.0),
                pc(&[0, 1, 1, 0, 0], 1.0, 0.0),
                pc(&[0, 0], 1.0, 0.0),
            ],
            1,
            2,
        )
        .unwrap();
        assert!((f.removal[0] - 1.0).abs() < 1e-12);
        assert!((f.removal[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn jerednel_vector() {
        // c1>c2>c3 converts, c1 null, c2>c3 null: RE 0.5, 1, 1; P = 1/3.
        let f = fit(
            &[
                pc(&[0, 1, 2], 1.0, 0.0),
                pc(&[0], 0.0, 1.0),
                pc(&[1, 2], 0.0, 1.0),
            ],
            1,
            3,
        )
        .unwrap();
        assert!((f.p_conversion - 1.0 / 3.0).abs() < 1e-12);
        for (c, want) in [(0, 0.5), (1, 1.0), (2, 1.0)] {
            assert!((f.removal[c] - want).abs() < 1e-12, "{c}: {}", f.removal[c]);
        }
    }
}
