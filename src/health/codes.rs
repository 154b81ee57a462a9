//! Leak evidence per code, from its daily `code_usage` history.
//!
//! A leaked code is redeemed by people the creator never reached, so the
//! share of its redemptions with no touch from the creator rises, and often
//! the shares arriving from coupon sites and from outside the creator's
//! audience countries with it. Three numbers per code, each explainable:
//!
//! - **the reference**: the program's untouched share over the codes' days
//!   in control (before any CUSUM crossing), so the leaks, which hold most
//!   redemptions once they run, do not move it;
//! - **shrunk shares**: the code's recent shares pulled toward the
//!   program's with a beta prior whose strength is estimated across codes
//!   (method of moments on the untouched shares), so a code with three
//!   redemptions is not "100% leaked";
//! - **a Bernoulli CUSUM** of each redemption being untouched, against the
//!   reference and a shifted alternative: it crosses its threshold when the
//!   untouched redemptions pile up, and where it last stood at zero before
//!   crossing dates the change.
//!
//! The status comes from these alone; a person's decision is reported beside
//! it and never changes it.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// One day of a code's usage (`code_usage`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Day {
    /// The day.
    pub date: NaiveDate,
    /// Redemptions.
    pub redemptions: i64,
    /// Redemptions touched by the creator.
    pub touched: i64,
    /// From coupon sites.
    pub coupon: i64,
    /// From outside the audience countries.
    pub outside: i64,
    /// With a known country (the denominator of `outside`).
    pub country_known: i64,
    /// By new customers.
    pub new_customers: i64,
    /// Revenue of the untouched redemptions, in cents of the base currency.
    pub untouched_revenue: i128,
    /// Commission on the untouched redemptions, in cents of the base currency.
    pub untouched_commission: i128,
}

/// A code's history, days in date order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The code.
    pub code: String,
    /// Its owner.
    pub creator_id: String,
    /// Its days with redemptions.
    pub days: Vec<Day>,
}

/// The rules' parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Days counted as recent.
    pub recent_days: i64,
    /// CUSUM alarm threshold (log-likelihood ratio).
    pub cusum_threshold: f64,
    /// The alternative's untouched share: `p0 + shift · (1 − p0)`.
    pub cusum_shift: f64,
    /// Shrunk coupon share that counts as coupon evidence.
    pub coupon_share: f64,
    /// Shrunk outside-audience share above the program's that counts.
    pub outside_excess: f64,
    /// Recent redemptions a code needs to be `likely_leaked`.
    pub min_redemptions: i64,
}

/// A person's decision on a code.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// `confirmed` or `dismissed`.
    pub decision: String,
    /// Who.
    pub by: String,
    /// For a confirmed leak: from when.
    pub leaked_from: Option<NaiveDate>,
}

/// What the evidence says about one code.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // fields named as the `code_leaks` columns
pub struct Assessment {
    pub code: String,
    pub creator_id: String,
    pub status: &'static str,
    pub decision: Option<Decision>,
    pub first_flagged_on: Option<NaiveDate>,
    pub change_started_on: Option<NaiveDate>,
    pub history_days: i64,
    pub redemptions: i64,
    pub recent_redemptions: i64,
    pub untouched_share: Option<f64>,
    pub untouched_share_shrunk: Option<f64>,
    pub untouched_share_change: Option<f64>,
    pub coupon_share_shrunk: Option<f64>,
    pub outside_audience_share_shrunk: Option<f64>,
    pub new_customer_share: Option<f64>,
    pub program_untouched_share: f64,
    pub prior_strength: f64,
    pub cusum: f64,
    pub cusum_threshold: f64,
    pub leaked_redemptions: f64,
    pub leaked_revenue: i128,
    pub leaked_commission: i128,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: i64,
    untouched: i64,
    coupon: i64,
    outside: i64,
    country_known: i64,
    new_customers: i64,
}

fn sums<'a>(days: impl Iterator<Item = &'a Day>) -> Sums {
    let mut s = Sums::default();
    for d in days {
        s.n += d.redemptions;
        s.untouched += d.redemptions - d.touched;
        s.coupon += d.coupon;
        s.outside += d.outside;
        s.country_known += d.country_known;
        s.new_customers += d.new_customers;
    }
    s
}

fn share(x: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| x as f64 / n as f64)
}

/// Strength (pseudo-redemptions) of a beta prior with mean `m` that the
/// spread of the shares `x_i / n_i` implies: the intra-class correlation
/// `ρ` of a beta-binomial by the method of moments, `κ = 1/ρ − 1`, bounded
/// to [1, 99] so that neither the prior nor the data is ever ignored.
pub fn prior_strength(counts: &[(i64, i64)], m: f64) -> f64 {
    let counts: Vec<(f64, f64)> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|&(x, n)| (x as f64, n as f64))
        .collect();
    let k = counts.len() as f64;
    let total: f64 = counts.iter().map(|c| c.1).sum();
    let var = m * (1.0 - m);
    if k < 3.0 || var <= 0.0 {
        return 10.0;
    }
    let s: f64 = counts.iter().map(|(x, n)| n * (x / n - m).powi(2)).sum();
    let sq: f64 = counts.iter().map(|c| c.1 * c.1).sum::<f64>() / total;
    let denom = total - sq;
    if denom <= 0.0 {
        return 10.0;
    }
    let rho = ((s / var - (k - 1.0)) / denom).clamp(0.01, 0.5);
    1.0 / rho - 1.0
}

/// `(x + κ m) / (n + κ)`.
fn shrunk(x: i64, n: i64, m: f64, kappa: f64) -> f64 {
    (x as f64 + kappa * m) / (n as f64 + kappa)
}

/// The CUSUM's path.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Path {
    /// Its value at the end.
    value: f64,
    /// The first day it crossed the threshold.
    first: Option<NaiveDate>,
    /// Where the episode of that first crossing began.
    first_episode: Option<NaiveDate>,
    /// Where the episode it is in at the end began, if above the threshold.
    current: Option<NaiveDate>,
}

fn cusum(days: &[Day], p0: f64, p1: f64, h: f64) -> Path {
    let up = (p1 / p0).ln();
    let down = ((1.0 - p1) / (1.0 - p0)).ln();
    let mut s = 0.0f64;
    let mut first = None;
    let mut first_episode = None;
    let mut rising: Option<NaiveDate> = None;
    let mut episode: Option<NaiveDate> = None;
    for d in days {
        let u = (d.redemptions - d.touched) as f64;
        let t = d.touched as f64;
        let before = s;
        s = (s + u * up + t * down).max(0.0);
        if s <= 0.0 {
            rising = None;
            episode = None;
        } else if before <= 0.0 {
            rising = Some(d.date);
        }
        if s >= h {
            if first.is_none() {
                first = Some(d.date);
                first_episode = rising;
            }
            if episode.is_none() {
                episode = rising;
            }
        }
    }
    Path {
        value: s,
        first,
        first_episode,
        current: if s >= h { episode } else { None },
    }
}

/// The program's reference shares (untouched, coupon, outside the
/// audience), from the codes' days *in control*: every day of a code whose
/// CUSUM never crossed, and the days before its first episode of one that
/// did. Leaked codes are where the redemptions are, so neither a median nor a
/// pooled share over everything is a reference; this one starts from the
/// lower quartile of the codes' untouched shares and iterates (the CUSUM
/// against the reference, then the reference from what stays in control)
/// until it settles.
fn reference(series: &[Series], s: &Settings) -> (f64, f64, f64) {
    let all: Vec<Sums> = series.iter().map(|c| sums(c.days.iter())).collect();
    let mut shares: Vec<f64> = all
        .iter()
        .filter(|a| a.n >= s.min_redemptions)
        .filter_map(|a| share(a.untouched, a.n))
        .collect();
    shares.sort_by(f64::total_cmp);
    let pooled_all = share(
        all.iter().map(|a| a.untouched).sum(),
        all.iter().map(|a| a.n).sum(),
    )
    .unwrap_or(0.5);
    let mut p = if shares.len() >= 4 {
        shares[shares.len() / 4]
    } else {
        pooled_all
    }
    .clamp(0.02, 0.95);
    let mut kept = Sums::default();
    for _ in 0..20 {
        let p1 = p + s.cusum_shift * (1.0 - p);
        kept = Sums::default();
        for c in series {
            let until = cusum(&c.days, p, p1, s.cusum_threshold).first_episode;
            let k = sums(c.days.iter().filter(|d| until.is_none_or(|u| d.date < u)));
            kept.n += k.n;
            kept.untouched += k.untouched;
            kept.coupon += k.coupon;
            kept.outside += k.outside;
            kept.country_known += k.country_known;
        }
        let next = share(kept.untouched, kept.n).unwrap_or(p).clamp(0.02, 0.95);
        let settled = (next - p).abs() < 1e-9;
        p = next;
        if settled {
            break;
        }
    }
    (
        p,
        share(kept.coupon, kept.n).unwrap_or(0.0),
        share(kept.outside, kept.country_known).unwrap_or(0.0),
    )
}

/// Cents × `f` (a share in [0, 1]), rounded half-even once.
fn part(cents: i128, f: f64) -> i128 {
    // Six decimals of the share are exact enough for an estimate; the
    // product is rounded once.
    let micro = (f.clamp(0.0, 1.0) * 1e6).round() as i128;
    crate::money::div_pow10_half_even(cents * micro, 6)
}

/// Assesses every code as of `date`.
pub fn assess(
    series: &[Series],
    date: NaiveDate,
    s: &Settings,
    decisions: &BTreeMap<String, Decision>,
) -> Vec<Assessment> {
    let recent_from = date - chrono::Duration::days(s.recent_days - 1);
    let recent: Vec<Sums> = series
        .iter()
        .map(|c| sums(c.days.iter().filter(|d| d.date >= recent_from)))
        .collect();
    let (p_ref, coupon_ref, outside_ref) = reference(series, s);
    let kappa = prior_strength(
        &recent
            .iter()
            .map(|r| (r.untouched, r.n))
            .collect::<Vec<_>>(),
        p_ref,
    );
    let p1 = p_ref + s.cusum_shift * (1.0 - p_ref);

    let mut out = Vec::with_capacity(series.len());
    for (c, r) in series.iter().zip(&recent) {
        let decision = decisions.get(&c.code).cloned();
        let all = sums(c.days.iter());
        let before = sums(c.days.iter().filter(|d| d.date < recent_from));
        let path = cusum(&c.days, p_ref, p1, s.cusum_threshold);
        let (cusum, first_flagged_on, episode) = (path.value, path.first, path.current);
        let untouched_shrunk = shrunk(r.untouched, r.n, p_ref, kappa);
        let coupon_shrunk = shrunk(r.coupon, r.n, coupon_ref, kappa);
        let outside_shrunk = (r.country_known > 0 || outside_ref > 0.0)
            .then(|| shrunk(r.outside, r.country_known, outside_ref, kappa));
        let alarm = cusum >= s.cusum_threshold;
        // Coupon evidence needs a few redemptions: one order from a deal
        // site says little, however it is shrunk.
        let coupon_ev = r.n >= s.min_redemptions && coupon_shrunk >= s.coupon_share;
        let outside_ev = outside_shrunk.is_some_and(|o| o >= outside_ref + s.outside_excess);
        let status = if alarm && (coupon_ev || outside_ev) && r.n >= s.min_redemptions {
            "likely_leaked"
        } else if alarm || coupon_ev {
            "suspected"
        } else {
            "ok"
        };
        // Since when the leak is counted: a person's date, else the CUSUM's,
        // else (coupon evidence alone) the recent window.
        let confirmed_from = decision
            .as_ref()
            .filter(|d| d.decision == "confirmed")
            .map(|d| d.leaked_from.unwrap_or(recent_from));
        let since = confirmed_from.or(match status {
            "ok" => None,
            _ => Some(episode.unwrap_or(recent_from)),
        });
        let (mut leaked, mut revenue, mut commission) = (0.0, 0, 0);
        if let Some(since) = since {
            let after: Vec<&Day> = c.days.iter().filter(|d| d.date >= since).collect();
            let n: i64 = after.iter().map(|d| d.redemptions).sum();
            let u: i64 = after.iter().map(|d| d.redemptions - d.touched).sum();
            // n = audience + leaked, u = p0 · audience + leaked (a leaked
            // redemption is never the creator's touch): leaked = (u − p0 n) / (1 − p0).
            leaked = ((u as f64 - p_ref * n as f64) / (1.0 - p_ref)).clamp(0.0, u as f64);
            if u > 0 {
                let f = leaked / u as f64;
                revenue = part(after.iter().map(|d| d.untouched_revenue).sum(), f);
                commission = part(after.iter().map(|d| d.untouched_commission).sum(), f);
            }
        }
        out.push(Assessment {
            code: c.code.clone(),
            creator_id: c.creator_id.clone(),
            status,
            decision,
            first_flagged_on,
            change_started_on: episode,
            history_days: c.days.len() as i64,
            redemptions: all.n,
            recent_redemptions: r.n,
            untouched_share: share(r.untouched, r.n),
            untouched_share_shrunk: Some(untouched_shrunk),
            untouched_share_change: share(r.untouched, r.n)
                .zip(share(before.untouched, before.n))
                .map(|(a, b)| a - b),
            coupon_share_shrunk: Some(coupon_shrunk),
            outside_audience_share_shrunk: outside_shrunk,
            new_customer_share: share(r.new_customers, r.n),
            program_untouched_share: p_ref,
            prior_strength: kappa,
            cusum,
            cusum_threshold: s.cusum_threshold,
            leaked_redemptions: leaked,
            leaked_revenue: revenue,
            leaked_commission: commission,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32, n: i64, touched: i64) -> Day {
        Day {
            date: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
            redemptions: n,
            touched,
            untouched_revenue: (n - touched) as i128 * 10_000,
            untouched_commission: (n - touched) as i128 * 1_000,
            ..Default::default()
        }
    }

    /// Hand-computed: p0 = 0.5, p1 = 0.75, so an untouched redemption adds
    /// ln 1.5 = 0.405 and a touched one ln 0.5 = -0.693.
    #[test]
    fn cusum_dates_the_change_where_it_last_stood_at_zero() {
        let days = vec![
            d(1, 2, 1), // +0.405 - 0.693 -> 0
            d(2, 2, 2), // 0
            d(3, 4, 0), // 1.622 (rising from here)
            d(4, 4, 0), // 3.244
            d(5, 2, 0), // 4.055 >= 4: crossing
            d(6, 1, 1), // 3.362: still in the episode, below
        ];
        let p = cusum(&days, 0.5, 0.75, 4.0);
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d);
        assert!(
            (p.value - (10.0 * 1.5f64.ln() + 2.0f64.ln() * -1.0)).abs() < 1e-12,
            "{p:?}"
        );
        assert_eq!(p.first, day(5));
        assert_eq!(p.first_episode, day(3));
        assert_eq!(p.current, None, "below the threshold at the end");
        assert_eq!(cusum(&days[..5], 0.5, 0.75, 4.0).current, day(3));
    }

    /// Equal shares everywhere: no spread beyond the binomial, the strongest
    /// prior; wildly different shares: the weakest.
    #[test]
    fn prior_strength_follows_the_spread() {
        assert_eq!(
            prior_strength(&[(5, 10), (5, 10), (5, 10), (5, 10)], 0.5),
            99.0
        );
        assert_eq!(
            prior_strength(&[(0, 40), (40, 40), (0, 40), (40, 40)], 0.5),
            1.0
        );
    }

    #[test]
    fn a_small_code_is_pulled_to_the_program_and_a_leak_is_estimated() {
        let s = Settings {
            recent_days: 7,
            cusum_threshold: 4.0,
            cusum_shift: 0.5,
            coupon_share: 0.2,
            outside_excess: 0.2,
            min_redemptions: 3,
        };
        let normal = |code: &str| Series {
            code: code.into(),
            creator_id: "c".into(),
            days: (1..=7).map(|i| d(i, 4, 2)).collect(),
        };
        let tiny = Series {
            code: "TINY".into(),
            creator_id: "c".into(),
            days: vec![d(7, 1, 0)],
        };
        let leaked = Series {
            code: "LEAK".into(),
            creator_id: "c".into(),
            days: (1..=7).map(|i| d(i, 10, 1)).collect(),
        };
        // D's one touched redemption balances TINY's untouched one: the
        // reference, from the codes in control, is exactly 0.5.
        let one_touched = Series {
            code: "D".into(),
            creator_id: "c".into(),
            days: vec![d(7, 1, 1)],
        };
        let codes = vec![
            normal("A"),
            normal("B"),
            normal("C"),
            tiny,
            leaked,
            one_touched,
        ];
        let date = NaiveDate::from_ymd_opt(2026, 10, 7).unwrap();
        let out = assess(&codes, date, &s, &BTreeMap::new());
        assert_eq!(out[0].program_untouched_share, 0.5);
        assert_eq!(out[0].status, "ok");
        let tiny = &out[3];
        assert_eq!(tiny.untouched_share, Some(1.0));
        assert!(tiny.untouched_share_shrunk.unwrap() < 0.7, "{tiny:?}");
        assert_eq!(tiny.status, "ok");
        let leak = &out[4];
        assert_eq!(leak.status, "suspected", "no coupon or country evidence");
        assert_eq!(leak.change_started_on, date.with_day(1));
        // 70 redemptions, 63 untouched: (63 - 0.5 * 70) / (1 - 0.5) = 56
        // leaked, 56/63 of the untouched revenue (63 × 100.00) and
        // commission (63 × 10.00).
        assert!((leak.leaked_redemptions - 56.0).abs() < 1e-9);
        assert_eq!(leak.leaked_revenue, 560_000);
        assert_eq!(leak.leaked_commission, 56_000);
    }

    use chrono::Datelike;
}
