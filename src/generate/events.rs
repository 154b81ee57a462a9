//! What real traffic has besides creators' posts, planted when a scale asks
//! for it ([`Realism`]): the brand's newsletter sends (on a schedule and off
//! it), press mentions with their own decay, sales that lift traffic for
//! days, bursts nobody records (an unlisted article, a forum thread, some
//! starting just before a post), posts with no effect at all, and posts
//! published within minutes of each other.
//!
//! Everything here draws from RNGs of its own, so a scale without realism
//! gives byte for byte the data it gave before this existed.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

use super::Scale;
use super::world::Post;

/// What a data set plants beyond posts and steady traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Realism {
    /// Known marketing events, written to `marketing_events`.
    pub events: bool,
    /// Bursts nobody records, per week.
    pub bursts_per_week: f64,
    /// Share of posts that cause no dark-social visit.
    pub null_post_share: f64,
    /// Share of posts moved to within 30 minutes of another post.
    pub clustered_share: f64,
    /// Dark-social visits per view, against the plain scales' (1: the
    /// same). A set of many small creators needs more to plant posts well
    /// above the detection floor.
    pub dark_visits_factor: f64,
    /// Share of the creators' codes that leak to deal sites part-way through
    /// the data set (see `leaks`); 0: the plain scales' leaks, present from
    /// the first day.
    pub leaked_share: f64,
    /// At least this many leaked codes, when there are that many codes.
    pub leaked_min: usize,
}

/// A marketing event, or a burst nobody listed.
#[derive(Debug, Clone)]
pub struct Event {
    /// `ev_NNNN` (listed) or `burst_NNNN` (unlisted).
    pub id: String,
    /// `email_send`, `press`, `sale`, or `burst` (unlisted).
    pub kind: &'static str,
    /// Whether `marketing_events` holds it.
    pub listed: bool,
    /// Start (a send's time).
    pub starts_at: DateTime<Utc>,
    /// End, for a sale: its extra visits spread over `[starts_at, ends_at)`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Channels it drives, as listed.
    pub channels: Vec<&'static str>,
    /// Free text.
    pub label: String,
    /// Expected untracked visits (direct, branded search) it causes.
    pub dark_visits: f64,
    /// Expected tracked sessions (email clicks, referrals) it causes.
    pub tracked_visits: f64,
    /// Response half-life in minutes (instant events).
    pub half_life: f64,
    /// Referring domain of its tracked sessions (press, bursts).
    pub referrer: Option<&'static str>,
}

impl Event {
    /// Expected share of the event's visits in `[a, b]` minutes after its
    /// start: an exponential decay, or uniform over a sale's span.
    pub fn mass(&self, a: f64, b: f64) -> f64 {
        let a = a.max(0.0);
        if b <= a {
            return 0.0;
        }
        match self.ends_at {
            Some(e) => {
                let len = (e - self.starts_at).num_seconds() as f64 / 60.0;
                ((b.min(len) - a.min(len)) / len).max(0.0)
            }
            None => {
                let r = std::f64::consts::LN_2 / self.half_life;
                (-r * a).exp() - (-r * b).exp()
            }
        }
    }

    /// A time in `[a, b]` minutes after the start, drawn from `mass`.
    pub fn draw(&self, rng: &mut ChaCha8Rng, a: f64, b: f64) -> f64 {
        let a = a.max(0.0);
        match self.ends_at {
            Some(e) => {
                let len = (e - self.starts_at).num_seconds() as f64 / 60.0;
                rng.random_range(a.min(len)..=b.min(len))
            }
            None => {
                let r = std::f64::consts::LN_2 / self.half_life;
                let (ua, ub) = ((-r * a).exp(), (-r * b).exp());
                let u = ub + (ua - ub) * rng.random::<f64>();
                (-u.ln() / r).clamp(a, b)
            }
        }
    }

    /// Minutes after the start by which (nearly) all its visits have come.
    pub fn span_minutes(&self) -> f64 {
        match self.ends_at {
            Some(e) => (e - self.starts_at).num_seconds() as f64 / 60.0,
            None => self.half_life * 12.0,
        }
    }
}

const PRESS: &[&str] = &["allure.com", "vogue.com", "byrdie.com", "glamour.com"];
const FORUMS: &[&str] = &["reddit.com", "news.ycombinator.com", "makeupalley.com"];

fn rng_for(seed: u64, salt: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ salt)
}

/// Local 10:00 of day `d` (the brand's day is UTC−5).
fn local(start: DateTime<Utc>, day: i64, minute_of_day: f64) -> DateTime<Utc> {
    start + Duration::days(day) + Duration::seconds(((minute_of_day + 300.0) * 60.0) as i64)
}

/// Null posts and clustered posts: applied to the posts before they are
/// sorted and numbered.
pub fn shape_posts(posts: &mut [Post], r: &Realism, seed: u64) {
    if r.null_post_share <= 0.0 && r.clustered_share <= 0.0 && r.dark_visits_factor <= 0.0 {
        return;
    }
    let mut rng = rng_for(seed, 0x0071_5E57);
    let n = posts.len();
    for k in 0..n {
        if r.clustered_share > 0.0 && n > 1 && rng.random_bool(r.clustered_share) {
            let mut other = rng.random_range(0..n - 1);
            if other >= k {
                other += 1;
            }
            let offset = rng.random_range(-25..=25);
            posts[k].published_at = posts[other].published_at + Duration::minutes(offset);
        }
        if r.dark_visits_factor > 0.0 {
            posts[k].expected_dark_visits *= r.dark_visits_factor;
        }
        if r.null_post_share > 0.0 && rng.random_bool(r.null_post_share) {
            posts[k].expected_dark_visits = 0.0;
        }
    }
}

/// The events of a world whose posts are `posts` (sorted), over `days` days
/// from `start`.
pub fn plan(scale: &Scale, seed: u64, start: DateTime<Utc>, posts: &[Post]) -> Vec<Event> {
    let r = &scale.realism;
    let mut out = Vec::new();
    let mut rng = rng_for(seed, 0x00E7_E475);
    let days = i64::from(scale.days);
    let size = f64::from(scale.sessions_per_day);
    use chrono::Datelike;
    if r.events {
        // The weekly newsletter, Tuesdays at 10:00, and sends off schedule.
        for d in 0..days {
            let date = (start + Duration::days(d)).date_naive();
            let weekly = date.weekday() == chrono::Weekday::Tue;
            let extra = !weekly && rng.random_bool(0.1);
            if !(weekly || extra) {
                continue;
            }
            let minute = if weekly {
                600.0 + rng.random_range(0.0..4.0)
            } else {
                rng.random_range(480.0..1200.0)
            };
            let dark = size * 0.02 * rng.random_range(0.6..1.4);
            out.push(Event {
                id: String::new(),
                kind: "email_send",
                listed: true,
                starts_at: local(start, d, minute),
                ends_at: None,
                channels: vec!["email"],
                label: if weekly {
                    "weekly newsletter"
                } else {
                    "announcement"
                }
                .into(),
                dark_visits: dark,
                tracked_visits: dark * 4.0,
                half_life: rng.random_range(30.0..60.0),
                referrer: None,
            });
        }
        // Press mentions, each with its own decay.
        let n = Poisson::new(days as f64 / 12.0)
            .map(|p| p.sample(&mut rng) as usize)
            .unwrap_or(0);
        for _ in 0..n {
            let dark = size * 0.03 * rng.random_range(0.5..2.0);
            out.push(Event {
                id: String::new(),
                kind: "press",
                listed: true,
                starts_at: local(
                    start,
                    rng.random_range(0..days),
                    rng.random_range(360.0..1320.0),
                ),
                ends_at: None,
                channels: vec!["referral"],
                label: "press mention".into(),
                dark_visits: dark,
                tracked_visits: dark * 0.8,
                half_life: rng.random_range(180.0..720.0),
                referrer: Some(PRESS[rng.random_range(0..PRESS.len())]),
            });
        }
        // A sale of two or three days from midnight.
        let first = rng.random_range(7..(days - 4).max(8));
        let len = rng.random_range(2..=3);
        out.push(Event {
            id: String::new(),
            kind: "sale",
            listed: true,
            starts_at: local(start, first, 0.0),
            ends_at: Some(local(start, first + len, 0.0)),
            channels: vec![],
            label: "seasonal sale".into(),
            dark_visits: size * 0.12 * len as f64,
            tracked_visits: 0.0,
            half_life: 0.0,
            referrer: None,
        });
    }
    // Bursts nobody records; a third start shortly before a post.
    let weeks = days as f64 / 7.0;
    let n = Poisson::new((r.bursts_per_week * weeks).max(1e-9))
        .map(|p| p.sample(&mut rng) as usize)
        .unwrap_or(0);
    for _ in 0..n {
        let starts_at = if !posts.is_empty() && rng.random_bool(0.33) {
            posts[rng.random_range(0..posts.len())].published_at
                - Duration::minutes(rng.random_range(5..60))
        } else {
            local(
                start,
                rng.random_range(0..days),
                rng.random_range(0.0..1440.0),
            )
        };
        let dark = size * 0.02 * rng.random_range(0.5..2.0);
        out.push(Event {
            id: String::new(),
            kind: "burst",
            listed: false,
            starts_at,
            ends_at: None,
            channels: vec!["referral"],
            label: "unrecorded mention".into(),
            dark_visits: dark,
            tracked_visits: dark * 0.5,
            half_life: rng.random_range(60.0..600.0),
            referrer: Some(FORUMS[rng.random_range(0..FORUMS.len())]),
        });
    }
    out.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.kind.cmp(b.kind)));
    let (mut listed, mut unlisted) = (0, 0);
    for e in &mut out {
        if e.listed {
            listed += 1;
            e.id = format!("ev_{listed:04}");
        } else {
            unlisted += 1;
            e.id = format!("burst_{unlisted:04}");
        }
    }
    out
}
