//! Promo codes that escape, planted when a scale asks for it
//! ([`super::events::Realism::leaks`]): from a start date on, a leaked code
//! is redeemed by people the creator never reached, as real leaks are. Some
//! arrive from coupon and deal sites (a few well known, many not on any
//! list), some with no referrer at all (a browser extension fills the code
//! in at checkout), some from a search for "<brand> discount code"; at any
//! hour, from everywhere, and mostly by customers who were going to buy
//! anyway. Before its start the code is used only by the creator's own
//! audience, so a detector has the code's own history to compare with.
//!
//! Draws come from RNGs of their own, so a scale without leaks gives byte for
//! byte the data it gave before this existed.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::world::Creator;

/// Coupon, cashback and deal sites that are on halo's default list.
pub const LISTED_SITES: &[&str] = &[
    "retailmenot.com",
    "couponfollow.com",
    "slickdeals.net",
    "joinhoney.com",
    "rakuten.com",
    "dealspotr.com",
    "knoji.com",
    "wethrift.com",
];

/// Deal sites on no default list: a detector must not depend on the list.
pub const UNLISTED_SITES: &[&str] = &[
    "savingsaga.net",
    "codefinder.io",
    "gutscheinpilot.de",
    "kortingscodes-hub.nl",
    "bons-plans-reduc.fr",
    "dealhunt.co.uk",
];

/// Where leaked redemptions come from: far beyond any creator's audience.
pub const LEAK_COUNTRIES: &[&str] = &[
    "US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "SE", "PL", "BR", "MX", "IN", "JP", "IE",
];

/// A leaked code.
#[derive(Debug, Clone)]
pub struct Leak {
    /// The creator whose code it is.
    pub creator: usize,
    /// When it started turning up on deal sites.
    pub starts_at: DateTime<Utc>,
    /// Leaked redemptions a day once the leak has spread (a week after the
    /// start; it ramps up linearly before).
    pub per_day: f64,
}

impl Leak {
    /// Expected leaked redemptions on the day starting at `day_start`.
    pub fn expected(&self, day_start: DateTime<Utc>) -> f64 {
        let day_end = day_start + Duration::days(1);
        if day_end <= self.starts_at {
            return 0.0;
        }
        // The ramp's value in the middle of the part of the day after the start.
        let from = day_start.max(self.starts_at);
        let covered = (day_end - from).num_seconds() as f64 / 86_400.0;
        let mid_days = ((from - self.starts_at).num_seconds() as f64 / 86_400.0) + covered / 2.0;
        self.per_day * (mid_days / 7.0).min(1.0) * covered
    }
}

/// Picks the leaked codes (a `share` of the codes, at least `min` when there
/// are that many) and their start dates, and marks their creators.
pub fn plan(
    creators: &mut [Creator],
    share: f64,
    min: usize,
    seed: u64,
    start: DateTime<Utc>,
    days: u32,
) -> Vec<Leak> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1EAC_C0DE_5EED);
    for c in creators.iter_mut() {
        c.code_leaked = false;
    }
    let mut with_code: Vec<usize> = (0..creators.len())
        .filter(|&i| creators[i].code.is_some() && creators[i].status != "prospect")
        .collect();
    // A partial Fisher-Yates shuffle: the first n are the leaked ones.
    let n = ((with_code.len() as f64 * share).ceil() as usize)
        .max(min)
        .min(with_code.len());
    for i in 0..n {
        let j = rng.random_range(i..with_code.len());
        with_code.swap(i, j);
    }
    let mut leaks: Vec<Leak> = with_code[..n]
        .iter()
        .map(|&creator| {
            // A third of the data set as the code's own clean history, and at
            // least ten days of leak after the start.
            let first = days / 3;
            let last = days.saturating_sub(10).max(first + 1);
            let day = rng.random_range(first..last);
            let starts_at = start
                + Duration::days(i64::from(day))
                + Duration::seconds(rng.random_range(0..86_400));
            Leak {
                creator,
                starts_at,
                per_day: rng.random_range(1.5..6.0),
            }
        })
        .collect();
    leaks.sort_by_key(|l| l.creator);
    for l in &leaks {
        creators[l.creator].code_leaked = true;
    }
    leaks
}

/// How a leaked redemption's session arrives: (channel, referrer, search query).
pub fn arrival<R: Rng>(
    rng: &mut R,
    brand: &str,
) -> (&'static str, Option<&'static str>, Option<String>) {
    let u: f64 = rng.random();
    if u < 0.25 {
        (
            "referral",
            Some(LISTED_SITES[rng.random_range(0..LISTED_SITES.len())]),
            None,
        )
    } else if u < 0.42 {
        (
            "referral",
            Some(UNLISTED_SITES[rng.random_range(0..UNLISTED_SITES.len())]),
            None,
        )
    } else if u < 0.8 {
        // A browser extension fills the code in: the visit itself is direct.
        ("direct", None, None)
    } else {
        let q = ["discount code", "promo code", "coupon"][rng.random_range(0..3)];
        (
            "organic_search",
            Some("google.com"),
            Some(format!("{brand} {q}")),
        )
    }
}
