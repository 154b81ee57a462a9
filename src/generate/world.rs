#![allow(missing_docs)]
//! The slow-changing side of a generated brand: products, creators, campaigns,
//! posts, links, codes, commission plans, costs, deliverables and exchange
//! rates. Everything is drawn from one seeded RNG in a fixed order, so a seed
//! always gives the same world.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Pareto, Poisson};

use super::Scale;

/// The brand's name: its branded searches contain it.
pub const BRAND: &str = "lumora";
/// A brand-wide code (not in `codes`).
pub const BRAND_CODE: &str = "WELCOME10";
/// Coupon sites leaked codes turn up on.
pub const COUPON_SITES: &[&str] = &["couponfollow.com", "dealspotr.com", "knoji.com"];

/// A product.
#[derive(Debug, Clone)]
pub struct Product {
    pub sku: String,
    /// Price in USD cents; EUR and GBP prices are fixed conversions.
    pub price_cents: i64,
    /// Cost of goods in USD cents.
    pub cost_cents: i64,
}

/// A creator.
#[derive(Debug, Clone)]
pub struct Creator {
    pub id: String,
    pub name: String,
    pub country: &'static str,
    pub status: &'static str,
    pub followers: i64,
    pub platforms: Vec<&'static str>,
    pub posts_per_week: f64,
    pub code: Option<String>,
    pub code_leaked: bool,
    pub bio_link: String,
    pub joined_at: DateTime<Utc>,
    pub themes: Vec<&'static str>,
    pub target_share: f64,
}

/// A campaign.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub structure: &'static str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub skus: Vec<String>,
    pub creators: Vec<usize>,
}

/// How a caption discloses the partnership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Clear and up front (`#ad` first, "Paid partnership").
    Clear,
    /// Present but buried after the fold or in a pile of hashtags.
    Buried,
    /// Ambiguous wording (`#sp`, `#collab`, "thanks to").
    Ambiguous,
    /// None.
    Missing,
    /// The post does not feature the brand; nothing to disclose.
    NotRequired,
}

impl Disclosure {
    pub fn as_str(self) -> &'static str {
        match self {
            Disclosure::Clear => "clear",
            Disclosure::Buried => "buried",
            Disclosure::Ambiguous => "ambiguous",
            Disclosure::Missing => "missing",
            Disclosure::NotRequired => "not_required",
        }
    }
}

/// A post, with what it will cause.
#[derive(Debug, Clone)]
pub struct Post {
    pub id: String,
    pub creator: usize,
    pub campaign: Option<usize>,
    pub platform: &'static str,
    pub format: &'static str,
    pub published_at: DateTime<Utc>,
    pub caption: String,
    pub disclosure: Disclosure,
    /// Spoken text (video, audio, some reels), when the data has it.
    pub transcript: Option<String>,
    /// `content.language` as the data gives it (None: left to detection).
    pub language: Option<&'static str>,
    /// The language the caption is written in.
    pub caption_language: &'static str,
    /// Whether the post features the brand (so it needs a label).
    pub features_brand: bool,
    /// Codes shown in the post.
    pub promo_codes: Vec<String>,
    /// Link and code findings planted in it: (rule, subject).
    pub planted_flags: Vec<(&'static str, String)>,
    /// Whether it carries lookalikes of labels.
    pub lookalikes: bool,
    /// Whether its label is written in stylised Unicode.
    pub stylised: bool,
    pub link_id: Option<String>,
    pub views: i64,
    /// Expected tracked clicks over the post's life.
    pub expected_clicks: f64,
    /// Expected dark-social visits (no click) over the post's life.
    pub expected_dark_visits: f64,
    /// Response half-life of the fast component, minutes.
    pub half_life_fast: f64,
    /// Share of the response in the slow component (half-life 12 h).
    pub slow_share: f64,
    pub skus_shown: Vec<String>,
    /// What it really shows and what a recognizer reports
    /// ([`super::placement`]).
    pub placement: super::placement::Placement,
}

/// A deliverable and whether it is late.
#[derive(Debug, Clone)]
pub struct Deliverable {
    pub id: String,
    pub campaign: usize,
    pub creator: usize,
    pub kind: &'static str,
    pub platform: &'static str,
    pub format: &'static str,
    pub due_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub content_id: Option<String>,
    /// Truth: `on_time`, `late`, `missed` or `open` (due after the data ends).
    pub state: &'static str,
}

/// A commission plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub creator: usize,
    pub campaign: Option<usize>,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    /// Basis points of a percent times 100 (decimal(9,4) unscaled).
    pub rate: Option<i64>,
    pub flat_cents: Option<i64>,
    pub new_customer_rate: Option<i64>,
    pub tiers: Vec<(i64, i64)>,
    pub lock_days: i32,
    pub credit_basis: &'static str,
}

/// A cost row.
#[derive(Debug, Clone)]
pub struct Cost {
    pub id: String,
    pub creator: usize,
    pub campaign: Option<usize>,
    pub content_id: Option<String>,
    pub kind: &'static str,
    pub cents: i64,
    pub currency: &'static str,
    pub incurred_on: NaiveDate,
}

/// The whole slow-changing world.
#[derive(Debug, Clone)]
pub struct World {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub products: Vec<Product>,
    pub creators: Vec<Creator>,
    pub campaigns: Vec<Campaign>,
    pub posts: Vec<Post>,
    pub deliverables: Vec<Deliverable>,
    pub plans: Vec<Plan>,
    pub costs: Vec<Cost>,
    /// (date, currency, rate to USD as decimal(18,8) unscaled).
    pub fx: Vec<(NaiveDate, &'static str, i64)>,
    /// Marketing events and unrecorded bursts (`events`).
    pub events: Vec<super::events::Event>,
    /// Codes that leak part-way through (`Realism::leaked_share`).
    pub leaks: Vec<super::leaks::Leak>,
    /// Codes that expired before the data starts (some posts still show them).
    pub retired_codes: Vec<super::captions::RetiredCode>,
}

const FIRST: &[&str] = &[
    "maya", "leo", "ava", "noah", "zoe", "kai", "ivy", "omar", "lena", "theo", "nina", "finn",
    "sara", "jude", "mila", "ezra", "rosa", "luca", "iris", "amir", "cleo", "max", "june", "ravi",
];
const LAST: &[&str] = &[
    "glow", "daily", "beauty", "studio", "skin", "lab", "notes", "edit", "life", "routine",
];
const THEMES: &[&str] = &[
    "skincare",
    "makeup",
    "wellness",
    "fitness",
    "travel",
    "lifestyle",
    "fashion",
];
const COUNTRIES: &[(&str, f64)] = &[
    ("US", 0.55),
    ("GB", 0.15),
    ("DE", 0.12),
    ("FR", 0.10),
    ("CA", 0.08),
];

/// Platforms and the formats each supports, with (reach of followers, click-through) rates.
const PLATFORM_FORMATS: &[(&str, &[&str], f64, f64)] = &[
    ("instagram", &["reel", "story", "feed_post"], 0.18, 0.006),
    ("tiktok", &["short", "live"], 0.25, 0.003),
    ("youtube", &["video", "short"], 0.12, 0.012),
    ("blog", &["article"], 0.05, 0.04),
    ("podcast", &["episode"], 0.10, 0.004),
    ("pinterest", &["feed_post"], 0.06, 0.01),
    ("newsletter", &["article"], 0.35, 0.02),
];

/// Currency of a country.
pub fn currency_of(country: &str) -> &'static str {
    match country {
        "GB" => "GBP",
        "DE" | "FR" => "EUR",
        _ => "USD",
    }
}

/// Catalogue price multiplier per currency, in percent of USD.
pub fn price_percent(currency: &str) -> i64 {
    match currency {
        "EUR" => 95,
        "GBP" => 80,
        _ => 100,
    }
}

pub fn pick_country<R: Rng>(rng: &mut R) -> &'static str {
    let mut u: f64 = rng.random();
    for (c, w) in COUNTRIES {
        if u < *w {
            return c;
        }
        u -= w;
    }
    "US"
}

fn ts(d: DateTime<Utc>, minutes: f64) -> DateTime<Utc> {
    d + Duration::microseconds((minutes * 60_000_000.0) as i64)
}

impl World {
    /// Draws a world for `scale` from `seed`.
    pub fn generate(scale: &Scale, seed: u64, end: NaiveDate) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0057_6F72_6C64);
        let end_t = end.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let start_t = end_t - Duration::days(scale.days as i64);

        let products: Vec<Product> = (0..scale.products)
            .map(|i| {
                let price = 1200 + 100 * rng.random_range(0..80i64) - 1;
                Product {
                    sku: format!("SKU-{:04}", i + 1),
                    price_cents: price,
                    cost_cents: price * rng.random_range(25..45i64) / 100,
                }
            })
            .collect();

        let pareto = Pareto::new(1.0, 1.15).expect("valid pareto");
        let mut creators = Vec::with_capacity(scale.creators);
        for i in 0..scale.creators {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len() + i) % LAST.len()];
            let draw: f64 = pareto.sample(&mut rng);
            let followers = (4000.0 * draw).min(3_000_000.0) as i64;
            let n_platforms =
                1 + usize::from(rng.random_bool(0.5)) + usize::from(rng.random_bool(0.2));
            let mut platforms: Vec<&'static str> = Vec::new();
            while platforms.len() < n_platforms {
                let p = PLATFORM_FORMATS[rng.random_range(0..PLATFORM_FORMATS.len())].0;
                if !platforms.contains(&p) {
                    platforms.push(p);
                }
            }
            let status = match rng.random_range(0..100) {
                0..=79 => "active",
                80..=87 => "paused",
                88..=93 => "ended",
                _ => "prospect",
            };
            let has_code = status != "prospect" && rng.random_bool(0.85);
            let code = has_code.then(|| {
                format!(
                    "{}{}",
                    first.to_uppercase(),
                    10 + 5 * rng.random_range(0..3)
                )
            });
            let code = code.map(|c| {
                if i >= FIRST.len() {
                    format!("{c}{i}")
                } else {
                    c
                }
            });
            let leaked = code.is_some() && rng.random_bool(0.15);
            let country = pick_country(&mut rng);
            let joined = start_t - Duration::days(rng.random_range(10..700));
            let themes = vec![
                THEMES[rng.random_range(0..THEMES.len())],
                THEMES[rng.random_range(0..THEMES.len())],
            ];
            creators.push(Creator {
                id: format!("cr_{:04}", i + 1),
                name: format!("{} {}", capitalise(first), capitalise(last)),
                country,
                status,
                followers,
                platforms,
                posts_per_week: if status == "active" {
                    rng.random_range(1.0..4.5)
                } else if status == "paused" {
                    0.3
                } else {
                    0.0
                },
                code,
                code_leaked: leaked,
                bio_link: format!("lk_bio_{:04}", i + 1),
                joined_at: joined,
                themes,
                target_share: (rng.random_range(20..90) as f64) / 100.0,
            });
        }

        let structures = ["gifting", "flat_fee", "affiliate", "hybrid"];
        let n_campaigns = (scale.creators / 6).clamp(2, 40);
        let mut campaigns = Vec::with_capacity(n_campaigns);
        for k in 0..n_campaigns {
            let starts =
                start_t + Duration::days(rng.random_range(-10..(scale.days as i64 / 2).max(1)));
            let len = rng.random_range(21..75);
            let skus = (0..3)
                .map(|_| products[rng.random_range(0..products.len())].sku.clone())
                .collect();
            let members: Vec<usize> = (0..creators.len())
                .filter(|&c| creators[c].status != "prospect" && rng.random_bool(0.35))
                .collect();
            campaigns.push(Campaign {
                id: format!("cmp_{:03}", k + 1),
                name: format!("{} drop {}", capitalise(BRAND), k + 1),
                structure: structures[k % structures.len()],
                starts_at: starts,
                ends_at: rng.random_bool(0.8).then(|| starts + Duration::days(len)),
                skus,
                creators: members,
            });
        }

        // Posts: a Poisson number per creator and week, at evening-heavy times.
        let mut posts = Vec::new();
        let weeks = scale.days as f64 / 7.0;
        for (ci, c) in creators.iter().enumerate() {
            if c.posts_per_week == 0.0 {
                continue;
            }
            let n = Poisson::new(c.posts_per_week * weeks)
                .map(|p| p.sample(&mut rng) as usize)
                .unwrap_or(0);
            for _ in 0..n {
                let day = rng.random_range(0..scale.days as i64);
                let hour = [13.0, 15.0, 17.0, 19.0, 21.0, 23.0, 1.0][rng.random_range(0..7)];
                let minute = hour * 60.0 + rng.random_range(0.0..120.0);
                let published = ts(start_t + Duration::days(day), minute);
                let platform = c.platforms[rng.random_range(0..c.platforms.len())];
                let (_, formats, reach, ctr) = PLATFORM_FORMATS
                    .iter()
                    .find(|p| p.0 == platform)
                    .expect("known platform");
                let format = formats[rng.random_range(0..formats.len())];
                let in_campaign: Vec<usize> = campaigns
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| {
                        k.creators.contains(&ci)
                            && k.starts_at <= published
                            && k.ends_at.is_none_or(|e| e >= published)
                    })
                    .map(|(i, _)| i)
                    .collect();
                let campaign = (!in_campaign.is_empty() && rng.random_bool(0.8))
                    .then(|| in_campaign[rng.random_range(0..in_campaign.len())]);
                let disclosure = if campaign.is_none() {
                    Disclosure::NotRequired
                } else {
                    match rng.random_range(0..100) {
                        0..=59 => Disclosure::Clear,
                        60..=74 => Disclosure::Buried,
                        75..=87 => Disclosure::Ambiguous,
                        _ => Disclosure::Missing,
                    }
                };
                let quality = LogNormal::new(0.0, 0.6)
                    .expect("valid lognormal")
                    .sample(&mut rng);
                let views = (c.followers as f64 * reach * quality) as i64;
                let (half_fast, slow) = match format {
                    "story" | "live" => (30.0, 0.05),
                    "reel" | "short" => (60.0, 0.2),
                    "feed_post" => (90.0, 0.25),
                    "video" => (180.0, 0.5),
                    _ => (240.0, 0.6),
                };
                let id = format!("ct_{:05}", posts.len() + 1);
                let has_link = !matches!(format, "story" | "live") || rng.random_bool(0.5);
                let skus_shown: Vec<String> = match campaign {
                    Some(k) => campaigns[k]
                        .skus
                        .iter()
                        .take(1 + rng.random_range(0..2))
                        .cloned()
                        .collect(),
                    None => vec![products[rng.random_range(0..products.len())].sku.clone()],
                };
                // Captions are written later from their own RNG
                // (`captions::write`); this draw keeps the stream of
                // everything after as it always was.
                let _ = rng.random_range(0..5);
                let caption = String::new();
                posts.push(Post {
                    link_id: has_link.then(|| format!("lk_{}", &id[3..])),
                    id,
                    creator: ci,
                    campaign,
                    platform,
                    format,
                    published_at: published,
                    caption,
                    disclosure,
                    transcript: None,
                    language: None,
                    caption_language: "en",
                    features_brand: false,
                    promo_codes: Vec::new(),
                    planted_flags: Vec::new(),
                    lookalikes: false,
                    stylised: false,
                    views,
                    expected_clicks: views as f64 * ctr,
                    expected_dark_visits: views as f64 * 0.004 * rng.random_range(0.5..1.5),
                    half_life_fast: half_fast,
                    slow_share: slow,
                    skus_shown,
                    placement: Default::default(),
                });
            }
        }
        super::events::shape_posts(&mut posts, &scale.realism, seed);
        posts.sort_by(|a, b| a.published_at.cmp(&b.published_at).then(a.id.cmp(&b.id)));
        for (i, p) in posts.iter_mut().enumerate() {
            p.id = format!("ct_{:05}", i + 1);
            if p.link_id.is_some() {
                p.link_id = Some(format!("lk_{:05}", i + 1));
            }
        }

        let retired_codes =
            super::captions::write(&mut posts, &creators, &campaigns, seed, start_t);
        super::placement::plant(&mut posts, &campaigns, &products, seed);

        let mut deliverables = Vec::new();
        for (k, camp) in campaigns.iter().enumerate() {
            for &ci in &camp.creators {
                let platform = creators[ci].platforms[0];
                let format = PLATFORM_FORMATS
                    .iter()
                    .find(|p| p.0 == platform)
                    .expect("known")
                    .1[0];
                for (kind, offset) in [("draft", 7i64), ("post", 14), ("post", 28)] {
                    let due = camp.starts_at + Duration::days(offset) + Duration::hours(17);
                    let content = posts.iter().find(|p| {
                        p.creator == ci
                            && p.campaign == Some(k)
                            && p.published_at <= due + Duration::days(10)
                    });
                    let roll = rng.random_range(0..100);
                    let (submitted, state) = if due > end_t {
                        (None, "open")
                    } else if roll < 65 {
                        (
                            Some(due - Duration::hours(rng.random_range(1..72))),
                            "on_time",
                        )
                    } else if roll < 88 {
                        (
                            Some(due + Duration::hours(rng.random_range(2..120))),
                            "late",
                        )
                    } else {
                        (None, "missed")
                    };
                    let submitted = submitted.filter(|s| *s < end_t);
                    let state = if state == "late" && submitted.is_none() {
                        "missed"
                    } else {
                        state
                    };
                    deliverables.push(Deliverable {
                        id: format!("dl_{:05}", deliverables.len() + 1),
                        campaign: k,
                        creator: ci,
                        kind,
                        platform,
                        format,
                        due_at: due,
                        submitted_at: submitted,
                        content_id: if kind == "post" && submitted.is_some() {
                            content.map(|p| p.id.clone())
                        } else {
                            None
                        },
                        state,
                    });
                }
            }
        }

        let mut plans = Vec::new();
        for (ci, c) in creators.iter().enumerate() {
            if c.status == "prospect" {
                continue;
            }
            plans.push(Plan {
                id: format!("pl_{:05}", plans.len() + 1),
                creator: ci,
                campaign: None,
                valid_from: c.joined_at,
                valid_to: None,
                rate: Some(100_000),
                flat_cents: None,
                new_customer_rate: rng.random_bool(0.3).then_some(150_000),
                tiers: if rng.random_bool(0.3) {
                    vec![(0, 100_000), (500_000, 120_000), (2_000_000, 150_000)]
                } else {
                    vec![]
                },
                lock_days: 30,
                credit_basis: ["code_or_link", "code", "link", "model"][rng.random_range(0..4)],
            });
        }
        for (k, camp) in campaigns.iter().enumerate() {
            if !matches!(camp.structure, "affiliate" | "hybrid") {
                continue;
            }
            for &ci in &camp.creators {
                plans.push(Plan {
                    id: format!("pl_{:05}", plans.len() + 1),
                    creator: ci,
                    campaign: Some(k),
                    valid_from: camp.starts_at,
                    valid_to: camp.ends_at,
                    rate: Some(150_000),
                    flat_cents: (camp.structure == "hybrid").then_some(200),
                    new_customer_rate: None,
                    tiers: vec![],
                    lock_days: 14,
                    credit_basis: "code_or_link",
                });
            }
        }

        let mut costs = Vec::new();
        let add_cost = |costs: &mut Vec<Cost>,
                        ci: usize,
                        k: Option<usize>,
                        content: Option<String>,
                        kind: &'static str,
                        cents: i64,
                        currency: &'static str,
                        on: NaiveDate| {
            costs.push(Cost {
                id: format!("cs_{:06}", costs.len() + 1),
                creator: ci,
                campaign: k,
                content_id: content,
                kind,
                cents,
                currency,
                incurred_on: on,
            });
        };
        for (k, camp) in campaigns.iter().enumerate() {
            let on = camp.starts_at.date_naive().max(start_t.date_naive());
            if on >= end {
                continue;
            }
            for &ci in &camp.creators {
                let cur = currency_of(creators[ci].country);
                let fee_scale = (creators[ci].followers as f64).sqrt() as i64;
                match camp.structure {
                    "flat_fee" | "hybrid" => add_cost(
                        &mut costs,
                        ci,
                        Some(k),
                        None,
                        "creator_fee",
                        5_000 + fee_scale * 150,
                        cur,
                        on,
                    ),
                    _ => {}
                }
                let product_cost: i64 = camp
                    .skus
                    .iter()
                    .filter_map(|s| products.iter().find(|p| &p.sku == s))
                    .map(|p| p.cost_cents)
                    .sum();
                add_cost(
                    &mut costs,
                    ci,
                    Some(k),
                    None,
                    "free_product",
                    product_cost,
                    "USD",
                    on,
                );
                add_cost(
                    &mut costs,
                    ci,
                    Some(k),
                    None,
                    "shipping",
                    900 + rng.random_range(0..1500),
                    "USD",
                    on,
                );
                if rng.random_bool(0.25) {
                    add_cost(
                        &mut costs,
                        ci,
                        Some(k),
                        None,
                        "production",
                        20_000 + rng.random_range(0..60_000),
                        cur,
                        on,
                    );
                }
            }
        }
        for p in &posts {
            if p.published_at >= end_t {
                continue;
            }
            if p.campaign.is_some() && rng.random_bool(0.2) {
                let cents = 5_000 + rng.random_range(0..45_000);
                add_cost(
                    &mut costs,
                    p.creator,
                    p.campaign,
                    Some(p.id.clone()),
                    "platform_spend",
                    cents,
                    "USD",
                    p.published_at.date_naive(),
                );
            }
        }
        let mut month = start_t.date_naive().with_day0(0).expect("first of month");
        while month < end {
            for (ci, c) in creators.iter().enumerate() {
                if c.status == "active" && rng.random_bool(0.5) {
                    add_cost(
                        &mut costs,
                        ci,
                        None,
                        None,
                        "platform_fee",
                        2_900,
                        "USD",
                        month.max(start_t.date_naive()),
                    );
                }
            }
            month = month
                .checked_add_months(chrono::Months::new(1))
                .expect("month in range");
        }

        let mut fx = Vec::new();
        let (mut eur, mut gbp) = (1.08f64, 1.27f64);
        let mut d = start_t.date_naive() - Duration::days(7);
        while d < end {
            eur *= 1.0 + rng.random_range(-0.004..0.004);
            gbp *= 1.0 + rng.random_range(-0.004..0.004);
            fx.push((d, "EUR", (eur * 1e8).round() as i64));
            fx.push((d, "GBP", (gbp * 1e8).round() as i64));
            fx.push((d, "USD", 100_000_000));
            d += Duration::days(1);
        }

        let events = super::events::plan(scale, seed, start_t, &posts);
        let leaks = if scale.realism.leaked_share > 0.0 {
            super::leaks::plan(
                &mut creators,
                scale.realism.leaked_share,
                scale.realism.leaked_min,
                seed,
                start_t,
                scale.days,
            )
        } else {
            Vec::new()
        };
        World {
            events,
            leaks,
            retired_codes,
            start: start_t,
            end: end_t,
            products,
            creators,
            campaigns,
            posts,
            deliverables,
            plans,
            costs,
            fx,
        }
    }
}

use chrono::Datelike;

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
