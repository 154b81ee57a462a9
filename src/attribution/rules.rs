//! Rule-based models: fixed weights over a journey's positions.
//!
//! Each function returns one weight per position of the transformed path,
//! summing to 1 (an empty path has no weights: its order goes to the
//! `(no touch)` bucket before any model runs).

/// First touch: everything to the first position.
pub fn first_touch(n: usize) -> Vec<f64> {
    let mut w = vec![0.0; n];
    w[0] = 1.0;
    w
}

/// Last touch: everything to the last position.
pub fn last_touch(n: usize) -> Vec<f64> {
    let mut w = vec![0.0; n];
    w[n - 1] = 1.0;
    w
}

/// Last non-X: everything to the last position whose channel is not
/// excluded; the last position when all are.
pub fn last_non(channels: &[u32], excluded: impl Fn(u32) -> bool) -> Vec<f64> {
    let n = channels.len();
    let i = (0..n)
        .rev()
        .find(|&i| !excluded(channels[i]))
        .unwrap_or(n - 1);
    let mut w = vec![0.0; n];
    w[i] = 1.0;
    w
}

/// Linear per position: 1/n each.
pub fn linear(n: usize) -> Vec<f64> {
    vec![1.0 / n as f64; n]
}

/// Linear per distinct channel (= simplified Shapley, Zhao et al. 2018):
/// each distinct channel gets 1/d, split equally over its positions.
pub fn linear_distinct(channels: &[u32]) -> Vec<f64> {
    let mut distinct: Vec<u32> = channels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let d = distinct.len() as f64;
    channels
        .iter()
        .map(|c| {
            let occurrences = channels.iter().filter(|x| *x == c).count() as f64;
            1.0 / d / occurrences
        })
        .collect()
}

/// Position-based (U-shaped). `first` and `last` are the end weights,
/// `middle` is spread evenly over the positions between them. One position gets everything; two
/// positions get half each (Google Ads, fractribution, Snowplow, DP6).
pub fn position_based(n: usize, first: f64, middle: f64, last: f64) -> Vec<f64> {
    match n {
        1 => vec![1.0],
        2 => vec![0.5, 0.5],
        _ => {
            let mid = middle / (n - 2) as f64;
            let mut w = vec![mid; n];
            w[0] = first;
            w[n - 1] = last;
            w
        }
    }
}

/// Time decay: raw weight 0.5^(age / half_life), age = time from the
/// position's latest touch to the order, normalised.
pub fn time_decay(ages_hours: &[f64], half_life_hours: f64) -> Vec<f64> {
    // Weights relative to the youngest position, so old touches underflow to
    // zero gracefully instead of every weight doing so.
    let youngest = ages_hours.iter().cloned().fold(f64::INFINITY, f64::min);
    let raw: Vec<f64> = ages_hours
        .iter()
        .map(|a| 0.5f64.powf((a - youngest) / half_life_hours))
        .collect();
    let s: f64 = raw.iter().sum();
    raw.into_iter().map(|x| x / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_based_cases() {
        assert_eq!(position_based(1, 0.4, 0.2, 0.4), vec![1.0]);
        assert_eq!(position_based(2, 0.4, 0.2, 0.4), vec![0.5, 0.5]);
        let w = position_based(4, 0.4, 0.2, 0.4);
        assert!((w[1] - 0.1).abs() < 1e-15 && (w[2] - 0.1).abs() < 1e-15);
        assert_eq!((w[0], w[3]), (0.4, 0.4));
    }

    #[test]
    fn time_decay_halves_per_half_life() {
        let w = time_decay(&[336.0, 168.0, 0.0], 168.0);
        // raw 0.25, 0.5, 1 -> /1.75
        assert!((w[0] - 0.25 / 1.75).abs() < 1e-15);
        assert!((w[2] - 1.0 / 1.75).abs() < 1e-15);
    }

    #[test]
    fn linear_distinct_splits_repeats() {
        // A B A: A gets 1/2 over two positions, B 1/2.
        assert_eq!(linear_distinct(&[0, 1, 0]), vec![0.25, 0.5, 0.25]);
        assert_eq!(last_non(&[0, 1, 0], |c| c == 0), vec![0.0, 1.0, 0.0]);
        assert_eq!(last_non(&[0, 0], |c| c == 0), vec![0.0, 1.0]);
    }
}
