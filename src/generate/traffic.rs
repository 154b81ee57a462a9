#![allow(missing_docs)]
//! One day of site traffic: baseline sessions of every channel with daily and
//! weekly cycles and overdispersed noise, tracked clicks caused by posts and
//! bio links, dark-social visits caused by posts (no click), and the orders,
//! order lines and refunds they lead to.
//!
//! Each day draws from its own RNG seeded by (seed, day), so days can be made
//! in parallel and the result does not depend on the thread count. What a day
//! plants (incremental visits and orders per post) is returned as truth.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson};

use super::Scale;
use super::world::{
    BRAND, BRAND_CODE, COUPON_SITES, World, currency_of, pick_country, price_percent,
};
use crate::money::div_pow10_half_even;

/// A session row.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub anonymous_id: String,
    pub customer_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub channel: &'static str,
    pub referrer: Option<&'static str>,
    pub landing: &'static str,
    pub query: Option<String>,
    pub utm: Option<(&'static str, &'static str, Option<String>, Option<String>)>,
    pub click_id: Option<String>,
    pub country: &'static str,
    pub device: &'static str,
}

/// A click row.
#[derive(Debug, Clone)]
pub struct Click {
    pub id: String,
    pub link_id: String,
    pub anonymous_id: Option<String>,
    pub clicked_at: DateTime<Utc>,
    pub country: &'static str,
    pub device: &'static str,
}

/// An order row with its lines.
#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub ordered_at: DateTime<Utc>,
    pub anonymous_id: String,
    pub customer_id: Option<String>,
    pub session_id: String,
    pub revenue_cents: i64,
    pub currency: &'static str,
    pub codes: Vec<String>,
    pub is_new: bool,
    pub country: &'static str,
    /// (sku, quantity, net cents, unit cost cents)
    pub lines: Vec<(String, i32, i64, i64)>,
    /// What really caused it (`_truth/order_causes`).
    pub cause: OrderCause,
}

/// The planted cause of an order: the kind, and the creator and post behind
/// it where there is one. An order placed on a later return visit keeps the
/// cause of the visit that brought the buyer first.
#[derive(Debug, Clone, Default)]
pub struct OrderCause {
    /// `organic` (unpaid search, direct, referral and other baseline
    /// traffic), `paid` (paid search and paid social), `email` (the brand's
    /// regular mail and its sends), `press` (a listed press mention), `sale`
    /// (a sale's extra visits), `burst` (a mention nobody recorded),
    /// `creator_click` (a click on a creator's link),
    /// `creator_dark` (a creator's post seen, no click), `leaked_code` (a
    /// creator's code found on a coupon site: the creator is named but did
    /// not cause the sale).
    pub kind: &'static str,
    /// The creator's id.
    pub creator_id: Option<String>,
    /// The post's id.
    pub content_id: Option<String>,
}

/// A refund row.
#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub refunded_at: DateTime<Utc>,
    pub cents: i64,
    pub currency: &'static str,
}

/// What a day planted, per post index.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// (post, signal) -> incremental visits.
    pub visits: HashMap<(usize, &'static str), u64>,
    /// (post, signal) -> those within 60 minutes and within 72 hours of
    /// publication (the lift's default windows).
    pub visits_in_windows: HashMap<(usize, &'static str), [u64; 2]>,
    /// post -> (incremental orders, incremental revenue in USD cents).
    pub orders: HashMap<usize, (u64, i64)>,
    /// (event, signal) -> untracked visits a marketing event or burst caused.
    pub event_visits: HashMap<(usize, &'static str), u64>,
}

/// Everything one day produced.
#[derive(Debug, Clone, Default)]
pub struct Day {
    pub sessions: Vec<Session>,
    pub clicks: Vec<Click>,
    pub orders: Vec<Order>,
    pub refunds: Vec<Refund>,
    pub truth: Truth,
    /// Rows planted to break the contract: (table, key, expected reason).
    pub planted: Vec<(&'static str, String, &'static str)>,
}

const CHANNEL_SHARES: &[(&str, f64)] = &[
    ("direct", 0.22),
    ("organic_search", 0.26),
    ("paid_search", 0.12),
    ("organic_social", 0.10),
    ("paid_social", 0.08),
    ("email", 0.08),
    ("referral", 0.07),
    ("other", 0.02),
];

fn conversion(channel: &str, coupon: bool) -> f64 {
    match channel {
        "direct" => 0.035,
        "organic_search" => 0.028,
        "paid_search" => 0.03,
        "organic_social" => 0.01,
        "paid_social" => 0.012,
        "email" => 0.045,
        "referral" if coupon => 0.12,
        "referral" => 0.02,
        "affiliate" => 0.04,
        _ => 0.01,
    }
}

/// The lift signals an untracked visit counts for, by its channel and
/// landing page: a branded paid search is a tracked source, not dark social
/// (the default `lift_signal_channels`).
fn dark_signals(channel: &str, landing: &str) -> [(&'static str, bool); 3] {
    [
        ("direct", channel == "direct"),
        ("branded_search", channel == "organic_search"),
        (
            "product_page",
            landing == "product" && channel != "paid_search",
        ),
    ]
}

/// Relative traffic by hour of the brand's local day (UTC-5).
fn diurnal(utc_minute: u32) -> f64 {
    const H: [f64; 24] = [
        0.35, 0.25, 0.18, 0.15, 0.15, 0.22, 0.40, 0.65, 0.85, 0.95, 1.0, 1.05, 1.1, 1.05, 1.0, 1.0,
        1.05, 1.15, 1.3, 1.5, 1.6, 1.45, 1.05, 0.6,
    ];
    let local = (utc_minute / 60 + 24 - 5) % 24;
    H[local as usize]
}

fn weekly(date: NaiveDate) -> f64 {
    use chrono::Datelike;
    [1.0, 1.02, 1.0, 0.97, 0.93, 0.86, 0.95][date.weekday().num_days_from_monday() as usize]
}

struct Ctx<'a> {
    world: &'a World,
    scale: &'a Scale,
    rng: ChaCha8Rng,
    day: Day,
    day_index: u32,
    n_orders: u32,
    n_sessions: u32,
    /// Leaked codes and their creators' indexes.
    leaked: Vec<(String, usize)>,
    fx: &'a HashMap<(NaiveDate, &'static str), i64>,
    /// Product index by SKU.
    skus: HashMap<&'a str, usize>,
}

/// Generates day `day_index` of the world.
pub fn generate_day(
    world: &World,
    scale: &Scale,
    seed: u64,
    day_index: u32,
    fx: &HashMap<(NaiveDate, &'static str), i64>,
) -> Day {
    let rng = ChaCha8Rng::seed_from_u64(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(day_index)
                .wrapping_add(1)
                .wrapping_mul(0xBF58_476D_1CE4_E5B9),
    );
    // Leaks with a start date (`leaks`) replace the plain scales' leaks,
    // which are redeemed from coupon-site visits from the first day.
    let leaked = world
        .creators
        .iter()
        .enumerate()
        .filter(|(_, c)| c.code_leaked && world.leaks.is_empty())
        .filter_map(|(i, c)| c.code.clone().map(|code| (code, i)))
        .collect();
    let mut cx = Ctx {
        world,
        scale,
        rng,
        day: Day::default(),
        day_index,
        n_orders: 0,
        n_sessions: 0,
        leaked,
        fx,
        skus: world
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.sku.as_str(), i))
            .collect(),
    };
    cx.baseline();
    cx.posts();
    cx.bio_links();
    if !world.events.is_empty() {
        // Events draw from their own RNG: the rest of the day is the same
        // with or without them.
        let own = ChaCha8Rng::seed_from_u64(
            seed.wrapping_mul(0x94D0_49BB_1331_11EB) ^ u64::from(day_index).wrapping_add(0xE7),
        );
        let main = std::mem::replace(&mut cx.rng, own);
        cx.events();
        cx.rng = main;
    }
    if !world.leaks.is_empty() {
        let own = ChaCha8Rng::seed_from_u64(
            seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ u64::from(day_index).wrapping_add(0x1EA),
        );
        let main = std::mem::replace(&mut cx.rng, own);
        cx.leaks();
        cx.rng = main;
    }
    cx.day
        .sessions
        .sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
    cx.day
        .clicks
        .sort_by(|a, b| a.clicked_at.cmp(&b.clicked_at).then(a.id.cmp(&b.id)));
    cx.day
        .orders
        .sort_by(|a, b| a.ordered_at.cmp(&b.ordered_at).then(a.id.cmp(&b.id)));
    cx.day
}

/// Why a visitor came: decides codes, products and truth.
#[derive(Debug, Clone, Copy)]
enum Cause {
    /// A leaked code, redeemed by someone the creator never reached.
    Leak {
        creator: usize,
    },
    Baseline {
        coupon: bool,
        channel: &'static str,
    },
    Click {
        post: Option<usize>,
        creator: usize,
    },
    /// `tracked`: the visit was a branded paid search (the post caused
    /// it, but a tracked source carries it, so the lift does not count it).
    Dark {
        post: usize,
        tracked: bool,
    },
    Event {
        event: usize,
    },
}

impl Ctx<'_> {
    fn day_start(&self) -> DateTime<Utc> {
        self.world.start + Duration::days(i64::from(self.day_index))
    }

    fn person(&mut self) -> (u64, &'static str, &'static str) {
        let p = self.rng.random_range(0..self.scale.people);
        let mut prng = ChaCha8Rng::seed_from_u64(p ^ 0xA5A5);
        let country = pick_country(&mut prng);
        let device = match self.rng.random_range(0..100) {
            0..=61 => "mobile",
            62..=93 => "desktop",
            94..=98 => "tablet",
            _ => "other",
        };
        (p, country, device)
    }

    fn anon(p: u64, device: &str) -> String {
        format!("a{p:08}{}", &device[..1])
    }

    fn session_id(&mut self) -> String {
        self.n_sessions += 1;
        format!("s{:03}-{:07}", self.day_index, self.n_sessions)
    }

    fn baseline(&mut self) {
        let date = self.day_start().date_naive();
        let gamma_day = Gamma::new(30.0, 1.0 / 30.0).expect("valid gamma");
        let gamma_q = Gamma::new(6.0, 1.0 / 6.0).expect("valid gamma");
        let level =
            self.scale.sessions_per_day as f64 * weekly(date) * gamma_day.sample(&mut self.rng);
        let total: f64 = (0..1440).map(diurnal).sum();
        let share_sum: f64 = CHANNEL_SHARES.iter().map(|c| c.1).sum();
        let mut quarter_noise = [1.0f64; 96];
        for q in quarter_noise.iter_mut() {
            *q = gamma_q.sample(&mut self.rng);
        }
        for minute in 0..1440u32 {
            let base = level * diurnal(minute) / total * quarter_noise[(minute / 15) as usize];
            for (channel, share) in CHANNEL_SHARES {
                let lambda = base * share / share_sum;
                let n = if lambda > 0.0 {
                    Poisson::new(lambda)
                        .map(|p| p.sample(&mut self.rng) as u32)
                        .unwrap_or(0)
                } else {
                    0
                };
                for _ in 0..n {
                    let at = self.day_start()
                        + Duration::seconds(i64::from(minute) * 60 + self.rng.random_range(0..60));
                    self.baseline_session(channel, at);
                }
            }
        }
    }

    fn baseline_session(&mut self, channel: &'static str, at: DateTime<Utc>) {
        let (p, country, device) = self.person();
        let mut coupon = false;
        let (referrer, query, utm, landing) = match channel {
            "organic_search" | "paid_search" => {
                let branded = self.rng.random_bool(0.3);
                let q = if branded {
                    format!(
                        "{BRAND} {}",
                        ["serum", "reviews", "discount code", "cream", ""]
                            [self.rng.random_range(0..5)]
                    )
                    .trim()
                    .to_string()
                } else {
                    [
                        "best vitamin c serum",
                        "glow moisturiser",
                        "gentle cleanser",
                        "spf for oily skin",
                    ][self.rng.random_range(0..4)]
                    .to_string()
                };
                let utm = (channel == "paid_search").then_some((
                    "google",
                    "cpc",
                    Some("search_brand".to_string()),
                    None,
                ));
                (
                    Some("google.com"),
                    Some(q),
                    utm,
                    if self.rng.random_bool(0.45) {
                        "product"
                    } else {
                        "home"
                    },
                )
            }
            "referral" => {
                coupon = self.rng.random_bool(0.2);
                let r = if coupon {
                    COUPON_SITES[self.rng.random_range(0..COUPON_SITES.len())]
                } else {
                    ["refinery29.com", "reddit.com", "allure.com"][self.rng.random_range(0..3)]
                };
                (Some(r), None, None, if coupon { "home" } else { "content" })
            }
            "organic_social" => (
                Some(["instagram.com", "tiktok.com", "youtube.com"][self.rng.random_range(0..3)]),
                None,
                None,
                "product",
            ),
            "paid_social" => (
                Some("instagram.com"),
                None,
                Some(("meta", "paid_social", Some("prospecting".to_string()), None)),
                "product",
            ),
            "email" => (
                None,
                None,
                Some(("klaviyo", "email", Some("weekly".to_string()), None)),
                "collection",
            ),
            "direct" => (
                None,
                None,
                None,
                if self.rng.random_bool(0.3) {
                    "product"
                } else {
                    "home"
                },
            ),
            _ => (None, None, None, "other"),
        };
        let id = self.session_id();
        let s = Session {
            id: id.clone(),
            anonymous_id: Self::anon(p, device),
            customer_id: self.rng.random_bool(0.2).then(|| format!("c{p:08}")),
            started_at: at,
            channel,
            referrer,
            landing,
            query,
            utm,
            click_id: None,
            country,
            device,
        };
        self.day.sessions.push(s);
        if self.rng.random_bool(conversion(channel, coupon)) {
            self.order(
                p,
                country,
                device,
                &id,
                at,
                Cause::Baseline { coupon, channel },
            );
        }
    }

    /// Probability mass of a post's response kernel in [a, b] minutes after publication.
    fn mass(post: &super::world::Post, a: f64, b: f64) -> (f64, f64) {
        let a = a.max(0.0);
        if b <= a {
            return (0.0, 0.0);
        }
        let ln2 = std::f64::consts::LN_2;
        let comp = |h: f64| (-ln2 * a / h).exp() - (-ln2 * b / h).exp();
        (
            (1.0 - post.slow_share) * comp(post.half_life_fast),
            post.slow_share * comp(720.0),
        )
    }

    /// Draws a time in [a, b] minutes after publication from the kernel.
    fn draw_time(&mut self, post: &super::world::Post, a: f64, b: f64) -> f64 {
        let (fast, slow) = Self::mass(post, a, b);
        let h = if self.rng.random::<f64>() * (fast + slow) < fast {
            post.half_life_fast
        } else {
            720.0
        };
        let r = std::f64::consts::LN_2 / h;
        let (ua, ub) = ((-r * a.max(0.0)).exp(), (-r * b).exp());
        let u = ub + (ua - ub) * self.rng.random::<f64>();
        (-u.ln() / r).clamp(a.max(0.0), b)
    }

    fn posts(&mut self) {
        let start = self.day_start();
        let end = start + Duration::days(1);
        let world = self.world;
        for (pi, post) in world.posts.iter().enumerate() {
            if post.published_at >= end || post.published_at + Duration::days(5) < start {
                continue;
            }
            let a = (start - post.published_at).num_seconds() as f64 / 60.0;
            let b = (end - post.published_at).num_seconds() as f64 / 60.0;
            let (f, s) = Self::mass(post, a, b);
            let m = f + s;
            if m <= 0.0 {
                continue;
            }
            let n_clicks = Poisson::new(post.expected_clicks * m)
                .map(|p| p.sample(&mut self.rng) as u32)
                .unwrap_or(0);
            if let Some(link) = &post.link_id {
                for _ in 0..n_clicks {
                    let t = self.draw_time(post, a, b);
                    let at = post.published_at + Duration::microseconds((t * 60e6) as i64);
                    self.click(link.clone(), at, Some(pi), post.creator, post.platform);
                }
            }
            let n_dark = Poisson::new(post.expected_dark_visits * m)
                .map(|p| p.sample(&mut self.rng) as u32)
                .unwrap_or(0);
            for _ in 0..n_dark {
                let t = self.draw_time(post, a, b);
                let at = post.published_at + Duration::microseconds((t * 60e6) as i64);
                self.dark_visit(pi, at, t);
            }
        }
    }

    /// The day's share of every marketing event and burst: tracked sessions
    /// (email clicks, referrals) and untracked visits, with their orders.
    fn events(&mut self) {
        let start = self.day_start();
        let end = start + Duration::days(1);
        let world = self.world;
        for (ei, ev) in world.events.iter().enumerate() {
            let span = Duration::minutes(ev.span_minutes().ceil() as i64);
            if ev.starts_at >= end || ev.starts_at + span < start {
                continue;
            }
            let a = (start - ev.starts_at).num_seconds() as f64 / 60.0;
            let b = (end - ev.starts_at).num_seconds() as f64 / 60.0;
            let m = ev.mass(a, b);
            if m <= 0.0 {
                continue;
            }
            let draw = |rng: &mut ChaCha8Rng, mean: f64| {
                Poisson::new(mean.max(1e-12))
                    .map(|p| p.sample(rng) as u32)
                    .unwrap_or(0)
            };
            let n_tracked = draw(&mut self.rng, ev.tracked_visits * m);
            for _ in 0..n_tracked {
                let t = ev.draw(&mut self.rng, a, b);
                let at = ev.starts_at + Duration::microseconds((t * 60e6) as i64);
                self.event_session(ei, at, true);
            }
            let n_dark = draw(&mut self.rng, ev.dark_visits * m);
            for _ in 0..n_dark {
                let t = ev.draw(&mut self.rng, a, b);
                let at = ev.starts_at + Duration::microseconds((t * 60e6) as i64);
                self.event_session(ei, at, false);
            }
        }
    }

    /// A session an event caused: tracked (an email click with its UTM tags,
    /// a referral from the article) or untracked (typed in, or a branded
    /// search; a tenth branded paid search).
    fn event_session(&mut self, ei: usize, at: DateTime<Utc>, tracked: bool) {
        let ev = &self.world.events[ei];
        let (p, country, device) = self.person();
        let sid = self.session_id();
        let landing = if self.rng.random_bool(0.45) {
            "product"
        } else {
            "home"
        };
        let (channel, query, referrer, utm) = if tracked {
            match ev.kind {
                "email_send" => (
                    "email",
                    None,
                    None,
                    Some(("klaviyo", "email", Some(ev.id.clone()), None)),
                ),
                _ => ("referral", None, ev.referrer, None),
            }
        } else {
            let u: f64 = self.rng.random();
            if u < 0.55 {
                ("direct", None, None, None)
            } else if u < 0.9 {
                (
                    "organic_search",
                    Some(
                        format!(
                            "{BRAND} {}",
                            ["", "serum", "sale", "reviews"][self.rng.random_range(0..4)]
                        )
                        .trim()
                        .to_string(),
                    ),
                    Some("google.com"),
                    None,
                )
            } else {
                (
                    "paid_search",
                    Some(BRAND.to_string()),
                    Some("google.com"),
                    Some(("google", "cpc", Some("search_brand".to_string()), None)),
                )
            }
        };
        if !tracked && at < self.world.end {
            for (sig, hit) in dark_signals(channel, landing) {
                if hit {
                    *self.day.truth.event_visits.entry((ei, sig)).or_default() += 1;
                }
            }
        }
        self.day.sessions.push(Session {
            id: sid.clone(),
            anonymous_id: Self::anon(p, device),
            customer_id: self.rng.random_bool(0.2).then(|| format!("c{p:08}")),
            started_at: at,
            channel,
            referrer,
            landing,
            query,
            utm,
            click_id: None,
            country,
            device,
        });
        let rate = if channel == "email" { 0.045 } else { 0.03 };
        if self.rng.random_bool(rate) {
            self.order(p, country, device, &sid, at, Cause::Event { event: ei });
        }
    }

    /// Redemptions of leaked codes on this day (`leaks`).
    fn leaks(&mut self) {
        let start = self.day_start();
        let world = self.world;
        for leak in &world.leaks {
            let lambda = leak.expected(start);
            if lambda <= 0.0 {
                continue;
            }
            let n = Poisson::new(lambda)
                .map(|p| p.sample(&mut self.rng) as u32)
                .unwrap_or(0);
            let from = start.max(leak.starts_at);
            let span = (start + Duration::days(1) - from).num_seconds().max(1);
            for _ in 0..n {
                let at = from + Duration::seconds(self.rng.random_range(0..span));
                self.leak_session(leak.creator, at);
            }
        }
    }

    fn leak_session(&mut self, creator: usize, at: DateTime<Utc>) {
        let (p, _, device) = self.person();
        let country = super::leaks::LEAK_COUNTRIES
            [self.rng.random_range(0..super::leaks::LEAK_COUNTRIES.len())];
        let (channel, referrer, query) = super::leaks::arrival(&mut self.rng, BRAND);
        let sid = self.session_id();
        self.day.sessions.push(Session {
            id: sid.clone(),
            anonymous_id: Self::anon(p, device),
            customer_id: self.rng.random_bool(0.3).then(|| format!("c{p:08}")),
            started_at: at,
            channel,
            referrer,
            landing: if self.rng.random_bool(0.5) {
                "product"
            } else {
                "home"
            },
            query,
            utm: None,
            click_id: None,
            country,
            device,
        });
        self.order(p, country, device, &sid, at, Cause::Leak { creator });
    }

    fn bio_links(&mut self) {
        let start = self.day_start();
        let world = self.world;
        for (ci, c) in world.creators.iter().enumerate() {
            if c.status == "prospect" {
                continue;
            }
            let n = Poisson::new((c.followers as f64 * 0.00015).max(0.01))
                .map(|p| p.sample(&mut self.rng) as u32)
                .unwrap_or(0);
            for _ in 0..n {
                let at = start + Duration::seconds(self.rng.random_range(0..86_400));
                let platform = c.platforms[0];
                self.click(c.bio_link.clone(), at, None, ci, platform);
            }
        }
    }

    fn click(
        &mut self,
        link_id: String,
        at: DateTime<Utc>,
        post: Option<usize>,
        creator: usize,
        platform: &'static str,
    ) {
        let (p, country, device) = self.person();
        let id = format!("k{:03}-{:07}", self.day_index, self.day.clicks.len() + 1);
        let lands = self.rng.random_bool(0.85);
        let anon = Self::anon(p, device);
        self.day.clicks.push(Click {
            id: id.clone(),
            link_id,
            anonymous_id: lands.then(|| anon.clone()),
            clicked_at: at,
            country,
            device,
        });
        if !lands {
            return;
        }
        let sid = self.session_id();
        let world = self.world;
        let campaign = post
            .and_then(|pi| world.posts[pi].campaign)
            .map(|k| world.campaigns[k].id.clone());
        let content = post.map(|pi| world.posts[pi].id.clone());
        let s_at = at + Duration::seconds(self.rng.random_range(1..20));
        self.day.sessions.push(Session {
            id: sid.clone(),
            anonymous_id: anon,
            customer_id: self.rng.random_bool(0.2).then(|| format!("c{p:08}")),
            started_at: s_at,
            channel: "affiliate",
            referrer: Some(match platform {
                "instagram" => "instagram.com",
                "tiktok" => "tiktok.com",
                "youtube" => "youtube.com",
                _ => "linktr.ee",
            }),
            landing: "product",
            query: None,
            utm: Some((platform, "influencer", campaign, content)),
            click_id: Some(id),
            country,
            device,
        });
        if self.rng.random_bool(conversion("affiliate", false)) {
            self.order(
                p,
                country,
                device,
                &sid,
                s_at,
                Cause::Click { post, creator },
            );
        }
    }

    fn dark_visit(&mut self, pi: usize, at: DateTime<Utc>, minutes_after: f64) {
        let (p, country, device) = self.person();
        let sid = self.session_id();
        let u: f64 = self.rng.random();
        let (channel, query, referrer) = if u < 0.55 {
            ("direct", None, None)
        } else if u < 0.9 {
            (
                "organic_search",
                Some(
                    format!(
                        "{BRAND} {}",
                        [
                            "",
                            "serum",
                            "code",
                            self.world.creators[self.world.posts[pi].creator]
                                .name
                                .split(' ')
                                .next()
                                .unwrap_or("")
                        ][self.rng.random_range(0..4)]
                    )
                    .trim()
                    .to_lowercase(),
                ),
                Some("google.com"),
            )
        } else {
            ("paid_search", Some(BRAND.to_string()), Some("google.com"))
        };
        let landing = if self.rng.random_bool(0.45) {
            "product"
        } else {
            "home"
        };
        for (sig, hit) in dark_signals(channel, landing) {
            if hit && at < self.world.end {
                *self.day.truth.visits.entry((pi, sig)).or_default() += 1;
                let w = self
                    .day
                    .truth
                    .visits_in_windows
                    .entry((pi, sig))
                    .or_default();
                w[0] += u64::from(minutes_after < 60.0);
                w[1] += u64::from(minutes_after < 72.0 * 60.0);
            }
        }
        self.day.sessions.push(Session {
            id: sid.clone(),
            anonymous_id: Self::anon(p, device),
            customer_id: self.rng.random_bool(0.2).then(|| format!("c{p:08}")),
            started_at: at,
            channel,
            referrer,
            landing,
            query,
            utm: (channel == "paid_search").then_some((
                "google",
                "cpc",
                Some("search_brand".to_string()),
                None,
            )),
            click_id: None,
            country,
            device,
        });
        if self.rng.random_bool(0.03) {
            let tracked = channel == "paid_search";
            self.order(
                p,
                country,
                device,
                &sid,
                at,
                Cause::Dark { post: pi, tracked },
            );
        }
    }

    fn usd_cents(&self, cents: i64, currency: &'static str, at: DateTime<Utc>) -> i64 {
        let rate = self
            .fx
            .get(&(at.date_naive(), currency))
            .copied()
            .unwrap_or(100_000_000);
        div_pow10_half_even(i128::from(cents) * i128::from(rate), 8) as i64
    }

    fn order(
        &mut self,
        p: u64,
        country: &'static str,
        device: &'static str,
        session: &str,
        at: DateTime<Utc>,
        cause: Cause,
    ) {
        // A quarter of buyers come back later (another session, maybe another device).
        let (order_at, session_id, anon) = if self.rng.random_bool(0.25) {
            let later = at + Duration::minutes(self.rng.random_range(60..7 * 24 * 60));
            if later >= self.world.end {
                return;
            }
            let dev = if self.rng.random_bool(0.5) {
                "desktop"
            } else {
                device
            };
            let sid = self.session_id();
            let anon = Self::anon(p, dev);
            self.day.sessions.push(Session {
                id: sid.clone(),
                anonymous_id: anon.clone(),
                customer_id: Some(format!("c{p:08}")),
                started_at: later,
                channel: if self.rng.random_bool(0.6) {
                    "direct"
                } else {
                    "email"
                },
                referrer: None,
                landing: "home",
                query: None,
                utm: None,
                click_id: None,
                country,
                device: dev,
            });
            (
                later + Duration::minutes(self.rng.random_range(2..30)),
                sid,
                anon,
            )
        } else {
            (
                at + Duration::minutes(self.rng.random_range(2..40)),
                session.to_string(),
                Self::anon(p, device),
            )
        };
        if order_at >= self.world.end {
            return;
        }
        let world = self.world;
        let currency = currency_of(country);
        let mut codes = Vec::new();
        let mut shown: Vec<String> = Vec::new();
        let mut discount = 0i64;
        let id_of = |creator: usize, post: Option<usize>| {
            (
                Some(world.creators[creator].id.clone()),
                post.map(|pi| world.posts[pi].id.clone()),
            )
        };
        let mut why = OrderCause::default();
        match cause {
            Cause::Click { post, creator } => {
                (why.creator_id, why.content_id) = id_of(creator, post);
                why.kind = "creator_click";
                if let Some(code) = &world.creators[creator].code
                    && self.rng.random_bool(0.3)
                {
                    codes.push(self.spell(code));
                    discount = 15;
                }
                if let Some(pi) = post {
                    shown = world.posts[pi].skus_shown.clone();
                }
            }
            Cause::Dark { post, .. } => {
                let creator = world.posts[post].creator;
                (why.creator_id, why.content_id) = id_of(creator, Some(post));
                why.kind = "creator_dark";
                if let Some(code) = &world.creators[creator].code
                    && self.rng.random_bool(0.35)
                {
                    codes.push(self.spell(code));
                    discount = 15;
                }
                shown = world.posts[post].skus_shown.clone();
            }
            Cause::Event { event } => {
                why.kind = match world.events[event].kind {
                    "email_send" => "email",
                    other => other,
                };
            }
            Cause::Leak { creator } => {
                why.kind = "leaked_code";
                why.creator_id = Some(world.creators[creator].id.clone());
                if let Some(code) = &world.creators[creator].code {
                    codes.push(self.spell(code));
                    discount = 15;
                }
            }
            Cause::Baseline { coupon, channel } => {
                why.kind = match channel {
                    "email" => "email",
                    "paid_search" | "paid_social" => "paid",
                    _ => "organic",
                };
                if coupon && !self.leaked.is_empty() && self.rng.random_bool(0.7) {
                    let (code, owner) =
                        self.leaked[self.rng.random_range(0..self.leaked.len())].clone();
                    codes.push(self.spell(&code));
                    discount = 15;
                    why.kind = "leaked_code";
                    why.creator_id = Some(world.creators[owner].id.clone());
                }
            }
        }
        // Leaked codes are mostly used by customers who were buying anyway.
        let is_new = self
            .rng
            .random_bool(if matches!(cause, Cause::Leak { .. }) {
                0.2
            } else {
                0.5
            });
        if codes.is_empty() && is_new && self.rng.random_bool(0.15) {
            codes.push(BRAND_CODE.to_string());
            discount = 10;
        }
        let n_lines = 1 + self.rng.random_range(0..3usize);
        let mut lines = Vec::with_capacity(n_lines);
        for l in 0..n_lines {
            let sku = match shown.get(l) {
                Some(s) => s.clone(),
                None => world.products[self.rng.random_range(0..world.products.len())]
                    .sku
                    .clone(),
            };
            let prod = &world.products[self.skus[sku.as_str()]];
            let qty = if self.rng.random_bool(0.8) { 1 } else { 2 };
            let gross = prod.price_cents * price_percent(currency) / 100 * i64::from(qty);
            let net = div_pow10_half_even(i128::from(gross * (100 - discount)), 2) as i64;
            lines.push((sku, qty, net, prod.cost_cents));
        }
        let revenue: i64 = lines.iter().map(|l| l.2).sum();
        self.n_orders += 1;
        let id = format!("o{:03}-{:06}", self.day_index, self.n_orders);
        if let Cause::Dark {
            post,
            tracked: false,
        } = cause
        {
            let usd = self.usd_cents(revenue, currency, order_at);
            let e = self.day.truth.orders.entry(post).or_default();
            e.0 += 1;
            e.1 += usd;
        }
        if self.rng.random_bool(0.06) {
            let partial = self.rng.random_bool(0.35);
            let cents = if partial {
                lines[0].2.min(revenue / 2).max(1)
            } else {
                revenue
            };
            // Most returns come within two weeks; some arrive late, after the lock period.
            let hours = if self.rng.random_bool(0.75) {
                self.rng.random_range(24..14 * 24)
            } else {
                self.rng.random_range(14 * 24..60 * 24)
            };
            let refunded_at = order_at + Duration::hours(hours);
            if refunded_at < world.end && cents > 0 {
                self.day.refunds.push(Refund {
                    id: format!("r{}", &id[1..]),
                    order_id: id.clone(),
                    refunded_at,
                    cents,
                    currency,
                });
            }
        }
        self.day.orders.push(Order {
            id,
            ordered_at: order_at,
            anonymous_id: anon,
            customer_id: self.rng.random_bool(0.8).then(|| format!("c{p:08}")),
            session_id,
            revenue_cents: revenue,
            currency,
            codes,
            is_new,
            country,
            lines,
            cause: why,
        });
    }

    /// Codes as customers type them: sometimes lower-case, sometimes padded.
    fn spell(&mut self, code: &str) -> String {
        match self.rng.random_range(0..10) {
            0 | 1 => code.to_lowercase(),
            2 => format!(" {code} "),
            _ => code.to_string(),
        }
    }
}
